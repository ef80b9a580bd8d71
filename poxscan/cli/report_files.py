"""``poxscan predict --report DIR``: one clinician report (HTML + JSON) per screened image."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

__all__ = ["write_reports"]


def _stem(index: int, path: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(path).stem)[:60] or "image"
    return f"{index:03d}-{safe}-report"


def write_reports(
    predictor: Any, paths: Sequence[str | PathLike], results: Sequence[Any], folder: str
) -> Iterator[tuple[Any, Path | None]]:
    """Write a report for every result that is a prediction or a refusal (not a bad file).

    Yields ``(result, html path or None)``; the files are written atomically.
    """
    from poxscan import __version__
    from poxscan.core.imageio import load_image, to_square
    from poxscan.pipelines.clinician_report import build_report, write_report
    from poxscan.predict import DISCLAIMER

    info = predictor.info()
    for i, (path, result) in enumerate(zip(paths, results, strict=True)):
        if not result.ok and not getattr(result, "refused", False):
            yield result, None
            continue
        image = load_image(path, name=str(path))
        saliency = None
        if result.ok:
            saliency = predictor.explain_map(image, target=result.label)
        report = build_report(
            result.to_dict(),
            info,
            square=to_square(image, 224),
            saliency=saliency,
            disclaimer=DISCLAIMER,
            version=__version__,
        )
        html_path, _ = write_report(report, folder, _stem(i, str(path)))
        yield result, html_path
