"""The screening threshold rule on scores made by hand, and its bootstrap interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from poxscan.pipelines.calibration import choose_threshold
from poxscan.pipelines.screening import dataset_of, screening_summary, threshold_interval

# Ten mpox and ten other images; scores chosen so each threshold can be worked out by hand.
POS = [0.91, 0.82, 0.73, 0.64, 0.55, 0.46, 0.37, 0.28, 0.19, 0.10]
NEG = [0.05, 0.15, 0.25, 0.35, 0.45, 0.50, 0.60, 0.70, 0.80, 0.90]
Y = np.array([1] * 10 + [0] * 10)
P = np.array(POS + NEG)


@pytest.mark.parametrize(
    ("target", "expected", "spec"),
    [
        # 9 of 10 mpox must score at least the threshold: the 9th highest is 0.19; the next
        # lower score of any image is 0.15, so the cut lies midway, 0.17. Negatives below: 2.
        (0.90, 0.17, 0.2),
        # 8 of 10: 0.28, next lower 0.25 -> 0.265; negatives below 0.265: 0.05, 0.15, 0.25.
        (0.80, 0.265, 0.3),
        # all 10: 0.10, next lower 0.05 -> 0.075; negatives below: 0.05 only.
        (1.00, 0.075, 0.1),
        # 5 of 10: 0.55, next lower 0.50 -> 0.525; negatives below: 6.
        (0.50, 0.525, 0.6),
    ],
)
def test_sensitivity_rule_on_known_scores(target, expected, spec):
    thr = choose_threshold(Y, P, f"sensitivity:{target:.2f}")
    assert thr == pytest.approx(expected)
    assert np.mean(P[Y == 1] >= thr) == pytest.approx(target)
    assert np.mean(P[Y == 0] < thr) == pytest.approx(spec)


def test_youden_on_known_scores():
    # Youden J = sens + spec - 1. By hand, every cut at an mpox score gives J = 0.1 (at 0.91:
    # 0.1 + 1.0 - 1; at 0.55: 0.5 + 0.6 - 1; ...) and cuts at other scores give less; among
    # ties the rule takes the highest cut, 0.91, midway to the next score 0.90 -> 0.905.
    assert choose_threshold(Y, P, "youden") == pytest.approx(0.905)


def test_threshold_interval_and_per_dataset_summary():
    groups = np.array([f"g{i}" for i in range(20)])
    value, low, high = threshold_interval(Y, P, groups, "sensitivity:0.90", n_boot=300)
    assert value == pytest.approx(0.17)
    assert low <= value <= high and low < high
    ids = [f"setA/{i}.jpg" if i % 2 else f"setB/{i}.jpg" for i in range(20)]
    assert list(dataset_of(ids[:2])) == ["setB", "setA"]
    oof = pd.DataFrame(
        {
            "id": ids,
            "y": Y,
            "group": groups,
            "fold": np.arange(20) % 4,
            "score": P,
            "proba": P,
            "decision": (P >= 0.17).astype(int),
        }
    )
    out = screening_summary(oof, P, "sensitivity:0.90", n_boot=100)
    assert out["threshold"]["value"] == pytest.approx(0.17)
    a = out["per_dataset"]["setA"]  # odd rows: positives 0.82 0.64 0.46 0.28 0.10, ...
    assert (a["n_images"], a["n_mpox"]) == (10, 5)
    # setA mpox at 0.17: 0.82, 0.64, 0.46, 0.28 pass, 0.10 does not -> 4/5.
    assert a["metrics"]["sensitivity"]["value"] == pytest.approx(0.8)
    # setA others: 0.15 0.35 0.50 0.70 0.90 -> only 0.15 is below 0.17 -> 1/5.
    assert a["metrics"]["specificity"]["value"] == pytest.approx(0.2)
