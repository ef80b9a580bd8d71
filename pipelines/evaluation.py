"""Honest evaluation of poxscan pipelines: nested CV, ablations, cross-dataset tests.

Protocol
--------
- **Nested cross-validation** (:func:`nested_cv`): outer grouped, stratified k-fold
  (:func:`~poxscan.pipelines.splits.grouped_folds`), repeated over several seeds. In each outer
  fold a fresh Optuna study (:func:`~poxscan.pipelines.tuning.tune_in_memory`) tunes on the
  outer *training* rows only, with an inner grouped k-fold over *their* groups; its best config
  is refitted on the whole outer training part and scored once on the outer test part. The
  outer test images take part in no choice: not of features, selection, model nor
  hyperparameters. Every scaler, selector and model is fitted inside a fold
  (:func:`~poxscan.pipelines.builder.build_pipeline` holds them all).
- **Fixed pipelines** (:func:`cross_validate_config`): the same repeated outer folds for one
  config; the ablations by feature family use it.
- **Cross-dataset** (:func:`cross_dataset`): fit on every image of one dataset, test on the
  other's images after dropping those whose group (the audit links near-duplicates across
  the two sets) also occurs on the training side.

Metrics and intervals
---------------------
Accuracy, balanced accuracy, sensitivity, specificity, F1, ROC-AUC and Brier score
(:mod:`~poxscan.pipelines.metrics`; binary decisions at probability 0.5). Each comes with two
95 % intervals (:mod:`~poxscan.pipelines.intervals`):

- ``t``: mean over the outer folds x repeats +/- t quantile x standard error, with the
  Nadeau-Bengio correction for the overlap of training sets between folds, clipped to the
  metric's range;
- ``boot``: percentile interval of a group bootstrap (1000 draws) over the pooled out-of-fold
  predictions, averaged over repeats.

Cross-dataset results have only the bootstrap interval (one fit, one test set).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from poxscan.pipelines.builder import build_pipeline, normalize_config
from poxscan.pipelines.experiment_data import ExperimentData
from poxscan.pipelines.intervals import group_bootstrap, t_interval
from poxscan.pipelines.metrics import METRICS, compute_metrics
from poxscan.pipelines.search_space import SearchSpace
from poxscan.pipelines.splits import check_group_split, grouped_folds
from poxscan.pipelines.tuning import DEFAULT_METRIC, tune_in_memory

__all__ = [
    "CVResult",
    "FoldResult",
    "cross_dataset",
    "cross_validate_config",
    "nested_cv",
    "summarize",
]

log = logging.getLogger(__name__)

#: Configs the nested CV chose, or the fixed config, per outer fold.
ConfigFn = Callable[[ExperimentData, int, int], tuple[dict[str, Any], dict[str, Any]]]


@dataclass
class FoldResult:
    """One outer fold of one repeat."""

    repeat: int
    fold: int
    n_train: int
    n_test: int
    metrics: dict[str, float]
    config: dict[str, Any]
    inner: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class CVResult:
    """Outer-fold metrics and out-of-fold predictions of a repeated grouped CV.

    Attributes
    ----------
    name : str
        What was evaluated.
    folds : list of FoldResult
    oof : list of ndarray
        Per repeat, the out-of-fold class probabilities, shape ``(n, n_classes)``.
    y, groups : ndarray
        Labels and groups of the rows.
    class_names : list of str
    positive : int
        Index of mpox among the classes.
    """

    name: str
    folds: list[FoldResult]
    oof: list[np.ndarray]
    y: np.ndarray
    groups: np.ndarray
    class_names: list[str]
    positive: int = 1
    seconds: float = 0.0


def _fit_predict(
    config: dict[str, Any], train: ExperimentData, test_X: Any
) -> tuple[Any, np.ndarray]:
    # One BLAS thread, as in tuning (see poxscan.pipelines.tuning._optimize).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = build_pipeline(config).fit(train.X, train.y)
        return pipe, pipe.predict_proba(test_X)


def _positive(class_names: list[str]) -> int:
    return class_names.index("mpox") if "mpox" in class_names else len(class_names) - 1


def _repeated_cv(
    name: str,
    data: ExperimentData,
    config_fn: ConfigFn,
    n_splits: int,
    repeats: int,
    seed: int,
    progress: bool,
) -> CVResult:
    n_classes = len(data.class_names)
    positive = _positive(data.class_names)
    folds: list[FoldResult] = []
    oofs: list[np.ndarray] = []
    start = time.perf_counter()
    total = n_splits * repeats
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=name, unit="fold")
    for r in range(repeats):
        oof = np.full((len(data.y), n_classes), np.nan)
        for f, (tr, te) in enumerate(grouped_folds(data.y, data.groups, n_splits, seed=seed + r)):
            check_group_split(data.groups, tr, te)
            t0 = time.perf_counter()
            train = data.subset(tr)
            config, inner = config_fn(train, r, f)
            _, proba = _fit_predict(config, train, data.X.iloc[te])
            oof[te] = proba
            folds.append(
                FoldResult(
                    repeat=r,
                    fold=f,
                    n_train=len(tr),
                    n_test=len(te),
                    metrics=compute_metrics(data.y[te], proba, positive=positive),
                    config=config,
                    inner=inner,
                    seconds=time.perf_counter() - t0,
                )
            )
            if bar is not None:
                bar.update(1)
        oofs.append(oof)
    if bar is not None:
        bar.close()
    return CVResult(
        name=name,
        folds=folds,
        oof=oofs,
        y=data.y,
        groups=data.groups,
        class_names=list(data.class_names),
        positive=positive,
        seconds=time.perf_counter() - start,
    )


def cross_validate_config(
    data: ExperimentData,
    config: dict[str, Any],
    n_splits: int = 5,
    repeats: int = 3,
    seed: int = 0,
    name: str = "fixed",
    progress: bool = False,
) -> CVResult:
    """Repeated grouped stratified k-fold of one fixed config.

    Parameters
    ----------
    data : ExperimentData
    config : dict
        Pipeline config (:func:`~poxscan.pipelines.builder.build_pipeline`).
    n_splits, repeats, seed : int
        Repeat ``r`` shuffles the folds with seed ``seed + r``.
    name : str
        Label of the result.
    progress : bool
        Show a progress bar.
    """
    cfg = normalize_config(config)
    return _repeated_cv(name, data, lambda _d, _r, _f: (cfg, {}), n_splits, repeats, seed, progress)


def nested_cv(
    data: ExperimentData,
    space: SearchSpace,
    n_splits: int = 5,
    repeats: int = 3,
    inner_splits: int = 3,
    n_trials: int = 30,
    inner_timeout: float | None = None,
    seed: int = 0,
    metric: str = DEFAULT_METRIC,
    family_params: dict[str, dict[str, Any]] | None = None,
    name: str = "nested",
    progress: bool = True,
) -> CVResult:
    """Nested, repeated, grouped cross-validation of the tuning procedure itself.

    Parameters
    ----------
    data : ExperimentData
    space : SearchSpace
        What the inner studies search.
    n_splits, repeats : int
        Outer folds and repeats (repeat ``r`` uses seed ``seed + r``).
    inner_splits : int
        Folds of the inner grouped CV that scores each trial.
    n_trials : int
        Trials per inner study (each outer fold of each repeat runs one).
    inner_timeout : float, optional
        Seconds per inner study; it stops after the trial running at that time.
    seed : int
    metric : str
        What the inner studies maximise.
    family_params : dict, optional
        Extractor parameters written into the chosen configs' families (e.g. the backbone).
    name : str
    progress : bool

    Returns
    -------
    CVResult
        ``folds[i].config`` is the config chosen in that fold; ``folds[i].inner`` holds the
        inner study's best score, trial counts and time.
    """

    def tuned(train: ExperimentData, r: int, f: int) -> tuple[dict[str, Any], dict[str, Any]]:
        t0 = time.perf_counter()
        config, study = tune_in_memory(
            train.X,
            train.y,
            train.groups,
            space,
            n_trials=n_trials,
            n_splits=inner_splits,
            seed=seed + 1000 * r + f,
            timeout=inner_timeout,
            metric=metric,
            family_params=family_params,
        )
        states = [t.state.name.lower() for t in study.trials]
        inner = {
            "best_value": study.best_value,
            "n_trials": len(states),
            "states": {s: states.count(s) for s in sorted(set(states))},
            "seconds": time.perf_counter() - t0,
        }
        return config, inner

    return _repeated_cv(name, data, tuned, n_splits, repeats, seed, progress)


def summarize(
    result: CVResult, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> dict[str, Any]:
    """Per metric: mean, fold SD, corrected t interval and group-bootstrap interval.

    Returns
    -------
    dict
        ``{"metrics": {metric: {"mean", "sd", "t_low", "t_high", "pooled", "boot_low",
        "boot_high"}}, "n_folds", "n_test_mean", "n_train_mean", ...}``.
    """
    n_train = float(np.mean([f.n_train for f in result.folds]))
    n_test = float(np.mean([f.n_test for f in result.folds]))
    ratio = n_test / n_train
    names = list(result.folds[0].metrics)

    def pooled_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
        return compute_metrics(y, p, positive=result.positive)

    boot = group_bootstrap(
        pooled_metrics, result.y, result.oof, result.groups, n_boot, confidence, seed
    )
    table: dict[str, dict[str, float]] = {}
    for m in names:
        values = [f.metrics[m] for f in result.folds]
        mean, low, high = t_interval(values, confidence, test_train_ratio=ratio)
        # A t interval may cross the metric's range on few, spread folds; clip it there.
        top = 2.0 if m == "brier" and len(result.class_names) > 2 else 1.0
        low, high = max(low, 0.0), min(high, top)
        est, blow, bhigh = boot[m]
        table[m] = {
            "mean": mean,
            "sd": float(np.nanstd(values, ddof=1)) if len(values) > 1 else 0.0,
            "t_low": low,
            "t_high": high,
            "pooled": est,
            "boot_low": blow,
            "boot_high": bhigh,
        }
    return {
        "name": result.name,
        "metrics": table,
        "n_images": len(result.y),
        "n_groups": len(np.unique(result.groups)),
        "n_folds": len(result.folds),
        "n_repeats": len(result.oof),
        "n_train_mean": n_train,
        "n_test_mean": n_test,
        "seconds": result.seconds,
        "interval_method": (
            "t: mean over outer folds x repeats +/- t(0.975, n-1) * sqrt((1/n + n_test/n_train)"
            " * s^2) (Nadeau-Bengio corrected); boot: 2.5/97.5 percentiles of a group bootstrap"
            f" ({n_boot} draws of whole groups) of the pooled out-of-fold predictions, "
            "averaged over repeats"
        ),
    }


def cross_dataset(
    train: ExperimentData,
    test: ExperimentData,
    config: dict[str, Any],
    n_boot: int = 1000,
    seed: int = 0,
    name: str = "",
) -> dict[str, Any]:
    """Fit on ``train``, test on ``test`` minus images whose group also occurs in ``train``.

    Binary task only. Also reports the metrics without the test set's ``normal`` images
    (healthy skin, a class the other dataset may not have).

    Returns
    -------
    dict
        Metrics with group-bootstrap intervals, counts of removed images, and the
        predictions (``y``, ``proba``, ``label``) for plots.
    """
    if len(train.class_names) != 2 or len(test.class_names) != 2:
        raise ValueError("cross-dataset evaluation is binary (mpox against the rest)")
    shared = set(train.groups) & set(test.groups)
    keep = ~np.isin(test.groups, list(shared))
    kept = test.subset(keep)
    _, proba = _fit_predict(config, train, kept.X)

    def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
        return compute_metrics(y, p, positive=1)

    out: dict[str, Any] = {
        "name": name,
        "config": normalize_config(config),
        "n_train": len(train.y),
        "n_test_total": len(test.y),
        "n_removed_shared_groups": int((~keep).sum()),
        "n_shared_groups": len(shared),
        "n_test": len(kept.y),
        "test_positive_rate": float(np.mean(kept.y)),
        "metrics": {
            m: dict(zip(("value", "boot_low", "boot_high"), v, strict=True))
            for m, v in group_bootstrap(
                metrics, kept.y, proba, kept.groups, n_boot, seed=seed
            ).items()
        },
        "y": kept.y,
        "proba": proba,
        "label": kept.records["label"].to_numpy(),
    }
    not_normal = kept.records["label"].to_numpy() != "normal"
    if (~not_normal).any() and not_normal.any():
        out["metrics_without_normal"] = {
            m: dict(zip(("value", "boot_low", "boot_high"), v, strict=True))
            for m, v in group_bootstrap(
                metrics,
                kept.y[not_normal],
                proba[not_normal],
                kept.groups[not_normal],
                n_boot,
                seed=seed,
            ).items()
        }
        out["n_test_without_normal"] = int(not_normal.sum())
    return out


#: Metrics in report order (re-exported for the CLI).
REPORT_METRICS = METRICS
