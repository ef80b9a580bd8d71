"""The Optuna search space of poxscan pipelines, in one readable place.

A trial chooses, in this order:

1. ``families``: any non-empty subset of the allowed feature families, as one categorical
   (``"color+deep"``), so TPE learns which combinations work rather than each flag alone.
2. ``selector`` and ``k``: none, univariate (ANOVA F, mutual information), model-based
   (L1-logistic with its own ``C``, extra-trees importance) or PCA, keeping ``k`` columns
   (log-uniform 8..512, clipped to what the families and the fold have).
3. ``classifier`` and its hyperparameters. Ranges lean towards regularised models (shallow
   trees, strong L2, shrinkage), because a few hundred images from one source reward
   memorising that source, and what we want is a model that holds on other photos.

By default the selectors are ANOVA, L1, extra-trees and PCA: ``"none"`` (an LDA over 3000+
columns takes seconds per fit) and ``"mutual_info"`` (a k-NN estimate per column, ~20 s per fit
on the HOG block) cost more than they bring on two cores; ``--selectors`` adds them back.

The scaler is fixed to ``StandardScaler``: searching it moves little and costs trials.
Parameter names are prefixed by the classifier (``xgb_max_depth``), so every distribution
name means one thing across trials, as TPE and the dashboard need.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna

from poxscan.pipelines.builder import FAMILY_NAMES, SELECTORS, TASKS
from poxscan.pipelines.classifiers import CLASSIFIERS

__all__ = ["SearchSpace", "suggest_config"]

#: Selectors searched unless told otherwise (see the module docstring).
DEFAULT_SELECTORS = ("anova", "l1", "tree", "pca")
#: Bounds of ``k`` (log scale).
K_RANGE = (8, 512)


def _family_choices(families: Sequence[str]) -> list[str]:
    subsets = []
    for r in range(1, len(families) + 1):
        subsets.extend("+".join(c) for c in itertools.combinations(families, r))
    return subsets


def _suggest_params(trial: optuna.Trial, clf: str) -> dict[str, Any]:
    """Hyperparameters of one classifier (the whole per-model space is here)."""
    if clf == "lda":
        solver = trial.suggest_categorical("lda_solver", ["lsqr", "eigen"])
        if trial.suggest_categorical("lda_shrinkage_auto", [True, False]):
            return {"solver": solver, "shrinkage": "auto"}
        return {"solver": solver, "shrinkage": trial.suggest_float("lda_shrinkage", 0.01, 0.99)}
    if clf == "adaboost":
        return {
            "n_estimators": trial.suggest_int("ada_n_estimators", 25, 150, log=True),
            "learning_rate": trial.suggest_float("ada_learning_rate", 0.03, 1.0, log=True),
            "max_depth": trial.suggest_int("ada_max_depth", 1, 2),
        }
    if clf == "mlp":
        return {
            "hidden": [trial.suggest_int("mlp_hidden", 16, 128, log=True)],
            "alpha": trial.suggest_float("mlp_alpha", 1e-4, 10.0, log=True),
            "learning_rate_init": trial.suggest_float("mlp_lr", 1e-4, 1e-2, log=True),
            "max_iter": 300,
        }
    if clf == "xgboost":
        return {
            "n_estimators": trial.suggest_int("xgb_n_estimators", 50, 300, log=True),
            "max_depth": trial.suggest_int("xgb_max_depth", 2, 5),
            "learning_rate": trial.suggest_float("xgb_learning_rate", 0.01, 0.3, log=True),
            "subsample": trial.suggest_float("xgb_subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("xgb_colsample_bytree", 0.2, 1.0),
            "reg_lambda": trial.suggest_float("xgb_reg_lambda", 0.1, 20.0, log=True),
            "min_child_weight": trial.suggest_float("xgb_min_child_weight", 1.0, 10.0, log=True),
        }
    if clf == "logreg":
        return {"C": trial.suggest_float("logreg_C", 1e-4, 10.0, log=True)}
    if clf == "svm":
        kernel = trial.suggest_categorical("svm_kernel", ["linear", "rbf"])
        params: dict[str, Any] = {
            "kernel": kernel,
            "C": trial.suggest_float("svm_C", 1e-3, 10.0, log=True),
        }
        if kernel == "rbf":
            params["gamma"] = trial.suggest_float("svm_gamma", 1e-5, 1e-1, log=True)
        return params
    raise ValueError(f"unknown classifier {clf!r}; use one of {CLASSIFIERS}")


@dataclass
class SearchSpace:
    """Which part of the space a study searches (``poxscan tune --families/--classifiers``).

    Parameters
    ----------
    task : {"binary", "multiclass"}
    families : list of str
        Families a trial may combine (any non-empty subset).
    classifiers : list of str
        Classifiers a trial may pick.
    selectors : list of str
        Selection methods a trial may pick (default :data:`DEFAULT_SELECTORS`).
    seed : int
        Seed written into every config (models and selectors).
    """

    task: str = "binary"
    families: list[str] = field(default_factory=lambda: list(FAMILY_NAMES))
    classifiers: list[str] = field(default_factory=lambda: list(CLASSIFIERS))
    selectors: list[str] = field(default_factory=lambda: list(DEFAULT_SELECTORS))
    seed: int = 0

    def __post_init__(self) -> None:
        checks = (
            ("task", [self.task], TASKS),
            ("families", self.families, FAMILY_NAMES),
            ("classifiers", self.classifiers, CLASSIFIERS),
            ("selectors", self.selectors, SELECTORS),
        )
        for what, values, known in checks:
            if not values:
                raise ValueError(f"the search space needs at least one of {what}")
            bad = sorted(set(values) - set(known))
            if bad:
                raise ValueError(f"unknown {what} {bad}; known: {list(known)}")
        # Keep the canonical order so the same restriction always gives the same choices.
        self.families = [f for f in FAMILY_NAMES if f in self.families]
        self.classifiers = [c for c in CLASSIFIERS if c in self.classifiers]
        self.selectors = [s for s in SELECTORS if s in self.selectors]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored with the study, so resumed and remote workers match)."""
        return {
            "task": self.task,
            "families": list(self.families),
            "classifiers": list(self.classifiers),
            "selectors": list(self.selectors),
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> SearchSpace:
        """Inverse of :meth:`to_dict`."""
        return cls(**spec)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """One pipeline config for ``trial`` (see the module docstring for the order)."""
        fams = trial.suggest_categorical("families", _family_choices(self.families))
        selector = trial.suggest_categorical("selector", list(self.selectors))
        config: dict[str, Any] = {
            "task": self.task,
            "families": fams.split("+"),
            "scaler": "standard",
            "selector": selector,
            "k": K_RANGE[1],
            "selector_params": {},
            "seed": self.seed,
        }
        if selector != "none":
            config["k"] = trial.suggest_int("k", *K_RANGE, log=True)
        if selector == "l1":
            config["selector_params"] = {"C": trial.suggest_float("l1_C", 0.01, 1.0, log=True)}
        clf = trial.suggest_categorical("classifier", list(self.classifiers))
        config["classifier"] = clf
        config["params"] = _suggest_params(trial, clf)
        return config


def suggest_config(trial: optuna.Trial, space: SearchSpace | None = None) -> dict[str, Any]:
    """A pipeline config for ``trial`` from ``space`` (default: the whole binary space)."""
    return (space or SearchSpace()).suggest(trial)
