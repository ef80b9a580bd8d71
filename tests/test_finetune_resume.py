"""experiments/finetune_cv.py resumes on a fresh clone from the folds its results file holds."""

from __future__ import annotations

import json

import pytest
from _experiments import load_experiment


@pytest.fixture(scope="module")
def finetune_cv():
    return load_experiment("finetune_cv")


def _fold(k: int, proba: bool = True) -> dict:
    fold = {
        "fold": k,
        "seconds": 10.0 + k,
        "inner": {"config": {"backbone": "b"}, "test_ids": [f"id{k}"]},
    }
    if proba:
        fold["proba"] = [[0.25, 0.75]]
    return fold


def test_folds_with_probabilities_are_seeded_once(finetune_cv, tmp_path):
    previous = tmp_path / "results.json"
    folds = [_fold(0), _fold(1, proba=False), _fold(2)]
    previous.write_text(json.dumps({"config": {"backbone": "b"}, "folds": folds}))
    work = tmp_path / "work"
    (work).mkdir()
    (work / "fold2.json").write_text("kept")

    assert finetune_cv.seed_fold_records(previous, work, {"backbone": "b"}) == [0]
    record = json.loads((work / "fold0.json").read_text())
    assert record == {"inner": folds[0]["inner"], "seconds": 10.0, "proba": [[0.25, 0.75]]}
    assert not (work / "fold1.json").exists()  # no probabilities: retrained
    assert (work / "fold2.json").read_text() == "kept"
    assert finetune_cv.seed_fold_records(previous, work, {"backbone": "b"}) == []


def test_another_config_or_no_file_seeds_nothing(finetune_cv, tmp_path):
    previous = tmp_path / "results.json"
    previous.write_text(json.dumps({"config": {"backbone": "b"}, "folds": [_fold(0)]}))
    work = tmp_path / "work"
    assert finetune_cv.seed_fold_records(previous, work, {"backbone": "other"}) == []
    assert finetune_cv.seed_fold_records(tmp_path / "missing.json", work, {}) == []
    assert not work.exists()


def test_a_seeded_fold_is_reused_by_the_cross_validation(finetune_cv, tmp_path):
    from poxscan.pipelines.finetune import FineTuneConfig, _load_fold, _plain

    cfg = FineTuneConfig(backbone="efficientnet-lite0")
    config = json.loads(json.dumps(_plain(cfg.to_dict())))
    previous = tmp_path / "results.json"
    fold = {"fold": 0, "seconds": 5.0, "proba": [[0.5, 0.5]]}
    fold["inner"] = {"config": config, "test_ids": ["a", "b"]}
    previous.write_text(json.dumps({"config": config, "folds": [fold]}))
    work = tmp_path / "work"
    assert finetune_cv.seed_fold_records(previous, work, config) == [0]
    assert _load_fold(work / "fold0.json", cfg, ["a", "b"])["proba"] == [[0.5, 0.5]]
    assert _load_fold(work / "fold0.json", cfg, ["a", "c"]) is None  # other folds: retrain
