"""Evaluation figures: ROC curves, calibration (reliability) curves, confusion matrices.

Each function draws with matplotlib's Agg backend (no display needed) and writes a PNG
atomically (:func:`poxscan.core.atomic.atomic_path`). Curves take a dict ``label -> (y, p)`` of
true binary labels and predicted mpox probabilities; several repeats of one evaluation are
passed as a list of ``p`` arrays and drawn thin, with their mean thick.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np

from poxscan.core.atomic import atomic_path

__all__ = ["plot_calibration", "plot_confusion", "plot_roc", "pyplot", "save_png"]

Curves = dict[str, tuple[np.ndarray, np.ndarray | Sequence[np.ndarray]]]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend: files only, never a window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | PathLike, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG atomically (its folder made if needed), close it, return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    return path


def _as_list(p: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(p, np.ndarray) and p.ndim == 1:
        return [p]
    return [np.asarray(x) for x in p]


def plot_roc(curves: Curves, path: str | PathLike, title: str = "ROC") -> Path:
    """ROC curves with their AUC in the legend."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 5))
    grid = np.linspace(0, 1, 201)
    for i, (label, (y, ps)) in enumerate(curves.items()):
        color = f"C{i}"
        tprs, aucs = [], []
        for p in _as_list(ps):
            fpr, tpr, _ = roc_curve(y, p)
            tprs.append(np.interp(grid, fpr, tpr))
            aucs.append(roc_auc_score(y, p))
            if len(_as_list(ps)) > 1:
                ax.plot(fpr, tpr, color=color, alpha=0.25, lw=0.8)
        ax.plot(
            grid,
            np.mean(tprs, axis=0),
            color=color,
            lw=2,
            label=f"{label} (AUC {np.mean(aucs):.3f})",
        )
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower right", fontsize=8)
    return save_png(fig, path)


def plot_calibration(
    curves: Curves, path: str | PathLike, title: str = "Calibration", n_bins: int = 8
) -> Path:
    """Reliability diagram: observed mpox fraction against mean predicted probability."""
    from sklearn.calibration import calibration_curve

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 5))
    for i, (label, (y, ps)) in enumerate(curves.items()):
        p = np.mean(_as_list(ps), axis=0)
        frac, mean_pred = calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
        brier = float(np.mean((p - y) ** 2))
        ax.plot(mean_pred, frac, "o-", color=f"C{i}", label=f"{label} (Brier {brier:.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set(
        xlabel="mean predicted mpox probability",
        ylabel="observed mpox fraction",
        title=title,
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left", fontsize=8)
    return save_png(fig, path)


def plot_confusion(
    y: np.ndarray,
    pred: np.ndarray,
    class_names: Sequence[str],
    path: str | PathLike,
    title: str = "Confusion matrix",
) -> Path:
    """Confusion matrix with counts and row percentages (rows: true class)."""
    from sklearn.metrics import confusion_matrix

    plt = pyplot()
    labels = np.arange(len(class_names))
    cm = confusion_matrix(y, pred, labels=labels)
    rows = cm.sum(axis=1, keepdims=True).clip(min=1)
    fig, ax = plt.subplots(figsize=(1.3 * len(labels) + 2.5, 1.2 * len(labels) + 2))
    ax.imshow(cm / rows, cmap="Blues", vmin=0, vmax=1)
    for i in labels:
        for j in labels:
            share = cm[i, j] / rows[i, 0]
            ax.text(
                j,
                i,
                f"{cm[i, j]}\n{share:.0%}",
                ha="center",
                va="center",
                color="white" if share > 0.5 else "black",
            )
    ax.set_xticks(labels, class_names, rotation=30, ha="right")
    ax.set_yticks(labels, class_names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return save_png(fig, path)
