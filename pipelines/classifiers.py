"""The classifiers a poxscan pipeline can end with, built from plain JSON-able parameters.

Tuned candidates (the card): linear discriminant analysis with shrinkage, AdaBoost over shallow
trees, a small MLP with early stopping, XGBoost (``hist`` trees, one thread). Reference points:
L2 logistic regression and a support-vector machine with calibrated probabilities. Every model
gives ``predict_proba``, which ROC-AUC, Brier score and calibration curves need.

All models are single-threaded (the project's machine has two shared cores) and seeded.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import AdaBoostClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier

__all__ = ["CLASSIFIERS", "DEFAULT_PARAMS", "make_classifier"]

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
    # svm: SVC's own probability=True is deprecated in scikit-learn 1.9, so Platt scaling is
    # done by CalibratedClassifierCV (3 internal folds of the training data).
    if p["kernel"] == "linear":
        base = LinearSVC(C=float(p["C"]), class_weight="balanced", random_state=seed)
    else:
        gamma = p["gamma"]
        gamma = gamma if gamma in ("scale", "auto") else float(gamma)
        base = SVC(
            kernel=p["kernel"],
            C=float(p["C"]),
            gamma=gamma,
            class_weight="balanced",
            random_state=seed,
        )
    return CalibratedClassifierCV(base, method="sigmoid", cv=3)
