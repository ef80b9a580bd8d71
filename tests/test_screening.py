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


def test_per_tone_summary_counts_each_band_apart():
    # Rows 0-4 and 10-14 (mpox 0.91-0.55, others 0.05-0.45) are lighter photos (ITA 60), the
    # rest dark ones (ITA -5); the decision is at 0.17.
    tones = np.where(np.arange(20) % 10 < 5, 60.0, -5.0)
    oof = pd.DataFrame(
        {
            "id": [f"set/{i}.jpg" for i in range(20)],
            "y": Y,
            "group": [f"g{i}" for i in range(20)],
            "fold": np.arange(20) % 4,
            "score": P,
            "proba": P,
            "decision": (P >= 0.17).astype(int),
        }
    )
    out = screening_summary(oof, P, "sensitivity:0.90", n_boot=50, tones=tones)
    light = out["per_tone"]["lighter (ITA > 41)"]
    dark = out["per_tone"]["brown and dark (ITA <= 10)"]
    assert set(out["per_tone"]) == {"lighter (ITA > 41)", "brown and dark (ITA <= 10)"}
    assert (light["n_images"], light["n_mpox"], dark["n_images"]) == (10, 5, 10)
    # Lighter: every mpox (0.55-0.91) at or above 0.17; others 0.05 and 0.15 below -> 2/5.
    assert light["metrics"]["sensitivity"]["value"] == pytest.approx(1.0)
    assert light["metrics"]["specificity"]["value"] == pytest.approx(0.4)
    # Dark: mpox 0.46 0.37 0.28 0.19 pass, 0.10 does not -> 4/5; others 0.50-0.90 -> 0/5.
    assert dark["metrics"]["sensitivity"]["value"] == pytest.approx(0.8)
    assert dark["metrics"]["specificity"]["value"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="3 tones for 20"):
        screening_summary(oof, P, "sensitivity:0.90", n_boot=10, tones=[1.0, 2.0, 3.0])


def test_calibration_keeps_tail_scores_apart_so_the_target_is_reachable():
    from poxscan.pipelines.calibration import ScoreCalibrator

    # An overconfident head: 3 of 10 mpox and 5 of 10 others score below 1e-6 (an old clip at
    # 1e-6 tied them all). Each mpox tail score is above every other tail score, so 90 %
    # sensitivity is reachable without calling the 5 low others mpox.
    pos = [0.99, 0.97, 0.95, 0.9, 0.8, 0.7, 0.6, 1e-7, 1e-9, 1e-11]
    neg = [0.5, 0.4, 0.3, 0.2, 0.1, 1e-12, 1e-13, 1e-14, 1e-15, 0.0]
    y = np.array([1] * 10 + [0] * 10)
    s = np.array(pos + neg)
    proba = ScoreCalibrator("sigmoid").fit(s, y).predict(s)
    # Strictly monotone: every distinct score keeps its own calibrated probability.
    order = np.argsort(s)
    assert np.all(np.diff(proba[order]) > 0)
    thr = choose_threshold(y, proba, "sensitivity:0.90")
    # 9 mpox at or above the cut: the 9th highest mpox score is 1e-9; below it the next
    # score is 1e-11 (mpox); the five others under 1e-11 stay below the cut.
    assert np.sum(proba[y == 1] >= thr) == 9
    assert np.sum(proba[y == 0] < thr) == 5


def test_calibration_fit_ignores_how_far_exact_zeros_and_ones_lie():
    from poxscan.pipelines.calibration import ScoreCalibrator

    # The same labels with the extreme scores at 1e-7 or at exactly 0 (and 1 - 1e-7 or 1):
    # both sit beyond the fit's clip at 1e-6, so Platt's parameters are the same.
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    mid = [0.3, 0.45, 0.55, 0.7]
    a = ScoreCalibrator("sigmoid").fit(np.array([1e-7, 1e-7, *mid, 1 - 1e-7, 1 - 1e-7]), y)
    b = ScoreCalibrator("sigmoid").fit(np.array([0.0, 0.0, *mid, 1.0, 1.0]), y)
    assert a.slope_ == pytest.approx(b.slope_, rel=1e-6)
    assert a.intercept_ == pytest.approx(b.intercept_, abs=1e-6)
