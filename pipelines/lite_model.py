"""Lite model directories: the int8 backbone and the joblib pipeline, run by LiteRT alone.

A lite model directory is a model directory (:mod:`poxscan.pipelines.persistence`) whose deep
family is computed by an int8 TensorFlow Lite backbone stored inside it::

    model.joblib                         ImageModel whose deep extractor is a LiteDeepFeatures
    backbones/<backbone>-int8.tflite     the int8 backbone (float32 in and out, int8 inside)
    backbones/<backbone>-int8.json       its export manifest (sha256, calibration images)
    manifest.json                        every file's sha256; "runtime" names the backbone,
                                         its sha256 and the float extractor it replaces
    model_card.md, shap/                 as for every model

Loading checks every file against the manifest before anything is parsed, then binds the
extractor to the directory; the extractor's fingerprint is the backbone's sha256, so the
manifest's fingerprints tie the pipeline to the exact file. Predicting needs numpy,
scikit-learn, OpenCV, scikit-image and ``ai-edge-litert`` (``pip install 'poxscan[lite]'``): no
TensorFlow, no Keras, no weight packages. Writing one needs TensorFlow (the int8 conversion).

Two ways to get one:

- :func:`lite_training_families` + :func:`finish_lite_training` (``poxscan train --runtime
  litert-int8``): the backbone is exported and calibrated on the training images, the pipeline
  is trained and cross-validated **on the int8 features**, so the manifest's out-of-fold
  metrics are the lite model's own;
- :func:`export_lite` (``poxscan export-lite MODEL_DIR OUT``): an existing float model keeps
  its pipeline, fitted on float features; its deep extractor is swapped for the int8 backbone
  calibrated on the model's training images, and the manifest records how far the lite
  probabilities of the training images move (``lite_check``).

An int8 calibration on the training images uses only activation ranges of training images;
the out-of-fold figures of a model trained this way still saw the test folds' images in that
calibration (a range statistic, not a label); ``experiments/bench_lite.py`` measures the
honest version, calibrated within each outer fold.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from poxscan.core.atomic import atomic_path, atomic_write_text
from poxscan.features.lite_deep import LiteDeepFeatures
from poxscan.pipelines import persistence
from poxscan.pipelines.image_model import ImageModel

__all__ = [
    "BACKBONE_DIR",
    "RUNTIME",
    "export_int8_backbone",
    "export_lite",
    "finish_lite_training",
    "is_lite",
    "lite_environment",
    "lite_training_families",
    "to_lite",
]

#: The runtime name a lite manifest records (and ``poxscan train --runtime`` takes).
RUNTIME = "litert-int8"
#: Folder of a lite model directory that holds the backbones.
BACKBONE_DIR = "backbones"


def is_lite(manifest: Mapping[str, Any]) -> bool:
    """Whether a model manifest describes a lite model directory."""
    return (manifest.get("runtime") or {}).get("name") == RUNTIME


def lite_environment() -> dict[str, Any]:
    """:func:`~poxscan.pipelines.persistence.environment` without TensorFlow, with LiteRT."""
    from importlib import metadata

    env = persistence.environment(deep=False)
    try:
        version = metadata.version("ai-edge-litert")
    except metadata.PackageNotFoundError:  # pragma: no cover - a lite export needs it
        version = None
    env["packages"]["ai-edge-litert"] = version
    if version:
        major, minor = version.split(".")[:2]
        env["compatible"]["ai-edge-litert"] = f">={major}.{minor},<{int(major) + 1}"
    return env


def export_int8_backbone(
    backbone: str,
    images: Sequence[np.ndarray],
    ids: Sequence[str],
    source: str,
    out_dir: str | PathLike,
) -> tuple[Path, dict[str, Any]]:
    """Export ``backbone`` to int8, calibrated on ``images`` (training images only).

    Returns the ``.tflite`` path and its export manifest. Needs TensorFlow.
    """
    from poxscan.features.backbones import get_backbone
    from poxscan.pipelines.tflite import export_backbone

    name = get_backbone(backbone).name
    stem = Path(out_dir) / name
    manifests = export_backbone(
        name,
        "int8",
        stem,
        representative=images,
        representative_ids=list(ids),
        representative_source=source,
    )
    return stem.parent / f"{stem.name}-int8.tflite", manifests["int8"]


#: Deep-family options (with their defaults) that LiteDeepFeatures does not compute: it fits
#: and poses the photo, nothing else.
_LITE_DEFAULTS = (
    ("layers", "head"),
    ("pooling", "avg"),
    ("tta", 0),
    ("smooth", 0),
    ("jpeg", 0),
    ("downscale", 0),
    ("color_constancy", None),
)


def _unsupported_options(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The ``(option, value)`` pairs of deep-family parameters a lite backbone cannot honour."""
    return [(k, params[k]) for k, default in _LITE_DEFAULTS if params.get(k, default) != default]


