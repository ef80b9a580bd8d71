"""Labels for a task: binary mpox-vs-rest, or multi-class over the labels a dataset has.

Pipelines take integer labels ``0..n_classes-1`` (XGBoost insists), so a model's class ``i``
is ``class_names[i]``. Binary: ``0 = "not mpox"``, ``1 = "mpox"``. Multi-class: the labels of
:data:`poxscan.core.data.MULTICLASS_LABELS` that occur in the records, in that order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from poxscan.core.data import MULTICLASS_LABELS

__all__ = ["BINARY_CLASSES", "MULTICLASS_EXCLUDED", "make_target", "task_records"]

BINARY_CLASSES = ("not_mpox", "mpox")
#: Labels the multi-class task leaves out: msld_v1's "Others" mixes chickenpox and measles
#: without saying which; as a class it would be one dataset's photos (see
#: :mod:`poxscan.pipelines.differential`).
MULTICLASS_EXCLUDED = ("other",)


def task_records(records: pd.DataFrame, task: str = "binary") -> pd.DataFrame:
    """The records a task learns from: all for binary, all but the excluded labels otherwise."""
    if task == "multiclass":
        return records[~records["label"].isin(MULTICLASS_EXCLUDED)].reset_index(drop=True)
    return records


def make_target(records: pd.DataFrame, task: str = "binary") -> tuple[np.ndarray, list[str]]:
    """Integer labels and class names of ``records`` for ``task``.

    Parameters
    ----------
    records : DataFrame
        From :func:`poxscan.core.data.load_records` (columns ``y`` and ``label``).
    task : {"binary", "multiclass"}

    Returns
    -------
    y : ndarray of int
    class_names : list of str
    """
    if task == "binary":
        return records["y"].to_numpy(dtype=int), list(BINARY_CLASSES)
    if task == "multiclass":
        present = [lab for lab in MULTICLASS_LABELS if lab in set(records["label"])]
        if len(present) < 3:
            raise ValueError(
                f"multi-class needs at least 3 labels; these records have {present} "
                "(msld_v1 is binary only: use ahsan2022)"
            )
        codes = {lab: i for i, lab in enumerate(present)}
        return records["label"].map(codes).to_numpy(dtype=int), present
    raise ValueError(f"unknown task {task!r}; use 'binary' or 'multiclass'")
