"""Model directories: save a trained model with its evidence, load it only if it is intact.

A model directory holds::

    model.joblib        the fitted ImageModel (extractor parameters, feature pipeline,
                        calibrator, threshold), compressed
    manifest.json       sha256 of every other file, package versions and compatible ranges,
                        extractor fingerprints, training data checksums and counts, out-of-fold
                        metrics with 95 % intervals, threshold rule, calibration
    model_card.md       intended use, data, metrics, limitations, how to load safely
    shap/               global SHAP importance (JSON, NPZ, PNG) and the explainer background

:func:`save_model` writes the whole directory into a temporary folder beside the target and
renames it into place, so a reader never sees half a model. :func:`load_model` checks every
file against the manifest **before** unpickling anything (:mod:`poxscan.pipelines.model_dir`,
shared with the CNN loader): a changed, missing or extra file is refused with
:class:`ModelIntegrityError` naming the file. The bytes of ``model.joblib`` are read once,
hashed, and those very bytes are unpickled by :func:`poxscan.pipelines.safe_pickle.safe_load`,
which admits only the types poxscan models are made of: a pickle rewritten together with its
manifest still cannot run code. Pin the manifest's own sha256 (``manifest_sha256=``, printed by
``poxscan train``) to be sure it is *your* model; loading unpinned warns.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping
from importlib import metadata
from os import PathLike
from pathlib import Path
from typing import Any

import joblib
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from poxscan import __version__
from poxscan.core.atomic import atomic_path, atomic_write_text
from poxscan.core.jsonutil import to_jsonable
from poxscan.pipelines.image_model import ImageModel
from poxscan.pipelines.model_dir import (
    MODEL_FORMAT,
    MODEL_FORMAT_VERSION,
    MODEL_NAME,
    IncompatibleModelError,
    ModelIntegrityError,
    UnpinnedModelWarning,
    file_sha256,
    list_files,
    verify_directory,
)
from poxscan.pipelines.safe_pickle import UnsafeModelError, safe_load

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "MODEL_NAME",
    "IncompatibleModelError",
    "ModelIntegrityError",
    "ModelVersionWarning",
    "UnpinnedModelWarning",
    "UnsafeModelError",
    "environment",
    "load_model",
    "manifest_sha256",
    "save_model",
    "verify_model_dir",
]

log = logging.getLogger(__name__)

FORMAT = MODEL_FORMAT
FORMAT_VERSION = MODEL_FORMAT_VERSION
MANIFEST_NAME = "manifest.json"
CARD_NAME = "model_card.md"
SHAP_DIR = "shap"

#: Distribution name -> how much of its version must match for a pickle to be trusted.
#: "minor": same major.minor (scikit-learn and XGBoost pickles are only supported across
#: identical minor versions; OpenCV and scikit-image minors can change feature values);
#: "major": same major version.
_PINS: dict[str, str] = {
    "numpy": "major",
    "scipy": "minor",
    "scikit-learn": "minor",
    "xgboost": "minor",
    "scikit-image": "minor",
    "opencv-python-headless": "minor",
    "joblib": "major",
    "pandas": "major",
    "shap": "minor",
}
_DEEP_PINS = {"tensorflow": "minor", "keras": "minor"}


class ModelVersionWarning(UserWarning):
    """A package differs from the version the model was saved with."""


# -- environment -------------------------------------------------------------------------------
def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _range(version: str, level: str) -> str:
    """The versions compatible with ``version``: same major (``"major"``) or same minor."""
    release = Version(version)
    major, minor = release.major, release.minor
    if level == "major":
        return f">={major}.{minor},<{major + 1}"
    return f">={major}.{minor},<{major}.{minor + 1}"


def environment(deep: bool = False) -> dict[str, Any]:
    """Versions of Python and of every package a saved model depends on, and their ranges.

    Parameters
    ----------
    deep : bool
        Include TensorFlow and Keras (models with the deep family).

    Returns
    -------
    dict
        ``{"python", "platform", "packages": {dist: version}, "compatible": {dist: range}}``.
        OpenCV is recorded under whichever distribution is installed.
    """
    pins = dict(_PINS)
    if _version("opencv-python-headless") is None:
        pins.pop("opencv-python-headless")
        for alt in ("opencv-python", "opencv-contrib-python"):
            if _version(alt):
                pins[alt] = "minor"
                break
    if deep:
        pins.update(_DEEP_PINS)
    packages = {"poxscan": __version__}
    compatible = {}
    for dist, level in pins.items():
        version = _version(dist)
        packages[dist] = version
        if version:
            compatible[dist] = _range(version, level)
    py = platform.python_version()
    compatible["python"] = _range(py, "minor")
    return {
        "python": py,
        "platform": platform.platform(),
        "packages": packages,
        "compatible": compatible,
    }


def _in_range(version: str, spec: str) -> bool:
    """Whether ``version`` satisfies ``">=LOW,<HIGH"`` as :func:`_range` writes it."""
    try:
        # Pre-releases count: a "2.21.0rc1" is judged by its release numbers, as before.
        return SpecifierSet(spec).contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _check_versions(manifest: Mapping[str, Any], where: Path) -> list[str]:
    """Warn about every package whose version differs from the saved one; return messages."""
    env = manifest.get("environment", {})
    saved = dict(env.get("packages", {}))
    saved["python"] = env.get("python")
    compatible = env.get("compatible", {})
    messages = []
    for dist, was in saved.items():
        if not was or dist == "poxscan":
            continue
        now = platform.python_version() if dist == "python" else _version(dist)
        if now == was:
            continue
        spec = compatible.get(dist)
        if now is None:
            note = "not installed now"
        elif spec and _in_range(now, spec):
            note = f"within the compatible range {spec}"
        else:
            note = f"OUTSIDE the compatible range {spec}; predictions may differ or fail"
        messages.append(f"{where}: saved with {dist} {was}, running {now} ({note})")
    for message in messages:
        warnings.warn(message, ModelVersionWarning, stacklevel=3)
    return messages


# -- hashing and verification ------------------------------------------------------------------
# Kept under their old names: the CNN, TFLite and fine-tuning modules import them.
_sha256 = file_sha256
_list_files = list_files


def manifest_sha256(model_dir: str | PathLike) -> str:
    """sha256 of a model directory's ``manifest.json``: the model's identity to pin."""
    return _sha256(Path(model_dir) / MANIFEST_NAME)


def verify_model_dir(
    model_dir: str | PathLike, manifest_sha256: str | None = None
) -> dict[str, Any]:
    """Check every file of a model directory against its manifest; unpickle nothing.

    Parameters
    ----------
    model_dir : path-like
        The model directory.
    manifest_sha256 : str, optional
        Expected sha256 of ``manifest.json`` itself (pins the whole model).

    Returns
    -------
    manifest : dict

    Raises
    ------
    ModelIntegrityError, IncompatibleModelError
        See :func:`poxscan.pipelines.model_dir.verify_directory`.
    """
    return _verify(model_dir, manifest_sha256)[0]


def _verify(model_dir: str | PathLike, pinned: str | None) -> tuple[dict[str, Any], bytes]:
    manifest, blobs, _ = verify_directory(
        model_dir,
        fmt=FORMAT,
        format_version=FORMAT_VERSION,
        primary=MODEL_NAME,
        manifest_sha256=pinned,
        read=(MODEL_NAME,),
        other_hint=" (a fine-tuned CNN? use --cnn)",
    )
    return manifest, blobs[MODEL_NAME]


def load_model(
    model_dir: str | PathLike,
    *,
    manifest_sha256: str | None = None,
    check_fingerprints: bool = True,
) -> tuple[ImageModel, dict[str, Any]]:
    """Verify a model directory, then unpickle its model.

    Parameters
    ----------
    model_dir : path-like
        A directory written by :func:`save_model`.
    manifest_sha256 : str, optional
        Expected sha256 of ``manifest.json``; pins the model (see the module docstring).
    check_fingerprints : bool, default=True
        Refuse the model when a feature extractor now computes something else than at
        training time (its fingerprint changed).

    Returns
    -------
    model : ImageModel
    manifest : dict

    Raises
    ------
    ModelIntegrityError
        See :func:`verify_model_dir`; raised before anything is unpickled.
    UnsafeModelError
        ``model.joblib`` names a type outside the allow-list (a ``ModelIntegrityError``
        too); nothing it names was imported or run.
    IncompatibleModelError
        Unknown format, or changed feature extractors.

    Warns
    -----
    ModelVersionWarning
        For each package whose version differs from the one the model was saved with.
    UnpinnedModelWarning
        When ``manifest_sha256`` is not given.
    """
    folder = Path(model_dir)
    manifest, data = _verify(folder, manifest_sha256)
    _check_versions(manifest, folder)
    # The very bytes that were hashed, through the allow-listed unpickler: no second read.
    try:
        model = safe_load(data, name=str(folder / MODEL_NAME))
    except ModelIntegrityError:
        raise
    except Exception as exc:
        raise ModelIntegrityError(
            f"{folder / MODEL_NAME}: not a loadable joblib pickle ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(model, ImageModel):
        raise IncompatibleModelError(
            f"{folder / MODEL_NAME}: holds a {type(model).__name__}, not an ImageModel"
        )
    for extractor in model.extractors_.values():
        # A lite model's backbone file lies in the directory (checked above): say where.
        bind = getattr(extractor, "bind_model_dir", None)
        if callable(bind):
            bind(folder)
    if check_fingerprints:
        saved = manifest.get("model", {}).get("fingerprints", {})
        for family, extractor in model.extractors_.items():
            now = extractor.fingerprint()
            if saved.get(family) != now:
                raise IncompatibleModelError(
                    f"{folder}: the {family} feature extractor changed since training "
                    f"(fingerprint {saved.get(family)} then, {now} now); retrain the model "
                    "or install the poxscan version it was trained with"
                )
    return model, manifest


# -- saving ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _atomic_dir(target: Path, overwrite: bool) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; rename it onto ``target`` at the end."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; choose another --out or pass --force")
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield tmp
        if target.exists():
            # Swap: the old directory is renamed away first, so the target name always holds
            # a complete model (old or new), never a mixture.
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _publish_modes(folder: Path) -> None:
    """Temporary files are private (0600); a published model is readable as umask allows."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


