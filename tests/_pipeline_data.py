"""A small real feature table for the pipeline, tuning and evaluation tests.

40 MSLD v1 images: two images each of 10 mpox and 10 non-mpox patients (20 groups of 2), with
the handcrafted families computed through the feature cache. The cache lives in one folder of
the session's temporary directory, so the three test files share one computation.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from poxscan.core.data import load_records
from poxscan.features.cache import load_feature_table
from poxscan.pipelines.experiment_data import ExperimentData
from poxscan.pipelines.targets import make_target

HANDCRAFTED = ["color", "texture", "hog"]


def pick_records(data_root: Path, per_class_patients: int = 10) -> pd.DataFrame:
    """Two images of each of the first ``per_class_patients`` patients of both classes."""
    records = load_records("msld_v1", root=data_root)
    picks = []
    for _, cls in records.groupby("y"):
        patients = [p for p, n in cls["patient"].value_counts(sort=False).items() if n >= 2]
        for patient in sorted(patients)[:per_class_patients]:
            picks.append(cls[cls["patient"] == patient].head(2))
    return pd.concat(picks).sort_values("id").reset_index(drop=True)


def small_experiment(data_root: Path, cache_dir: Path) -> ExperimentData:
    """Records, handcrafted features, labels and patient groups of :func:`pick_records`."""
    records = pick_records(data_root)
    table = load_feature_table(records, HANDCRAFTED, cache=cache_dir, progress=False)
    assert list(table.index) == list(records["id"]), "every test image must load"
    y, names = make_target(records, "binary")
    # Patient ids as groups: the audit's groups file may not exist in a fresh checkout.
    groups = records["patient"].to_numpy(dtype=str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ExperimentData(table, y, groups, records, names)


def shared_cache(tmp_path_factory) -> Path:
    """One cache folder for the whole session, whichever test file asks first."""
    return Path(tmp_path_factory.getbasetemp()) / "pipelines-feature-cache"


def group_sets(groups: np.ndarray, index: np.ndarray) -> set[str]:
    """Groups of the rows at ``index``."""
    return set(np.asarray(groups)[index])
