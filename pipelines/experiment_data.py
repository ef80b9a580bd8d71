"""What tuning and evaluation run on: a feature table, labels and split groups of some datasets.

Features come from the feature cache (:func:`poxscan.features.cache.load_feature_table`), so
a study or an evaluation computes each image's features once. Groups come from
:func:`poxscan.core.data.load_groups` (patients merged with the audit's near-duplicate links).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from poxscan.core.data import load_groups, load_records
from poxscan.pipelines.targets import make_target, task_records

__all__ = ["ExperimentData", "feature_table", "load_experiment"]

log = logging.getLogger(__name__)


@dataclass
class ExperimentData:
    """Features, labels and groups of a set of images, row-aligned.

    Attributes
    ----------
    X : DataFrame
        Feature table, index = record id, columns ``"<family>__<name>"``.
    y : ndarray of int
        Labels (:func:`poxscan.pipelines.targets.make_target`).
    groups : ndarray of str
        Split group of each row.
    records : DataFrame
        The records, same order as ``X``.
    class_names : list of str
        ``class_names[i]`` is label ``i``.
    """

    X: pd.DataFrame
    y: np.ndarray
    groups: np.ndarray
    records: pd.DataFrame
    class_names: list[str]

    def subset(self, mask: np.ndarray) -> ExperimentData:
        """The rows where ``mask`` is true (or the given integer positions)."""
        idx = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask)
        return ExperimentData(
            self.X.iloc[idx],
            self.y[idx],
            self.groups[idx],
            self.records.iloc[idx].reset_index(drop=True),
            list(self.class_names),
        )


def feature_table(
    records: pd.DataFrame,
    families: list[str] | dict[str, dict[str, Any]],
    cache: str | PathLike | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Feature table of ``records`` through the cache, rows in ``records`` order."""
    from poxscan.features.cache import load_feature_table

    table = load_feature_table(records, families, cache=cache, progress=progress)
    # Images the extractors could not read are absent from the table; keep the rest in order.
    ids = [i for i in records["id"] if i in table.index]
    return table.loc[ids]


def load_experiment(
    datasets: str | list[str],
    families: list[str] | dict[str, dict[str, Any]],
    task: str = "binary",
    data_root: str | PathLike | None = None,
    cache: str | PathLike | None = None,
    progress: bool = True,
) -> ExperimentData:
    """Records, cached features, labels and groups of ``datasets``.

    Parameters
    ----------
    datasets : str or list of str
        Names from ``data_manifest.yaml``.
    families : list or dict
        Feature families (``{"deep": {"backbone": "efficientnet-lite2"}}`` for parameters).
    task : {"binary", "multiclass"}
        Multi-class leaves out :data:`~poxscan.pipelines.targets.MULTICLASS_EXCLUDED` labels.
    data_root : path-like, optional
        Folder holding the datasets.
    cache : path-like, optional
        Feature cache folder (the cache's default when ``None``).
    progress : bool
        Show the cache's progress bar while it computes missing features.
    """
    records = task_records(load_records(datasets, root=data_root), task)
    X = feature_table(records, families, cache=cache, progress=progress)
    if len(X) < len(records):
        log.warning("%d images have no features and are left out", len(records) - len(X))
        records = records[records["id"].isin(X.index)].reset_index(drop=True)
    y, class_names = make_target(records, task)
    groups = load_groups(records).to_numpy(dtype=str)
    if not np.isfinite(X.to_numpy(dtype=np.float64)).all():
        bad = int((~np.isfinite(X.to_numpy(dtype=np.float64))).any(axis=1).sum())
        raise ValueError(f"{bad} images have non-finite features; rebuild the cache")
    return ExperimentData(X, y, groups, records, class_names)
