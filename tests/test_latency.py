"""The one latency summary, :func:`poxscan.core.latency.latency_stats`, on values worked out
by hand."""

from __future__ import annotations

import json

import pytest

from poxscan.core.latency import latency_stats


def test_four_calls_worked_by_hand():
    # Sorted 10, 20, 30, 40. Linear percentile at q: position q/100 * (n - 1) = 0.03 * q;
    # p10 -> 0.3: 10 + 0.3 * 10 = 13; p90 -> 2.7: 30 + 0.7 * 10 = 37; p50 -> 1.5: 25.
    stats = latency_stats([40.0, 10.0, 30.0, 20.0], percentiles=(10, 50, 90))
    assert stats == {
        "n": 4,
        "mean_ms": 25.0,
        "median_ms": 25.0,
        "min_ms": 10.0,
        "max_ms": 40.0,
        "p10_ms": pytest.approx(13.0),
        "p50_ms": 25.0,
        "p90_ms": pytest.approx(37.0),
    }


def test_unit_names_the_keys_and_odd_counts_take_the_middle():
    stats = latency_stats([3.0, 1.0, 2.0], unit="s")
    assert stats == {"n": 3, "mean_s": 2.0, "median_s": 2.0, "min_s": 1.0, "max_s": 3.0}


def test_tail_percentiles_and_fractional_names():
    # 0, 1, ..., 100: the linear percentile at q is q itself.
    stats = latency_stats(list(range(101)), percentiles=(95, 99, 99.5))
    assert (stats["p95_ms"], stats["p99_ms"], stats["p99.5_ms"]) == (95.0, 99.0, 99.5)
    assert stats["mean_ms"] == 50.0
    # Plain numbers: a benchmark writes them to JSON as they are.
    assert json.loads(json.dumps(stats)) == stats


def test_no_timings_is_an_error_not_nan():
    with pytest.raises(ValueError, match="no timings"):
        latency_stats([])
