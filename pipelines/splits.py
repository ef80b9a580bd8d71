"""Grouped, stratified fold splits: one group (patient or near-duplicate cluster) per side.

Every cross-validation in poxscan splits with :func:`grouped_folds`, so images of one patient,
or crops and mirror images of one source photo (the audit's groups), never sit on both sides
of a split. Stratification keeps each fold's class balance close to the whole set's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_group_split", "grouped_folds"]


def grouped_folds(
    y: np.ndarray, groups: np.ndarray, n_splits: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train_indices, test_indices)`` of a shuffled :class:`StratifiedGroupKFold`.

    Parameters
    ----------
    y : array of int
        Labels (stratification).
    groups : array
        Group id per sample; a group is never split.
    n_splits : int
        Number of folds (at least 2, at most the number of groups of the rarest class).
    seed : int
        Shuffling seed: the same seed gives the same folds.

    Raises
    ------
    ValueError
        If there are too few groups for ``n_splits`` folds.
    """
    y = np.asarray(y)
    groups = np.asarray(groups)
    if len(y) != len(groups):
        raise ValueError(f"{len(y)} labels but {len(groups)} group ids")
    if n_splits < 2:
        raise ValueError(f"n_splits must be at least 2, got {n_splits}")
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise ValueError(f"{n_splits} folds need at least {n_splits} groups; there are {n_groups}")
    # Imported here: sklearn.model_selection loads scipy.stats, which predicting never needs.
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    folds = [(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(np.zeros(len(y)), y, groups)]
    for tr, te in folds:
        check_group_split(groups, tr, te)
    return folds


def check_group_split(groups: np.ndarray, train: np.ndarray, test: np.ndarray) -> None:
    """Raise if any group has samples on both sides of a split."""
    groups = np.asarray(groups)
    shared = set(groups[train]) & set(groups[test])
    if shared:
        example = sorted(shared)[:3]
        raise AssertionError(f"{len(shared)} groups on both sides of a split, e.g. {example}")
