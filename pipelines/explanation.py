"""What a SHAP explanation is: values per image and feature, an image's top features, and the
global importance per feature and per family (:mod:`poxscan.pipelines.explain` computes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from poxscan.pipelines.family_selector import column_family as family_of

__all__ = ["Explanation", "family_of", "global_importance"]


@dataclass
class Explanation:
    """SHAP values of some images.

    Attributes
    ----------
    values : ndarray of shape (n_images, n_features)
        Contribution of each feature to the explained output, relative to ``base_value``.
    base_value : float
        Expected output over the background (trees: over the training data).
    data : ndarray of shape (n_images, n_features)
        The images' features in the explanation space (e.g. standardised).
    feature_names : ndarray of str
    output : str
        What the values add up to: ``"log-odds"``, ``"margin"`` or ``"probability"``.
    method : str
        The explainer.
    """

    values: np.ndarray
    base_value: float
    data: np.ndarray
    feature_names: np.ndarray
    output: str
    method: str

    def top_features(
        self, k: int = 5, raw: pd.DataFrame | None = None
    ) -> list[list[dict[str, Any]]]:
        """Per image, the ``k`` features with the largest absolute contribution, signed.

        ``raw`` (the images' feature table before scaling) adds each feature's raw value.
        """
        from poxscan.pipelines.feature_names import top_feature_rows

        def raw_value(i: int, name: str) -> float | None:
            return float(raw.iloc[i][name]) if raw is not None and name in raw.columns else None

        return top_feature_rows(self.values, self.data, self.feature_names, k, raw_value)


def global_importance(explanation: Explanation) -> dict[str, Any]:
    """Mean absolute SHAP value per feature, and per family.

    Per family two numbers: ``mean_abs_sum`` is the mean over images of the absolute *sum* of
    the family's SHAP values (SHAP values add up, so this is the family's contribution as a
    whole, where opposite pulls cancel); ``sum_mean_abs`` sums the per-feature importances.
    """
    values = explanation.values
    names = [str(n) for n in explanation.feature_names]
    mean_abs = np.abs(values).mean(axis=0)
    mean = values.mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")
    features = [
        {
            "feature": names[j],
            "family": family_of(names[j]),
            "mean_abs_shap": float(mean_abs[j]),
            "mean_shap": float(mean[j]),
        }
        for j in order
    ]
    fams = pd.Series([family_of(n) for n in names])
    families = []
    for fam in dict.fromkeys(fams):
        cols = np.flatnonzero(fams.to_numpy() == fam)
        families.append(
            {
                "family": fam,
                "n_features": len(cols),
                "mean_abs_sum": float(np.abs(values[:, cols].sum(axis=1)).mean()),
                "sum_mean_abs": float(mean_abs[cols].sum()),
            }
        )
    families.sort(key=lambda f: -f["mean_abs_sum"])
    return {
        "explainer": explanation.method,
        "output": explanation.output,
        "base_value": explanation.base_value,
        "n_images": int(values.shape[0]),
        "n_features": int(values.shape[1]),
        "features": features,
        "families": families,
    }
