"""The input gate as plain numbers, for the on-device (browser) page.

The page computes what the server's gate computes (:mod:`poxscan.pipelines.gate`), in
JavaScript: the pixel checks of :mod:`poxscan.core.image_checks` on the photo's 224 px grey
square (and its share of skin-coloured pixels), then, on the embedding of the lite model's own
int8 backbone (the same ``.tflite`` file, run by LiteRT.js), the mean cosine distance to the
``k`` nearest training photos against the conformal threshold, and the ImageNet head's screen
classes. Everything it needs comes from
here, so the page holds no constant of its own and says the same as the server:

- ``gate.json``: the pixel checks' order and thresholds, every reason's message and advice,
  and (when the model has an embedding gate) ``k``, the threshold, the screen classes and the
  layout of the two binary files;
- ``gate_reference.f32``: the training photos' unit int8 embeddings, float32 little-endian,
  row-major ``(n, d)``;
- ``gate_head.f16`` / ``gate_head_bias.f32``: the ImageNet classifier ``W (d, 1000)`` as the
  server holds it (float16, row-major) and its bias (float32).

A gate fitted on float Keras embeddings cannot run on the device (the page has only the int8
backbone); :func:`browser_gate` refuses it, with the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from poxscan.core import image_checks as checks
from poxscan.pipelines.gate import LITE_RUNTIME, SCREEN_CLASSES, SCREEN_PROBABILITY, InputGate

__all__ = ["GATE_FILES", "browser_gate"]

#: Files of the page's ``model/`` folder that hold the gate.
GATE_FILES = ("gate.json", "gate_reference.f32", "gate_head.f16", "gate_head_bias.f32")


def _pixel_rules() -> dict[str, Any]:
    return {
        "order": list(checks.CHECKS),
        "min_side": checks.MIN_SIDE,
        "side": checks._SIDE,
        "flat_std": checks._FLAT_STD,
        "blank_std": checks._BLANK_STD,
        "dark_mean": checks._DARK_MEAN,
        "dark_share": checks._DARK_SHARE,
        "bright_mean": checks._BRIGHT_MEAN,
        "bright_share": checks._BRIGHT_SHARE,
        "blur_var": checks._BLUR_VAR,
        "seam_ratio": checks._SEAM_RATIO,
        "seam_min": checks._SEAM_MIN,
        "gutter_std": checks._GUTTER_STD,
        "gutter_share": checks._GUTTER_SHARE,
        "central": list(checks._CENTRAL),
        "noise_corr": checks._NOISE_CORR,
        "skin_cr": list(checks._SKIN_CR),
        "skin_cb": list(checks._SKIN_CB),
        "skin_floor": checks.SKIN_FLOOR,
    }


def browser_gate(gate: InputGate | None, backbone_sha256: str) -> dict[str, bytes]:
    """The page's gate files (name under ``model/`` -> bytes) for a loaded model's gate.

    Parameters
    ----------
    gate : InputGate or None
        The predictor's gate; ``None`` (the server runs without a gate) gives the pixel checks
        only, as does a gate without an embedding.
    backbone_sha256 : str
        sha256 of the int8 backbone the page runs.

    Raises
    ------
    ValueError
        The gate's embedding is not the page's backbone's (a float gate, or another file).
    """
    doc: dict[str, Any] = {
        "pixel": _pixel_rules(),
        "reasons": {
            code: {"message": message, "advice": advice}
            for code, (message, advice) in checks.REASONS.items()
        },
        "embedding": None,
    }
    files: dict[str, bytes] = {}
    if gate is not None and gate.embedding is not None:
        if gate.runtime != LITE_RUNTIME or gate.tflite_sha256 != backbone_sha256:
            raise ValueError(
                "the model's input gate was fitted on embeddings the page cannot compute "
                f"({gate.runtime} backbone {gate.tflite_sha256 or gate.backbone}); retrain it "
                "with --runtime litert-int8 or convert it again with poxscan export-lite"
            )
        e = gate.embedding
        reference = np.ascontiguousarray(e.reference_, dtype="<f4")
        files["gate_reference.f32"] = reference.tobytes()
        emb: dict[str, Any] = {
            "threshold": float(e.threshold_),
            "n_neighbors": int(e.n_neighbors),
            "n_reference": int(reference.shape[0]),
            "dim": int(reference.shape[1]),
            "reference": "gate_reference.f32",
            "tflite_sha256": gate.tflite_sha256,
            "head": None,
            "screen_classes": {str(k): v for k, v in SCREEN_CLASSES.items()},
            "screen_probability": SCREEN_PROBABILITY,
        }
        if gate.head is not None:
            w, b = gate.head
            # The server holds W as float16 (gate.npz): the page gets the same numbers.
            files["gate_head.f16"] = np.ascontiguousarray(w, dtype="<f2").tobytes()
            files["gate_head_bias.f32"] = np.ascontiguousarray(b, dtype="<f4").tobytes()
            emb["head"] = {
                "weights": "gate_head.f16",
                "bias": "gate_head_bias.f32",
                "classes": int(np.shape(w)[1]),
            }
        doc["embedding"] = emb
    import json

    files["gate.json"] = (json.dumps(doc) + "\n").encode()
    return files
