"""Metrics, confidence intervals, nested CV, cross-dataset tests and reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _pipeline_data import shared_cache, small_experiment
from scipy import stats
from sklearn.metrics import brier_score_loss, roc_auc_score

from poxscan.cli import main
from poxscan.pipelines import evaluation, tuning
from poxscan.pipelines.evaluation import (
    cross_dataset,
    cross_validate_config,
    nested_cv,
    summarize,
)
from poxscan.pipelines.intervals import group_bootstrap, group_bootstrap_ci, t_interval
from poxscan.pipelines.metrics import METRICS, compute_metrics
from poxscan.pipelines.plots import plot_calibration, plot_confusion, plot_roc
from poxscan.pipelines.report import markdown_report, write_report
from poxscan.pipelines.search_space import SearchSpace

SPACE = SearchSpace(
    families=["color", "texture"], classifiers=["logreg", "lda"], selectors=["anova"]
)
FIXED = {"families": ["color", "texture"], "selector": "anova", "k": 20, "classifier": "logreg"}


@pytest.fixture(scope="session")
def small(data_root, tmp_path_factory):
    return small_experiment(data_root, shared_cache(tmp_path_factory))


# -- metrics and intervals on hand-made numbers ---------------------------------------------
def test_metrics_by_hand():
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.4, 0.6, 0.1])
    m = compute_metrics(y, p)
    assert m["accuracy"] == 0.5 and m["sensitivity"] == 0.5 and m["specificity"] == 0.5
    assert m["balanced_accuracy"] == 0.5 and m["f1"] == 0.5
    assert m["roc_auc"] == pytest.approx(0.75)  # 3 of 4 (positive, negative) pairs ordered
    assert m["brier"] == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = np.round(rng.random(200), 1)  # ties
    m = compute_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    # Multi-class: mpox (class 0 here) against the rest, plus macro figures.
    proba = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1]])
    m3 = compute_metrics(np.array([0, 1, 2, 1]), proba, positive=0)
    assert m3["accuracy"] == 0.75 and m3["sensitivity"] == 1.0
    assert m3["specificity"] == pytest.approx(2 / 3)
    assert set(METRICS) <= set(m3) and "macro_roc_auc" in m3


def test_t_interval_by_hand():
    mean, low, high = t_interval([1, 2, 3, 4, 5])
    half = stats.t.ppf(0.975, 4) * np.sqrt(2.5 / 5)  # s^2 = 2.5
    assert mean == 3 and low == pytest.approx(3 - half) and high == pytest.approx(3 + half)
    assert half == pytest.approx(1.9632, abs=1e-4)
    # Nadeau-Bengio: variance factor 1/5 + 0.25 instead of 1/5.
    _, _, high_c = t_interval([1, 2, 3, 4, 5], test_train_ratio=0.25)
    assert high_c - 3 == pytest.approx(stats.t.ppf(0.975, 4) * np.sqrt(0.45 * 2.5))
    assert t_interval([0.8]) == (0.8, 0.8, 0.8)
    assert np.isnan(t_interval([np.nan])[0])
    assert t_interval([1, np.nan, 3])[0] == 2


def test_group_bootstrap_moves_whole_groups():
    # Ten groups of ten identical rows behave exactly like ten single rows.
    values = np.arange(10, dtype=float)
    rows = np.repeat(values, 10)
    groups = np.repeat(np.arange(10), 10)

    def mean_metric(y, p):
        return float(np.mean(p))

    est, low, high = group_bootstrap_ci(mean_metric, rows, rows, groups, n_boot=500, seed=4)
    est1, low1, high1 = group_bootstrap_ci(
        mean_metric, values, values, np.arange(10), n_boot=500, seed=4
    )
    assert (est, low, high) == pytest.approx((est1, low1, high1))
    assert low < est == 4.5 < high
    # Treating the rows as independent would give a far narrower interval.
    _, low_i, high_i = group_bootstrap_ci(mean_metric, rows, rows, np.arange(100), 500, seed=4)
    assert high_i - low_i < 0.5 * (high - low)


def test_group_bootstrap_several_metrics_and_repeats():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    preds = [np.clip(y * 0.6 + rng.random(60) * 0.5, 0, 1) for _ in range(3)]
    groups = np.arange(60) // 3
    out = group_bootstrap(compute_metrics, y, preds, groups, n_boot=200, seed=0)
    for metric, (est, low, high) in out.items():
        assert low <= est <= high, metric
    expected_auc = np.mean([roc_auc_score(y, p) for p in preds])
    assert out["roc_auc"][0] == pytest.approx(expected_auc)
    with pytest.raises(ValueError, match="same length"):
        group_bootstrap(compute_metrics, y, preds, groups[:10])


# -- cross-validation --------------------------------------------------------------------------
def _record_fits(monkeypatch, *modules):
    """Wrap build_pipeline in the given modules to log the rows each pipeline fits and scores."""
    seen: list[dict] = []
    real_build = evaluation.build_pipeline

    def recording_build(config):
        pipe = real_build(config)
        fit, predict_proba = pipe.fit, pipe.predict_proba
        entry: dict = {}

        def rec_fit(X, y=None, **kw):
            entry["fit"] = set(X.index)
            seen.append(entry)
            fit(X, y, **kw)
            return pipe

        def rec_proba(X):
            entry.setdefault("pred", set()).update(X.index)
            return predict_proba(X)

        pipe.fit, pipe.predict_proba = rec_fit, rec_proba
        return pipe

    for module in modules:
        monkeypatch.setattr(module, "build_pipeline", recording_build)
    return seen


def test_nested_cv_tunes_inside_outer_training_folds(small, monkeypatch):
    seen = _record_fits(monkeypatch, evaluation, tuning)
    result = nested_cv(
        small, SPACE, n_splits=2, repeats=2, inner_splits=2, n_trials=2, seed=0, progress=False
    )
    assert len(result.folds) == 4 and len(result.oof) == 2
    # Every row is predicted once per repeat, by a model that never saw its group.
    for oof in result.oof:
        assert np.isfinite(oof).all()
        np.testing.assert_allclose(oof.sum(axis=1), 1.0, atol=1e-6)
    group_of = dict(zip(small.X.index, small.groups, strict=True))
    # Per outer fold: 2 trials x 2 inner folds, then the refit on the outer training part.
    assert len(seen) == 4 * (2 * 2 + 1)
    for entry in seen:
        assert not entry["fit"] & entry["pred"]
        assert not {group_of[i] for i in entry["fit"]} & {group_of[i] for i in entry["pred"]}
    outer_tests = [set(small.X.index[te]) for te in _outer_tests(small, 2, 2)]
    for k, test in enumerate(outer_tests):
        *inner, refit = seen[5 * k : 5 * (k + 1)]
        for entry in inner:  # the inner study never touches the outer test rows
            assert not (entry["fit"] | entry["pred"]) & test
        assert not refit["fit"] & test and refit["pred"] == test
        assert refit["fit"] == set(small.X.index) - test
    for fold in result.folds:
        assert fold.inner["n_trials"] == 2
        assert fold.config["classifier"] in ("logreg", "lda")

    summary = summarize(result, n_boot=200)
    for metric in METRICS:
        s = summary["metrics"][metric]
        assert s["t_low"] <= s["mean"] <= s["t_high"], metric
        assert s["boot_low"] <= s["pooled"] <= s["boot_high"], metric
        values = [f.metrics[metric] for f in result.folds]
        assert s["mean"] == pytest.approx(np.mean(values))
    assert "Nadeau-Bengio" in summary["interval_method"]


def _outer_tests(small, n_splits, repeats):
    from poxscan.pipelines.splits import grouped_folds

    return [
        te
        for r in range(repeats)
        for _, te in grouped_folds(small.y, small.groups, n_splits, seed=r)
    ]


def test_leakage_canary_is_invisible_inside_the_fold(small, monkeypatch):
    # A canary column: the label (x 10) on the first fold's test rows, 0 on every other row.
    # Fitted on all rows, the scaler's mean and the selector's score of the canary are
    # positive; fitted on the first fold's training rows (where it is constant 0) they are 0.
    from poxscan.pipelines.builder import build_pipeline

    first_test = _outer_tests(small, 4, 1)[0]
    data = small.subset(np.arange(len(small.y)))
    data.X = data.X.copy()
    data.X["color__canary"] = 0.0
    data.X.iloc[first_test, data.X.columns.get_loc("color__canary")] = data.y[first_test] * 10.0
    config = {**FIXED, "families": ["color"], "k": 5}

    def canary_stats(pipe):
        col = list(pipe.named_steps["families"].get_feature_names_out()).index("color__canary")
        return pipe.named_steps["scaler"].mean_[col], pipe.named_steps["select"].scores_[col]

    leaky_mean, leaky_score = canary_stats(build_pipeline(config).fit(data.X, data.y))
    assert leaky_mean > 0 and leaky_score > 0

    fitted = []
    real_build = evaluation.build_pipeline

    def keep(cfg):
        pipe = real_build(cfg)
        fitted.append(pipe)
        return pipe

    monkeypatch.setattr(evaluation, "build_pipeline", keep)
    cross_validate_config(data, config, n_splits=4, repeats=1, seed=0)
    assert len(fitted) == 4
    assert canary_stats(fitted[0]) == (0.0, 0.0)
    assert "color__canary" not in fitted[0][:-1].get_feature_names_out()


def test_cross_dataset_removes_shared_groups(small):
    half = np.arange(len(small.y)) % 2 == 0
    train, test = small.subset(half), small.subset(~half)  # every group on both sides
    test.groups = test.groups.copy()
    test.groups[:6] = [f"only-in-test-{i}" for i in range(6)]
    test.groups[6:] = np.where(
        np.arange(len(test.groups) - 6) % 2 == 0, test.groups[6:], "another-" + test.groups[6:]
    )
    out = cross_dataset(train, test, FIXED, n_boot=100, name="t")
    shared = set(train.groups) & set(test.groups)
    assert out["n_removed_shared_groups"] == int(np.isin(test.groups, list(shared)).sum()) > 0
    assert out["n_test"] == len(test.y) - out["n_removed_shared_groups"]
    assert out["proba"].shape == (out["n_test"], 2)
    for metric, v in out["metrics"].items():
        if np.isfinite(v["value"]):
            assert v["boot_low"] <= v["value"] <= v["boot_high"], metric


def test_plots_and_report(small, tmp_path):
    result = cross_validate_config(small, FIXED, n_splits=2, repeats=2, seed=1)
    summary = summarize(result, n_boot=50)
    y = (result.y == 1).astype(int)
    curves = {"fixed": (y, [o[:, 1] for o in result.oof])}
    paths = [
        plot_roc(curves, tmp_path / "roc.png"),
        plot_calibration(curves, tmp_path / "cal.png"),
        plot_confusion(result.y, result.oof[0].argmax(1), ["no", "mpox"], tmp_path / "cm.png"),
    ]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = {
        "name": "t",
        "nested": {"summary": summary, "chosen": [("logreg | anova", 4)]},
        "published": {"model": "ResNet50", "accuracy": 0.83, "accuracy_sd": 0.05},
    }
    json_path, md_path = write_report(report, tmp_path / "out", "t")
    loaded = json.loads(json_path.read_text())
    assert loaded["nested"]["summary"]["metrics"]["accuracy"]["mean"] == pytest.approx(
        summary["metrics"]["accuracy"]["mean"]
    )
    md = md_path.read_text()
    assert "| accuracy |" in md and "ResNet50" in md
    assert md == markdown_report(loaded)
    assert not list((tmp_path / "out").glob(".*tmp"))  # atomic writes leave no temp files


def test_evaluate_command(small, tmp_path, monkeypatch, capsys):
    from poxscan.pipelines import experiment_data

    monkeypatch.setattr(experiment_data, "load_experiment", lambda *a, **k: small)
    argv = [
        "evaluate", "--families", "color,texture", "--classifiers", "logreg",
        "--selectors", "anova", "--outer-splits", "2", "--repeats", "1", "--inner-splits", "2",
        "--n-trials", "2", "--n-boot", "50", "--skip", "cross", "--out-dir", str(tmp_path),
        "--name", "t", "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((tmp_path / "t.json").read_text())
    assert report["nested"]["summary"]["n_folds"] == 2
    assert set(report["ablations"]["results"]) == {"handcrafted", "color", "texture", "hog"}
    for name in ("t_roc.png", "t_calibration.png", "t_nested_confusion.png", "t.md"):
        assert (tmp_path / name).is_file(), name
    assert "Ablations by feature family" in capsys.readouterr().out
    bad = [("nested,bogus" if a == "cross" else a) for a in argv]
    assert main(bad) == 2  # an unknown part: a clear error, exit code 2


def test_evaluate_reports_transfer_on_pooled_sets(small, tmp_path, monkeypatch):
    """Two source datasets: both leave-one-dataset-out directions, per-dataset rows and the
    screening operating point appear in the JSON and the Markdown."""
    from poxscan.pipelines import experiment_data

    pooled = small.subset(np.arange(len(small.y)))
    first = set(np.unique(pooled.groups)[::2])
    pooled.records["dataset"] = np.where(
        np.isin(pooled.groups, list(first)), "msld_v1", "ahsan2022"
    )
    monkeypatch.setattr(experiment_data, "load_experiment", lambda *a, **k: pooled)
    argv = [
        "evaluate", "--families", "color,texture", "--classifiers", "logreg",
        "--selectors", "anova", "--outer-splits", "2", "--repeats", "1", "--inner-splits", "2",
        "--n-trials", "2", "--n-boot", "30", "--out-dir", str(tmp_path), "--name", "p",
        "--no-progress", "--skip", "nested", "--reference-config",
        '{"families": ["color", "texture", "hog"]}',
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((tmp_path / "p.json").read_text())
    lodo = report["transfer"]["lodo"]
    assert sorted(r["test"] for r in lodo) == ["ahsan2022", "ahsan2022", "msld_v1", "msld_v1"]
    assert all(r["n_removed_shared_groups"] == 0 for r in lodo)  # groups lie in one set each
    assert set(report["transfer"]["per_dataset"]["reference, color+texture+hog"]) == {
        "msld_v1",
        "ahsan2022",
    }
    op = report["transfer"]["operating_point"]["reference, color+texture+hog"]
    assert op["rule"] == "sensitivity:0.90"
    assert "error" in op or set(op["per_dataset"]) == {"msld_v1", "ahsan2022"}
    md = (tmp_path / "p.md").read_text()
    assert "Leave one dataset out" in md and "Per source dataset" in md
