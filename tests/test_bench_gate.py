"""Helpers of experiments/bench_gate.py: the whole-gate budget variant's threshold."""

from __future__ import annotations

import numpy as np
import pytest
from _experiments import load_experiment

from poxscan.pipelines.gate import conformal_threshold


@pytest.fixture(scope="module")
def bench_gate():
    return load_experiment("bench_gate")


def test_budget_threshold_counts_the_photos_refused_before_the_distance(bench_gate):
    scores = np.arange(1.0, 100.0)  # 99 calibration scores 1..99
    none = np.zeros(99, bool)
    assert (
        bench_gate.budget_threshold(scores, none, 0.10) == conformal_threshold(scores, 0.10) == 90.0
    )
    # Five photos refused by the pixel checks (scores 3, 10, 20, 30, 40) use five of the nine
    # refusals the 10 % budget allows: the threshold is the 90th smallest of the other 94
    # scores with those five placed above every threshold, so the four largest remain above it.
    refused = np.isin(scores, [3, 10, 20, 30, 40])
    assert bench_gate.budget_threshold(scores, refused, 0.10) == 95.0
    # A budget used up by them: the distance still refuses beyond the largest other score.
    many = scores < 15
    assert bench_gate.budget_threshold(scores, many, 0.10) == 99.0
    with pytest.raises(ValueError, match="every calibration photo"):
        bench_gate.budget_threshold(scores, np.ones(99, bool), 0.10)
    with pytest.raises(ValueError, match="shape"):
        bench_gate.budget_threshold(scores, none[:5], 0.10)
