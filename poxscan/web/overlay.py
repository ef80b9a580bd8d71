"""LIME overlays for the result page, from :mod:`poxscan.pipelines.lime_explain`.

LIME treats the classical model as a black box: it perturbs superpixels of the photo, predicts
every perturbed copy and shows which regions supported the answer. It needs hundreds of
predictions per photo, so it is opt-in (a checkbox on the upload form, ``POST /api/explain``)
and never on the default prediction path.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["OverlayFunction", "resolve_lime"]

log = logging.getLogger(__name__)

#: ``(predictor, image) -> PNG bytes`` or ``(PNG bytes, JSON-able summary)``. It is called
#: without any lock held: it must serialise its own use of the predictor's extractors (the
#: LIME adapter takes ``predictor._lock`` around each batch of perturbed copies, so other
#: requests are served between batches).
OverlayFunction = Callable[[Any, np.ndarray], "bytes | tuple[bytes, dict[str, Any]]"]


def resolve_lime(num_samples: int = 300, seed: int = 0) -> OverlayFunction | None:
    """The LIME overlay function of this installation, or ``None`` if there is none.

    Parameters
    ----------
    num_samples : int, default=300
        Perturbed copies predicted per photo (the cost).
    seed : int, default=0
        Same photo and seed, same overlay.

    Returns
    -------
    callable or None
        ``None`` when :mod:`poxscan.pipelines.lime_explain` or the ``lime`` package is
        missing; the web app then hides the option and ``POST /api/explain`` answers 501.
    """
    if importlib.util.find_spec("lime") is None:
        log.info("LIME overlays unavailable: the lime package is not installed")
        return None
    try:
        module = importlib.import_module("poxscan.pipelines.lime_explain")
    except ImportError as exc:
        log.info("LIME overlays unavailable (%s)", exc)
        return None

    def overlay(predictor: Any, image: np.ndarray) -> tuple[bytes, dict[str, Any]]:
        explanation = module.explain_model(
            predictor, image, num_samples=int(num_samples), seed=int(seed)
        )
        return module.overlay_png(explanation), explanation.to_dict()

    return overlay
