"""Transfer evaluation: leave-one-dataset-out splits, per-dataset rows and the selection rule."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from poxscan.core.data import load_groups, load_records
from poxscan.pipelines import transfer
from poxscan.pipelines.experiment_data import ExperimentData
from poxscan.pipelines.splits import grouped_folds

REPO = Path(__file__).resolve().parents[1]


def _data(groups: list[str], datasets: list[str], y: list[int], seed: int = 0) -> ExperimentData:
    """Hand-made rows: features = label signal plus noise, so a classifier can learn."""
    rng = np.random.default_rng(seed)
    y_arr = np.asarray(y)
    X = pd.DataFrame(
        rng.normal(size=(len(y), 3)) + y_arr[:, None] * 1.5,
        columns=["deep__a", "deep__b", "deep__c"],
        index=[f"{d}/img{i}.jpg" for i, d in enumerate(datasets)],
    )
    records = pd.DataFrame({"id": X.index, "dataset": datasets, "label": y_arr})
    return ExperimentData(X, y_arr, np.asarray(groups), records, ["not_mpox", "mpox"])


def test_lodo_split_removes_groups_shared_with_the_training_set():
    # Set A: groups g1 g2 g3; set B: g3 (shared with A), g4, g4, g5.
    data = _data(
        ["g1", "g2", "g3", "g3", "g4", "g4", "g5"],
        ["A", "A", "A", "B", "B", "B", "B"],
        [1, 0, 1, 1, 0, 1, 0],
    )
    train, test, removed, shared = transfer.lodo_split(data, "B")
    assert train.tolist() == [0, 1, 2]
    assert test.tolist() == [4, 5, 6]  # row 3 (g3) removed
    assert (removed, shared) == (1, 1)
    train, test, removed, shared = transfer.lodo_split(data, "A")
    assert train.tolist() == [3, 4, 5, 6]
    assert test.tolist() == [0, 1]  # row 2 (g3) removed
    assert (removed, shared) == (1, 1)
    with pytest.raises(ValueError, match="not in the data"):
        transfer.lodo_split(data, "C")


def test_pooled_splits_never_put_an_audit_group_on_both_sides(data_root):
    """The shipped audit groups span both datasets; pooled folds and LODO respect them."""
    records = load_records(["msld_v1", "ahsan2022"], root=data_root)
    groups = load_groups(records).to_numpy(dtype=str)
    dataset = records["dataset"].to_numpy()
    across = {g for g in set(groups) if len(set(dataset[groups == g])) == 2}
    assert len(across) >= 10, "the audit links photos across the two sets"
    y = records["y"].to_numpy()
    for seed in (0, 1):
        for tr, te in grouped_folds(y, groups, 5, seed=seed):
            assert not set(groups[tr]) & set(groups[te])
    data = ExperimentData(
        pd.DataFrame(index=records["id"]), y, groups, records, ["not_mpox", "mpox"]
    )
    for held_out in ("msld_v1", "ahsan2022"):
        train, test, removed, _ = transfer.lodo_split(data, held_out)
        assert not set(groups[train]) & set(groups[test])
        held = dataset == held_out
        # every held-out image is either tested or removed because its group is in training
        assert len(test) + removed == held.sum()
        assert removed == sum(np.isin(groups[held], list(across)))


def test_rule_value_is_the_worse_lodo_auc():
    lodo = [{"metrics": {"roc_auc": {"value": 0.91}}}, {"metrics": {"roc_auc": {"value": 0.84}}}]
    assert transfer.rule_value(lodo) == 0.84
    lodo[0]["metrics"]["roc_auc"]["value"] = float("nan")
    assert math.isnan(transfer.rule_value(lodo))


def test_select_candidate_prefers_the_cheapest_within_tolerance():
    rows = [
        {"name": "big", "rule_value": 0.900, "cost_rank": 3},
        {"name": "mid", "rule_value": 0.893, "cost_rank": 2},  # within 0.01 of 0.900
        {"name": "small", "rule_value": 0.880, "cost_rank": 1},  # 0.02 below: out
        {"name": "broken", "rule_value": float("nan"), "cost_rank": 0},
    ]
    choice = transfer.select_candidate(rows)
    assert choice["winner"] == "mid"
    assert choice["best"] == "big"
    assert choice["tied"] == ["big", "mid"]
    rows[1]["rule_value"] = 0.885  # now 0.015 below the best: the best wins
    assert transfer.select_candidate(rows)["winner"] == "big"
    with pytest.raises(ValueError):
        transfer.select_candidate([{"name": "x", "rule_value": float("nan"), "cost_rank": 0}])


def test_transfer_scores_of_a_factory_and_of_precomputed_scores():
    n = 60
    rng = np.random.default_rng(1)
    y = np.tile([0, 1], n // 2)
    datasets = ["A"] * 30 + ["B"] * 30
    groups = [f"g{i // 2}" for i in range(n)]  # pairs; pair 14 = rows 28, 29 spans A and B
    groups[30] = "g14"
    data = _data(groups, datasets, y.tolist(), seed=2)
    row = transfer.transfer_scores(
        lambda: LogisticRegression(C=1.0), data, name="lr", n_splits=3, repeats=2, n_boot=50
    )
    assert [r["test"] for r in row["lodo"]] == ["A", "B"]
    assert [r["n_removed_shared_groups"] for r in row["lodo"]] == [2, 1]
    aucs = [r["metrics"]["roc_auc"]["value"] for r in row["lodo"]]
    assert row["rule_value"] == min(aucs)
    assert set(row["per_dataset"]) == {"A", "B"}
    assert row["pooled"]["roc_auc"]["pooled"] > 0.7  # the signal is learnable
    # The same row from the scores themselves (as a CNN would hand them in).
    folds = transfer.pooled_folds(data, 3, 2, 0)
    oof = []
    for split in folds:
        s = np.full(n, np.nan)
        for _tr, te in split:
            s[te] = 0.6 * y[te] + rng.random(len(te))
        oof.append(s)
    lodo = {d: rng.random(len(transfer.lodo_split(data, d)[1])) for d in ("A", "B")}
    pre = transfer.transfer_row_from_scores("weak", data, oof, folds, lodo, 1, n_boot=50)
    assert pre["pooled"]["roc_auc"]["pooled"] > 0.6
    assert set(pre["operating_point"]["per_dataset"]) == {"A", "B"}
    noise = [rng.random(n) for _ in folds]
    bad = transfer.transfer_row_from_scores("noise", data, noise, folds, lodo, 1, n_boot=20)
    assert "error" in bad["operating_point"] or "pooled" in bad["operating_point"]
    with pytest.raises(ValueError, match="scores for"):
        transfer.transfer_row_from_scores("bad", data, oof, folds, {"A": np.zeros(3)}, 1)


class _Loaded(RuntimeError):
    """Raised by the stand-in loader: the command got as far as loading its data."""


@pytest.mark.parametrize(
    "argv",
    [
        ["tune", "--n-trials", "1", "--families", "color", "--no-progress"],
        ["train", "--family", "color", "--no-progress"],
        ["evaluate", "--no-progress", "--families", "color"],
        ["compare"],
    ],
    ids=lambda a: a[0],
)
def test_commands_default_to_every_dataset(argv, monkeypatch, tmp_path, data_root):
    """Without --dataset, tune/train/evaluate/compare load every dataset of the manifest."""
    from poxscan.cli import main
    from poxscan.core.data import load_manifest
    from poxscan.pipelines import experiment_data

    seen = []

    def loader(datasets, *args, **kwargs):
        seen.append(list(datasets))
        raise _Loaded

    monkeypatch.setattr(experiment_data, "load_experiment", loader)
    monkeypatch.chdir(tmp_path)
    extra = {
        "tune": ["--storage", f"sqlite:///{tmp_path / 's.db'}"],
        "train": ["--out", str(tmp_path / "model")],
        "evaluate": ["--out-dir", str(tmp_path / "ev")],
        "compare": ["--out-dir", str(tmp_path / "cmp")],
    }[argv[0]]
    with pytest.raises(_Loaded):
        main([*argv, *extra, "--data-root", str(data_root)])
    assert seen == [["msld_v1", "ahsan2022"]] == [list(load_manifest())]
    # --dataset narrows it (evaluate would add the other set for its cross-dataset test)
    seen.clear()
    narrow = ["--dataset", "msld_v1"] + (
        ["--cross-dataset", "none"] if argv[0] == "evaluate" else []
    )
    with pytest.raises(_Loaded):
        main([*argv, *extra, "--data-root", str(data_root), *narrow])
    assert seen == [["msld_v1"]]


def test_train_without_a_config_ships_the_screening_config(tmp_path):
    from poxscan.cli import build_parser
    from poxscan.cli.train import _config_from_args
    from poxscan.pipelines.builder import SCREENING_CONFIG

    args = build_parser().parse_args(["train", "--out", str(tmp_path / "m")])
    config, info = _config_from_args(args)
    assert config["families"] == SCREENING_CONFIG["families"]
    assert config["classifier"] == SCREENING_CONFIG["classifier"]
    assert "candidates" in info["config_source"]
    from poxscan.cli.train import _parse_threshold
    from poxscan.pipelines.builder import SCREENING_THRESHOLD

    # The shipped rule is the one threshold_transfer.py's pre-declared choice picked.
    assert args.threshold is None and _parse_threshold(args.threshold) == SCREENING_THRESHOLD
    report = json.loads(
        (REPO / "experiments/results/candidates/threshold_transfer.json").read_text()
    )
    assert report["config"] == SCREENING_CONFIG and report["chosen"] == SCREENING_THRESHOLD
    # The help text names the default it resolves to (it cannot import the constant).
    train_help = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert SCREENING_THRESHOLD in " ".join(train_help.split())
