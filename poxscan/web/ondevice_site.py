"""The files of the on-device screening page for one lite model (no Flask needed).

The page itself (HTML, the bundled JavaScript, the LiteRT.js WebAssembly runtime, the service
worker) is built from ``web/ondevice/`` with npm into ``poxscan/web/ondevice_dist/``; this
module adds the model: ``model/backbone.tflite`` (the lite directory's int8 backbone, checked
against its manifest), ``model/head.json`` (:func:`poxscan.pipelines.browser_head.browser_head`
plus the model's identity and the disclaimer) and the input gate's ``model/gate.json`` and
binary reference data (:func:`poxscan.pipelines.browser_gate.browser_gate`), and stamps the
service worker with the model's identity and the list of files to keep offline. ``poxscan
serve`` serves the result at ``/ondevice/``; ``poxscan export-web`` writes it as static files.
Every URL in the page is relative, so the folder works under any path of any static web
server (HTTPS, or localhost: service workers need a secure context).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from poxscan.core.atomic import atomic_write_bytes

__all__ = ["DIST", "OPENAPI_PATHS", "OnDeviceUnavailable", "build_site", "write_site"]

_HTML = {"text/html": {"schema": {"type": "string"}}}
#: The on-device page's routes in the app's OpenAPI document.
OPENAPI_PATHS: dict[str, Any] = {
    "/ondevice/": {
        "get": {
            "summary": "On-device screening page (HTML): the photo is analysed in the browser",
            "responses": {
                "200": {"description": "Page.", "content": _HTML},
                "404": {
                    "description": "Not built, or the model cannot run on a device.",
                    "content": _HTML,
                },
            },
        }
    },
    "/ondevice/{rel}": {
        "get": {
            "summary": "A file of the on-device page: script, LiteRT.js runtime, service "
            "worker, web manifest, model/backbone.tflite, model/head.json, the input gate's "
            "model/gate.json and its binary reference data",
            "parameters": [
                {"name": "rel", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": "The file.",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "404": {"description": "No such file.", "content": _HTML},
            },
        }
    },
}

#: Where ``npm run build`` (in web/ondevice) puts the page.
DIST = Path(__file__).resolve().parent / "ondevice_dist"
BUILD_HINT = (
    "the on-device page is not built: run `npm ci && npm run build` in web/ondevice of a "
    "poxscan checkout (node 20+), then reinstall or restart; see the README"
)


class OnDeviceUnavailable(RuntimeError):
    """The page is not built, or the model cannot run on the device (the message says why)."""


def build_site(predictor: Any, dist: Path = DIST) -> dict[str, bytes]:
    """Every file of the page for a loaded lite model: relative path -> bytes.

    Raises
    ------
    OnDeviceUnavailable
        The page is not built, or the model is not a deep-only lite model with a linear head.
    """
    from poxscan.pipelines.browser_gate import browser_gate
    from poxscan.pipelines.browser_head import browser_head
    from poxscan.predict import DISCLAIMER

    if not (dist / "app.js").is_file():
        raise OnDeviceUnavailable(BUILD_HINT)
    manifest = predictor.manifest
    runtime = (manifest.get("runtime") or {}).get("backbones", {}).get("deep")
    if runtime is None:
        raise OnDeviceUnavailable(
            "the model is not a lite model (train it with --runtime litert-int8, or convert it "
            "with poxscan export-lite)"
        )
    try:
        head = browser_head(predictor.model)
    except ValueError as exc:
        raise OnDeviceUnavailable(str(exc)) from None
    backbone = (predictor.model_dir / runtime["file"]).read_bytes()
    if hashlib.sha256(backbone).hexdigest() != manifest["files"][runtime["file"]]:
        raise OnDeviceUnavailable(f"{runtime['file']}: does not match the manifest")
    extractor = predictor.model.extractors_["deep"]
    head.update(
        model_id=predictor.manifest_sha256,
        backbone_sha256=runtime["sha256"],
        input_size=int(extractor._runner().image_size),
        disclaimer=DISCLAIMER,
    )
    files: dict[str, bytes] = {
        p.relative_to(dist).as_posix(): p.read_bytes()
        for p in sorted(dist.rglob("*"))
        if p.is_file() and p.name != "sw.js"
    }
    files["model/backbone.tflite"] = backbone
    files["model/head.json"] = (json.dumps(head) + "\n").encode()
    try:
        # The same gate as the server's: pixel checks, then (lite gate) the int8 embedding's
        # distance to the training photos; None when the server runs without a gate.
        gate_files = browser_gate(predictor.gate, runtime["sha256"])
    except ValueError as exc:
        raise OnDeviceUnavailable(str(exc)) from None
    files.update({f"model/{name}": content for name, content in gate_files.items()})
    cache_id = hashlib.sha256(
        b"".join(hashlib.sha256(v).digest() for _, v in sorted(files.items()))
    ).hexdigest()[:16]
    precache = ["./", *sorted(k for k in files if k != "BUILD.json")]
    sw = (dist / "sw.js").read_text(encoding="utf-8")
    sw = sw.replace("__CACHE_ID__", cache_id).replace("__PRECACHE__", json.dumps(precache))
    files["sw.js"] = sw.encode()
    return files


def write_site(predictor: Any, out_dir: str | Path, dist: Path = DIST) -> list[str]:
    """Write the page's files under ``out_dir`` (atomically, file by file); return their paths."""
    out = Path(out_dir)
    files = build_site(predictor, dist)
    for rel, content in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, content)
    return sorted(files)