#: The tree's one JSON converter, under the name the model-directory writers use.
_jsonable = to_jsonable


def save_model(
    result: Any,
    out_dir: str | PathLike,
    *,
    training_data: Mapping[str, Any],
    features: Any = None,
    ids: Any = None,
    explain: bool = True,
    overwrite: bool = False,
    background_size: int = 100,
    extra: Mapping[str, Any] | None = None,
    gate: Any = None,
) -> dict[str, Any]:
    """Write a trained model and its evidence as a model directory, atomically.

    Parameters
    ----------
    result : TrainResult
        From :func:`poxscan.pipelines.training.train_model`.
    out_dir : path-like
        The model directory to create.
    training_data : dict
        What the model was trained on: ``datasets`` (name -> manifest checksum and counts),
        ``n_images``, ``class_counts`` and anything else to record.
    features : DataFrame, optional
        The training feature table; required for the SHAP explanation.
    ids : sequence of str, optional
        Image ids of the feature rows (recorded with the SHAP values).
    explain : bool, default=True
        Compute and save the global SHAP explanation and the background sample.
    overwrite : bool, default=False
        Replace an existing directory (atomically).
    background_size : int, default=100
        Training images in the SHAP background sample.
    extra : dict, optional
        More manifest entries (e.g. where the config came from).
    gate : InputGate, optional
        The fitted input gate (:mod:`poxscan.pipelines.gate`): saved as ``gate.npz`` and
        described in the manifest's ``"gate"`` entry, hash-checked like every file.

    Returns
    -------
    manifest : dict
    """
    from poxscan.pipelines.model_card import render_model_card

    model: ImageModel = result.model
    target = Path(out_dir)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "poxscan_version": __version__,
        "task": "binary",
        "classes": {"0": "not_mpox", "1": "mpox"},
        "model": {
            "families": model.families_,
            "fingerprints": model.fingerprints_,
            "n_features_in": len(model.feature_names_),
            "uses_deep": model.uses_deep,
            "config": result.config,
            "pipeline": [
                f"{name}: {type(step).__name__ if not isinstance(step, str) else step}"
                for name, step in getattr(model.pipeline_, "steps", [("model", model.pipeline_)])
            ],
        },
        "calibration": {
            **model.calibrator_.describe(),
            "fitted_on": "out-of-fold scores of the grouped cross-validation below",
        },
        "threshold": {
            "value": model.threshold_,
            "rule": model.threshold_rule_,
            "description": _threshold_description(model.threshold_rule_),
            "applies_to": "calibrated probability of mpox; mpox when probability >= value",
        },
        "training_data": dict(training_data),
        "evaluation": result.metrics,
        "environment": environment(deep=model.uses_deep),
    }
    if extra:
        manifest.update(dict(extra))
    if gate is not None:
        manifest["gate"] = gate.describe()
    with _atomic_dir(target, overwrite) as tmp:
        if gate is not None:
            gate.save(tmp)
        with atomic_path(tmp / MODEL_NAME, suffix=".joblib") as path:
            joblib.dump(model, path, compress=3)
        if explain:
            if features is None:
                raise ValueError("the SHAP explanation needs the training feature table")
            from poxscan.pipelines.explain import ModelExplainer, save_global_explanation

            explainer = ModelExplainer.from_model(model, features, background_size=background_size)
            summary = save_global_explanation(explainer, features, tmp / SHAP_DIR, ids=ids)
            manifest["explanation"] = {
                "explainer": summary["explainer"],
                "output": summary["output"],
                "background_size": len(explainer.background),
                "n_explained": summary["n_images"],
                "explanation_features": summary["n_features"],
                "top_families": summary["families"],
                "top_features": summary["features"][:10],
            }
        atomic_write_text(tmp / CARD_NAME, render_model_card(_jsonable(manifest)))
        _publish_modes(tmp)
        manifest["files"] = {rel: _sha256(p) for rel, p in _list_files(tmp).items()}
        text = json.dumps(_jsonable(manifest), indent=2, sort_keys=False) + "\n"
        atomic_write_text(tmp / MANIFEST_NAME, text)
        _publish_modes(tmp)
    log.info("saved model to %s (manifest sha256 %s)", target, manifest_sha256(target))
    return _jsonable(manifest)


def _threshold_description(rule: str) -> str:
    from poxscan.pipelines.calibration import ThresholdRule

    if rule == "fixed":
        return "fixed by the user"
    return ThresholdRule.parse(rule).describe()
