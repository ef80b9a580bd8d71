"""An image classifier: feature extraction, a fitted feature pipeline, calibration, a threshold.

:class:`ImageModel` is what ``poxscan train`` saves and ``poxscan predict`` loads. It chains

1. the extractors of the configured feature families (:func:`poxscan.features.make_extractor`),
   whose columns are named exactly as in the feature cache (``"<family>__<feature>"``);
2. a feature pipeline (``FamilyColumnSelector`` -> scaler -> selector -> classifier, as
   :func:`poxscan.pipelines.builder.build_pipeline` makes it, or any sklearn classifier over a
   feature DataFrame);
3. a :class:`~poxscan.pipelines.calibration.ScoreCalibrator` fitted on out-of-fold scores of a
   grouped cross-validation, and a decision threshold chosen on the same out-of-fold scores.

Only the extractors of the configured families are imported: a model without the ``deep``
family never imports TensorFlow, neither when it is fitted nor when it is unpickled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from poxscan.features import DEFAULT_PARAMS, FAMILIES, check_images, make_extractor
from poxscan.pipelines.calibration import ScoreCalibrator, ThresholdRule, choose_threshold, logit
from poxscan.pipelines.classifiers import drop_fit_only_state
from poxscan.pipelines.splits import grouped_folds

__all__ = [
    "FeatureExtractorsMixin",
    "ImageModel",
    "normalize_families",
    "positive_margin",
    "positive_scores",
]

#: What extractors are fitted on when the model is trained from cached features: base
#: extractors learn nothing from images, they only record their output names.
_DUMMY_IMAGE = np.zeros((32, 32, 3), dtype=np.uint8)


def normalize_families(
    families: Sequence[str] | Mapping[str, Mapping[str, Any] | None] | str,
) -> dict[str, dict[str, Any]]:
    """Families as ``{family: extractor parameters}``, in the given order.

    Accepts ``"color"``, ``["color", "hog"]`` or ``{"color": {"bins": 8}, "hog": None}``.
    Parameters are merged over :data:`poxscan.features.DEFAULT_PARAMS`, exactly as the
    feature cache does, so the model's extractors have the cache's fingerprints and columns.
    """
    if isinstance(families, str):
        families = [families]
    if isinstance(families, Mapping):
        items = [(str(k), dict(v or {})) for k, v in families.items()]
    else:
        items = [(str(f), {}) for f in families]
    if not items:
        raise ValueError("a model needs at least one feature family")
    out = {}
    for family, params in items:
        if family not in FAMILIES:
            raise KeyError(f"unknown feature family {family!r}; known: {sorted(FAMILIES)}")
        out[family] = {**DEFAULT_PARAMS.get(family, {}), **params}
    return out


def positive_scores(estimator: Any, X: Any) -> np.ndarray:
    """Uncalibrated score of the positive class in [0, 1]: ``predict_proba[:, 1]``.

    Classifiers without ``predict_proba`` (a plain SVM, say) get a logistic squash of
    ``decision_function``; calibration then rescales it.
    """
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X))
        classes = list(getattr(estimator, "classes_", [0, 1]))
        return proba[:, classes.index(1)].astype(np.float64)
    margin = np.asarray(estimator.decision_function(X), dtype=np.float64).ravel()
    return 1.0 / (1.0 + np.exp(-margin))


def positive_margin(estimator: Any, X: Any) -> np.ndarray:
    """Log-odds of the positive class: ``decision_function`` where the classifier has one
    (LDA, logistic regression: exact where ``predict_proba`` has rounded to 0 or 1), else
    the logit of :func:`positive_scores`."""
    if hasattr(estimator, "decision_function") and hasattr(estimator, "predict_proba"):
        margin = np.asarray(estimator.decision_function(X), dtype=np.float64)
        if margin.ndim == 1:
            return margin
    return logit(positive_scores(estimator, X))


class FeatureExtractorsMixin:
    """The image side of a model: the extractors of its families and the table they make.

    Shared by :class:`ImageModel` and
    :class:`~poxscan.pipelines.differential.DifferentialModel`. :meth:`_fit_extractors` sets
    ``families_``, ``extractors_``, ``feature_names_`` (the cache's column names, in order) and
    ``fingerprints_``.
    """

    def _fit_extractors(self, families: Any, sample: Sequence[np.ndarray] | None = None) -> None:
        """Fit the extractors of ``families`` on ``sample`` (``None``: a blank image, for a
        model trained on cached features)."""
        sample = [_DUMMY_IMAGE] if sample is None else sample
        self.families_ = normalize_families(families)
        self.extractors_ = {
            fam: make_extractor(fam, **params).fit(sample) for fam, params in self.families_.items()
        }
        names: list[str] = []
        for ext in self.extractors_.values():
            names += [str(n) for n in ext.get_feature_names_out()]
        self.feature_names_ = np.asarray(names, dtype=object)
        self.fingerprints_ = {fam: ext.fingerprint() for fam, ext in self.extractors_.items()}

    def _align(self, features: pd.DataFrame) -> pd.DataFrame:
        """The configured families' columns of a feature table, in the extractors' order."""
        if not isinstance(features, pd.DataFrame):
            raise TypeError(f"expected a feature DataFrame, got {type(features).__name__}")
        names = list(self.feature_names_)
        present = {str(c) for c in features.columns}
        missing = [n for n in names if n not in present]
        if missing:
            raise ValueError(
                f"the feature table lacks {len(missing)} columns the extractors produce "
                f"(e.g. {missing[:3]}); was it computed with other extractor parameters?"
            )
        table = features.copy()
        table.columns = [str(c) for c in table.columns]
        return table.loc[:, names].astype(np.float64)

    def extract(self, X: Sequence[np.ndarray]) -> pd.DataFrame:
        """The feature table of images ``X``: one row per image, columns ``feature_names_``."""
        check_is_fitted(self, "extractors_")
        images = check_images(X)
        blocks = [ext.transform(images) for ext in self.extractors_.values()]
        return pd.DataFrame(np.hstack(blocks), columns=list(self.feature_names_))


class ImageModel(FeatureExtractorsMixin, ClassifierMixin, BaseEstimator):
    """Images in, calibrated probability of mpox out.

    Parameters
    ----------
    families : list of str or dict, default=("color",)
        Feature families, optionally with extractor parameters: ``["color", "hog"]`` or
        ``{"color": {"bins": 16}, "deep": {"backbone": "efficientnet_lite0"}}``.
    pipeline : estimator or dict, default=None
        An unfitted classifier over a feature DataFrame, or a configuration for
        :func:`poxscan.pipelines.builder.build_pipeline`. ``None``: standard scaling and a
        logistic regression.
    calibration : {"sigmoid", "isotonic", "none"}, default="sigmoid"
        How out-of-fold scores are mapped to probabilities (:class:`ScoreCalibrator`).
    threshold : str or float, default="youden"
        A fixed probability threshold, or a rule (``"youden"``, ``"sensitivity:0.90"``)
        applied to out-of-fold calibrated probabilities.
    cv : int, default=5
        Folds of the grouped, stratified cross-validation that yields the out-of-fold scores.
    random_state : int, default=0
        Seed of the fold assignment.

    Attributes
    ----------
    families_ : dict
        ``{family: parameters}``.
    extractors_ : dict
        Fitted extractors by family.
    feature_names_ : ndarray of str
        Columns the extractors produce, in order: the feature table the pipeline sees.
    fingerprints_ : dict
        ``{family: extractor fingerprint}`` at training time.
    pipeline_ : estimator
        The feature pipeline fitted on all training images.
    calibrator_ : ScoreCalibrator
    threshold_ : float
        Calibrated probability at or above which an image is called mpox.
    threshold_rule_ : str
        How ``threshold_`` was chosen.
    cv_scores_ : ndarray
        Out-of-fold uncalibrated scores of the training images.
    cv_folds_ : ndarray of int
        Fold of each training image.
    classes_ : ndarray
        ``[0, 1]`` (1 = mpox).
    """

    def __init__(
        self,
        families: Sequence[str] | Mapping[str, Any] = ("color",),
        pipeline: Any = None,
        calibration: str = "sigmoid",
        threshold: str | float = "youden",
        cv: int = 5,
        random_state: int = 0,
    ) -> None:
        self.families = families
        self.pipeline = pipeline
        self.calibration = calibration
        self.threshold = threshold
        self.cv = cv
        self.random_state = random_state

    # -- building blocks -------------------------------------------------------------------
    def _make_pipeline(self) -> Any:
        if self.pipeline is None:
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        if isinstance(self.pipeline, Mapping):
            from poxscan.pipelines.builder import build_pipeline

            return build_pipeline(dict(self.pipeline))
        return clone(self.pipeline)

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self, X: Sequence[np.ndarray], y: Sequence[int], groups: Sequence[Any] | None = None
    ) -> ImageModel:
        """Extract features from images ``X`` and fit as :meth:`fit_features` does."""
        images = check_images(X)
        self._fit_extractors(self.families, images[:1])
        return self._fit_table(self.extract(images), y, groups)

    def fit_features(
        self, features: pd.DataFrame, y: Sequence[int], groups: Sequence[Any] | None = None
    ) -> ImageModel:
        """Fit on a feature table (from the cache) whose columns the extractors would produce.

        Grouped cross-validation gives out-of-fold scores, on which the calibrator and the
        threshold are fitted; then the pipeline is refitted on every row.

        Parameters
        ----------
        features : DataFrame
            One row per image; must hold every column of the configured families, named as
            the extractors name them (other columns are ignored).
        y : array of {0, 1}
            1 = mpox.
        groups : array, optional
            Group (patient / near-duplicate cluster) of each row; folds never split a group.
            Without groups each row is its own group, which leaks when images repeat.
        """
        self._fit_extractors(self.families)
        return self._fit_table(features, y, groups)

    def _fit_table(
        self, features: pd.DataFrame, y: Sequence[int], groups: Sequence[Any] | None
    ) -> ImageModel:
        table = self._align(features)
        y = np.asarray(y).astype(int).ravel()
        if len(y) != len(table):
            raise ValueError(f"{len(table)} feature rows but {len(y)} labels")
        if set(np.unique(y)) != {0, 1}:
            raise ValueError("training needs both classes (1 = mpox, 0 = not mpox)")
        groups_arr = np.arange(len(y)) if groups is None else np.asarray(groups)
        self.classes_ = np.array([0, 1])

        scores = np.full(len(y), np.nan)
        folds = np.full(len(y), -1, dtype=int)
        splits = grouped_folds(y, groups_arr, int(self.cv), seed=self.random_state)
        for k, (train, test) in enumerate(splits):
            est = self._make_pipeline().fit(table.iloc[train], y[train])
            scores[test] = positive_scores(est, table.iloc[test])
            folds[test] = k
        self.cv_scores_ = scores
        self.cv_folds_ = folds

        self.calibrator_ = ScoreCalibrator(self.calibration).fit(scores, y)
        if isinstance(self.threshold, str):
            rule = ThresholdRule.parse(self.threshold)
            self.threshold_ = choose_threshold(y, self.calibrator_.predict(scores), rule)
            self.threshold_rule_ = str(rule)
        else:
            self.threshold_ = float(self.threshold)
            self.threshold_rule_ = "fixed"
        self.pipeline_ = drop_fit_only_state(self._make_pipeline().fit(table, y))
        self.n_train_ = len(y)
        return self

    # -- inference -------------------------------------------------------------------------
    def raw_scores_features(self, features: pd.DataFrame) -> np.ndarray:
        """Uncalibrated positive-class scores of a feature table."""
        check_is_fitted(self, "pipeline_")
        return positive_scores(self.pipeline_, self._align(features))

    def raw_margins_features(self, features: pd.DataFrame) -> np.ndarray:
        """Uncalibrated positive-class log-odds of a feature table (:func:`positive_margin`)."""
        check_is_fitted(self, "pipeline_")
        return positive_margin(self.pipeline_, self._align(features))

    def predict_proba_features(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated ``[P(not mpox), P(mpox)]`` per row of a feature table."""
        p = self.calibrator_.predict(self.raw_scores_features(features))
        return np.column_stack([1 - p, p])

    def predict_proba(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Calibrated ``[P(not mpox), P(mpox)]`` per RGB image of ``X``."""
        return self.predict_proba_features(self.extract(X))

    def predict(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """1 (mpox) where the calibrated probability reaches ``threshold_``, else 0."""
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)

    @property
    def uses_deep(self) -> bool:
        """Whether the model needs the deep (TensorFlow) extractor."""
        return "deep" in normalize_families(self.families)
