"""The differential: mpox, chickenpox, measles or normal skin, shown beside the screening decision.

The binary model (:class:`~poxscan.pipelines.image_model.ImageModel`) makes the screening
decision; :class:`DifferentialModel` says which of the four labelled conditions an image looks
most like. It chains the same feature extractors (cache-compatible columns) with a multi-class
pipeline (:func:`~poxscan.pipelines.builder.build_pipeline` with ``task="multiclass"``).

msld_v1's "Others" folder mixes chickenpox and measles without saying which is which. It is
**excluded** from multi-class training and evaluation (:data:`EXCLUDED_LABELS`): kept as an
"other" class, it would be a class made of one dataset's photos, so the model would learn to
tell the datasets apart (camera, crop, size), and a chickenpox photo could be right as
"chickenpox" and as "other" at once. The differential is therefore learnt from ahsan2022's four
classes plus msld_v1's mpox photos; :func:`evaluate_differential` reports recall per source
dataset so the reader can see whether mpox recall comes from one collection.

Probabilities are the pipeline's own (a multinomial logistic regression by default): no
per-class calibration is fitted, and no threshold; the differential is the ranked list.
Out-of-fold evidence (:func:`evaluate_differential`) uses grouped folds
(:func:`~poxscan.pipelines.splits.grouped_folds` over the audit's cross-set groups), every
scaler, selector and classifier fitted on the training part only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from poxscan.features import check_images
from poxscan.pipelines.classifiers import drop_fit_only_state
from poxscan.pipelines.image_model import FeatureExtractorsMixin, normalize_families
from poxscan.pipelines.splits import grouped_folds
from poxscan.pipelines.targets import MULTICLASS_EXCLUDED, task_records

__all__ = [
    "DEFAULT_DIFFERENTIAL_CONFIG",
    "EXCLUDED_LABELS",
    "DifferentialModel",
    "differential_evidence",
    "differential_records",
    "evaluate_differential",
    "explain_differential",
    "load_differential",
    "markdown",
    "save_differential",
]

#: Labels left out of the multi-class task (msld_v1's mixed chickenpox + measles folder).
EXCLUDED_LABELS = MULTICLASS_EXCLUDED
#: The fixed multi-class pipeline (no tuning): colour + Lite0 deep features, the 256 best
#: columns by ANOVA F, a strongly L2-regularised multinomial logistic regression.
DEFAULT_DIFFERENTIAL_CONFIG: dict[str, Any] = {
    "task": "multiclass",
    "families": {"color": {}, "deep": {"backbone": "efficientnet-lite0"}},
    "selector": "anova",
    "k": 256,
    "classifier": "logreg",
    "params": {"C": 0.01},
}
FORMAT = "poxscan-differential"


def differential_records(records: pd.DataFrame) -> pd.DataFrame:
    """The records the multi-class task uses: every label but :data:`EXCLUDED_LABELS`."""
    return task_records(records, "multiclass")


class DifferentialModel(FeatureExtractorsMixin, ClassifierMixin, BaseEstimator):
    """Images in, probability of each labelled condition out.

    Parameters
    ----------
    families : list or dict, default=None
        Feature families with extractor parameters; ``None``: those of ``pipeline`` (or of
        :data:`DEFAULT_DIFFERENTIAL_CONFIG`).
    pipeline : dict, default=None
        A multi-class config for :func:`~poxscan.pipelines.builder.build_pipeline`; ``None``:
        :data:`DEFAULT_DIFFERENTIAL_CONFIG`.

    Attributes
    ----------
    class_names_ : list of str
        ``class_names_[i]`` is class ``i``.
    families_, extractors_, feature_names_, fingerprints_
        As in :class:`~poxscan.pipelines.image_model.ImageModel`.
    pipeline_ : Pipeline
        Fitted on every training row.
    """

    def __init__(self, families: Any = None, pipeline: Mapping[str, Any] | None = None) -> None:
        self.families = families
        self.pipeline = pipeline

    def _config(self) -> dict[str, Any]:
        cfg = dict(self.pipeline or DEFAULT_DIFFERENTIAL_CONFIG)
        cfg["task"] = "multiclass"
        return cfg

    def fit(
        self, X: Sequence[np.ndarray], y: Sequence[int], class_names: Sequence[str] | None = None
    ) -> DifferentialModel:
        """Extract features from RGB images ``X`` and fit as :meth:`fit_features` does."""
        images = check_images(X)
        names = class_names or [str(c) for c in sorted(set(np.asarray(y).tolist()))]
        self.fit_features(pd.DataFrame(), y, names, _images=images)
        return self

    def fit_features(
        self,
        features: pd.DataFrame,
        y: Sequence[int],
        class_names: Sequence[str],
        _images: list[np.ndarray] | None = None,
    ) -> DifferentialModel:
        """Fit on a cached feature table; ``y[i]`` indexes ``class_names``."""
        from poxscan.pipelines.builder import build_pipeline, config_families

        cfg = self._config()
        self._fit_extractors(self.families or config_families(cfg))
        self.class_names_ = [str(c) for c in class_names]
        y = np.asarray(y, dtype=int)
        if len(np.unique(y)) < 3:
            raise ValueError("a differential needs at least three classes in training")
        self.classes_ = np.arange(len(self.class_names_))
        if _images is not None:
            features = self.extract(_images)
        self.pipeline_ = drop_fit_only_state(build_pipeline(cfg).fit(self._align(features), y))
        return self

    def predict_proba_features(self, features: pd.DataFrame) -> np.ndarray:
        """``(n, n_classes)`` probabilities of a feature table, columns ``class_names_``."""
        check_is_fitted(self, "pipeline_")
        proba = np.zeros((len(features), len(self.class_names_)))
        fitted = list(self.pipeline_.classes_)
        proba[:, fitted] = self.pipeline_.predict_proba(self._align(features))
        return proba

    def predict_proba(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """``(n, n_classes)`` probabilities of RGB images."""
        return self.predict_proba_features(self.extract(X))

    def predict(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Index of the most probable class of each image."""
        return np.argmax(self.predict_proba(X), axis=1)

    def differential(self, X: Sequence[np.ndarray]) -> list[dict[str, float]]:
        """Per image: ``{class name: probability}``, most probable first."""
        out = []
        for row in self.predict_proba(X):
            order = np.argsort(-row, kind="stable")
            out.append({self.class_names_[i]: float(row[i]) for i in order})
        return out

    @property
    def uses_deep(self) -> bool:
        """Whether the deep (TensorFlow) extractor is needed."""
        return "deep" in normalize_families(self.families or self._config()["families"])


