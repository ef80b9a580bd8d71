"""The comparison's figures: metric bars with their intervals, accuracy against latency.

Rows are those of :mod:`poxscan.pipelines.comparison`; each figure is written as a PNG
atomically (:func:`poxscan.pipelines.plots.save_png`).
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from poxscan.pipelines.plots import pyplot, save_png

__all__ = ["KIND_COLORS", "plot_latency_accuracy", "plot_metric_bars", "short_name"]

#: Colour of each kind of row, the same in every figure.
KIND_COLORS = {"classical": "C0", "nested": "C2", "cnn": "C3", "tflite": "C1"}


def short_name(name: str) -> str:
    """A row's name shortened for a figure's labels."""
    return (
        name.replace(", reference pipeline", "")
        .replace("fine-tuned CNN", "CNN")
        .replace("(nested CV of `poxscan evaluate`)", "(nested CV)")
    )


def plot_metric_bars(
    rows: list[dict[str, Any]],
    path: str | PathLike,
    metrics: Sequence[str] = ("accuracy", "balanced_accuracy", "roc_auc"),
) -> Path:
    """Horizontal bars per row and metric (mean over folds) with 95 % t CI whiskers."""
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(4.2 * len(metrics), 0.45 * len(rows) + 1.6), sharey=True
    )
    axes = np.atleast_1d(axes)
    ypos = np.arange(len(rows))[::-1]
    for ax, m in zip(axes, metrics, strict=True):
        for y, row in zip(ypos, rows, strict=True):
            s = row["summary"]["metrics"][m]
            err = [[s["mean"] - s["t_low"]], [s["t_high"] - s["mean"]]]
            ax.barh(y, s["mean"], color=KIND_COLORS.get(row["kind"], "C7"), alpha=0.8)
            ax.errorbar(s["mean"], y, xerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
        ax.set_xlim(0.4 if m != "brier" else 0, 1.0)
        ax.set_title(f"{m} (95 % t CI)", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(ypos, [short_name(r["name"]) for r in rows], fontsize=8)
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.8)
        for k, c in KIND_COLORS.items()
        if any(r["kind"] == k for r in rows)
    ]
    labels = [k for k in KIND_COLORS if any(r["kind"] == k for r in rows)]
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.subplots_adjust(bottom=0.12)
    return save_png(fig, path)


def plot_latency_accuracy(rows: list[dict[str, Any]], path: str | PathLike) -> Path:
    """Accuracy (95 % t CI) against latency per image (log scale); marker area ~ model size."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(11, 5))
    legend = []
    for row in rows:
        if not row.get("latency"):
            continue
        s = row["summary"]["metrics"]["accuracy"]
        x = row["latency"]["median_ms"]
        size = row.get("size_mb") or 1.0
        ax.errorbar(
            x,
            s["mean"],
            yerr=[[s["mean"] - s["t_low"]], [s["t_high"] - s["mean"]]],
            fmt="none",
            ecolor="grey",
            lw=1,
            capsize=3,
        )
        ax.scatter(
            x,
            s["mean"],
            s=30 + 8 * size,
            color=KIND_COLORS.get(row["kind"], "C7"),
            alpha=0.8,
            zorder=3,
        )
        # Numbers on the plot, names beside it: long names overlap where points crowd.
        legend.append(f"{len(legend) + 1}  {short_name(row['name'])} ({size:.1f} MB)")
        ax.annotate(
            str(len(legend)),
            (x, s["mean"]),
            fontsize=8,
            fontweight="bold",
            xytext=(4, 4 + 8 * (len(legend) % 2)),
            textcoords="offset points",
        )
    fig.text(0.66, 0.5, "\n".join(legend), fontsize=7.5, va="center", family="monospace")
    fig.subplots_adjust(right=0.64)
    ax.set_xscale("log")
    ax.set_ylim(0.3, 1.02)  # accuracy; a t interval may run past 1
    ax.set(
        xlabel="latency per image, ms (batch 1, median; log scale)",
        ylabel="accuracy (mean over folds, 95 % t CI)",
        title="Accuracy against prediction latency (marker area ~ model size)",
    )
    ax.grid(alpha=0.3, which="both")
    return save_png(fig, path)
