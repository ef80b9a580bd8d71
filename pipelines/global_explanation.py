"""The global SHAP explanation written beside a saved model (its ``shap/`` folder).

For auditors: the global importance per feature and summed per family, the SHAP values (NPZ),
PNG plots (top features, families, beeswarm); and for prediction, the background sample that
per-image explanations reuse (:data:`BACKGROUND_FILE`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from poxscan.core.atomic import atomic_path, atomic_write_text
from poxscan.pipelines.explanation import global_importance
from poxscan.pipelines.plots import pyplot, save_png

if TYPE_CHECKING:
    from poxscan.pipelines.explain import ModelExplainer

__all__ = ["BACKGROUND_FILE", "save_global_explanation"]

#: Inside a model directory's ``shap/`` folder: the background sample (explanation space).
BACKGROUND_FILE = "background.npz"


def _bar(ax: Any, labels: list[str], values: list[float], title: str, xlabel: str) -> None:
    y = np.arange(len(labels))[::-1]
    ax.barh(y, values, color="#1f77b4")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)


def save_global_explanation(
    explainer: ModelExplainer,
    features: pd.DataFrame,
    out_dir: str | Path,
    ids: Sequence[str] | None = None,
    max_display: int = 20,
    seed: int = 0,
) -> dict[str, Any]:
    """Explain training images and write the results into ``out_dir`` (a model's ``shap/``).

    Files: ``global_importance.json`` (per feature and per family), ``shap_values.npz``
    (values, explanation-space data, names, ids), ``background.npz`` (what prediction-time
    explanations use), ``top_features.png``, ``families.png``, ``beeswarm.png``.

    Returns
    -------
    dict
        The content of ``global_importance.json``.
    """
    import shap

    plt = pyplot()

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = explainer.global_sample_size(len(features))
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(features), size=n, replace=False))
    Z = explainer.transform(features.iloc[rows])
    # The shap library for trees and linear models; permutation SHAP is ours (see the top).
    expl = explainer.explain_space(Z, use_shap=explainer.method != "permutation")
    summary = global_importance(expl)
    present = {f["family"] for f in summary["families"]}
    for family in explainer.model.families_:
        if family not in present:
            # Auditors should see a configured family that the selector dropped entirely.
            summary["families"].append(
                {
                    "family": family,
                    "n_features": 0,
                    "mean_abs_sum": 0.0,
                    "sum_mean_abs": 0.0,
                    "note": "no feature of this family reaches the classifier",
                }
            )
    n_background = len(
        explainer.permutation_background()
        if explainer.method == "permutation"
        else explainer.background
    )
    summary["sample"] = (
        f"{n} of {len(features)} training images (seed {seed}); "
        f"background: {n_background} training images"
    )
    atomic_write_text(out / "global_importance.json", json.dumps(summary, indent=2) + "\n")

    names = np.asarray([str(x) for x in expl.feature_names])
    id_arr = np.asarray([str(ids[i]) for i in rows] if ids is not None else rows.astype(str))
    with atomic_path(out / "shap_values.npz", suffix=".npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                values=expl.values,
                data=expl.data,
                base_value=np.float64(expl.base_value),
                feature_names=names,
                ids=id_arr,
            )
    with atomic_path(out / BACKGROUND_FILE, suffix=".npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, X=explainer.background, feature_names=names)

    top = summary["features"][:max_display]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(top) + 1.2))
    _bar(
        ax,
        [f["feature"] for f in top],
        [f["mean_abs_shap"] for f in top],
        f"Top {len(top)} features ({expl.method.split(' ')[0]})",
        f"mean |SHAP| ({expl.output})",
    )
    save_png(fig, out / "top_features.png", dpi=110)

    fams = summary["families"]
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(fams) + 1.2))
    _bar(
        ax,
        [f"{f['family']} ({f['n_features']})" for f in fams],
        [f["mean_abs_sum"] for f in fams],
        "Feature families",
        f"mean |sum of SHAP over the family| ({expl.output})",
    )
    save_png(fig, out / "families.png", dpi=110)

    shap.plots.beeswarm(
        shap.Explanation(
            values=expl.values,
            base_values=np.full(len(expl.values), expl.base_value),
            data=expl.data,
            feature_names=list(names),
        ),
        max_display=max_display,
        show=False,
    )
    fig = plt.gcf()
    fig.suptitle(f"SHAP values ({expl.output}); colour: feature value", fontsize=9)
    save_png(fig, out / "beeswarm.png", dpi=110)
    plt.close("all")
    return summary
