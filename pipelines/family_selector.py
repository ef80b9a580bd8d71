"""Pick the columns of chosen feature families out of a feature table.

A feature table (:func:`poxscan.features.cache.load_feature_table`) names its columns
``"<family>__<feature>"``. :class:`FamilyColumnSelector` is the first step of every poxscan
pipeline: it keeps the columns whose family is one of ``families``, in the table's order, so
a pipeline tuned on ``["color", "deep"]`` can be fitted on a table that holds every family.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["FamilyColumnSelector", "column_family"]

SEP = "__"


def column_family(name: str) -> str:
    """The family of a column name: the part before the first ``"__"``."""
    return str(name).split(SEP, 1)[0]


class FamilyColumnSelector(TransformerMixin, BaseEstimator):
    """Keep the columns of the given feature families.

    Parameters
    ----------
    families : sequence of str or None
        Family names (``"color"``, ``"texture"``, ``"hog"``, ``"deep"``). ``None`` keeps every
        column.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Columns of the table seen in :meth:`fit` (only when it was a DataFrame).
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    columns_ : ndarray of str
        The columns kept, in the table's order.
    indices_ : ndarray of int
        Their positions in the fitted table (used when ``transform`` gets a bare array).
    """

    def __init__(self, families: Sequence[str] | None = None) -> None:
        self.families = families

    def fit(self, X: pd.DataFrame | ArrayLike, y: object = None) -> FamilyColumnSelector:
        """Find the columns of the wanted families.

        The family is read from the column names of a DataFrame. Any other 2-D array-like
        (scikit-learn's contract) has no names: its columns are ``x0``, ``x1``, ... and only
        ``families=None`` (keep every column) applies to it.
        """
        if isinstance(X, pd.DataFrame):
            names = np.asarray([str(c) for c in X.columns], dtype=object)
            self.n_features_in_ = len(names)
        else:
            if self.families is not None:
                raise TypeError(
                    "FamilyColumnSelector reads families from column names '<family>__<feature>'"
                    f": give a DataFrame, or families=None; got {type(X).__name__}"
                )
            X = validate_data(self, X, dtype=np.float64)
            names = np.asarray([f"x{i}" for i in range(X.shape[1])], dtype=object)
        if self.families is None:
            keep = np.ones(len(names), dtype=bool)
        else:
            wanted = [str(f) for f in self.families]
            if not wanted:
                raise ValueError("families must name at least one feature family")
            keep = np.asarray([column_family(n) in wanted for n in names], dtype=bool)
            present = {column_family(n) for n in names}
            missing = sorted(set(wanted) - present)
            if missing:
                raise ValueError(
                    f"feature families {missing} are not in the table; it has {sorted(present)}"
                )
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = names
        self.indices_ = np.flatnonzero(keep)
        self.columns_ = names[self.indices_]
        return self

    def transform(self, X: pd.DataFrame | ArrayLike) -> np.ndarray:
        """The kept columns as a ``float64`` array (columns found by name in a DataFrame)."""
        check_is_fitted(self, "columns_")
        if isinstance(X, pd.DataFrame) and hasattr(self, "feature_names_in_"):
            position = {str(c): i for i, c in enumerate(X.columns)}
            missing = [c for c in self.columns_ if c not in position]
            if missing:
                raise ValueError(
                    f"{len(missing)} feature columns seen in fit are missing, e.g. {missing[:3]}"
                )
            idx = [position[c] for c in self.columns_]
            return X.iloc[:, idx].to_numpy(dtype=np.float64)
        # A bare array (or a DataFrame after an array fit): columns by position, checked and
        # warned about as scikit-learn does.
        arr = validate_data(self, X, dtype=np.float64, reset=False)
        return arr[:, self.indices_]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the kept columns."""
        check_is_fitted(self, "columns_")
        return self.columns_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = False
        return tags
