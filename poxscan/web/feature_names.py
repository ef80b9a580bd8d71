"""Plain-language names for feature columns, and SHAP contributions grouped by family.

Column names follow ``"<family>__<name>"`` (see :mod:`poxscan.features`). The result page shows
``color__lab_a_p90`` as "red–green (a*), 90th percentile" under "Colour", so that a person can
see *what kind* of evidence moved the decision without knowing the extractor's internals.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FAMILY_LABELS", "family_label", "group_by_family", "readable_feature"]

#: Families as a person would name them.
FAMILY_LABELS: dict[str, str] = {
    "color": "Colour",
    "texture": "Texture",
    "hog": "Shape and edges (HOG)",
    "deep": "Deep-network features",
}

_CHANNELS = {
    "hsv_h": "hue",
    "hsv_s": "saturation",
    "hsv_v": "brightness",
    "lab_l": "lightness (L*)",
    "lab_a": "red–green (a*)",
    "lab_b": "yellow–blue (b*)",
}
_STATS = {
    "mean": "average",
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
_COLOR = re.compile(r"^(hsv_[hsv]|lab_[lab])_(?:hist(\d+)|(\w+))$")
_GLCM = re.compile(r"^glcm_(\w+?)_d(\d+)_(mean|range)$")
_LBP = re.compile(r"^lbp_p(\d+)_r(\d+)_bin(\d+)$")
_HOG = re.compile(r"^block(\d+)_(\d+)_cell(\d+)_(\d+)_ori(\d+)$")
_DEEP = re.compile(r"^(.+?)_(\d+)$")


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
        For example ``"contrast of neighbouring pixels 2 px apart (GLCM), average over
        directions"``; names it does not recognise come back with underscores as spaces.

    Examples
    --------
    >>> readable_feature("color__lab_a_p90")
    'red–green (a*), 90th percentile'
    >>> readable_feature("color__hsv_h_hist03")
    'hue histogram, bin 4'
    """
    family, _, rest = str(name).partition("__")
    if not rest:
        family, rest = "", family
    if family == "color" and (m := _COLOR.match(rest)):
        channel = _CHANNELS[m.group(1)]
        if m.group(2) is not None:
            return f"{channel} histogram, bin {int(m.group(2)) + 1}"
        stat = m.group(3)
        return f"{channel}, {_STATS.get(stat, stat.replace('_', ' '))}"
    if family == "texture" and (m := _GLCM.match(rest)):
        prop, dist, agg = m.groups()
        how = "average over directions" if agg == "mean" else "range over directions"
        return f"{prop.replace('_', ' ')} of pixel pairs {dist} px apart (GLCM), {how}"
    if family == "texture" and (m := _LBP.match(rest)):
        points, radius, b = m.groups()
        return f"local binary pattern ({points} points, radius {radius}), bin {int(b) + 1}"
    if family == "hog" and (m := _HOG.match(rest)):
        by, bx, cy, cx, ori = (int(g) for g in m.groups())
        return f"edge direction {ori + 1} in block ({by + 1}, {bx + 1}), cell ({cy + 1}, {cx + 1})"
    if family == "deep" and (m := _DEEP.match(rest)):
        return f"{m.group(1)} unit {m.group(2)}"
    return rest.replace("_", " ")


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
        family = str(row.get("family") or str(row.get("feature", "")).partition("__")[0])
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
