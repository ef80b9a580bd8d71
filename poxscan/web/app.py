"""The poxscan web app: upload a photo, read the screening result and why, ask the chatbot.

:func:`create_app` builds a Flask app around one verified model directory. Pages work without
JavaScript (plain forms); ``static/app.js`` only adds drag-and-drop and an in-page chat. The JSON
API (``/api/...``) is described by the OpenAPI document at ``/api/openapi.json``.

Every error, for bad input or otherwise, is answered by the handlers registered here: an HTML page
for the pages, ``{"ok": false, "status", "error", "message"}`` for the API; bad input gets a 4xx
naming the problem, never a 500. Responses carry a Content-Security-Policy that allows only this
server's own scripts and styles (no inline script, no CDN).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from os import PathLike
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
)
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    UnprocessableEntity,
)
from werkzeug.exceptions import NotImplemented as LimeUnavailable

from poxscan import __version__
from poxscan.web.batching import MicroBatcher
from poxscan.web.feature_names import group_by_family, lay_features
from poxscan.web.markdown import markdown_to_html
from poxscan.web.openapi import openapi_document
from poxscan.web.overlay import OverlayFunction, resolve_lime
from poxscan.web.screening import (
    GateRefused,
    make_report,
    refusal_body,
    result_extras,
    warm_explanation_map,
)
from poxscan.web.uploads import (
    Upload,
    keep_upload,
    read_upload,
    release_pixels,
    thumbnail_png,
)

__all__ = ["CONTENT_SECURITY_POLICY", "DEFAULT_CONFIG", "create_app"]

log = logging.getLogger(__name__)

#: Settings of :func:`create_app` (keys are case-insensitive there).
DEFAULT_CONFIG: dict[str, Any] = {
    # Whole request body; larger uploads get 413 before anything is decoded.
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    # Decoded pixels; a small file can claim a huge image (decompression bomb).
    "MAX_IMAGE_PIXELS": 40_000_000,
    # Pixels this process may decode at once, over all its threads (None: twice the above);
    # bounds memory under many concurrent large uploads (``--workers`` shares it out).
    "MAX_PIXELS_IN_FLIGHT": None,
    # Folder to keep uploads in (as metadata-free PNGs named by pixel hash); None keeps nothing.
    "KEEP_UPLOADS_DIR": None,
    # Features listed per prediction (SHAP).
    "TOP_K": 8,
    "MAX_CHAT_CHARS": 1000,
    # LIME overlays: None = where available, False = off, or a callable (see overlay.py).
    "LIME": None,
    # Perturbed copies LIME predicts per photo (its cost) and its seed.
    "LIME_NUM_SAMPLES": 300,
    "LIME_SEED": 0,
    # Refuse the model unless its manifest.json has this sha256.
    "MANIFEST_SHA256": None,
    # Optional multi-class model (`poxscan train --task multiclass`) and its manifest pin: its
    # differential (mpox, chickenpox, measles, normal) is shown beside the screening decision.
    "DIFFERENTIAL_MODEL": None,
    "DIFFERENTIAL_SHA256": None,
    # Cross-request micro-batching (see batching.py): at most this many concurrent uploads
    # share one pass through the model (1: each request alone), gathered for up to this long.
    "BATCH_MAX": 8,
    "BATCH_WAIT_MS": 5.0,
}

#: Only this server's own files; images may also be inline data (thumbnails, overlays).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), microphone=(), payment=()",
}
_HANDLED_CODES = (400, 404, 405, 413, 415, 422, 500, 501)
_LABEL_TEXT = {"mpox": "Looks like mpox", "not_mpox": "Does not look like mpox"}

bp = Blueprint("web", __name__)


@dataclass
class WebState:
    """What the app loads once and shares between requests and threads."""

    predictor: Any
    chatbot: Any
    card_html: Any
    info: dict[str, Any]
    shap_plots: dict[str, bytes] = field(default_factory=dict)
    lime: OverlayFunction | None = None
    batcher: MicroBatcher | None = None

    def predict(self, image: Any, name: str, top_k: int) -> Any:
        """One upload's prediction, batched with concurrent ones when batching is on."""
        if self.batcher is not None:
            return self.batcher.predict(image, name, top_k)
        return self.predictor.predict_image(image, name=name, top_k=top_k)

    @property
    def manifest_sha256(self) -> str:
        """Identity of the model loaded (computed once, at load time)."""
        return self.info["manifest_sha256"]


