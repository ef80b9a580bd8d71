"""The web app's front door and hand-off: gate refusals, the explanation map, the report.

* :class:`GateRefused` is raised when the input gate refuses an upload: the API answers 422 with
  the machine-readable ``code``, the ``message`` and the ``advice``; the page shows the reason
  and how to take a better photo (``refused.html``). No probability, no label.
* :func:`result_extras` adds to the result page the explanation map (computed by default, about
  a second) and the clinician report as download links (``data:`` URIs made for this response:
  nothing is stored on the server).
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import numpy as np
from werkzeug.exceptions import UnprocessableEntity

__all__ = [
    "GateRefused",
    "make_report",
    "refusal_body",
    "result_extras",
    "warm_explanation_map",
]

log = logging.getLogger(__name__)


class GateRefused(UnprocessableEntity):
    """422: the input gate refused the photo (carries the :class:`~poxscan.predict.Refusal`)."""

    def __init__(self, refusal: Any) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def refusal_body(exc: GateRefused) -> dict[str, Any]:
    """The JSON body of a refusal (OpenAPI schema ``Refusal``)."""
    r = exc.refusal
    return {
        "ok": False,
        "status": 422,
        "error": exc.name,
        "refused": True,
        "code": r.code,
        "message": r.message,
        "advice": r.advice,
        "file": r.file,
        "gate": r.gate,
    }


def make_report(
    predictor: Any,
    image: np.ndarray,
    result: Any,
    saliency: Any = None,
    compute_map: bool = True,
) -> dict[str, Any]:
    """The clinician report of one upload (see :mod:`poxscan.pipelines.clinician_report`)."""
    from poxscan import __version__
    from poxscan.core.imageio import to_square
    from poxscan.pipelines.clinician_report import build_report
    from poxscan.predict import DISCLAIMER

    if saliency is None and compute_map and result.ok:
        saliency = predictor.explain_map(image, target=result.label)
    return build_report(
        result.to_dict(),
        predictor.info(),
        square=to_square(image, 224),
        saliency=saliency,
        disclaimer=DISCLAIMER,
        version=__version__,
    )


def _data_uri(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64," + base64.b64encode(data).decode("ascii")


def result_extras(predictor: Any, image: np.ndarray, result: Any) -> dict[str, Any]:
    """Template values for the result page: map overlay, caption, report downloads."""
    from poxscan.pipelines.clinician_report import render_report_html

    extras: dict[str, Any] = {"saliency": None, "saliency_error": None}
    saliency = None
    try:
        saliency = predictor.explain_map(image, target=result.label)
        extras["saliency"] = {
            "uri": _data_uri("image/png", saliency.png()),
            "caption": saliency.caption,
            "method": saliency.method,
            "seconds": saliency.seconds,
        }
    except Exception:
        # The prediction stands on its own; a failed map must not hide it.
        log.exception("explanation map failed")
        extras["saliency_error"] = "The explanation map could not be computed for this photo."
    report = make_report(predictor, image, result, saliency, compute_map=False)
    extras["report_html_uri"] = _data_uri("text/html", render_report_html(report).encode("utf-8"))
    extras["report_json_uri"] = _data_uri(
        "application/json", (json.dumps(report, indent=2, default=float) + "\n").encode()
    )
    return extras


def warm_explanation_map(predictor: Any) -> None:
    """Build the map's network now, not in the first request (a failure only logs)."""
    try:
        predictor.explain_map(np.full((224, 224, 3), 128, np.uint8))
    except Exception:
        log.exception("explanation maps unavailable")
