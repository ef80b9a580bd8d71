"""Classification metrics from predicted probabilities, for both tasks.

Binary (positive class 1 = mpox): accuracy, balanced accuracy, sensitivity (recall of mpox),
specificity (recall of the rest), F1 of mpox, ROC-AUC and Brier score, with a decision
threshold of 0.5 on the mpox probability unless told otherwise.

Multi-class: accuracy, balanced accuracy, macro F1, macro one-vs-rest ROC-AUC, the multi-class
Brier score (mean squared distance between the probability vector and the one-hot label), and
sensitivity / specificity / F1 / ROC-AUC of mpox against the rest, since mpox is what a screen
is for.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import balanced_accuracy_score, f1_score

__all__ = ["METRICS", "TUNING_METRICS", "compute_metrics", "tuning_score"]

#: Metrics of :func:`compute_metrics`, in report order.
METRICS = (
    "accuracy",
    "balanced_accuracy",
    "sensitivity",
    "specificity",
    "f1",
    "roc_auc",
    "brier",
)
#: Metrics a study may maximise.
TUNING_METRICS = ("roc_auc", "balanced_accuracy")


def _as_proba(proba: np.ndarray) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    return proba


def _safe_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Binary ROC-AUC by the rank (Mann-Whitney) formula; NaN with one class.

    Equal to :func:`sklearn.metrics.roc_auc_score` (ties count one half) but a hundred times
    faster, which the group bootstrap's thousands of draws need.
    """
    y = np.asarray(y).astype(bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def compute_metrics(
    y: np.ndarray,
    proba: np.ndarray,
    positive: int = 1,
    threshold: float = 0.5,
) -> dict[str, float]:
    """All metrics of :data:`METRICS` for one set of predictions.

    Parameters
    ----------
    y : array of int, shape (n,)
        True labels ``0..n_classes-1``.
    proba : array, shape (n, n_classes) or (n,)
        Predicted probabilities (a 1-D array is the positive class of a binary task).
    positive : int
        The class screened for (mpox): sensitivity, specificity, F1 and, in the multi-class
        case, the mpox-vs-rest AUC refer to it.
    threshold : float
        Binary task: predict positive when its probability is at least this.

    Returns
    -------
    dict
        Metric name -> value (NaN where undefined). Multi-class adds ``macro_f1`` and
        ``macro_roc_auc``.
    """
    y = np.asarray(y, dtype=int)
    proba = _as_proba(proba)
    n_classes = proba.shape[1]
    if n_classes == 2:
        pred = (proba[:, 1] >= threshold).astype(int)
    else:
        pred = proba.argmax(axis=1)
    is_pos, pred_pos = y == positive, pred == positive
    tp = int(np.sum(is_pos & pred_pos))
    fp = int(np.sum(~is_pos & pred_pos))
    fn = int(np.sum(is_pos & ~pred_pos))
    tn = int(np.sum(~is_pos & ~pred_pos))
    nan = float("nan")
    present = np.unique(y)
    recalls = [np.mean(pred[y == c] == c) for c in present]
    onehot = np.eye(n_classes)[y]
    out = {
        "accuracy": float(np.mean(pred == y)),
        "balanced_accuracy": float(np.mean(recalls)) if len(present) > 1 else nan,
        "sensitivity": tp / (tp + fn) if tp + fn else nan,
        "specificity": tn / (tn + fp) if tn + fp else nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan,
        "roc_auc": _safe_auc(is_pos, proba[:, positive]),
        # Binary: the usual Brier score of the mpox probability. Multi-class: the sum over
        # classes (Brier's original definition), which is twice the binary one for 2 classes.
        "brier": float(np.mean((proba[:, positive] - is_pos) ** 2))
        if n_classes == 2
        else float(np.mean(np.sum((proba - onehot) ** 2, axis=1))),
    }
    if n_classes > 2:
        out["macro_f1"] = float(f1_score(y, pred, average="macro", zero_division=0.0))
        aucs = [_safe_auc(y == c, proba[:, c]) for c in range(n_classes)]
        out["macro_roc_auc"] = float(np.mean(aucs)) if np.all(np.isfinite(aucs)) else nan
    return out


def tuning_score(metric: str, y: np.ndarray, proba: np.ndarray) -> float:
    """The score a study maximises on one validation fold.

    ``"roc_auc"`` is binary AUC, or macro one-vs-rest AUC for more classes;
    ``"balanced_accuracy"`` is the mean per-class recall of the arg-max (threshold 0.5) decision.
    """
    y = np.asarray(y, dtype=int)
    proba = _as_proba(proba)
    if metric == "roc_auc":
        if proba.shape[1] == 2:
            return _safe_auc(y == 1, proba[:, 1])
        # Macro one-vs-rest over the classes present in this fold.
        return float(np.nanmean([_safe_auc(y == c, proba[:, c]) for c in np.unique(y)]))
    if metric == "balanced_accuracy":
        return float(balanced_accuracy_score(y, proba.argmax(axis=1)))
    raise ValueError(f"unknown tuning metric {metric!r}; use one of {TUNING_METRICS}")