def lite_training_families(
    families: Mapping[str, Mapping[str, Any]], tflite_path: str | PathLike
) -> dict[str, dict[str, Any]]:
    """The families to train a lite model on: the deep family from the int8 file (via LiteRT)."""
    out = {fam: dict(params) for fam, params in families.items()}
    if "deep" in out:
        deep = out["deep"]
        for key, value in _unsupported_options(deep):
            raise ValueError(
                f"a lite model's backbone computes the default embedding only; the deep "
                f"family asks for {key}={value!r}"
            )
        if deep.get("runtime") is not None:
            raise ValueError(f"the deep family already has runtime {deep['runtime']!r}")
        deep.update(runtime="tflite-int8", tflite_model=str(tflite_path))
    return out


def to_lite(model: ImageModel, tflite_path: str | PathLike) -> LiteDeepFeatures:
    """Swap the model's deep extractor for a :class:`LiteDeepFeatures` of ``tflite_path``.

    The model is changed in place (extractor, fingerprint, family parameters); the new
    extractor names the file as ``backbones/<file name>`` and is bound to the file's folder's
    parent, so it runs at once and once the directory is written.
    """
    old = model.extractors_["deep"]
    path = Path(tflite_path)
    content = path.read_bytes()
    lite = LiteDeepFeatures(
        backbone=old._spec().name,
        tflite_file=f"{BACKBONE_DIR}/{path.name}",
        tflite_sha256=hashlib.sha256(content).hexdigest(),
        feature_dim=int(old._spec().feature_dim),
        quantization="int8",
        orient=getattr(old, "orient", None),
    )
    lite.fit([np.zeros((32, 32, 3), np.uint8)])
    if list(lite.get_feature_names_out()) != list(old.get_feature_names_out()):
        raise ValueError("the lite backbone's feature names differ from the model's")
    staging = path.parent / "_bind"
    (staging / BACKBONE_DIR).mkdir(parents=True, exist_ok=True)
    linked = staging / BACKBONE_DIR / path.name
    if not linked.exists():
        shutil.copyfile(path, linked)
    lite.bind_model_dir(staging)
    model.extractors_["deep"] = lite
    model.fingerprints_["deep"] = lite.fingerprint()
    model.families_["deep"] = {
        "backbone": lite.backbone,
        "runtime": RUNTIME,
        "tflite_file": lite.tflite_file,
        **({"orient": lite.orient} if lite.orient is not None else {}),
    }
    if isinstance(model.families, Mapping) and "deep" in model.families:
        model.families = {**model.families, "deep": dict(model.families_["deep"])}
    return lite


def _runtime_entry(
    old_fingerprint: str, lite: LiteDeepFeatures, export_manifest: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "name": RUNTIME,
        "needs": "ai-edge-litert (pip install 'poxscan[lite]'); no TensorFlow",
        "backbones": {
            "deep": {
                "file": lite.tflite_file,
                "sha256": lite.tflite_sha256,
                "size_bytes": export_manifest.get("size_bytes"),
                "quantization": "int8 weights and activations, float32 input and output",
                "replaces_fingerprint": old_fingerprint,
                "fingerprint": lite.fingerprint(),
                "representative": export_manifest.get("representative"),
            }
        },
    }


