"""Plain-language feature names for the web app: see :mod:`poxscan.pipelines.feature_names`.

Kept so that ``from poxscan.web.feature_names import readable_feature`` goes on working; the
names moved down to the pipelines layer, where the CLI and the clinician report use them too.
"""

from __future__ import annotations

from poxscan.pipelines.feature_names import (
    FAMILY_LABELS,
    family_contributions,
    family_label,
    group_by_family,
    lay_features,
    readable_feature,
)

__all__ = [
    "FAMILY_LABELS",
    "family_contributions",
    "family_label",
    "group_by_family",
    "lay_features",
    "readable_feature",
]
