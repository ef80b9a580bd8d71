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
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

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
        Columns of the table seen in :meth:`fit`.
    columns_ : ndarray of str
        The columns kept, in the table's order.
    indices_ : ndarray of int
        Their positions in the fitted table (used when ``transform`` gets a bare array).
    """

    def __init__(self, families: Sequence[str] | None = None) -> None:
        self.families = families

    def fit(self, X: pd.DataFrame | np.ndarray, y: object = None) -> FamilyColumnSelector:
        """Find the columns of the wanted families.

        ``X`` must be a DataFrame (or carry ``feature_names_in_`` semantics through one): the
        family is read from the column names.
        """
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "FamilyColumnSelector needs a DataFrame whose columns are named "
                f"'<family>__<feature>'; got {type(X).__name__}"
            )
        names = np.asarray([str(c) for c in X.columns], dtype=object)
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
        self.feature_names_in_ = names
        self.n_features_in_ = len(names)
        self.indices_ = np.flatnonzero(keep)
        self.columns_ = names[self.indices_]
        return self

    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The kept columns as a ``float64`` array (columns found by name in a DataFrame)."""
        check_is_fitted(self, "columns_")
        if isinstance(X, pd.DataFrame):
            position = {str(c): i for i, c in enumerate(X.columns)}
            missing = [c for c in self.columns_ if c not in position]
            if missing:
                raise ValueError(
                    f"{len(missing)} feature columns seen in fit are missing, e.g. {missing[:3]}"
                )
            idx = [position[c] for c in self.columns_]
            return X.iloc[:, idx].to_numpy(dtype=np.float64)
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"expected a DataFrame or an array with {self.n_features_in_} columns, "
                f"got shape {arr.shape}"
            )
        return arr[:, self.indices_]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the kept columns."""
        check_is_fitted(self, "columns_")
        return self.columns_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = False
        return tags
