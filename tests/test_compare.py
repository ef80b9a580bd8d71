"""The comparison table's pieces: paired fold differences, the Markdown table and the figures,
on rows built from real grouped folds of MSLD v1 (predictions made up by the test)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from poxscan.core.data import load_groups
from poxscan.pipelines import comparison as cmp
from poxscan.pipelines.evaluation import CVResult, FoldResult, summarize
from poxscan.pipelines.metrics import compute_metrics
from poxscan.pipelines.splits import grouped_folds


@pytest.fixture(scope="module")
def folds(msld_records):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        groups = load_groups(msld_records).to_numpy(str)
    y = msld_records["y"].to_numpy(int)
    return y, groups, grouped_folds(y, groups, 5, seed=0)


def _row(name, kind, y, groups, folds, noise, seed):
    rng = np.random.default_rng(seed)
    # A made-up model: the truth blurred by noise, clipped to probabilities.
    p = np.clip(y + rng.normal(0, noise, len(y)), 0.01, 0.99)
    proba = np.column_stack([1 - p, p])
    results = [
        FoldResult(0, f, len(tr), len(te), compute_metrics(y[te], proba[te]), {}, seconds=1.0)
        for f, (tr, te) in enumerate(folds)
    ]
    cv = CVResult(name, results, [proba], y, groups, ["not_mpox", "mpox"], 1)
    return {
        "name": name,
        "kind": kind,
        "folds": "5 x 1",
        "same_folds": True,
        "summary": summarize(cv, n_boot=50),
        "fold_metrics": [r.metrics for r in results],
        "oof": p,
        "train_seconds_per_fold": 1.0,
        "latency": {"median_ms": 10.0 * (seed + 1)},
        "size_mb": 1.0 + seed,
    }


def test_paired_differences_are_fold_by_fold(folds):
    y, groups, fl = folds
    a = _row("cnn", "cnn", y, groups, fl, 0.3, 0)
    b = _row("classical", "classical", y, groups, fl, 0.6, 1)
    out = cmp.paired_differences([a, b], reference="cnn")
    assert [p["row"] for p in out] == ["classical"]
    pairs = zip(a["fold_metrics"], b["fold_metrics"], strict=True)
    diffs = [fb["accuracy"] - fa["accuracy"] for fa, fb in pairs]
    d = out[0]["accuracy"]
    assert d["mean"] == pytest.approx(np.mean(diffs))
    assert d["low"] < d["mean"] < d["high"]
    # The noisier model is worse on these folds.
    assert d["mean"] < 0
    # Rows on other folds are never paired.
    b["same_folds"] = False
    assert cmp.paired_differences([a, b], reference="cnn") == []


def test_markdown_and_figures(folds, tmp_path):
    y, groups, fl = folds
    rows = [
        _row("classical, deep, reference pipeline", "classical", y, groups, fl, 0.5, 0),
        _row("fine-tuned CNN, efficientnet-lite0 (224 px)", "cnn", y, groups, fl, 0.4, 1),
    ]
    report = {
        "dataset": "msld_v1",
        "commands": ["poxscan compare"],
        "protocol": "protocol",
        "latency_runs": 5,
        "rows": rows,
        "paired_reference": rows[1]["name"],
        "paired": cmp.paired_differences(rows, rows[1]["name"]),
        "notes": ["a note"],
    }
    md = cmp.markdown(report)
    assert md.count("\n| classical, deep") == 2  # the table row and the paired row
    assert "fine-tuned CNN, efficientnet-lite0" in md and "a note" in md
    acc = rows[0]["summary"]["metrics"]["accuracy"]
    assert f"{100 * acc['mean']:.1f} [{100 * acc['t_low']:.1f}" in md
    for path in (
        cmp.plot_metric_bars(rows, tmp_path / "bars.png"),
        cmp.plot_latency_accuracy(rows, tmp_path / "lat.png"),
    ):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.png", "lat.png"]
