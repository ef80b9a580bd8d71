"""SHAP explanations of a trained :class:`~poxscan.pipelines.image_model.ImageModel`.

Explanations are computed in the **explanation space**: the features after every leading step
of the feature pipeline that keeps real feature names (family selection, scaling, univariate
selection), so every SHAP value belongs to a named feature such as ``color__lab_a_mean``. A step
that invents new names (PCA, say) ends the explanation space; it and every later step are
explained together with the classifier as one function of the real features, so names stay real.

The explainer depends on what follows the explanation space:

- an XGBoost classifier: TreeSHAP (``shap.TreeExplainer``; at prediction time XGBoost's own
  ``pred_contribs``, which computes the same values without importing SHAP), in log-odds;
- other tree ensembles (random forest, extra trees, gradient boosting): ``shap.TreeExplainer``;
- a linear classifier, possibly behind affine steps (PCA, scalers): the composed linear model
  is read off by probing and checked on the background; ``shap.LinearExplainer`` with an
  independent masker, i.e. ``coef * (x - background mean)``, in log-odds or margin;
- anything else: permutation SHAP with an independent masker on a background sample, on the
  uncalibrated probability of mpox. This is the estimator of ``shap.PermutationExplainer``
  (each permutation of the features walked forwards and backwards, every coalition's output
  averaged over the background rows; exactly additive), written in NumPy in
  :mod:`~poxscan.pipelines.permutation_shap`: shap's version JIT-compiles with numba on first
  use in every process, 20-40 s on this project's machine, which a prediction cannot wait for.
  ``use_shap=True`` runs shap's own for comparison.

The calibrator that follows the classifier is monotone, so a feature that raises the
explained output raises the calibrated probability too.

The parts: :mod:`~poxscan.pipelines.explanation` (what an explanation is, the global
importance), :mod:`~poxscan.pipelines.permutation_shap`, and
:mod:`~poxscan.pipelines.global_explanation` (:func:`save_global_explanation` writes, beside a
saved model, the global importance, the SHAP values, the background sample that prediction-time
explanations reuse, and PNG plots); their names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from poxscan.pipelines.explanation import Explanation, family_of, global_importance
from poxscan.pipelines.global_explanation import BACKGROUND_FILE, save_global_explanation
from poxscan.pipelines.image_model import ImageModel, positive_scores
from poxscan.pipelines.permutation_shap import permutation_shap

__all__ = [
    "BACKGROUND_FILE",
    "Explanation",
    "ModelExplainer",
    "family_of",
    "global_importance",
    "permutation_shap",
    "save_global_explanation",
]

_TREE_CLASSES = (
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "GradientBoostingClassifier",
    "DecisionTreeClassifier",
)
_AFFINE_STEPS = (
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "RobustScaler",
    "PCA",
    "PCAReducer",  # poxscan.pipelines.selectors: a PCA with k clipped to the data
    "TruncatedSVD",
    "FunctionTransformer",  # only kept when the probe below confirms it is affine
)
#: Model evaluations (rows) the global permutation explanation may cost; bounds training time.
_PERMUTATION_BUDGET = 4_000_000
#: Model evaluations (rows) one image's permutation explanation may cost: with thousands of
#: features the background shrinks (to no fewer than 5 rows) so a prediction stays quick.
_PER_IMAGE_EVALS = 100_000


def _flatten_steps(estimator: Any) -> list[Any]:
    """The fitted steps of a (possibly nested) Pipeline, without passthrough steps."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        steps: list[Any] = []
        for _, step in estimator.steps:
            if step is None or step == "passthrough":
                continue
            steps += _flatten_steps(step)
        return steps
    return [estimator]


def _as_input(step: Any, X: Any) -> Any:
    """Give a step a DataFrame when it was fitted on one (it then checks the names)."""
    names = getattr(step, "feature_names_in_", None)
    if names is not None and not isinstance(X, pd.DataFrame):
        arr = np.asarray(X)
        if arr.ndim == 2 and arr.shape[1] == len(names):
            return pd.DataFrame(arr, columns=[str(n) for n in names])
    return X


def _apply(steps: Sequence[Any], X: Any) -> Any:
    for step in steps:
        X = step.transform(_as_input(step, X))
    return X


def _type_name(obj: Any) -> str:
    return type(obj).__name__