def _state() -> WebState:
    return current_app.extensions["poxscan"]


def _verified_bytes(model_dir: Path, rel: str, manifest: Mapping[str, Any]) -> bytes:
    """Read a file of the model directory, checking it still matches the manifest."""
    from poxscan.pipelines.persistence import ModelIntegrityError

    data = (model_dir / rel).read_bytes()
    expected = manifest.get("files", {}).get(rel)
    if expected != sha256(data).hexdigest():
        raise ModelIntegrityError(f"{model_dir / rel}: does not match manifest.json")
    return data


def create_app(model_dir: str | PathLike, config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web app around a model directory.

    Parameters
    ----------
    model_dir : path-like
        Written by ``poxscan train``; every file is checked against its manifest before
        anything is unpickled (see :meth:`poxscan.predict.Predictor.load`).
    config : mapping, optional
        Overrides of :data:`DEFAULT_CONFIG` and any Flask setting; keys are case-insensitive
        (``{"keep_uploads_dir": "uploads"}`` works).

    Returns
    -------
    flask.Flask
        Serve it with waitress (``poxscan serve``), not Flask's development server.

    Raises
    ------
    ModelIntegrityError
        A file of the model directory does not match its manifest.
    """
    from poxscan.chat.bot import MpoxChatbot
    from poxscan.predict import Predictor

    app = Flask(__name__)
    app.config.update(DEFAULT_CONFIG)
    app.config.update({str(k).upper(): v for k, v in (config or {}).items()})
    model_dir = Path(model_dir)
    predictor = Predictor.load(
        model_dir,
        manifest_sha256=app.config["MANIFEST_SHA256"],
        # Optional multi-class model: its differential is shown beside the decision.
        differential_dir=app.config["DIFFERENTIAL_MODEL"],
        differential_sha256=app.config["DIFFERENTIAL_SHA256"],
    )
    warm_explanation_map(predictor)  # the result page shows a map by default
    manifest = predictor.manifest
    card = _verified_bytes(model_dir, "model_card.md", manifest).decode("utf-8", "replace")
    plots = {
        Path(rel).name: _verified_bytes(model_dir, rel, manifest)
        for rel in sorted(manifest.get("files", {}))
        if rel.startswith("shap/") and rel.endswith(".png")
    }
    lime = app.config["LIME"]
    if lime is None:
        lime = resolve_lime(app.config["LIME_NUM_SAMPLES"], app.config["LIME_SEED"])
    elif lime is False:
        lime = None
    app.extensions["poxscan"] = WebState(
        predictor=predictor,
        chatbot=MpoxChatbot(),
        card_html=markdown_to_html(card),
        info=predictor.info(),
        shap_plots=plots,
        lime=lime,
        batcher=(
            MicroBatcher(
                predictor, int(app.config["BATCH_MAX"]), float(app.config["BATCH_WAIT_MS"])
            )
            if int(app.config["BATCH_MAX"]) > 1
            else None
        ),
    )
    app.register_blueprint(bp)
    from poxscan.web.ondevice import init_ondevice

    init_ondevice(app, predictor)  # /ondevice/: screening inside the browser (lite models)
    for code in _HANDLED_CODES:
        app.register_error_handler(code, _handle_http_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)
    app.after_request(_security_headers)
    app.teardown_request(_release_pixels)
    return app


# -- helpers -------------------------------------------------------------------------------------
def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _release_pixels(_exc: BaseException | None = None) -> None:
    release_pixels(g.pop("poxscan_pixels", []))


def _security_headers(response: Response) -> Response:
    for key, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    if request.endpoint != "static":
        # Results are about someone's body: never keep them in a shared cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def _page_context() -> dict[str, Any]:
    from poxscan.predict import DISCLAIMER

    state = _state()
    return {
        "disclaimer": DISCLAIMER,
        "lime_available": state.lime is not None,
        "max_upload_mb": current_app.config["MAX_CONTENT_LENGTH"] / 1024 / 1024,
        "max_chat_chars": current_app.config["MAX_CHAT_CHARS"],
        "keeps_uploads": bool(current_app.config["KEEP_UPLOADS_DIR"]),
        "model_sha": state.manifest_sha256,
    }


def _read() -> Upload:
    config = current_app.config
    # The decoded image's share of the pixel budget is kept until the request ends (see
    # _release_pixels): its array lives until the prediction is done.
    held = g.setdefault("poxscan_pixels", [])
    upload = read_upload(
        request.files,
        max_pixels=int(config["MAX_IMAGE_PIXELS"]),
        pixels_in_flight=config["MAX_PIXELS_IN_FLIGHT"],
        hold=held,
    )
    folder = config["KEEP_UPLOADS_DIR"]
    if folder:
        keep_upload(upload.image, folder)
    return upload


def _prediction(upload: Upload) -> dict[str, Any]:
    """The prediction of an upload as JSON-able data, features grouped by family."""
    from poxscan.predict import DISCLAIMER

    state = _state()
    pred = state.predict(upload.image, upload.name, int(current_app.config["TOP_K"]))
    if getattr(pred, "refused", False):
        raise GateRefused(pred)
    data = pred.to_dict()
    families = group_by_family(data["top_features"])
    data["top_features"] = sorted(
        (row for g in families for row in g["features"]), key=lambda r: -abs(r["contribution"])
    )
    # Families: SHAP summed over every feature of each (not only the listed ones).
    data["families"] = [{**f, "total": f["contribution"]} for f in pred.families] or [
        {k: g[k] for k in ("family", "label", "total", "percent")} for g in families
    ]
    data["_prediction"] = pred
    data["disclaimer"] = DISCLAIMER
    data["model"] = {"manifest_sha256": state.manifest_sha256}
    return data


def _overlay_png(upload: Upload) -> tuple[bytes, dict[str, Any]]:
    """The LIME overlay (PNG) of an upload and its summary."""
    state = _state()
    if state.lime is None:
        raise LimeUnavailable("LIME overlays are not available in this installation.")
    # No lock here: the LIME adapter takes the predictor's lock per batch of perturbed copies,
    # so predictions of other requests are served in between.
    result = state.lime(state.predictor, upload.image)
    png, summary = result if isinstance(result, tuple) else (result, {})
    if not bytes(png[:8]) == b"\x89PNG\r\n\x1a\n":
        raise RuntimeError("the LIME overlay function did not return a PNG")
    return bytes(png), dict(summary)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _chat_message(value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest(
            'Send a JSON object with a text message, like {"message": "How does '
            'mpox spread?"}, with Content-Type: application/json.'
        )
    limit = int(current_app.config["MAX_CHAT_CHARS"])
    if len(value) > limit:
        raise UnprocessableEntity(
            f"The message is {len(value)} characters long; please keep it under {limit}."
        )
    return value


# -- pages ---------------------------------------------------------------------------------------
@bp.get("/")
def index() -> str:
    """Upload form and chat panel."""
    return render_template("index.html", **_page_context())


@bp.post("/predict")
def predict_page() -> str:
    """Form target: the result page."""
    upload = _read()
    result = _prediction(upload)
    extras = result_extras(_state().predictor, upload.image, result.pop("_prediction"))
    overlay, overlay_error = None, None
    if request.form.get("lime") in ("1", "on", "true"):
        try:
            overlay = _data_uri(_overlay_png(upload)[0])
        except LimeUnavailable as exc:
            overlay_error = exc.description
        except Exception:
            # The prediction stands on its own; a failed overlay must not hide it.
            log.exception("LIME overlay failed")
            overlay_error = "The LIME overlay could not be computed for this photo."
    return render_template(
        "result.html",
        result=result,
        label_text=_LABEL_TEXT.get(result["label"], result["label"]),
        groups=group_by_family(result["top_features"]),
        lay=lay_features(result["top_features"], int(current_app.config["TOP_K"])),
        thumbnail=_data_uri(thumbnail_png(upload.image)),
        overlay=overlay,
        overlay_error=overlay_error,
        **extras,
        **_page_context(),
    )


@bp.get("/model")
def model_card() -> str:
    """The model card, rendered from the verified model_card.md, and the global SHAP plots."""
    state = _state()
    info = state.info
    return render_template(
        "model_card.html",
        card_html=state.card_html,
        plots=sorted(state.shap_plots),
        info=info,
        **_page_context(),
    )


@bp.get("/model/shap/<name>")
def shap_plot(name: str) -> Response:
    """A global SHAP plot of the model (only the PNGs listed in its manifest)."""
    data = _state().shap_plots.get(name)
    if data is None:
        raise NotFound(f"The model has no plot named {name!r}.")
    return Response(data, mimetype="image/png")


@bp.route("/chat", methods=["GET", "POST"])
def chat_page() -> str:
    """The chatbot without JavaScript: a form posting back to this page; a "did you also
    mean" link asks its question with ``GET /chat?message=...``."""
    question, reply = None, None
    asked = request.form.get("message", "") if request.method == "POST" else None
    if asked is None and request.args.get("message"):
        asked = request.args["message"]
    if asked is not None:
        question = _chat_message(asked)
        reply = _state().chatbot.reply(question).to_dict()
    return render_template("chat.html", question=question, reply=reply, **_page_context())


# -- JSON API ------------------------------------------------------------------------------------
@bp.post("/api/predict")
def api_predict() -> Response:
    """Screen one photo (multipart field ``file``)."""
    data = _prediction(_read())
    data.pop("_prediction")
    return jsonify(data)


@bp.post("/api/report")
def api_report() -> Response:
    """Clinician report of one photo as JSON (generated for this response, never stored)."""
    upload = _read()
    state = _state()
    pred = state.predict(upload.image, upload.name, int(current_app.config["TOP_K"]))
    return jsonify(make_report(state.predictor, upload.image, pred))


@bp.post("/api/explain")
def api_explain() -> Response:
    """LIME overlay of one photo, as base64 PNG (slow; 501 where LIME is unavailable)."""
    from poxscan.predict import DISCLAIMER

    if _state().lime is None:
        raise LimeUnavailable("LIME overlays are not available in this installation.")
    upload = _read()
    png, summary = _overlay_png(upload)
    return jsonify(
        ok=True,
        file=upload.name,
        media_type="image/png",
        overlay_png_base64=base64.b64encode(png).decode("ascii"),
        explanation=summary,
        disclaimer=DISCLAIMER,
    )


@bp.post("/api/chat")
def api_chat() -> Response:
    """Ask the chatbot: ``{"message": "..."}``."""
    payload = request.get_json(silent=True)
    message = _chat_message(payload.get("message") if isinstance(payload, dict) else None)
    return jsonify(ok=True, **_state().chatbot.reply(message).to_dict())


@bp.get("/api/health")
def api_health() -> Response:
    """Liveness and the model's identity."""
    state = _state()
    info = state.info
    model = {
        k: info.get(k)
        for k in ("manifest_sha256", "families", "threshold", "calibration", "explanations")
    }
    return jsonify(
        status="ok", poxscan_version=__version__, lime=state.lime is not None, model=model
    )


@bp.get("/api/openapi.json")
def api_openapi() -> Response:
    """The OpenAPI 3 description of this app."""
    return jsonify(
        openapi_document(current_app.config["MAX_CONTENT_LENGTH"], _state().lime is not None)
    )


# -- errors --------------------------------------------------------------------------------------
def _message(exc: HTTPException) -> str:
    code = exc.code or 500
    if code == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"] / 1024 / 1024
        return (
            f"The upload is larger than the limit of {limit:g} MB. Please choose a smaller photo."
        )
    if code == 404 and exc.description == NotFound.description:
        return f"There is nothing at {request.path}."
    if code == 405:
        return f"{request.method} is not allowed at {request.path}."
    if code == 500:
        return "Something went wrong on our side; the error was logged. Please try again."
    return str(exc.description or exc.name)


def _handle_http_error(exc: HTTPException) -> tuple[Any, int]:
    if isinstance(exc, GateRefused):
        if _wants_json():
            return jsonify(refusal_body(exc)), 422
        page = render_template("refused.html", refusal=exc.refusal, **_page_context())
        return page, 422  # type: ignore[return-value]
    code = exc.code or 500
    message = _message(exc)
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    if _wants_json():
        body = jsonify(ok=False, status=code, error=exc.name, message=message)
        return body, code, headers  # type: ignore[return-value]
    try:
        page = render_template(
            "error.html", code=code, title=exc.name, message=message, **_page_context()
        )
    except Exception:  # pragma: no cover - a broken template must not hide the error
        log.exception("error page failed")
        page = f"{code} {exc.name}"
    return page, code, headers  # type: ignore[return-value]


def _handle_unexpected(exc: Exception) -> tuple[Any, int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _handle_http_error(InternalServerError())
