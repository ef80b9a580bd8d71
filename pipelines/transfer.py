"""Evaluation that predicts transfer to photos from elsewhere, and the rule that picks a model.

A model is judged on photos from other cameras, clinics and collections, so besides the pooled
grouped cross-validation this module measures what happens across collections:

- **Leave one dataset out** (:func:`lodo_split`, :func:`leave_one_dataset_out`): fit on every
  dataset but one, test on the held-out one after removing every test image whose audit group
  (patients merged with near-duplicates, across sets) also occurs in the training part; how many
  were removed is reported. With the two shared sets this is "fit on msld_v1, test on
  ahsan2022" and the reverse.
- **Per source dataset inside the pooled CV** (:func:`per_dataset_metrics`): the pooled
  out-of-fold predictions split by the dataset each image came from.
- **Pooled grouped CV** (:func:`pooled_cv`): repeated grouped stratified k-fold over all sets;
  folds from :func:`~poxscan.pipelines.splits.grouped_folds`, metrics from
  :func:`~poxscan.pipelines.metrics.compute_metrics`, intervals from
  :func:`~poxscan.pipelines.evaluation.summarize` (Nadeau-Bengio t and group bootstrap).
- **Screening operating point** (:func:`operating_point`): sensitivity and specificity when the
  threshold is set for a target sensitivity (0.90) on calibrated out-of-fold probabilities,
  calibrator and threshold cross-fitted on the other folds
  (:func:`~poxscan.pipelines.training.crossfit_decisions`), so the figure is honest.

Selection rule (pre-declared, written before any candidate was compared)
------------------------------------------------------------------------
Each candidate's **rule value** is the *worse* (minimum) of its leave-one-dataset-out ROC-AUCs
(:func:`rule_value`). The winner (:func:`select_candidate`) is the candidate with the highest
rule value, except that among the candidates whose rule value is within
:data:`RULE_TOLERANCE` (0.01) of the best, the **cheapest at prediction time** wins: the lowest
``cost_rank`` (fewest backbones, then lowest latency); remaining ties go to the higher rule
value, then to the name. The pooled CV and per-dataset figures are reported beside it but do
not enter the rule: folds of one pool of 409 photos cannot tell close candidates apart, and
transfer across collections is what the external photos test.

Candidates
----------
A candidate is a pipeline config (:func:`~poxscan.pipelines.builder.build_pipeline`) or a
zero-argument factory returning an unfitted scikit-learn classifier over the feature table
(``predict_proba`` or ``decision_function``). Models that cannot be refitted here (a
fine-tuned CNN, an ensemble with one) are scored from precomputed scores on the same splits:
:func:`pooled_folds` and :func:`lodo_split` give the splits, :func:`transfer_row_from_scores`
the row.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from poxscan.pipelines.evaluation import CVResult, FoldResult, summarize
from poxscan.pipelines.experiment_data import ExperimentData
from poxscan.pipelines.intervals import group_bootstrap
from poxscan.pipelines.metrics import compute_metrics
from poxscan.pipelines.splits import check_group_split, grouped_folds

__all__ = [
    "RULE_TEXT",
    "RULE_TOLERANCE",
    "SCREENING_SENSITIVITY",
    "Candidate",
    "fit_scores",
    "leave_one_dataset_out",
    "lodo_row",
    "lodo_split",
    "operating_point",
    "per_dataset_metrics",
    "pooled_cv",
    "pooled_folds",
    "rule_value",
    "select_candidate",
    "transfer_row_from_scores",
    "transfer_scores",
]

#: Candidates whose rule value is this close to the best count as tied; the cheapest wins.
RULE_TOLERANCE = 0.01
#: The selection rule in one sentence, for reports.
RULE_TEXT = (
    "rule value = the worse (minimum) of the leave-one-dataset-out ROC-AUCs; the highest wins, "
    f"but among candidates within {RULE_TOLERANCE} of the best the cheapest at prediction time "
    "(lowest cost rank: fewest backbones, then lowest latency) wins."
)
#: Target sensitivity of the screening threshold.
SCREENING_SENSITIVITY = 0.90

#: A pipeline config, or a factory of unfitted classifiers over the feature table.
Candidate = Mapping[str, Any] | Callable[[], Any]


def _ci(values: tuple[float, float, float]) -> dict[str, float]:
    return dict(zip(("value", "low", "high"), (float(v) for v in values), strict=True))


def fit_scores(candidate: Candidate, train: ExperimentData, test_X: Any) -> np.ndarray:
    """Fit ``candidate`` on ``train`` and return its mpox scores on ``test_X``.

    Scores are the uncalibrated positive-class scores of
    :func:`~poxscan.pipelines.image_model.positive_scores` (``predict_proba[:, 1]``, or a
    logistic squash of ``decision_function``).
    """
    from poxscan.pipelines.image_model import positive_scores

    if isinstance(candidate, Mapping):
        from poxscan.pipelines.builder import build_pipeline

        est = build_pipeline(dict(candidate))
    else:
        est = candidate()
    # One BLAS thread: the machine is small and shared (as in tuning and evaluation).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(train.X, train.y)
        return positive_scores(est, test_X)


def pooled_folds(
    data: ExperimentData, n_splits: int = 5, repeats: int = 2, seed: int = 0
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per repeat, the grouped folds of the pooled CV (repeat ``r`` uses seed ``seed + r``)."""
    return [grouped_folds(data.y, data.groups, n_splits, seed=seed + r) for r in range(repeats)]