@dataclass
class ModelExplainer:
    """Explains an :class:`ImageModel` on a background sample of training features.

    Build it with :meth:`from_model` (at training time, from the feature table) or
    :meth:`from_background` (at prediction time, from the saved ``background.npz``).
    """

    model: ImageModel
    background: np.ndarray
    pre_steps: list[Any]
    head_steps: list[Any]
    clf: Any
    feature_names: np.ndarray
    method: str
    output: str
    coef: np.ndarray | None = None
    intercept: float | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def _split(cls, model: ImageModel) -> tuple[list[Any], list[Any], Any, np.ndarray]:
        steps = _flatten_steps(model.pipeline_)
        clf, transformers = steps[-1], steps[:-1]
        names = np.asarray([str(n) for n in model.feature_names_], dtype=object)
        real = set(names)
        cut = 0
        for step in transformers:
            try:
                out = np.asarray(step.get_feature_names_out(names), dtype=object)
            except Exception:  # no names: the step ends the explanation space
                break
            if len(out) == 0 or not set(map(str, out)) <= real:
                break
            names = np.asarray([str(n) for n in out], dtype=object)
            cut += 1
        return transformers[:cut], transformers[cut:], clf, names

    @classmethod
    def _space(cls, model: ImageModel, table: pd.DataFrame, pre: list[Any]) -> np.ndarray:
        return np.asarray(_apply(pre, model._align(table)), dtype=np.float64)

    @classmethod
    def from_background(
        cls, model: ImageModel, background: np.ndarray, feature_names: Sequence[str] | None = None
    ) -> ModelExplainer:
        """An explainer over a background already in the explanation space."""
        pre, head, clf, names = cls._split(model)
        if feature_names is not None and list(map(str, feature_names)) != list(names):
            raise ValueError(
                "the saved SHAP background does not match the model's explanation features"
            )
        background = np.asarray(background, dtype=np.float64)
        method, output, coef, intercept = cls._choose(head, clf, background)
        return cls(model, background, pre, head, clf, names, method, output, coef, intercept)

    @classmethod
    def from_model(
        cls,
        model: ImageModel,
        features: pd.DataFrame,
        background_size: int = 100,
        seed: int = 0,
    ) -> ModelExplainer:
        """An explainer whose background is a random sample of training features."""
        pre, _, _, _ = cls._split(model)
        space = cls._space(model, features, pre)
        rng = np.random.default_rng(seed)
        n = min(int(background_size), len(space))
        rows = np.sort(rng.choice(len(space), size=n, replace=False))
        return cls.from_background(model, space[rows])

    @staticmethod
    def _choose(
        head: list[Any], clf: Any, background: np.ndarray
    ) -> tuple[str, str, np.ndarray | None, float | None]:
        name = _type_name(clf)
        if not head and type(clf).__module__.startswith("xgboost") and hasattr(clf, "get_booster"):
            return "tree-xgboost", "log-odds", None, None
        if not head and name in _TREE_CLASSES:
            output = "log-odds" if name == "GradientBoostingClassifier" else "probability"
            return "tree", output, None, None
        linear = ModelExplainer._linear(head, clf, background)
        if linear is not None:
            coef, intercept = linear
            output = "log-odds" if name.startswith("LogisticRegression") else "margin"
            return "linear", output, coef, intercept
        return "permutation", "probability", None, None

    @staticmethod
    def _linear(
        head: list[Any], clf: Any, background: np.ndarray
    ) -> tuple[np.ndarray, float] | None:
        """The composed linear model of head + clf, or None if it is not (provably) linear."""
        coef = getattr(clf, "coef_", None) if _safe_hasattr(clf, "coef_") else None
        if coef is None or np.asarray(coef).ndim != 2 or np.asarray(coef).shape[0] != 1:
            return None
        if not hasattr(clf, "decision_function"):
            return None
        if any(_type_name(s) not in _AFFINE_STEPS for s in head):
            return None

        def margin(Z: np.ndarray) -> np.ndarray:
            H = _apply(head, Z)
            return np.asarray(clf.decision_function(_as_input(clf, H)), dtype=np.float64).ravel()

        m = background.shape[1]
        probes = np.vstack([np.zeros((1, m)), np.eye(m)])
        f = margin(probes)
        intercept = float(f[0])
        w = f[1:] - intercept
        # Affine maps pass this check exactly (up to round-off); anything else fails it.
        check = background[: min(len(background), 20)]
        expected = check @ w + intercept
        if not np.allclose(margin(check), expected, rtol=1e-6, atol=1e-6 * (1 + np.abs(f).max())):
            return None
        return w, intercept

    # -- outputs -----------------------------------------------------------------------------
    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """Features of a table in the explanation space."""
        return self._space(self.model, features, self.pre_steps)

    def head_output(self, Z: np.ndarray) -> np.ndarray:
        """The explained output for explanation-space rows ``Z`` (see :attr:`output`)."""
        if self.method == "linear":
            return Z @ self.coef + self.intercept
        if self.method == "tree-xgboost":
            return self._xgb_predict(Z, output_margin=True)
        if self.output == "log-odds":
            return np.asarray(self.clf.decision_function(_as_input(self.clf, Z))).ravel()
        H = _apply(self.head_steps, Z)
        return positive_scores(self.clf, _as_input(self.clf, H))

    def _xgb_predict(self, Z: np.ndarray, **kwargs: Any) -> np.ndarray:
        import xgboost as xgb

        booster = self.clf.get_booster()
        dm = xgb.DMatrix(Z, feature_names=booster.feature_names)
        best = getattr(self.clf, "best_iteration", None) if _has_best(self.clf) else None
        if best is not None:
            kwargs["iteration_range"] = (0, int(best) + 1)
        return np.asarray(booster.predict(dm, **kwargs))

    def explain(self, features: pd.DataFrame) -> Explanation:
        """SHAP values of the rows of a feature table (the fast path used at prediction time).

        XGBoost uses its own TreeSHAP, linear models the closed form and other models
        :func:`permutation_shap`, none of which imports SHAP; only scikit-learn tree
        ensembles use ``shap.TreeExplainer`` (imported on first use).
        """
        return self.explain_space(self.transform(features))

    def explain_space(self, Z: np.ndarray, *, use_shap: bool = False) -> Explanation:
        """SHAP values of explanation-space rows; ``use_shap`` forces the ``shap`` library."""
        Z = np.asarray(Z, dtype=np.float64)
        if self.method == "tree-xgboost" and not use_shap:
            contribs = self._xgb_predict(Z, pred_contribs=True)
            values, base = contribs[:, :-1], float(contribs[0, -1])
        elif self.method == "linear" and not use_shap:
            mean = self.background.mean(axis=0)
            values = (Z - mean) * self.coef
            base = float(mean @ self.coef + self.intercept)
        elif self.method == "permutation" and not use_shap:
            values, base = permutation_shap(self.head_output, Z, self.permutation_background())
        else:
            values, base = self._shap_values(Z)
        return Explanation(
            values=np.asarray(values, dtype=np.float64),
            base_value=float(base),
            data=Z,
            feature_names=self.feature_names.copy(),
            output=self.output,
            method=self.method_description,
        )

    @property
    def method_description(self) -> str:
        """The SHAP explainer, in words."""
        return {
            "tree-xgboost": "TreeSHAP (shap.TreeExplainer / XGBoost pred_contribs)",
            "tree": "shap.TreeExplainer",
            "linear": "shap.LinearExplainer, independent masker (coef * (x - background mean))",
            "permutation": "permutation SHAP (as shap.PermutationExplainer), independent masker "
            "on a background sample",
        }[self.method]

    def _shap_values(self, Z: np.ndarray) -> tuple[np.ndarray, float]:
        import shap

        if self.method == "tree-xgboost" or self.method == "tree":
            explainer = self._cache.get("tree")
            if explainer is None:
                explainer = self._cache["tree"] = shap.TreeExplainer(self.clf)
            values = explainer.shap_values(Z, check_additivity=False)
            base = explainer.expected_value
            values = np.asarray(values)
            if values.ndim == 3:  # (n, m, classes): keep the positive class
                values = values[:, :, 1]
                base = np.ravel(base)[1]
            elif isinstance(base, list | np.ndarray) and np.size(base) > 1:
                base = np.ravel(base)[1]
            return values, float(np.ravel(base)[0])
        if self.method == "linear":
            masker = shap.maskers.Independent(self.background, max_samples=len(self.background))
            explainer = shap.LinearExplainer((self.coef, self.intercept), masker)
            return np.asarray(explainer.shap_values(Z)), float(
                np.ravel(explainer.expected_value)[0]
            )
        masker = shap.maskers.Independent(self.background, max_samples=len(self.background))
        explainer = shap.PermutationExplainer(self.head_output, masker, seed=0)
        m = Z.shape[1]
        result = explainer(Z, max_evals=2 * m + 1, silent=True)
        return np.asarray(result.values), float(np.ravel(result.base_values)[0])

    def permutation_background(self) -> np.ndarray:
        """The background rows permutation SHAP uses: fewer when there are many features."""
        m = self.background.shape[1]
        keep = max(5, _PER_IMAGE_EVALS // (2 * (m + 1)))
        return self.background[: min(len(self.background), keep)]

    def global_sample_size(self, n_rows: int, cap: int = 200) -> int:
        """How many training rows the global explanation covers (permutation costs more)."""
        if self.method != "permutation":
            return min(n_rows, cap)
        per_row = 2 * (self.background.shape[1] + 1) * len(self.permutation_background())
        return int(min(n_rows, cap, max(20, _PERMUTATION_BUDGET // per_row)))


def _safe_hasattr(obj: Any, name: str) -> bool:
    try:
        return hasattr(obj, name)
    except Exception:  # some estimators raise other errors from properties (SVC.coef_)
        return False


def _has_best(clf: Any) -> bool:
    try:
        return getattr(clf, "best_iteration", None) is not None
    except (AttributeError, ValueError):  # XGBoost raises when there was no early stopping
        return False
