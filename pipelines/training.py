"""Train the deployable model of a configuration and measure it honestly, with intervals.

:func:`train_model` fits an :class:`~poxscan.pipelines.image_model.ImageModel` on a feature
table: a grouped, stratified cross-validation yields out-of-fold scores, the calibrator and the
decision threshold are fitted on those, and the pipeline is refitted on every image.

:func:`oof_metrics` measures the whole decision rule out of fold. The calibrator and threshold
of the final model were fitted on all out-of-fold scores, so measuring them on the same scores
would flatter them; instead they are **cross-fitted**: for each fold, calibrator and threshold
are refitted on the other folds' out-of-fold scores and applied to this fold. 95 % confidence
intervals come from a cluster bootstrap that resamples groups (patients / near-duplicate
clusters), not images, so repeated images of one patient do not narrow the interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from poxscan.pipelines.calibration import ScoreCalibrator, ThresholdRule, choose_threshold
from poxscan.pipelines.image_model import ImageModel

__all__ = [
    "TrainResult",
    "check_cached_features",
    "crossfit_decisions",
    "oof_metrics",
    "train_model",
]


@dataclass
class TrainResult:
    """A trained model with its out-of-fold evidence."""

    model: ImageModel
    oof: pd.DataFrame
    metrics: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)


def crossfit_decisions(
    scores: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    calibration: str,
    rule: ThresholdRule | str | None,
    fixed_threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibrated probabilities and decisions of each fold from the other folds' scores.

    Returns
    -------
    proba, decision, thresholds : ndarray
        Per image: the cross-fitted calibrated probability and 0/1 decision; per fold: the
        threshold used on it.
    """
    proba = np.full(len(y), np.nan)
    decision = np.zeros(len(y), dtype=int)
    fold_ids = np.unique(folds)
    thresholds = np.zeros(len(fold_ids))
    for i, k in enumerate(fold_ids):
        rest, here = folds != k, folds == k
        cal = ScoreCalibrator(calibration).fit(scores[rest], y[rest])
        if fixed_threshold is not None:
            thr = float(fixed_threshold)
        else:
            thr = choose_threshold(y[rest], cal.predict(scores[rest]), rule or "youden")
        proba[here] = cal.predict(scores[here])
        decision[here] = (proba[here] >= thr).astype(int)
        thresholds[i] = thr
    return proba, decision, thresholds


