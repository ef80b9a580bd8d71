"""Helpers of experiments/bench_gate.py: the whole-gate budget variant's threshold, the
fresh-kinds rule, and the fresh kinds of experiments/nonskin.py."""

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


def _result(oof_refused, fresh, every, cross):
    """A bench result holding only what the fresh-kinds rule reads."""
    skin5 = "distance + skin floor, two-signal cascade (skin share, 5 %, post hoc)"
    now = "distance + skin floor (now)"
    return {
        "lesion_photos_out_of_fold": {skin5: {"refused": oof_refused, "n": 409}},
        "nonskin": {
            "summary": {
                "fresh kinds": {"refused_cascade_skin5": fresh[0], "n": fresh[1]},
                "all": {"refused_cascade_skin5": every[0], "n": every[1]},
            }
        },
        "cross_source": {
            direction: {"variants": {skin5: {"refused": c}, now: {"refused": g}}}
            for direction, (c, g) in cross.items()
        },
    }


def test_the_fresh_kinds_rule_needs_every_term(bench_gate):
    cross = {"a -> b": (2, 2), "b -> a": (1, 1)}
    assert bench_gate.fresh_rule(_result(4, (152, 160), (296, 311), cross))["adopt"]
    # 95 % exactly is enough (152 of 160); one image fewer, or one lesion photo more, is not.
    assert not bench_gate.fresh_rule(_result(4, (151, 160), (296, 311), cross))["adopt"]
    assert not bench_gate.fresh_rule(_result(5, (152, 160), (296, 311), cross))["adopt"]
    assert not bench_gate.fresh_rule(_result(4, (152, 160), (295, 311), cross))["adopt"]
    worse = {"a -> b": (2, 2), "b -> a": (2, 1)}
    rule = bench_gate.fresh_rule(_result(4, (160, 160), (311, 311), worse))
    assert not rule["adopt"]
    assert rule["terms"]["b -> a: no more than the gate now"] == ["2 vs 1", False]


def test_the_fresh_kinds_are_new_many_and_the_same_every_time(bench_gate):
    import importlib

    # as bench_gate imports it (a dataclass needs its module registered in sys.modules)
    nonskin = importlib.import_module("nonskin")
    first, again = nonskin.fresh_images(0), nonskin.fresh_images(0)
    kinds = [k for k, _, _ in first]
    assert set(kinds) == set(nonskin.FRESH_KINDS) and len(nonskin.FRESH_KINDS) >= 8
    assert len(first) >= 120 and min(kinds.count(k) for k in set(kinds)) >= 8
    assert not set(kinds) & set(nonskin.DEV_KINDS + nonskin.HELD_OUT_KINDS)
    assert len({n for _, n, _ in first}) == len(first)
    for (k, n, a), (k2, n2, b) in zip(first, again, strict=True):
        assert (k, n) == (k2, n2) and np.array_equal(np.asarray(a), np.asarray(b)), n
        assert min(np.asarray(a).shape[:2]) >= 96, n  # none is refused for its size alone


def _agree_result(oof_refused, fresh2, every, cross):
    """A bench result holding only what the fresh2 rule reads (``fresh2=None``: no group)."""
    agree = "distance + skin floor, Lite0 + colour agreement"
    now = "distance + skin floor (now)"
    summary = {"all": {"refused_agree": every[0], "n": every[1]}}
    if fresh2 is not None:
        summary["fresh2"] = {"refused_agree": fresh2[0], "n": fresh2[1]}
    return {
        "lesion_photos_out_of_fold": {agree: {"refused": oof_refused, "n": 409}},
        "nonskin": {"summary": summary},
        "cross_source": {
            direction: {"variants": {agree: {"refused": c}, now: {"refused": g}}}
            for direction, (c, g) in cross.items()
        },
    }


def test_the_fresh2_rule_needs_every_term_and_a_measured_fresh2(bench_gate):
    cross = {"a -> b": (2, 2), "b -> a": (1, 1)}
    assert bench_gate.agreement_rule(_agree_result(4, (95, 100), (391, 411), cross))["adopt"]
    # 95 % exactly is enough; one image fewer (fresh2 or all), or one lesion photo more, is not.
    assert not bench_gate.agreement_rule(_agree_result(4, (94, 100), (391, 411), cross))["adopt"]
    assert not bench_gate.agreement_rule(_agree_result(5, (95, 100), (391, 411), cross))["adopt"]
    assert not bench_gate.agreement_rule(_agree_result(4, (95, 100), (390, 411), cross))["adopt"]
    worse = {"a -> b": (3, 2), "b -> a": (1, 1)}
    rule = bench_gate.agreement_rule(_agree_result(4, (100, 100), (411, 411), worse))
    assert not rule["adopt"]
    assert rule["terms"]["a -> b: no more than the gate now"] == ["3 vs 2", False]
    unmeasured = bench_gate.agreement_rule(_agree_result(4, None, (311, 311), cross))
    assert not unmeasured["adopt"]
    assert unmeasured["terms"]["fresh2 >= 95 %"] == ["not measured", False]