_CARD_NOTE = """
## Lite runtime (LiteRT int8)

The deep features come from `{file}` (int8, {mb:.2f} MB, sha256 `{sha}`), run by LiteRT:
`pip install 'poxscan[lite]'` is enough to predict, without TensorFlow. {how}
"""


def _finish_dir(
    stage: Path,
    tflite_path: Path,
    runtime: dict[str, Any],
    out: Path,
    overwrite: bool,
    manifest_updates: Mapping[str, Any],
    how: str,
    model: ImageModel | None = None,
    rows: np.ndarray | None = None,
) -> dict[str, Any]:
    """Add the backbone to a staged model directory, rewrite its manifest, move it to ``out``.

    With ``model``, its affine head is written too when it has one (``head.npz``, checked
    against the pipeline on ``rows`` and random rows: :mod:`poxscan.pipelines.lite_head_export`).
    """
    with persistence._atomic_dir(out, overwrite) as tmp:
        shutil.copytree(stage, tmp, dirs_exist_ok=True)
        (tmp / BACKBONE_DIR).mkdir(exist_ok=True)
        shutil.copyfile(tflite_path, tmp / BACKBONE_DIR / tflite_path.name)
        side = tflite_path.with_suffix(".json")
        shutil.copyfile(side, tmp / BACKBONE_DIR / side.name)
        manifest = json.loads((tmp / persistence.MANIFEST_NAME).read_text(encoding="utf-8"))
        manifest.update(dict(manifest_updates))
        manifest["runtime"] = runtime
        manifest["environment"] = lite_environment()
        manifest["model"]["uses_deep"] = "LiteRT int8 backbone (no TensorFlow)"
        if model is not None:
            from poxscan.pipelines.lite_head_export import write_head

            # Prediction then needs neither the pickle nor scikit-learn (poxscan.predict).
            manifest["head"] = dict(write_head(model, tmp, rows))
        from poxscan.pipelines.model_card import render_model_card

        # Rendered again from the final manifest: the gate's rates are the lite gate's.
        card = render_model_card(persistence._jsonable(manifest))
        entry = runtime["backbones"]["deep"]
        card += _CARD_NOTE.format(
            file=entry["file"], mb=(entry["size_bytes"] or 0) / 1e6, sha=entry["sha256"], how=how
        )
        atomic_write_text(tmp / persistence.CARD_NAME, card)
        (tmp / persistence.MANIFEST_NAME).unlink()
        persistence._publish_modes(tmp)
        manifest["files"] = {rel: persistence._sha256(p) for rel, p in _files(tmp).items()}
        text = json.dumps(persistence._jsonable(manifest), indent=2) + "\n"
        atomic_write_text(tmp / persistence.MANIFEST_NAME, text)
        persistence._publish_modes(tmp)
    return manifest


def _deep_rows(model: ImageModel, features: Any) -> np.ndarray | None:
    """The first training rows of the model's features, to check its affine head on."""
    names = [str(n) for n in model.feature_names_]
    if features is None or not set(names) <= {str(c) for c in features.columns}:
        return None
    return np.asarray(features.loc[:, names].to_numpy(np.float64))[:64]


def _files(folder: Path) -> dict[str, Path]:
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != persistence.MANIFEST_NAME
    }