def _threshold_metrics(y: np.ndarray, d: np.ndarray) -> dict[str, float]:
    tp = int(np.sum((d == 1) & (y == 1)))
    tn = int(np.sum((d == 0) & (y == 0)))
    fp = int(np.sum((d == 1) & (y == 0)))
    fn = int(np.sum((d == 0) & (y == 1)))

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    sens, spec = ratio(tp, tp + fn), ratio(tn, tn + fp)
    return {
        "sensitivity": sens,
        "specificity": spec,
        "balanced_accuracy": (sens + spec) / 2,
        "accuracy": ratio(tp + tn, len(y)),
        "ppv": ratio(tp, tp + fp),
        "npv": ratio(tn, tn + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
    }


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as P(positive scores above negative), ties counting one half; fast to bootstrap."""
    pos, neg = score[y == 1], np.sort(score[y == 0])
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    below = np.searchsorted(neg, pos, side="left")
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (len(pos) * len(neg)))


def _average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision as sklearn defines it (step-wise, ties grouped)."""
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # end of each run of tied scores
    tp = np.cumsum(t)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _all_metrics(y: np.ndarray, score: np.ndarray, proba: np.ndarray, d: np.ndarray) -> dict:
    p = np.clip(proba, 1e-6, 1 - 1e-6)
    out = {
        "roc_auc": _auc(y, score),
        "average_precision": _average_precision(y, score),
        "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        "brier": float(np.mean((proba - y) ** 2)),
    }
    out.update(_threshold_metrics(y, d))
    return out


def oof_metrics(
    oof: pd.DataFrame, n_boot: int = 2000, seed: int = 0
) -> dict[str, dict[str, float | list[float]]]:
    """Out-of-fold metrics with 95 % group-bootstrap intervals and per-fold spread.

    Parameters
    ----------
    oof : DataFrame
        Columns ``y``, ``group``, ``fold``, ``score`` (uncalibrated), ``proba`` (cross-fitted
        calibrated probability) and ``decision`` (cross-fitted 0/1 decision).
    n_boot : int
        Bootstrap draws; whole groups are resampled with replacement.

    Returns
    -------
    dict
        ``{metric: {"value", "ci95": [lo, hi], "fold_mean", "fold_std"}}``. ROC AUC and
        average precision use the uncalibrated score (calibration is monotone), Brier score
        and log loss the calibrated probability, the rest the thresholded decision.
    """
    y = oof["y"].to_numpy(int)
    pred = oof[["score", "proba", "decision"]].to_numpy(float)
    groups = oof["group"].to_numpy(str)
    folds = oof["fold"].to_numpy()

    def metrics_of(idx: np.ndarray) -> dict[str, float]:
        return _all_metrics(y[idx], pred[idx, 0], pred[idx, 1], pred[idx, 2].astype(int))

    point = metrics_of(np.arange(len(y)))
    per_fold = [metrics_of(np.flatnonzero(folds == k)) for k in np.unique(folds)]
    # The group bootstrap of poxscan.pipelines.intervals.group_bootstrap_ci, with every metric
    # computed on the same draws in one pass.
    uniq, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in point}
    with np.errstate(all="ignore"):
        for _ in range(int(n_boot)):
            pick = rng.integers(0, len(uniq), len(uniq))
            for name, value in metrics_of(np.concatenate([members[g] for g in pick])).items():
                draws[name].append(value)
    out = {}
    for name, value in point.items():
        arr = np.asarray(draws[name], dtype=float)
        arr = arr[np.isfinite(arr)]
        lo, hi = np.percentile(arr, [2.5, 97.5]) if arr.size else (np.nan, np.nan)
        fold_values = np.asarray([f[name] for f in per_fold], dtype=float)
        out[name] = {
            "value": value,
            "ci95": [float(lo), float(hi)],
            "fold_mean": float(np.nanmean(fold_values)),
            "fold_std": float(np.nanstd(fold_values, ddof=1)) if len(fold_values) > 1 else 0.0,
        }
    return out


