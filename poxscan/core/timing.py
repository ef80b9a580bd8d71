"""Latency statistics and the machine's load: what every benchmark records beside its times."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence

import numpy as np

__all__ = ["latency_stats", "load_average", "machine"]


def latency_stats(
    ms: Sequence[float], percentiles: Sequence[float] = (10, 50, 90, 95, 99)
) -> dict[str, float]:
    """Summary of latencies in milliseconds: count, mean, median, min, max and percentiles.

    Parameters
    ----------
    ms : sequence of float
        One latency per call, in milliseconds.
    percentiles : sequence of float
        Each ``q`` adds a key ``p<q>_ms``.

    Returns
    -------
    dict
        ``n``, ``mean_ms``, ``median_ms``, ``min_ms``, ``max_ms`` and ``p<q>_ms``; the
        statistics are NaN when ``ms`` is empty.

    Examples
    --------
    >>> latency_stats([1.0, 2.0, 3.0], percentiles=(50,))["p50_ms"]
    2.0
    """
    arr = np.asarray(ms, dtype=np.float64)
    out: dict[str, float] = {"n": int(arr.size)}
    if arr.size == 0:
        nan = float("nan")
        out.update(mean_ms=nan, median_ms=nan, min_ms=nan, max_ms=nan)
        out.update({f"p{q:g}_ms": nan for q in percentiles})
        return out
    out.update(
        mean_ms=float(arr.mean()),
        median_ms=float(np.median(arr)),
        min_ms=float(arr.min()),
        max_ms=float(arr.max()),
    )
    values = np.percentile(arr, list(percentiles)) if len(percentiles) else []
    out.update({f"p{q:g}_ms": float(v) for q, v in zip(percentiles, values, strict=True)})
    return out


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded to 0.01 (empty where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict[str, object]:
    """What a benchmark ran on: processor, core count, platform and the load right now."""
    return {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average": load_average(),
    }
