"""The classifiers a poxscan pipeline can end with, built from plain JSON-able parameters.

Tuned candidates (the card): linear discriminant analysis with shrinkage, AdaBoost over shallow
trees, a small MLP with early stopping, XGBoost (``hist`` trees, one thread). Reference points:
L2 logistic regression and a support-vector machine (probabilities: a fixed squash of its
margin, calibrated once, later, on grouped out-of-fold scores like every model's). Every model
gives ``predict_proba``, which ROC-AUC, Brier score and calibration curves need.

All models are single-threaded (the project's machine has two shared cores) and seeded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import AdaBoostClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "CLASSIFIERS",
    "DEFAULT_PARAMS",
    "SVMClassifier",
    "drop_fit_only_state",
    "make_classifier",
]

#: Classifier names a config may use.
CLASSIFIERS = ("lda", "adaboost", "mlp", "xgboost", "logreg", "svm")

#: Parameters used where a config leaves one out.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "lda": {"solver": "lsqr", "shrinkage": "auto"},
    "adaboost": {"n_estimators": 100, "learning_rate": 0.5, "max_depth": 1},
    "mlp": {"hidden": [64], "alpha": 1e-3, "learning_rate_init": 1e-3, "max_iter": 300},
    "xgboost": {
        "n_estimators": 200,
        "max_depth": 3,
        "learning_rate": 0.1,
        "subsample": 0.8,
        "colsample_bytree": 0.5,
        "reg_lambda": 1.0,
        "min_child_weight": 1.0,
    },
    "logreg": {"C": 1.0},
    "svm": {"kernel": "rbf", "C": 1.0, "gamma": "scale"},
}


def drop_fit_only_state(pipeline: Any) -> Any:
    """Free, in place, what a fitted pipeline's classifier keeps only from fitting.

    A shrinkage LDA keeps its pooled within-class covariance (``covariance_``, features
    squared: 13 MB for Lite2's 1280 columns) although prediction reads only ``coef_`` and
    ``intercept_``; dropping it changes no prediction and takes the shipped model's lite
    directory from 23.7 to 11.1 MB (``experiments/results/bench_lite.md``).

    Parameters
    ----------
    pipeline : Pipeline or estimator
        A fitted scikit-learn pipeline (its steps are visited) or a single estimator.

    Returns
    -------
    pipeline
        The same object.
    """
    steps = getattr(pipeline, "steps", [(None, pipeline)])
    for _name, step in steps:
        if isinstance(step, LinearDiscriminantAnalysis) and hasattr(step, "covariance_"):
            del step.covariance_
    return pipeline


def _check_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    if name not in DEFAULT_PARAMS:
        raise ValueError(f"unknown classifier {name!r}; use one of {CLASSIFIERS}")
    unknown = set(params) - set(DEFAULT_PARAMS[name])
    if unknown:
        raise ValueError(
            f"unknown parameters {sorted(unknown)} for classifier {name!r}; "
            f"it takes {sorted(DEFAULT_PARAMS[name])}"
        )
    return {**DEFAULT_PARAMS[name], **params}


def make_classifier(
    name: str, params: dict[str, Any] | None = None, seed: int = 0
) -> ClassifierMixin:
    """Build one classifier.

    Parameters
    ----------
    name : str
        One of :data:`CLASSIFIERS`.
    params : dict, optional
        Parameters overriding :data:`DEFAULT_PARAMS` ``[name]``; unknown keys raise.
    seed : int
        Random seed of the model.

    Returns
    -------
    sklearn classifier with ``predict_proba``.
    """
    p = _check_params(name, dict(params or {}))
    if name == "lda":
        shrinkage = p["shrinkage"]
        shrinkage = shrinkage if shrinkage in (None, "auto") else float(shrinkage)
        if p["solver"] not in ("lsqr", "eigen"):
            raise ValueError(f"LDA solver must be 'lsqr' or 'eigen', got {p['solver']!r}")
        return LinearDiscriminantAnalysis(solver=p["solver"], shrinkage=shrinkage)
    if name == "adaboost":
        return AdaBoostClassifier(
            estimator=DecisionTreeClassifier(max_depth=int(p["max_depth"]), random_state=seed),
            n_estimators=int(p["n_estimators"]),
            learning_rate=float(p["learning_rate"]),
            random_state=seed,
        )
    if name == "mlp":
        hidden = p["hidden"]
        if isinstance(hidden, int | float):
            hidden = [hidden]
        hidden = tuple(int(h) for h in hidden)
        return MLPClassifier(
            hidden_layer_sizes=hidden,
            alpha=float(p["alpha"]),
            learning_rate_init=float(p["learning_rate_init"]),
            max_iter=int(p["max_iter"]),
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=15,
            random_state=seed,
        )
    if name == "xgboost":
        from xgboost import XGBClassifier  # imported here: loading xgboost costs ~0.3 s

        return XGBClassifier(
            n_estimators=int(p["n_estimators"]),
            max_depth=int(p["max_depth"]),
            learning_rate=float(p["learning_rate"]),
            subsample=float(p["subsample"]),
            colsample_bytree=float(p["colsample_bytree"]),
            reg_lambda=float(p["reg_lambda"]),
            min_child_weight=float(p["min_child_weight"]),
            tree_method="hist",
            n_jobs=1,
            random_state=seed,
            verbosity=0,
        )
    if name == "logreg":
        return LogisticRegression(
            C=float(p["C"]), class_weight="balanced", max_iter=2000, random_state=seed
        )
    return SVMClassifier(kernel=p["kernel"], C=float(p["C"]), gamma=p["gamma"], random_state=seed)


class SVMClassifier(ClassifierMixin, BaseEstimator):
    """A support-vector machine whose probabilities are a fixed squash of its margin.

    The SVM used to be wrapped in ``CalibratedClassifierCV(cv=3)``, whose internal folds ignore
    the split groups, and its probabilities were then calibrated a second time on grouped
    out-of-fold scores (:class:`~poxscan.pipelines.image_model.ImageModel`). Now it is
    calibrated once, like every other classifier: ``predict_proba`` is the logistic function
    of the margin (binary) or the softmax of the one-vs-rest margins (multi-class), a monotone
    map that keeps the ranking and the SVM's own decision (margin 0 = probability 0.5), and
    the deployed model's :class:`~poxscan.pipelines.calibration.ScoreCalibrator` is fitted on
    grouped out-of-fold scores.

    Parameters
    ----------
    kernel : {"linear", "rbf", "poly", "sigmoid"}
        ``"linear"`` uses :class:`~sklearn.svm.LinearSVC`, the rest :class:`~sklearn.svm.SVC`.
    C : float
        Inverse regularisation strength.
    gamma : "scale", "auto" or float
        Kernel width (non-linear kernels).
    random_state : int
        Seed.

    Attributes
    ----------
    svm_ : LinearSVC or SVC
        The fitted SVM (fitted once, on all the training rows).
    classes_ : ndarray
    """

    def __init__(
        self, kernel: str = "rbf", C: float = 1.0, gamma: Any = "scale", random_state: int = 0
    ) -> None:
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> SVMClassifier:
        """Fit the SVM (class weights balanced)."""
        if self.kernel == "linear":
            svm = LinearSVC(
                C=float(self.C), class_weight="balanced", random_state=self.random_state
            )
        else:
            gamma = self.gamma if self.gamma in ("scale", "auto") else float(self.gamma)
            svm = SVC(
                kernel=self.kernel,
                C=float(self.C),
                gamma=gamma,
                class_weight="balanced",
                random_state=self.random_state,
            )
        self.svm_ = svm.fit(X, y)
        self.classes_ = self.svm_.classes_
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The SVM's margin(s)."""
        check_is_fitted(self, "svm_")
        return self.svm_.decision_function(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Logistic (binary) or softmax (multi-class) of the margin; not calibrated here."""
        margin = np.asarray(self.decision_function(X), dtype=np.float64)
        if margin.ndim == 1:
            p = expit(margin)
            return np.column_stack([1.0 - p, p])
        return softmax(margin, axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The class of highest probability (the SVM's own decision in the binary case)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
