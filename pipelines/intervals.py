"""95 % confidence intervals for cross-validated metrics.

Two methods, reported side by side because each answers a slightly different question:

- :func:`t_interval`: mean of the per-fold values (outer folds x repeats) +/- a Student t
  quantile times the standard error. Folds of one data set share training images, so the plain
  standard error ``s / sqrt(n)`` is too small; with ``test_train_ratio`` given, the
  variance is inflated by the Nadeau-Bengio correction for repeated k-fold,
  ``(1/n + n_test/n_train) * s^2`` (Nadeau & Bengio 2003; Bouckaert & Frank 2004), which is
  what :mod:`~poxscan.pipelines.evaluation` uses.
- :func:`group_bootstrap_ci`: percentile interval of the metric over pooled out-of-fold
  predictions, resampling whole groups (patients / near-duplicate clusters) with replacement,
  so correlated images move together. With several repeats, each draw averages the metric over
  the repeats' pooled predictions on the same resampled groups.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

__all__ = ["group_bootstrap", "group_bootstrap_ci", "t_interval"]


def t_interval(
    values: Sequence[float],
    confidence: float = 0.95,
    test_train_ratio: float | None = None,
) -> tuple[float, float, float]:
    """Mean and two-sided t confidence interval of per-fold metric values.

    Parameters
    ----------
    values : sequence of float
        One value per outer fold and repeat; NaNs are dropped.
    confidence : float
        Coverage of the interval.
    test_train_ratio : float, optional
        ``n_test / n_train`` of the folds; turns on the Nadeau-Bengio correction.

    Returns
    -------
    mean, low, high : float
        ``low == high == mean`` with one value; all NaN with none.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(v.mean())
    if n == 1:
        return mean, mean, mean
    var_factor = 1.0 / n + (test_train_ratio if test_train_ratio is not None else 0.0)
    half = stats.t.ppf(0.5 + confidence / 2, df=n - 1) * np.sqrt(var_factor * v.var(ddof=1))
    return mean, float(mean - half), float(mean + half)


def group_bootstrap(
    metrics: Callable[[np.ndarray, np.ndarray], dict[str, float]],
    y: np.ndarray,
    predictions: Sequence[np.ndarray] | np.ndarray,
    groups: np.ndarray,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, tuple[float, float, float]]:
    """Point estimates and percentile intervals of several metrics under a group bootstrap.

    Parameters
    ----------
    metrics : callable ``(y, pred) -> dict of float``
        E.g. :func:`poxscan.pipelines.metrics.compute_metrics`.
    y : array, shape (n,)
        True labels.
    predictions : array or sequence of arrays, each of shape (n, ...)
        Pooled out-of-fold predictions; several (one per repeat) are averaged per draw.
    groups : array, shape (n,)
        Group id per sample; a draw takes whole groups, as many as there are.
    n_boot : int
        Bootstrap draws.
    confidence : float
        Coverage.
    seed : int
        Seed of the draws.

    Returns
    -------
    dict
        Metric -> ``(estimate, low, high)``. ``estimate`` is the metric on the data as they
        are (averaged over repeats); draws where a metric is undefined (NaN, e.g. one class
        only) are left out of its interval.
    """
    y = np.asarray(y)
    if isinstance(predictions, np.ndarray):
        preds = [predictions]
    else:
        preds = [np.asarray(p) for p in predictions]
    groups = np.asarray(groups)
    if not (len(y) == len(groups) and all(len(p) == len(y) for p in preds)):
        raise ValueError("y, groups and every prediction array must have the same length")
    uniq, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(uniq))]

    def averaged(idx: np.ndarray) -> dict[str, float]:
        rows = [metrics(y[idx], p[idx]) for p in preds]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}

    estimate = averaged(np.arange(len(y)))
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in estimate}
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        values = averaged(np.concatenate([members[g] for g in pick]))
        for k in draws:
            draws[k].append(values.get(k, np.nan))
    tail = (1 - confidence) / 2 * 100
    out = {}
    for k, est in estimate.items():
        d = np.asarray(draws[k])
        d = d[np.isfinite(d)]
        if len(d) == 0:
            out[k] = (est, float("nan"), float("nan"))
        else:
            low, high = np.percentile(d, [tail, 100 - tail])
            out[k] = (est, float(low), float(high))
    return out


def group_bootstrap_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y: np.ndarray,
    predictions: Sequence[np.ndarray] | np.ndarray,
    groups: np.ndarray,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """:func:`group_bootstrap` of one metric ``(y, pred) -> float``: estimate, low, high."""
    return group_bootstrap(
        lambda yy, pp: {"m": metric(yy, pp)}, y, predictions, groups, n_boot, confidence, seed
    )["m"]