def finish_lite_training(
    result: Any,
    tflite_path: str | PathLike | None,
    export_manifest: Mapping[str, Any] | None,
    out_dir: str | PathLike,
    *,
    overwrite: bool = False,
    check_paths: Sequence[str] | None = None,
    **save_kwargs: Any,
) -> dict[str, Any]:
    """Save a model trained on int8 features (``lite_training_families``) as a lite directory.

    ``result.model``'s deep extractor must be ``DeepFeatures(runtime="tflite-int8")`` of
    ``tflite_path``; it is swapped for the equivalent :class:`LiteDeepFeatures` (checked on
    the first images of ``check_paths`` against ``features``). Other keyword arguments go
    to :func:`~poxscan.pipelines.persistence.save_model`.
    """
    model: ImageModel = result.model
    # No deep family (a handcrafted-only model): no backbone was exported.
    tflite_path = None if tflite_path is None else Path(tflite_path)
    runtime = None
    if "deep" in model.extractors_:
        old = model.fingerprints_["deep"]
        lite = to_lite(model, tflite_path)
        runtime = _runtime_entry(old, lite, export_manifest)
        if check_paths is not None and save_kwargs.get("features") is not None:
            from poxscan.pipelines.training import check_cached_features

            # The LiteRT-only extractor must reproduce the int8 features trained on.
            check_cached_features(model, save_kwargs["features"], list(check_paths))
        if isinstance(result.config, dict) and isinstance(result.config.get("families"), dict):
            result.config["families"]["deep"] = dict(model.families_["deep"])
    # Staged beside the target (same file system, so the final rename is atomic); the parent
    # may not exist yet (`--out models/x` on a fresh checkout).
    Path(out_dir).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".lite-stage-", dir=Path(out_dir).parent) as tmp:
        stage = Path(tmp) / "model"
        persistence.save_model(result, stage, **save_kwargs)
        if runtime is None:  # no deep family: an ordinary model, already TensorFlow-free
            with persistence._atomic_dir(Path(out_dir), overwrite) as dest:
                shutil.copytree(stage, dest, dirs_exist_ok=True)
            return json.loads((Path(out_dir) / persistence.MANIFEST_NAME).read_text())
        return _finish_dir(
            stage,
            tflite_path,
            runtime,
            Path(out_dir),
            overwrite,
            {},
            "The pipeline was trained and cross-validated on these int8 features.",
            model=model,
            rows=_deep_rows(model, save_kwargs.get("features")),
        )


def _lite_gate(
    lite: LiteDeepFeatures, embeddings: np.ndarray, records: Any, float_entry: Mapping[str, Any]
) -> Any:
    """The input gate refitted on the training photos' int8 embeddings (same parameters)."""
    import warnings

    from poxscan.core.data import load_groups
    from poxscan.pipelines.gate import LITE_RUNTIME, fit_input_gate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no audit groups: patient ids, as training had
        groups = load_groups(records).to_numpy(str)
    return fit_input_gate(
        np.asarray(embeddings, dtype=np.float64),
        groups,
        backbone=lite.backbone,
        refuse_rate=float(float_entry["refuse_rate"]),
        n_neighbors=int(float_entry.get("n_neighbors", 5)),
        cv=int(float_entry.get("cv", 5)),
        imagenet_head=bool(float_entry.get("imagenet_head", True)),
        runtime=LITE_RUNTIME,
        tflite_file=lite.tflite_file,
        tflite_sha256=lite.tflite_sha256,
        orient=lite.orient,  # the pose the int8 extractor shows the backbone
    )


