"""``/ondevice/``: the page that screens a photo inside the browser (see :mod:`.ondevice_site`).

Served from memory (the files are assembled once, when the app starts). Its Content-Security-
Policy adds ``'wasm-unsafe-eval'`` (compiling LiteRT.js's WebAssembly) to the app's own policy;
everything still comes from this server only. When the page is not built or the model cannot
run on a device, ``/ondevice/`` says why and every other page works as before.
"""

from __future__ import annotations

import mimetypes
from html import escape

from flask import Blueprint, Response, current_app

from poxscan.web.ondevice_site import OnDeviceUnavailable, build_site

__all__ = ["CSP", "bp", "init_ondevice"]

bp = Blueprint("ondevice", __name__, url_prefix="/ondevice")
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "connect-src 'self'; img-src 'self' data: blob:; style-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
_TYPES = {".webmanifest": "application/manifest+json", ".wasm": "application/wasm"}


def init_ondevice(app, predictor) -> None:
    """Assemble the page for ``predictor``'s model (or remember why not) and register it."""
    try:
        app.extensions["poxscan_ondevice"] = build_site(predictor)
    except OnDeviceUnavailable as exc:
        app.extensions["poxscan_ondevice"] = str(exc)
    app.register_blueprint(bp)


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    return response


def _not_found(what: str) -> Response:
    # HTML, as the OpenAPI document says for every 404 of the page's routes.
    html = f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{what}</title>"
    html += f"<p>{what}</p></html>"
    return Response(html, status=404, mimetype="text/html")


@bp.get("/")
def index() -> Response:
    return page("index.html")


@bp.get("/<path:rel>")
def page(rel: str) -> Response:
    files = current_app.extensions["poxscan_ondevice"]
    if isinstance(files, str):
        if rel != "index.html":
            return _not_found("not available")
        html = (
            "<!doctype html><html lang='en'><meta charset='utf-8'><title>On-device page "
            f"unavailable</title><h1>On-device page unavailable</h1><p id='error-message'>"
            f"{escape(files)}</p><p><a href='../'>The upload page works as usual.</a></p></html>"
        )
        # 404, not 5xx: nothing is broken; this install or model has no on-device page.
        return Response(html, status=404, mimetype="text/html")
    content = files.get(rel)
    if content is None:
        return _not_found("no such file")
    suffix = "." + rel.rsplit(".", 1)[-1] if "." in rel else ""
    mime = _TYPES.get(suffix) or mimetypes.guess_type(rel)[0] or "application/octet-stream"
    response = Response(content, mimetype=mime)
    if rel == "sw.js":
        response.headers["Service-Worker-Allowed"] = "/ondevice/"
    return response
