"""Latency statistics: the one summary of timed calls that every benchmark records."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["latency_stats"]


def latency_stats(
    times: Sequence[float], percentiles: Sequence[float] = (), unit: str = "ms"
) -> dict[str, float]:
    """Count, mean, median, minimum, maximum and percentiles of timed calls.

    Parameters
    ----------
    times : sequence of float
        One duration per call, already in ``unit``.
    percentiles : sequence of float, default=()
        Each ``q`` (0-100) adds a key ``p<q>_<unit>``: numpy's default (linear) percentile.
    unit : str, default="ms"
        Suffix of every key but ``n``, naming the unit of ``times``.

    Returns
    -------
    dict
        ``n``, ``mean_<unit>``, ``median_<unit>``, ``min_<unit>``, ``max_<unit>`` and one
        ``p<q>_<unit>`` per percentile, as plain Python numbers (JSON-ready).

    Raises
    ------
    ValueError
        When ``times`` is empty: a benchmark that timed nothing has no statistics.

    Examples
    --------
    >>> latency_stats([10.0, 20.0, 30.0, 40.0], percentiles=(90,))["p90_ms"]
    37.0
    """
    arr = np.asarray(times, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError("latency_stats: no timings given")
    out: dict[str, float] = {
        "n": int(arr.size),
        f"mean_{unit}": float(arr.mean()),
        f"median_{unit}": float(np.median(arr)),
        f"min_{unit}": float(arr.min()),
        f"max_{unit}": float(arr.max()),
    }
    qs = [float(q) for q in percentiles]
    for q, value in zip(qs, np.percentile(arr, qs) if qs else [], strict=True):
        out[f"p{q:g}_{unit}"] = float(value)
    return out