class _OneClassView:
    """A differential seen as "class ``c`` or not", for the binary LIME explainer."""

    def __init__(self, model: DifferentialModel, index: int) -> None:
        self._differential = model  # not "model": the LIME adapter would unwrap it
        self.index = index
        self.extractors_ = model.extractors_
        self.families_ = model.families_
        # Every copy is explained towards the class (LIME's label 1), never away from it.
        self.threshold_ = 0.0

    def predict_proba(self, images: Sequence[np.ndarray]) -> np.ndarray:
        p = self._differential.predict_proba(images)[:, self.index]
        return np.column_stack([1 - p, p])


def explain_differential(model: DifferentialModel, image: np.ndarray, **kwargs: Any) -> Any:
    """LIME superpixels that support the differential's most probable class for ``image``.

    Returns a :class:`~poxscan.pipelines.lime_explain.LimeExplanation` whose ``label`` is that
    class and ``probability`` its probability; ``kwargs`` go to
    :func:`~poxscan.pipelines.lime_explain.explain_model`.
    """
    import dataclasses

    from poxscan.pipelines.lime_explain import explain_model

    index = int(np.argmax(model.predict_proba([np.asarray(image)])[0]))
    view = _OneClassView(model, index)
    explanation = explain_model(view, image, **kwargs)
    return dataclasses.replace(
        explanation,
        label=model.class_names_[index],
        model_name=f"differential ({'+'.join(model.families_)})",
    )