def _fold_ids(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    ids = np.full(n, -1, dtype=int)
    for k, (_, te) in enumerate(folds):
        ids[te] = k
    return ids


def _cv_result(
    name: str,
    data: ExperimentData,
    oof: Sequence[np.ndarray],
    folds: Sequence[list[tuple[np.ndarray, np.ndarray]]],
) -> CVResult:
    """A :class:`CVResult` of positive-class scores, so ``summarize`` gives the intervals."""
    fold_results, probas = [], []
    for r, (scores, split) in enumerate(zip(oof, folds, strict=True)):
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != data.y.shape or not np.isfinite(scores).all():
            raise ValueError(f"repeat {r}: need one finite score per image ({len(data.y)})")
        for k, (tr, te) in enumerate(split):
            fold_results.append(
                FoldResult(
                    repeat=r,
                    fold=k,
                    n_train=len(tr),
                    n_test=len(te),
                    metrics=compute_metrics(data.y[te], scores[te]),
                    config={},
                )
            )
        probas.append(np.column_stack([1.0 - scores, scores]))
    return CVResult(name, fold_results, probas, data.y, data.groups, ["not_mpox", "mpox"])


def pooled_cv(
    candidate: Candidate,
    data: ExperimentData,
    n_splits: int = 5,
    repeats: int = 2,
    seed: int = 0,
) -> tuple[list[np.ndarray], list[list[tuple[np.ndarray, np.ndarray]]]]:
    """Out-of-fold scores of ``candidate`` over the pooled grouped folds.

    Returns
    -------
    oof : list of ndarray
        Per repeat, one out-of-fold mpox score per image.
    folds : list
        Per repeat, the ``(train, test)`` index pairs (:func:`pooled_folds`).
    """
    folds = pooled_folds(data, n_splits, repeats, seed)
    oof = []
    for split in folds:
        scores = np.full(len(data.y), np.nan)
        for tr, te in split:
            check_group_split(data.groups, tr, te)
            scores[te] = fit_scores(candidate, data.subset(tr), data.X.iloc[te])
        oof.append(scores)
    return oof, folds


def lodo_split(data: ExperimentData, held_out: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Train and test positions of one leave-one-dataset-out direction.

    Train: every image of the other datasets. Test: the images of ``held_out`` whose group does
    not occur in the training part (the audit links near-duplicates across sets).

    Returns
    -------
    train, test : ndarray of int
        Row positions in ``data``.
    n_removed : int
        Images of ``held_out`` removed because their group is also on the training side.
    n_shared_groups : int
        How many groups that was.
    """
    dataset = data.records["dataset"].to_numpy(dtype=str)
    if held_out not in set(dataset):
        raise ValueError(f"dataset {held_out!r} is not in the data ({sorted(set(dataset))})")
    train = np.flatnonzero(dataset != held_out)
    if len(train) == 0:
        raise ValueError("leave-one-dataset-out needs at least two datasets")
    shared = set(data.groups[train])
    in_test = dataset == held_out
    dropped = in_test & np.isin(data.groups, list(shared))
    test = np.flatnonzero(in_test & ~dropped)
    check_group_split(data.groups, train, test)
    n_shared = len(shared & set(data.groups[in_test]))
    return train, test, int(dropped.sum()), n_shared


def _metrics_with_ci(
    y: np.ndarray, scores: np.ndarray, groups: np.ndarray, n_boot: int, seed: int
) -> dict[str, dict[str, float]]:
    boot = group_bootstrap(compute_metrics, y, scores, groups, n_boot, seed=seed)
    return {m: _ci(v) for m, v in boot.items()}


def lodo_row(
    data: ExperimentData, held_out: str, scores: np.ndarray, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Metrics of one leave-one-dataset-out direction from its test scores.

    ``scores`` are the mpox scores of the test rows of :func:`lodo_split` ``(data,
    held_out)``, in that order.
    """
    train, test, n_removed, n_shared = lodo_split(data, held_out)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != test.shape:
        raise ValueError(
            f"{held_out}: {len(scores)} scores for {len(test)} test images (see lodo_split)"
        )
    trained_on = sorted(set(data.records["dataset"].iloc[train]))
    y, groups = data.y[test], data.groups[test]
    return {
        "direction": f"{'+'.join(trained_on)} -> {held_out}",
        "train": trained_on,
        "test": held_out,
        "n_train": len(train),
        "n_test": len(test),
        "n_test_positive": int(y.sum()),
        "n_removed_shared_groups": n_removed,
        "n_shared_groups": n_shared,
        "metrics": _metrics_with_ci(y, scores, groups, n_boot, seed),
    }


def leave_one_dataset_out(
    candidate: Candidate, data: ExperimentData, n_boot: int = 1000, seed: int = 0
) -> list[dict[str, Any]]:
    """Both (every) leave-one-dataset-out directions of ``candidate``.

    Returns
    -------
    list of dict
        Per held-out dataset: ``direction``, counts (``n_test``,
        ``n_removed_shared_groups``, ...) and ``metrics`` (metric -> ``{"value", "low",
        "high"}``, group-bootstrap 95 % interval; decisions at score 0.5).
    """
    rows = []
    for held_out in sorted(set(data.records["dataset"])):
        train, test, _, _ = lodo_split(data, held_out)
        scores = fit_scores(candidate, data.subset(train), data.X.iloc[test])
        rows.append(lodo_row(data, held_out, scores, n_boot, seed))
    return rows


def per_dataset_metrics(
    data: ExperimentData, oof: Sequence[np.ndarray], n_boot: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Metrics of the pooled out-of-fold scores per source dataset, with bootstrap intervals.

    ``oof`` holds one score array per repeat (averaged per bootstrap draw, as in
    :func:`~poxscan.pipelines.intervals.group_bootstrap`).
    """
    dataset = data.records["dataset"].to_numpy(dtype=str)
    out = {}
    for name in sorted(set(dataset)):
        idx = np.flatnonzero(dataset == name)
        y, groups = data.y[idx], data.groups[idx]
        boot = group_bootstrap(
            compute_metrics, y, [np.asarray(s)[idx] for s in oof], groups, n_boot, seed=seed
        )
        out[name] = {
            "n_images": len(idx),
            "n_positive": int(y.sum()),
            "metrics": {m: _ci(v) for m, v in boot.items()},
        }
    return out


def operating_point(
    data: ExperimentData,
    oof: Sequence[np.ndarray],
    folds: Sequence[list[tuple[np.ndarray, np.ndarray]]],
    target: float = SCREENING_SENSITIVITY,
    calibration: str = "sigmoid",
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Out-of-fold sensitivity and specificity at a threshold set for ``target`` sensitivity.

    For each repeat, each fold's calibrator and threshold are fitted on the *other* folds'
    out-of-fold scores (:func:`~poxscan.pipelines.training.crossfit_decisions`), then applied to
    the fold; the decisions are pooled and measured, overall and per source dataset, with
    group-bootstrap intervals (averaged over repeats). Scores that do not rank the classes
    cannot be calibrated: the result then holds ``error`` instead of figures.
    """
    from poxscan.pipelines.training import crossfit_decisions

    rule = f"sensitivity:{target:.2f}"
    decisions, thresholds = [], []
    for scores, split in zip(oof, folds, strict=True):
        ids = _fold_ids(split, len(data.y))
        try:
            _, d, thr = crossfit_decisions(np.asarray(scores), data.y, ids, calibration, rule)
        except ValueError as exc:
            return {"rule": rule, "calibration": calibration, "error": str(exc)}
        decisions.append(d.astype(np.float64))
        thresholds += [float(t) for t in thr]

    def sens_spec(y: np.ndarray, d: np.ndarray) -> dict[str, float]:
        pos, neg = y == 1, y == 0
        return {
            "sensitivity": float(d[pos].mean()) if pos.any() else math.nan,
            "specificity": float(1 - d[neg].mean()) if neg.any() else math.nan,
        }

    def measured(idx: np.ndarray) -> dict[str, dict[str, float]]:
        boot = group_bootstrap(
            sens_spec, data.y[idx], [d[idx] for d in decisions], data.groups[idx], n_boot, seed=seed
        )
        return {m: _ci(v) for m, v in boot.items()}

    dataset = data.records["dataset"].to_numpy(dtype=str)
    return {
        "rule": rule,
        "calibration": calibration,
        "fold_thresholds": thresholds,
        "pooled": measured(np.arange(len(data.y))),
        "per_dataset": {n: measured(np.flatnonzero(dataset == n)) for n in sorted(set(dataset))},
    }


def rule_value(lodo: Sequence[Mapping[str, Any]]) -> float:
    """The pre-declared rule's value: the worst (minimum) leave-one-dataset-out ROC-AUC.

    NaN when a direction has no AUC (one class only in its test set).
    """
    aucs = [float(r["metrics"]["roc_auc"]["value"]) for r in lodo]
    if not aucs or any(not math.isfinite(a) for a in aucs):
        return math.nan
    return min(aucs)


def select_candidate(
    rows: Sequence[Mapping[str, Any]], tolerance: float = RULE_TOLERANCE
) -> dict[str, Any]:
    """Apply the pre-declared selection rule (module docstring) to candidate rows.

    Parameters
    ----------
    rows : sequence of dict
        Each with ``name``, ``rule_value`` (:func:`rule_value`) and ``cost_rank`` (lower is
        cheaper at prediction time). Rows with a NaN rule value cannot win.
    tolerance : float
        Rule values within this of the best count as tied.

    Returns
    -------
    dict
        ``winner`` (name), ``best`` (name of the highest rule value), ``best_value``,
        ``tied`` (names within the tolerance) and ``reason`` (one sentence).
    """
    valid = [r for r in rows if math.isfinite(float(r["rule_value"]))]
    if not valid:
        raise ValueError("no candidate has a rule value")
    best = max(valid, key=lambda r: (float(r["rule_value"]), -float(r["cost_rank"])))
    top = float(best["rule_value"])
    tied = [r for r in valid if float(r["rule_value"]) >= top - tolerance - 1e-12]
    winner = min(tied, key=lambda r: (float(r["cost_rank"]), -float(r["rule_value"]), r["name"]))
    if winner["name"] == best["name"]:
        reason = f"highest rule value ({top:.3f})"
        if len(tied) > 1:
            reason += f"; also the cheapest of the {len(tied)} within {tolerance}"
    else:
        reason = (
            f"cheapest (cost rank {winner['cost_rank']}) of the {len(tied)} candidates within "
            f"{tolerance} of the best rule value {top:.3f} ({best['name']})"
        )
    return {
        "winner": winner["name"],
        "winner_rule_value": float(winner["rule_value"]),
        "best": best["name"],
        "best_value": top,
        "tied": [r["name"] for r in tied],
        "tolerance": tolerance,
        "reason": reason,
    }


def _pooled_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("accuracy", "roc_auc", "sensitivity", "specificity", "balanced_accuracy", "brier")
    return {
        m: {
            "mean": v["mean"],
            "t_low": v["t_low"],
            "t_high": v["t_high"],
            "pooled": v["pooled"],
            "boot_low": v["boot_low"],
            "boot_high": v["boot_high"],
        }
        for m, v in summary["metrics"].items()
        if m in keep
    }


def transfer_row_from_scores(
    name: str,
    data: ExperimentData,
    oof: Sequence[np.ndarray],
    folds: Sequence[list[tuple[np.ndarray, np.ndarray]]],
    lodo_scores: Mapping[str, np.ndarray],
    cost_rank: float,
    cost: Mapping[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    target: float = SCREENING_SENSITIVITY,
) -> dict[str, Any]:
    """One candidate-table row from precomputed scores (e.g. a fine-tuned CNN's).

    Parameters
    ----------
    name : str
    data : ExperimentData
        The pooled data the scores refer to (row order of ``data``).
    oof : sequence of ndarray
        Per repeat, out-of-fold mpox scores on ``folds`` (from :func:`pooled_folds`).
    folds : sequence
        The folds the scores were made on.
    lodo_scores : mapping
        Held-out dataset -> mpox scores on the test rows of :func:`lodo_split` (same order).
    cost_rank : float
        Prediction-time cost rank for :func:`select_candidate` (lower is cheaper).
    cost : mapping, optional
        What the cost is (backbones, latency), for the table.
    n_boot, seed : int
        Group-bootstrap draws and seed.
    target : float
        Sensitivity of the screening operating point.
    """
    summary = summarize(_cv_result(name, data, oof, folds), n_boot=n_boot, seed=seed)
    lodo = [
        lodo_row(data, held_out, scores, n_boot, seed)
        for held_out, scores in sorted(lodo_scores.items())
    ]
    op = operating_point(data, oof, folds, target, n_boot=n_boot, seed=seed)
    return {
        "name": name,
        "cost_rank": cost_rank,
        "cost": dict(cost or {}),
        "n_images": len(data.y),
        "n_groups": len(np.unique(data.groups)),
        "n_splits": len(folds[0]),
        "repeats": len(folds),
        "pooled": _pooled_summary(summary),
        "per_dataset": per_dataset_metrics(data, oof, n_boot, seed),
        "operating_point": op,
        "lodo": lodo,
        "rule_value": rule_value(lodo),
    }


def transfer_scores(
    candidate: Candidate,
    data: ExperimentData,
    name: str = "candidate",
    cost_rank: float = 0,
    cost: Mapping[str, Any] | None = None,
    n_splits: int = 5,
    repeats: int = 2,
    seed: int = 0,
    n_boot: int = 1000,
    target: float = SCREENING_SENSITIVITY,
) -> dict[str, Any]:
    """Pooled grouped CV, per-dataset rows, operating point and LODO of one candidate.

    Parameters
    ----------
    candidate : dict or callable
        A pipeline config or a factory of unfitted classifiers (see module docstring).
    data : ExperimentData
        Pooled data of at least two datasets (``data.records["dataset"]``).
    name, cost_rank, cost :
        Row label and prediction-time cost (:func:`select_candidate`).
    n_splits, repeats, seed :
        Pooled CV: ``repeats`` x ``n_splits`` grouped folds, repeat ``r`` seeded ``seed + r``.
    n_boot : int
        Group-bootstrap draws of every interval.
    target : float
        Sensitivity of the screening operating point.

    Returns
    -------
    dict
        ``pooled`` (metric -> mean, t and bootstrap intervals), ``per_dataset``,
        ``operating_point``, ``lodo`` (one row per held-out dataset), ``rule_value`` and the
        cost; ready for :func:`select_candidate`.
    """
    oof, folds = pooled_cv(candidate, data, n_splits, repeats, seed)
    lodo_scores = {}
    for held_out in sorted(set(data.records["dataset"])):
        train, test, _, _ = lodo_split(data, held_out)
        lodo_scores[held_out] = fit_scores(candidate, data.subset(train), data.X.iloc[test])
    return transfer_row_from_scores(
        name, data, oof, folds, lodo_scores, cost_rank, cost, n_boot, seed, target
    )
