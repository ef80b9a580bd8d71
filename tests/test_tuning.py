"""Grouped folds, the search space, and resumable Optuna studies on real features."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from _pipeline_data import group_sets, shared_cache, small_experiment

from poxscan.cli import main
from poxscan.pipelines import tuning
from poxscan.pipelines.builder import build_pipeline
from poxscan.pipelines.metrics import tuning_score
from poxscan.pipelines.search_space import SearchSpace, suggest_config
from poxscan.pipelines.splits import check_group_split, grouped_folds
from poxscan.pipelines.tuning import CVObjective, ObjectiveSpec, run_study, tune_in_memory

#: A small, fast space: handcrafted colour and texture, linear models, ANOVA or PCA.
SPACE = SearchSpace(
    families=["color", "texture"], classifiers=["logreg", "lda"], selectors=["anova", "pca"]
)


@pytest.fixture(scope="session")
def small(data_root, tmp_path_factory):
    return small_experiment(data_root, shared_cache(tmp_path_factory))


def test_grouped_folds_never_split_a_group(small):
    for seed in (0, 1, 2):
        folds = grouped_folds(small.y, small.groups, n_splits=4, seed=seed)
        assert len(folds) == 4
        seen = np.concatenate([te for _, te in folds])
        assert sorted(seen) == list(range(len(small.y)))  # every row tested exactly once
        for train, test in folds:
            assert not group_sets(small.groups, train) & group_sets(small.groups, test)
            assert set(small.y[test]) == {0, 1}  # stratified: both classes in each fold
    again = grouped_folds(small.y, small.groups, n_splits=4, seed=0)
    first = grouped_folds(small.y, small.groups, n_splits=4, seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(again, first, strict=True))


def test_split_errors_and_checker():
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="at least 3 groups"):
        grouped_folds(y, np.array(["a", "a", "b", "b"]), n_splits=3)
    with pytest.raises(ValueError, match="labels but"):
        grouped_folds(y, np.array(["a", "b"]), n_splits=2)
    with pytest.raises(AssertionError, match="both sides"):
        check_group_split(np.array(["a", "a", "b"]), np.array([0, 2]), np.array([1]))


def test_search_space_respects_restrictions():
    space = SearchSpace(families=["deep", "color"], classifiers=["xgboost"], selectors=["pca"])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(15):
        trial = study.ask()
        cfg = suggest_config(trial, space)
        study.tell(trial, 0.5)
        assert cfg["families"] and set(cfg["families"]) <= {"color", "deep"}
        assert cfg["classifier"] == "xgboost" and cfg["selector"] == "pca"
        assert 8 <= cfg["k"] <= 512
        build_pipeline(cfg)  # every suggestion is a valid config
    with pytest.raises(ValueError, match="unknown classifiers"):
        SearchSpace(classifiers=["knn"])
    with pytest.raises(ValueError, match="at least one of families"):
        SearchSpace(families=[])


def test_fixed_trial_gives_the_documented_config():
    params = {
        "families": "color+deep",
        "selector": "l1",
        "k": 40,
        "l1_C": 0.2,
        "classifier": "svm",
        "svm_kernel": "rbf",
        "svm_C": 2.0,
        "svm_gamma": 0.01,
    }
    cfg = suggest_config(optuna.trial.FixedTrial(params))
    assert cfg["families"] == ["color", "deep"]
    assert cfg["selector_params"] == {"C": 0.2}
    assert cfg["params"] == {"kernel": "rbf", "C": 2.0, "gamma": 0.01}


def test_objective_reports_every_fold_and_fits_inside_folds(small, monkeypatch):
    seen = []
    real_build = tuning.build_pipeline

    def recording_build(config):
        pipe = real_build(config)
        fit, predict_proba = pipe.fit, pipe.predict_proba
        entry = {}

        def rec_fit(X, y=None, **kw):
            entry["fit"] = set(X.index)
            seen.append(entry)
            fit(X, y, **kw)
            return pipe

        def rec_proba(X):
            entry["pred"] = set(X.index)
            return predict_proba(X)

        pipe.fit, pipe.predict_proba = rec_fit, rec_proba
        return pipe

    monkeypatch.setattr(tuning, "build_pipeline", recording_build)
    objective = CVObjective(small.X, small.y, small.groups, SPACE, n_splits=3, seed=0)
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=2)
    assert len(seen) == 2 * 3
    group_of = dict(zip(small.X.index, small.groups, strict=True))
    for entry in seen:
        assert not entry["fit"] & entry["pred"]
        assert not {group_of[i] for i in entry["fit"]} & {group_of[i] for i in entry["pred"]}
    for trial in study.trials:
        assert sorted(trial.intermediate_values) == [0, 1, 2]
        scores = trial.user_attrs["fold_scores"]
        assert trial.value == pytest.approx(np.mean(scores))
        # The last report is the running mean over all folds.
        assert trial.intermediate_values[2] == pytest.approx(trial.value)


def test_study_persists_resumes_and_counts_trials(small, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    spec = ObjectiveSpec(datasets=["msld_v1"], space=SPACE, n_splits=2, seed=3)
    first = run_study("tiny", storage, spec, n_trials=3, data=small, show_progress_bar=False)
    assert len(first.trials) == 3
    # A new process would see the same study on disk.
    loaded = optuna.load_study(study_name="tiny", storage=storage)
    assert len(loaded.trials) == 3
    assert loaded.user_attrs["objective_spec"]["n_splits"] == 2
    done = [t for t in loaded.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert done and all(len(t.user_attrs["fold_scores"]) == 2 for t in done)
    # Resuming adds trials to the same study instead of starting over.
    again = run_study("tiny", storage, spec, n_trials=2, data=small, show_progress_bar=False)
    assert len(again.trials) == 5
    assert [t.number for t in again.trials] == list(range(5))
    # The resumed sampler does not replay the first trials' random draws.
    params = [tuple(sorted(t.params.items())) for t in again.trials]
    assert params[3] != params[0]
    best = tuning.best_config(again)
    assert build_pipeline(best).fit(small.X, small.y)
    # Another objective under the same name is refused.
    other = ObjectiveSpec(datasets=["msld_v1"], space=SPACE, n_splits=3, seed=3)
    with pytest.raises(ValueError, match="different objective"):
        run_study("tiny", storage, other, n_trials=1, data=small, show_progress_bar=False)


def test_same_seed_same_trials(small):
    a, _ = tune_in_memory(small.X, small.y, small.groups, SPACE, n_trials=3, n_splits=2, seed=7)
    b, _ = tune_in_memory(small.X, small.y, small.groups, SPACE, n_trials=3, n_splits=2, seed=7)
    assert a == b


def test_tuning_score():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    assert tuning_score("roc_auc", y, p) == pytest.approx(0.75)
    assert tuning_score("balanced_accuracy", y, p) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown tuning metric"):
        tuning_score("accuracy", y, p)


def test_tune_command_writes_the_best_config(small, tmp_path, monkeypatch, capsys):
    from poxscan.pipelines import experiment_data

    monkeypatch.setattr(experiment_data, "load_experiment", lambda *a, **k: small)
    out = tmp_path / "best.json"
    storage = f"sqlite:///{tmp_path / 'cli.db'}"
    argv = [
        "tune", "--families", "color,texture", "--classifiers", "logreg",
        "--selectors", "anova", "--n-trials", "2", "--n-splits", "2",
        "--study-name", "cli", "--storage", storage, "--out", str(out), "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    best = json.loads(out.read_text())
    assert best["n_trials"] == 2 and best["study_name"] == "cli"
    assert best["best_config"]["classifier"] == "logreg"
    build_pipeline(best["best_config"])
    printed = capsys.readouterr().out
    assert "best roc_auc" in printed and "optuna-dashboard" in printed
    assert main(argv) == 0  # resumes
    assert json.loads(out.read_text())["n_trials"] == 4
    assert main([*argv[:2], "colour", *argv[3:]]) == 2  # a clear error, exit code 2
