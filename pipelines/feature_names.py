"""Plain words for feature columns and SHAP contributions summed per family.

Column names follow ``"<family>__<name>"`` (see :mod:`poxscan.features`). A person reads
``color__lab_a_mean`` as "redness: mean of Lab a*" under "colour", and the deep network's 1280
units together as one "deep-network pattern": an individual unit (``efficientnet-lite0 unit
933``) means nothing to anyone and is never the headline; auditors still get every feature's
value in the JSON, the model card and the SHAP files. Every front end (CLI, page, report) uses
these names, so this module sits in the pipelines layer, below all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "FAMILY_LABELS",
    "family_contributions",
    "family_label",
    "group_by_family",
    "lay_features",
    "readable_feature",
    "top_feature_rows",
]

#: Families as a person would name them.
FAMILY_LABELS: dict[str, str] = {
    "color": "colour",
    "texture": "texture",
    "hog": "shape of edges",
    "deep": "deep-network pattern",
}

#: Channel -> (plain word, technical name).
_CHANNELS = {
    "hsv_h": ("hue", "HSV H"),
    "hsv_s": ("colour saturation", "HSV S"),
    "hsv_v": ("brightness", "HSV V"),
    "lab_l": ("lightness", "Lab L*"),
    "lab_a": ("redness", "Lab a*"),
    "lab_b": ("yellowness", "Lab b*"),
}
_STATS = {
    "mean": "mean",
    "std": "spread (standard deviation)",
    "skew": "skewness",
    "kurt": "kurtosis",
    "p10": "10th percentile",
    "p50": "median",
    "p90": "90th percentile",
    "cos": "average direction (cosine)",
    "sin": "average direction (sine)",
    "circstd": "spread (circular)",
}
_GLCM_WORDS = {
    "asm": "uniformity",
    "energy": "uniformity (energy)",
    "homogeneity": "smoothness",
    "dissimilarity": "roughness",
}
_COLOR = re.compile(r"^(hsv_[hsv]|lab_[lab])_(?:hist(\d+)|(\w+))$")
_GLCM = re.compile(r"^glcm_(\w+?)_d(\d+)_(mean|range)$")
_LBP = re.compile(r"^lbp_p(\d+)_r(\d+)_bin(\d+)$")
_HOG = re.compile(r"^block(\d+)_(\d+)_cell(\d+)_(\d+)_ori(\d+)$")
_DEEP = re.compile(r"^(.+?)_(\d+)$")


def family_of(name: str) -> str:
    """The family of a column name (``"color__lab_a_mean"`` -> ``"color"``)."""
    family, sep, _ = str(name).partition("__")
    return family if sep else ""


def family_label(family: str) -> str:
    """Display name of a feature family (unknown families are shown as they are)."""
    return FAMILY_LABELS.get(family, family)


def readable_feature(name: str) -> str:
    """A short plain-language description of a feature column.

    Parameters
    ----------
    name : str
        A column name such as ``"texture__glcm_contrast_d2_mean"``.

    Returns
    -------
    str
        For example ``"contrast of texture at 2 px"``; names it does not recognise come back
        with underscores as spaces.

    Examples
    --------
    >>> readable_feature("color__lab_a_mean")
    'redness: mean of Lab a*'
    >>> readable_feature("texture__glcm_contrast_d2_mean")
    'contrast of texture at 2 px'
    >>> readable_feature("color__hsv_h_hist03")
    'hue: histogram bin 4 of HSV H'
    """
    family, _, rest = str(name).partition("__")
    if not rest:
        family, rest = "", family
    if family == "color" and (m := _COLOR.match(rest)):
        word, tech = _CHANNELS[m.group(1)]
        if m.group(2) is not None:
            return f"{word}: histogram bin {int(m.group(2)) + 1} of {tech}"
        stat = m.group(3)
        return f"{word}: {_STATS.get(stat, stat.replace('_', ' '))} of {tech}"
    if family == "texture" and (m := _GLCM.match(rest)):
        prop, dist, agg = m.groups()
        word = _GLCM_WORDS.get(prop, prop.replace("_", " "))
        how = "" if agg == "mean" else ", how much it changes with direction"
        return f"{word} of texture at {dist} px{how}"
    if family == "texture" and (m := _LBP.match(rest)):
        points, radius, b = m.groups()
        return (
            f"fine texture pattern {int(b) + 1} within {radius} px "
            f"(local binary pattern, {points} points)"
        )
    if family == "hog" and (m := _HOG.match(rest)):
        by, bx, cy, cx, ori = (int(g) for g in m.groups())
        return (
            f"edges of direction {ori + 1} in area ({by + 1}, {bx + 1}), cell ({cy + 1}, {cx + 1})"
        )
    if family == "deep" and (m := _DEEP.match(rest)):
        return f"deep-network pattern ({m.group(1)} unit {m.group(2)})"
    return rest.replace("_", " ")


def family_contributions(explanation: Any) -> list[list[dict[str, Any]]]:
    """Per image, the SHAP contributions summed over **every** feature of each family.

    Parameters
    ----------
    explanation : Explanation
        From :meth:`poxscan.pipelines.explain.ModelExplainer.explain`.

    Returns
    -------
    list of list of dict
        Per image, one row per family, largest absolute total first: ``family``, ``label``
        (plain words), ``contribution`` (signed sum, in the explanation's units),
        ``direction``, ``percent`` (share of the sum of absolute family totals) and
        ``n_features``.
    """
    names = [str(n) for n in explanation.feature_names]
    families = np.asarray([family_of(n) for n in names])
    values = np.asarray(explanation.values, dtype=np.float64)
    out = []
    for row in values:
        totals = []
        for fam in dict.fromkeys(families):
            mask = families == fam
            totals.append((fam, float(row[mask].sum()), int(mask.sum())))
        grand = sum(abs(t) for _, t, _ in totals) or 1.0
        out.append(
            [
                {
                    "family": fam,
                    "label": family_label(fam),
                    "contribution": total,
                    "direction": "towards mpox" if total > 0 else "away from mpox",
                    "percent": 100.0 * abs(total) / grand,
                    "n_features": n,
                }
                for fam, total, n in sorted(totals, key=lambda t: -abs(t[1]))
            ]
        )
    return out


def top_feature_rows(
    values: np.ndarray,
    data: np.ndarray,
    feature_names: Sequence[str],
    k: int,
    raw_value: Callable[[int, str], float | None] | None = None,
) -> list[list[dict[str, Any]]]:
    """Per image, the ``k`` features with the largest absolute contribution, signed.

    What :meth:`poxscan.pipelines.explanation.Explanation.top_features` returns, from plain
    arrays (so a predictor without pandas lists the same rows).

    Parameters
    ----------
    values, data : ndarray of shape (n_images, n_features)
        Contributions and the explanation-space values.
    feature_names : sequence of str
    k : int
    raw_value : callable, optional
        ``raw_value(i, name)``: image ``i``'s raw value of feature ``name``, or ``None``.
    """
    out = []
    for i in range(values.shape[0]):
        order = np.argsort(-np.abs(values[i]), kind="stable")[: max(int(k), 0)]
        rows = []
        for j in order:
            name = str(feature_names[j])
            contribution = float(values[i, j])
            row = {
                "feature": name,
                "family": family_of(name),
                "contribution": contribution,
                "direction": "towards mpox" if contribution > 0 else "away from mpox",
                "value": float(data[i, j]),
            }
            raw = None if raw_value is None else raw_value(i, name)
            if raw is not None:
                row["raw_value"] = float(raw)
            rows.append(row)
        out.append(rows)
    return out


def lay_features(top_features: Iterable[Mapping[str, Any]], k: int = 5) -> list[dict[str, Any]]:
    """The rows a lay reader sees: handcrafted features only (deep units are summed into their
    family instead), each with its plain name beside the technical one."""
    rows = []
    for row in top_features:
        if str(row.get("family")) == "deep":
            continue
        rows.append({**row, "readable": readable_feature(str(row.get("feature", "")))})
    return rows[: int(k)]


def group_by_family(top_features: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Group per-image SHAP rows (from :class:`poxscan.predict.Prediction`) by family.

    Parameters
    ----------
    top_features : iterable of dict
        Rows with ``feature``, ``family``, ``contribution`` and ``direction``.

    Returns
    -------
    list of dict
        One dict per family, the family with the largest total absolute contribution first:
        ``family``, ``label``, ``total`` (signed sum), ``features`` (the rows, each with a
        ``readable`` name and ``percent``, its share of all listed absolute contributions).
    """
    rows = [dict(r) for r in top_features]
    grand = sum(abs(float(r.get("contribution", 0.0))) for r in rows) or 1.0
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        family = str(row.get("family") or family_of(str(row.get("feature", ""))))
        row["readable"] = readable_feature(str(row.get("feature", "")))
        row["percent"] = 100.0 * abs(float(row.get("contribution", 0.0))) / grand
        group = groups.setdefault(
            family,
            {
                "family": family,
                "label": family_label(family),
                "total": 0.0,
                "_abs": 0.0,
                "features": [],
            },
        )
        group["total"] += float(row.get("contribution", 0.0))
        group["_abs"] += abs(float(row.get("contribution", 0.0)))
        group["features"].append(row)
    ordered = sorted(groups.values(), key=lambda g: -g["_abs"])
    for group in ordered:
        group["percent"] = 100.0 * group.pop("_abs") / grand
    return ordered