def export_lite(
    model_dir: str | PathLike,
    out_dir: str | PathLike,
    *,
    data_root: str | PathLike | None = None,
    cache: str | PathLike | None = None,
    overwrite: bool = False,
    work_dir: str | PathLike | None = None,
) -> dict[str, Any]:
    """Convert a float model directory into a lite one (see the module docstring).

    Parameters
    ----------
    model_dir : path-like
        A model directory with the deep family (Keras runtime).
    out_dir : path-like
        The lite model directory to write (atomically).
    data_root : path-like, optional
        Where the model's training datasets are (its manifest names them): the int8
        calibration uses those images, and the check compares float and lite probabilities on
        them.
    cache : path-like, optional
        Feature cache with the float features of the training images.

    Returns
    -------
    manifest : dict
        The lite directory's manifest.
    """
    from poxscan.core.data import load_records
    from poxscan.core.imageio import load_image
    from poxscan.features.cache import load_feature_table

    model, manifest = persistence.load_model(model_dir)
    if "deep" not in model.extractors_:
        raise ValueError(f"{model_dir}: no deep family; the model already runs without TensorFlow")
    old = model.extractors_["deep"]
    options = _unsupported_options(old.get_params(deep=False))
    if getattr(old, "runtime", None) is not None or options:
        raise ValueError(
            f"{model_dir}: its deep extractor is not the default Keras embedding "
            f"(runtime {getattr(old, 'runtime', None)!r}, options {dict(options)}); only such "
            "models convert"
        )
    datasets = list((manifest.get("training_data") or {}).get("datasets") or {})
    if not datasets:
        raise ValueError(f"{model_dir}: the manifest names no training datasets to calibrate on")
    records = load_records(datasets, root=data_root)
    table = load_feature_table(records, dict(model.families_), cache=cache, progress=False)
    records = records[records["id"].isin(table.index)].reset_index(drop=True)
    table = table.loc[records["id"]]
    n_trained = (manifest.get("training_data") or {}).get("n_images")
    if n_trained is not None and int(n_trained) != len(records):
        raise ValueError(
            f"{model_dir}: trained on {n_trained} images, {len(records)} found in {datasets}; "
            "the int8 calibration must use the model's own training images"
        )
    images = [load_image(p) for p in records["path"]]
    ids = [str(i) for i in records["id"]]
    p_float = model.predict_proba_features(table)[:, 1]
    with tempfile.TemporaryDirectory(prefix="poxscan-lite-", dir=work_dir) as tmp:
        tflite, export_manifest = export_int8_backbone(
            old._spec().name, images, ids, f"training images of {model_dir}", tmp
        )
        old_fp = model.fingerprints_["deep"]
        lite = to_lite(model, tflite)
        lite_deep = lite.transform(images)
        deep_cols = [str(n) for n in lite.get_feature_names_out()]
        lite_table = table.copy()
        lite_table.loc[:, deep_cols] = lite_deep
        p_lite = model.predict_proba_features(lite_table)[:, 1]
        t = float(model.threshold_)
        diff = np.abs(p_lite - p_float)
        check = {
            "n_images": len(images),
            "what": "training images: calibrated probability of the lite model vs the float "
            "model it was converted from (same pipeline, int8 deep features)",
            "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()),
            "decisions_equal": float(np.mean((p_lite >= t) == (p_float >= t))),
        }
        stage = Path(tmp) / "stage"
        shutil.copytree(model_dir, stage)
        with atomic_path(stage / persistence.MODEL_NAME, suffix=".joblib") as path:
            joblib.dump(model, path, compress=3)
        manifest_model = dict(manifest["model"])
        manifest_model["fingerprints"] = dict(model.fingerprints_)
        updates: dict[str, Any] = {}
        float_gate = (manifest.get("gate") or {}).get("embedding")
        if float_gate:
            # The float gate's reference photos are float embeddings: refit it on the int8
            # backbone's own, by the same conformal rule, so the lite directory never compares
            # an int8 embedding with float ones.
            gate = _lite_gate(lite, lite_deep, records, float_gate)
            gate.save(stage)
            updates["gate"] = gate.describe()
        updates.update(
            {
                "model": manifest_model,
                "lite_check": check,
                "converted_from": {
                    "model_dir": str(model_dir),
                    "manifest_sha256": persistence.manifest_sha256(model_dir),
                    "note": "evaluation above is the float model's; the pipeline is unchanged",
                },
            }
        )
        return _finish_dir(
            stage,
            tflite,
            _runtime_entry(old_fp, lite, export_manifest),
            Path(out_dir),
            overwrite,
            updates,
            f"Converted from a float model; on its {len(images)} training images the "
            f"probability moved by {check['mean_abs_diff']:.4f} on average "
            f"(at most {check['max_abs_diff']:.4f}); {100 * check['decisions_equal']:.1f} % "
            "of decisions are unchanged.",
            model=model,
            rows=np.asarray(lite_table[list(map(str, model.feature_names_))])[:64],
        )