def train_model(
    features: pd.DataFrame,
    y: Sequence[int],
    groups: Sequence[Any],
    config: Mapping[str, Any] | None = None,
    *,
    families: Sequence[str] | Mapping[str, Any] | None = None,
    pipeline: Any = None,
    calibration: str = "sigmoid",
    threshold: str | float = "sensitivity:0.90",
    cv: int = 5,
    seed: int = 0,
    n_boot: int = 2000,
    ids: Sequence[str] | None = None,
    tones: Sequence[float] | None = None,
) -> TrainResult:
    """Fit the deployable model of a configuration and measure it out of fold.

    Parameters
    ----------
    features : DataFrame
        Cached feature table, one row per training image.
    y, groups : array
        Labels (1 = mpox) and split groups of the rows.
    config : dict, optional
        A pipeline configuration for :func:`poxscan.pipelines.builder.build_pipeline` (its
        ``"families"`` entry names the feature families).
    families, pipeline : optional
        Instead of ``config``: feature families and an unfitted sklearn pipeline.
    calibration, threshold, cv, seed :
        See :class:`ImageModel`. The default threshold is the screening one: the highest
        whose out-of-fold sensitivity reaches 0.90 (``"youden"`` and others on request).
    n_boot : int, default=2000
        Bootstrap resamples for the intervals.
    ids : sequence of str, optional
        Image ids of the rows, kept in the out-of-fold table.
    tones : sequence of float, optional
        Skin tone of each row's photo (:func:`poxscan.core.skin_tone.ita_degrees`): the
        screening summary then also reports sensitivity and specificity per tone band.
    """
    if config is not None:
        from poxscan.pipelines.builder import config_families, normalize_config

        config = normalize_config(dict(config))
        if config["task"] != "binary":
            raise ValueError(
                f"poxscan train builds binary mpox / not-mpox models; got task {config['task']!r}"
            )
        families = families or config_families(config)
        pipeline = config if pipeline is None else pipeline
    if families is None:
        raise ValueError("name the feature families (config['families'] or families=)")
    model = ImageModel(
        families=families,
        pipeline=pipeline,
        calibration=calibration,
        threshold=threshold,
        cv=cv,
        random_state=seed,
    )
    y_arr = np.asarray(y).astype(int)
    groups_arr = np.asarray(groups)
    model.fit_features(features, y_arr, groups_arr)
    rule = None if model.threshold_rule_ == "fixed" else model.threshold_rule_
    proba, decision, fold_thresholds = crossfit_decisions(
        model.cv_scores_,
        y_arr,
        model.cv_folds_,
        calibration,
        rule,
        fixed_threshold=model.threshold_ if rule is None else None,
    )
    oof = pd.DataFrame(
        {
            "id": list(ids) if ids is not None else [str(i) for i in range(len(y_arr))],
            "y": y_arr,
            "group": groups_arr.astype(str),
            "fold": model.cv_folds_,
            "score": model.cv_scores_,
            "proba": proba,
            "decision": decision,
        }
    )
    metrics = {
        "scheme": (
            f"{cv}-fold stratified group cross-validation (seed {seed}); calibrator and "
            "threshold cross-fitted on the other folds' out-of-fold scores; 95 % intervals from "
            f"{n_boot} bootstrap resamples of groups"
        ),
        "n_groups": len(np.unique(groups_arr.astype(str))),
        "fold_thresholds": [float(t) for t in fold_thresholds],
        "metrics": oof_metrics(oof, n_boot=n_boot, seed=seed),
    }
    from poxscan.pipelines.screening import screening_summary

    # Threshold interval and per-dataset sensitivity / specificity, for the model card.
    calibrated = model.calibrator_.predict(model.cv_scores_)
    metrics["screening"] = screening_summary(
        oof, calibrated, rule, min(n_boot, 1000), seed, tones=tones
    )
    return TrainResult(model=model, oof=oof, metrics=metrics, config=dict(config or {}))


def check_cached_features(
    model: ImageModel,
    features: pd.DataFrame,
    paths: Sequence[str],
    n: int = 2,
    rtol: float = 1e-3,
    atol: float = 1e-4,
) -> dict[str, Any]:
    """Recompute a few training images' features as the saved model will, and compare.

    The model is trained on cached features but predicts on features it computes itself; a
    stale cache (features computed by other code under the same fingerprint) would make the
    two disagree silently. This catches it before the model is saved.

    Parameters
    ----------
    model : ImageModel
        The fitted model.
    features : DataFrame
        The cached training features, row-aligned with ``paths``.
    paths : sequence of str
        Image files of the rows.
    n : int, default=2
        Images checked (the first ``n``).

    Returns
    -------
    dict
        ``{"n_images", "max_abs_diff"}`` for the manifest.

    Raises
    ------
    RuntimeError
        If a recomputed feature differs beyond the tolerance.
    """
    from poxscan.core.imageio import load_image

    n = min(int(n), len(paths))
    live = model.extract([load_image(p) for p in paths[:n]]).to_numpy(np.float64)
    cached = model._align(features.iloc[:n]).to_numpy(np.float64)
    diff = np.abs(live - cached)
    bad = ~np.isclose(live, cached, rtol=rtol, atol=atol)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise RuntimeError(
            f"cached features disagree with the model's own extraction for {paths[i]}: "
            f"{model.feature_names_[j]} is {cached[i, j]:.6g} in the cache, {live[i, j]:.6g} "
            "recomputed; rebuild the feature cache"
        )
    return {"n_images": n, "max_abs_diff": float(diff.max()) if diff.size else 0.0}
