"""Feature selection and reduction steps whose size ``k`` is clipped to the data.

The tuner proposes ``k`` before it knows how many columns the chosen families have (a colour-only
pipeline has tens, a deep one over a thousand) or how many images a training fold holds, so every
step here keeps ``min(k, available)``:

- :class:`KBestSelector` keeps the ``k`` best columns by a univariate score (ANOVA F, mutual
  information) or by a model's importance (L1-logistic coefficients or extra-trees importance,
  through :class:`~sklearn.feature_selection.SelectFromModel` with ``max_features=k``).
- :class:`PCAReducer` projects on the first ``k`` principal components.

Both learn only in ``fit``, so inside a cross-validation fold they see the training rows only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.feature_selection import (
    SelectFromModel,
    SelectorMixin,
    f_classif,
    mutual_info_classif,
)
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["SELECTION_METHODS", "KBestSelector", "PCAReducer"]

#: Methods of :class:`KBestSelector`.
SELECTION_METHODS = ("anova", "mutual_info", "l1", "tree")


def _ovr_importance(model: OneVsRestClassifier) -> np.ndarray:
    """Largest absolute coefficient of each column over the one-vs-rest models."""
    return np.abs(np.vstack([e.coef_ for e in model.estimators_])).max(axis=0)


class KBestSelector(SelectorMixin, BaseEstimator):
    """Keep the ``k`` most informative columns (``k`` clipped to the number of columns).

    Parameters
    ----------
    method : {"anova", "mutual_info", "l1", "tree"}
        ``"anova"``: F statistic of a one-way ANOVA per column. ``"mutual_info"``: estimated
        mutual information with the label. ``"l1"``: magnitude of an L1-penalised logistic
        regression's coefficients. ``"tree"``: impurity importance of 100 extra trees.
    k : int
        Columns to keep.
    C : float
        Inverse regularisation of the L1 model (``method="l1"`` only); smaller keeps fewer.
    random_state : int or None
        Seed of the mutual-information estimator and of the models.

    Attributes
    ----------
    k_ : int
        The number of columns kept.
    scores_ : ndarray
        Score of every input column (higher is better; NaN scores of constant columns are 0).
    estimator_ : SelectFromModel or None
        The fitted model-based selector (``"l1"``, ``"tree"``).
    """

    def __init__(
        self,
        method: str = "anova",
        k: int = 100,
        C: float = 0.1,
        random_state: int | None = 0,
    ) -> None:
        self.method = method
        self.k = k
        self.C = C
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> KBestSelector:
        """Score the columns on ``(X, y)`` and keep the best ``k``."""
        # At least two rows: every scoring method needs them (mutual information its neighbours).
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        if self.method not in SELECTION_METHODS:
            raise ValueError(f"unknown selection method {self.method!r}; use {SELECTION_METHODS}")
        if int(self.k) < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        n_features = X.shape[1]
        self.k_ = min(int(self.k), n_features)
        self.estimator_ = None
        if self.method == "anova":
            with warnings.catch_warnings():
                # Constant columns (e.g. an empty HOG cell) score NaN, set to 0 below.
                warnings.filterwarnings("ignore", message=r"Features [\s\S]* are constant")
                warnings.filterwarnings("ignore", category=RuntimeWarning)
                scores, _ = f_classif(X, y)
        elif self.method == "mutual_info":
            scores = mutual_info_classif(X, y, random_state=self.random_state)
        else:
            getter: str | Callable = "auto"
            if self.method == "l1":
                # liblinear is the fast exact L1 solver for a few hundred rows; it is binary
                # only, so several classes get one model per class (one-vs-rest).
                model = LogisticRegression(
                    l1_ratio=1.0,
                    C=self.C,
                    solver="liblinear",
                    class_weight="balanced",
                    random_state=self.random_state,
                    max_iter=1000,
                )
                if len(np.unique(y)) > 2:
                    model, getter = OneVsRestClassifier(model), _ovr_importance
            else:
                model = ExtraTreesClassifier(
                    n_estimators=100,
                    max_features="sqrt",
                    random_state=self.random_state,
                    n_jobs=1,
                )
            # threshold=-inf: rank purely by importance and keep exactly k_ columns.
            self.estimator_ = SelectFromModel(
                clone(model), max_features=self.k_, threshold=-np.inf, importance_getter=getter
            ).fit(X, y)
            est = self.estimator_.estimator_
            if isinstance(est, OneVsRestClassifier):
                scores = _ovr_importance(est)
            elif hasattr(est, "coef_"):
                scores = np.abs(np.atleast_2d(est.coef_)).max(axis=0)
            else:
                scores = est.feature_importances_
        scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0, posinf=0.0)
        self.scores_ = scores
        if self.estimator_ is not None:
            self.mask_ = self.estimator_.get_support()
        else:
            # Stable sort: ties keep table order, so the selection is reproducible.
            order = np.argsort(-scores, kind="stable")[: self.k_]
            self.mask_ = np.zeros(n_features, dtype=bool)
            self.mask_[order] = True
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "mask_")
        return self.mask_


class PCAReducer(TransformerMixin, BaseEstimator):
    """Project on the first ``k`` principal components (``k`` clipped to rows and columns).

    Parameters
    ----------
    k : int
        Components to keep; at most ``min(n_samples, n_features)`` of the training data.
    whiten : bool
        Scale the components to unit variance.
    random_state : int or None
        Seed of the randomised SVD solver.

    Attributes
    ----------
    pca_ : PCA
        The fitted projection.
    k_ : int
        Components kept.
    """

    def __init__(self, k: int = 50, whiten: bool = False, random_state: int | None = 0) -> None:
        self.k = k
        self.whiten = whiten
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: object = None) -> PCAReducer:
        """Fit the projection on ``X``."""
        X = validate_data(self, X, dtype=np.float64)
        if int(self.k) < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        self.k_ = min(int(self.k), X.shape[0], X.shape[1])
        self.pca_ = PCA(
            n_components=self.k_, whiten=self.whiten, random_state=self.random_state
        ).fit(X)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Component scores of ``X``."""
        check_is_fitted(self, "pca_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.pca_.transform(X)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """``pca__0``, ``pca__1``, ..."""
        check_is_fitted(self, "pca_")
        return np.asarray([f"pca__{i}" for i in range(self.k_)], dtype=object)