# -- evaluation -----------------------------------------------------------------------------
def evaluate_differential(
    features: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    class_names: Sequence[str],
    datasets: np.ndarray,
    config: Mapping[str, Any] | None = None,
    n_splits: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Grouped out-of-fold evaluation: per-class recall, confusion matrix, per-dataset recall.

    Each fold's model is fitted on the training rows only. The mpox-vs-rest ROC-AUC of the
    multi-class probabilities is reported too, beside (never instead of) the binary model's.
    """
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, roc_auc_score

    y = np.asarray(y, dtype=int)
    names = [str(c) for c in class_names]
    proba = np.full((len(y), len(names)), np.nan)
    fold_recalls = []
    for tr, te in grouped_folds(y, groups, n_splits, seed=seed):
        model = DifferentialModel(pipeline=config).fit_features(features.iloc[tr], y[tr], names)
        proba[te] = model.predict_proba_features(features.iloc[te])
        pred = proba[te].argmax(1)
        fold_recalls.append(
            {
                c: float(np.mean(pred[y[te] == i] == i))
                for i, c in enumerate(names)
                if np.any(y[te] == i)
            }
        )
    pred = proba.argmax(1)
    cm = confusion_matrix(y, pred, labels=np.arange(len(names)))

    def recall_table(mask: np.ndarray) -> dict[str, Any]:
        out = {}
        for i, c in enumerate(names):
            m = mask & (y == i)
            if m.any():
                out[c] = {"n": int(m.sum()), "recall": float(np.mean(pred[m] == i))}
        return out

    mpox = names.index("mpox") if "mpox" in names else None
    return {
        "class_names": names,
        "n_images": len(y),
        "n_groups": len(np.unique(groups)),
        "n_splits": n_splits,
        "seed": seed,
        "config": dict(config or DEFAULT_DIFFERENTIAL_CONFIG),
        "excluded_labels": list(EXCLUDED_LABELS),
        "accuracy": float(np.mean(pred == y)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "per_class": recall_table(np.ones(len(y), bool)),
        "per_class_fold_sd": {
            c: float(np.std([f[c] for f in fold_recalls if c in f], ddof=1)) for c in names
        },
        "confusion_matrix": cm.tolist(),
        "per_dataset": {str(d): recall_table(datasets == d) for d in dict.fromkeys(datasets)},
        "mpox_vs_rest_roc_auc": (
            float(roc_auc_score(y == mpox, proba[:, mpox])) if mpox is not None else None
        ),
        "oof_proba": proba,
    }


def differential_evidence(
    datasets: Sequence[str],
    config: Mapping[str, Any],
    *,
    n_splits: int = 5,
    seed: int = 0,
    data_root: str | PathLike | None = None,
    cache: str | PathLike | None = None,
    progress: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """The multi-class features of ``datasets`` (from the cache) and their
    :func:`evaluate_differential` report: what ``poxscan evaluate`` and ``poxscan train``
    with ``--task multiclass`` both start from.

    Returns
    -------
    data : ExperimentData
        From :func:`~poxscan.pipelines.experiment_data.load_experiment` (``task="multiclass"``).
    report : dict
        :func:`evaluate_differential`'s report, ``oof_proba`` included.
    """
    from poxscan.pipelines.builder import config_families
    from poxscan.pipelines.experiment_data import load_experiment

    data = load_experiment(
        list(datasets),
        config_families(dict(config)),
        task="multiclass",
        data_root=data_root,
        cache=cache,
        progress=progress,
    )
    report = evaluate_differential(
        data.X,
        data.y,
        data.groups,
        data.class_names,
        data.records["dataset"].to_numpy(),
        config=config,
        n_splits=n_splits,
        seed=seed,
    )
    return data, report


def markdown(report: Mapping[str, Any]) -> str:
    """The Markdown version of :func:`evaluate_differential`'s report."""
    names = report["class_names"]
    out = [
        "# The differential (multi-class) on the pooled sets, grouped out-of-fold",
        "",
    ]
    if report.get("command"):
        out += [f"Reproduce with `{report['command']}`.", ""]
    out += [
        f"{report['n_images']} images ({report['n_groups']} audit groups), "
        f"{report['n_splits']} grouped folds (seed {report['seed']}); labels "
        f"{', '.join(names)}. msld_v1's mixed 'Others' folder (chickenpox and measles not told "
        "apart) is excluded: as a class of its own it would be one dataset's photos. "
        "The binary screening decision stays the headline; this is shown beside it.",
        "",
        f"Accuracy {100 * report['accuracy']:.1f} %, balanced accuracy "
        f"{100 * report['balanced_accuracy']:.1f} %; mpox-vs-rest ROC-AUC of the multi-class "
        f"probabilities {report['mpox_vs_rest_roc_auc']:.3f}.",
        "",
        "| class | images | recall (OOF) | fold SD |",
        "|---|---|---|---|",
    ]
    for c in names:
        r = report["per_class"].get(c)
        if r:
            sd = report["per_class_fold_sd"].get(c, float("nan"))
            out.append(f"| {c} | {r['n']} | {100 * r['recall']:.1f} % | {100 * sd:.1f} |")
    out += [
        "",
        "## Confusion matrix (rows: true, columns: predicted)",
        "",
        "| true \\ predicted | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for c, row in zip(names, report["confusion_matrix"], strict=True):
        out.append(f"| {c} | " + " | ".join(str(v) for v in row) + " |")
    out += [
        "",
        "## Recall per source dataset",
        "",
        "| dataset | class | images | recall |",
        "|---|---|---|---|",
    ]
    for d, rows in report["per_dataset"].items():
        for c, r in rows.items():
            out.append(f"| {d} | {c} | {r['n']} | {100 * r['recall']:.1f} % |")
    out += ["", f"Config: `{json.dumps(report['config'], sort_keys=True)}`", ""]
    return "\n".join(out)


# -- persistence ----------------------------------------------------------------------------
def save_differential(
    model: DifferentialModel,
    out_dir: str | PathLike,
    *,
    training_data: Mapping[str, Any],
    evaluation: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write a model directory (joblib + sha256 manifest), as the binary models are written."""
    import joblib

    from poxscan import __version__
    from poxscan.core.atomic import atomic_path, atomic_write_text
    from poxscan.pipelines import persistence as ps

    check_is_fitted(model, "pipeline_")
    target = Path(out_dir)
    manifest: dict[str, Any] = {
        "format": ps.FORMAT,
        "format_version": ps.FORMAT_VERSION,
        "kind": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "poxscan_version": __version__,
        "task": "multiclass",
        "classes": {str(i): c for i, c in enumerate(model.class_names_)},
        "excluded_labels": list(EXCLUDED_LABELS),
        "model": {
            "families": model.families_,
            "fingerprints": model.fingerprints_,
            "n_features_in": len(model.feature_names_),
            "uses_deep": model.uses_deep,
            "config": model._config(),
        },
        "training_data": dict(training_data),
        "evaluation": dict(evaluation or {}),
        "environment": ps.environment(deep=model.uses_deep),
    }
    with ps._atomic_dir(target, overwrite) as tmp:
        with atomic_path(tmp / ps.MODEL_NAME, suffix=".joblib") as path:
            joblib.dump(model, path, compress=3)
        ps._publish_modes(tmp)
        manifest["files"] = {rel: ps._sha256(p) for rel, p in ps._list_files(tmp).items()}
        atomic_write_text(
            tmp / ps.MANIFEST_NAME, json.dumps(ps._jsonable(manifest), indent=2) + "\n"
        )
        ps._publish_modes(tmp)
    return ps._jsonable(manifest)


def load_differential(
    model_dir: str | PathLike, manifest_sha256: str | None = None
) -> tuple[DifferentialModel, dict[str, Any]]:
    """Verify every file against the manifest, then unpickle; check extractor fingerprints."""
    from poxscan.pipelines import persistence as ps
    from poxscan.pipelines.safe_pickle import safe_load

    folder = Path(model_dir)
    manifest, data = ps._verify(folder, manifest_sha256)
    if manifest.get("kind") != FORMAT or manifest.get("task") != "multiclass":
        raise ps.IncompatibleModelError(f"{folder}: not a multi-class (differential) model")
    # The very bytes that were hashed, through the allow-listed unpickler (as load_model does).
    model = safe_load(data, name=str(folder / ps.MODEL_NAME))
    if not isinstance(model, DifferentialModel):
        raise ps.IncompatibleModelError(f"{folder}: holds a {type(model).__name__}")
    saved = manifest.get("model", {}).get("fingerprints", {})
    for family, ext in model.extractors_.items():
        if saved.get(family) != ext.fingerprint():
            raise ps.IncompatibleModelError(
                f"{folder}: the {family} feature extractor changed since training; retrain"
            )
    return model, manifest
