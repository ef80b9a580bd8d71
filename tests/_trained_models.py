"""Real models for the persistence, predict and explain tests, built once per test session.

A small subset of MSLD v1 (whole patients, both classes) is described by its own data manifest
(``$POXSCAN_MANIFEST``), so ``poxscan tune`` and ``poxscan train`` run end to end, unchanged,
on real images in seconds. Colour features only: the handcrafted family that is cheapest to
compute; results are memoised so the three test files share one feature cache and one model.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from poxscan.core.data import content_checksum, load_records

REPO = Path(__file__).resolve().parents[1]
N_PATIENTS_PER_CLASS = 22
# `--gate pixels`: the shared colour model stays free of TensorFlow (tests/test_gate.py trains
# one with the embedding gate).
TRAIN_FLAGS = ["--cv", "4", "--n-boot", "200", "--background", "30", "--no-progress"]
TRAIN_FLAGS += ["--gate", "pixels"]


@lru_cache(maxsize=1)
def workspace(root: str) -> dict[str, Path]:
    """The subset manifest, its records and a feature cache under ``root`` (made once)."""
    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    full = yaml.safe_load((REPO / "data_manifest.yaml").read_text(encoding="utf-8"))
    spec = full["datasets"]["msld_v1"]
    by_patient: dict[str, list[str]] = {}
    for rel in sorted(spec["files"]):
        patient = Path(rel).name.split("_")[0]
        by_patient.setdefault(patient, []).append(rel)
    mpox = [p for p in by_patient if p.startswith("M")][:N_PATIENTS_PER_CLASS]
    other = [p for p in by_patient if p.startswith("NM")][:N_PATIENTS_PER_CLASS]
    files = {rel: spec["files"][rel] for p in mpox + other for rel in by_patient[p]}
    counts: dict[str, int] = {}
    for rel in files:
        counts[rel.split("/")[0]] = counts.get(rel.split("/")[0], 0) + 1
    subset = dict(spec, files=files, expected_counts=counts, checksum=content_checksum(files))
    manifest = dict(full, datasets={"msld_v1": subset})
    manifest_path = base / "subset_manifest.yaml"
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return {"manifest": manifest_path, "cache": base / "cache", "root": base}


def env_for(ws: dict[str, Path]) -> dict[str, str]:
    """Environment variables that point poxscan at the subset."""
    return {"POXSCAN_MANIFEST": str(ws["manifest"])}


def subset_records(ws: dict[str, Path], data_root: Path) -> pd.DataFrame:
    """Records of the subset."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env_for(ws).items():
            mp.setenv(key, value)
        from poxscan.core.data import load_manifest

        return load_records("msld_v1", root=data_root, manifest=load_manifest())


@lru_cache(maxsize=1)
def feature_data(root: str, data_root: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list]:
    """Colour features (through the cache), labels, groups and image paths of the subset."""
    import warnings

    from poxscan.core.data import load_groups
    from poxscan.features.cache import load_feature_table

    ws = workspace(root)
    records = subset_records(ws, Path(data_root))
    table = load_feature_table(records, ["color"], cache=ws["cache"], progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no audit groups in a test: patient ids are fine
        groups = load_groups(records).to_numpy(str)
    return table, records["y"].to_numpy(int), groups, records["path"].tolist()


@lru_cache(maxsize=1)
def trained_model_dir(root: str, data_root: str) -> Path:
    """A model directory made by ``poxscan tune`` (tiny budget) then ``poxscan train``."""
    import warnings

    from poxscan.cli import main

    ws = workspace(root)
    out = Path(root) / "model"
    best = Path(root) / "best.json"
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, value in env_for(ws).items():
            mp.setenv(key, value)
        mp.chdir(root)  # tune's default study storage lives under the working directory
        rc = main(
            [
                "tune",
                "--data-root", data_root,
                "--dataset", "msld_v1",
                "--families", "color",
                "--classifiers", "logreg",
                "--selectors", "anova",
                "--n-trials", "2",
                "--n-splits", "3",
                "--cache", str(ws["cache"]),
                "--storage", f"sqlite:///{Path(root) / 'study.db'}",
                "--out", str(best),
                "--no-progress",
            ]
        )  # fmt: skip
        assert rc == 0 and best.is_file()
        assert json.loads(best.read_text())["best_config"]["classifier"] == "logreg"
        rc = main(
            [
                "train",
                "--config", str(best),
                "--data-root", data_root,
                "--dataset", "msld_v1",
                "--cache-dir", str(ws["cache"]),
                "--out", str(out),
                *TRAIN_FLAGS,
            ]
        )  # fmt: skip
        assert rc == 0
    return out


#: One int8 export per distinct calibration input, for every lite directory of the session.
_INT8_EXPORTS: dict[tuple, tuple[Path, dict]] = {}


def _shared_int8_export(store: Path, export):
    """``export_int8_backbone`` memoised on its full input (backbone, ids, source, pixels).

    Every lite directory of the test session is trained on the same subset, so each asks for
    the same export: the converter is deterministic (every directory used to ship the same
    ``.tflite`` bytes), so the first call runs the real export and later calls get a copy of
    its file and manifest instead of converting again (~20 s each). ``poxscan export-lite``
    (tests/test_lite_model.py) and tests/test_tflite.py still run their own exports.
    """
    import copy
    import hashlib
    import shutil

    def shared(backbone, images, ids, source, out_dir):
        digest = hashlib.sha256()
        for image in images:
            arr = np.ascontiguousarray(image)
            digest.update(repr((arr.shape, arr.dtype.str)).encode())
            digest.update(arr.tobytes())
        key = (backbone, tuple(map(str, ids)), source, digest.hexdigest())
        if key not in _INT8_EXPORTS or not _INT8_EXPORTS[key][0].is_file():
            tflite, manifest = export(backbone, images, ids, source, out_dir)
            kept = store / hashlib.sha256(repr(key).encode()).hexdigest()[:16]
            kept.mkdir(parents=True, exist_ok=True)
            for path in (tflite, tflite.with_suffix(".json")):
                shutil.copy2(path, kept / path.name)
            _INT8_EXPORTS[key] = (kept / tflite.name, copy.deepcopy(manifest))
            return tflite, manifest
        kept, manifest = _INT8_EXPORTS[key]
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for path in (kept, kept.with_suffix(".json")):
            shutil.copy2(path, out / path.name)
        return out / kept.name, copy.deepcopy(manifest)

    return shared


#: The pipeline of the shared lite test model: ANOVA top-64 + L2 logistic regression.
LITE_PIPELINE = ("--selector", "anova", "--k", "64", "--classifier", "logreg", "--param", "C=0.01")


@lru_cache(maxsize=4)
def lite_model_dir(
    root: str,
    data_root: str,
    families: tuple[str, ...] = ("deep", "color"),
    pipeline: tuple[str, ...] = LITE_PIPELINE,
    orient: str | None = None,
) -> Path:
    """A lite model directory (int8 backbone) made by ``poxscan train --runtime litert-int8``,
    with the input gate on the int8 backbone's embeddings; ``pipeline``: the train flags of
    the pipeline after the features; ``orient``: the deep family's ``orient`` (given in a
    ``--config`` file, as a user would). The directories of one session share one int8
    export (:func:`_shared_int8_export`): all are calibrated on the same training images."""
    import warnings

    from poxscan.cli import main

    ws = workspace(root)
    name = "lite-" + "-".join(families)
    if pipeline != LITE_PIPELINE:
        name += "-" + "-".join(a.strip("-").replace("=", "") for a in pipeline)
    if orient is not None:
        name += f"-orient{orient}"
    out = Path(root) / name
    if (out / "manifest.json").is_file():
        # Made earlier in this session by another module with the same arguments (the manifest
        # is written last, so its presence means a finished directory); tests tamper only with
        # copies.
        return out
    family_flags = [arg for fam in families for arg in ("--family", fam)]
    if orient is not None:
        config = Path(root) / f"{name}.config.json"
        fams = {fam: ({"orient": orient} if fam == "deep" else {}) for fam in families}
        config.write_text(json.dumps({"families": fams}))
        family_flags = ["--config", str(config)]
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, value in env_for(ws).items():
            mp.setenv(key, value)
        from poxscan.pipelines import lite_model

        mp.setattr(
            lite_model,
            "export_int8_backbone",
            _shared_int8_export(Path(root) / "int8_exports", lite_model.export_int8_backbone),
        )
        rc = main(
            [
                "train",
                "--runtime", "litert-int8",
                *family_flags,
                *pipeline,
                "--data-root", data_root,
                "--dataset", "msld_v1",
                "--cache-dir", str(ws["cache"]),
                "--out", str(out),
                *TRAIN_FLAGS,
                # The lite gate: the int8 backbone's own embeddings (no second network).
                "--gate", "embedding",
            ]
        )  # fmt: skip
        assert rc == 0
    return out


def copy_model(src: Path, dst: Path) -> Path:
    """A copy of a model directory (tests tamper with copies, never with the shared one)."""
    import shutil

    shutil.copytree(src, dst)
    return dst


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Change one byte of a file in place."""
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


__all__ = [
    "LITE_PIPELINE",
    "TRAIN_FLAGS",
    "copy_model",
    "deep_model_dir",
    "env_for",
    "feature_data",
    "flip_byte",
    "lite_model_dir",
    "subset_records",
    "trained_model_dir",
    "workspace",
]


@lru_cache(maxsize=1)
def deep_model_dir(root: str, data_root: str) -> Path:
    """A model on the deep family (EfficientNet-Lite0 features), by ``poxscan tune`` + ``train``.

    Features go through the default feature cache (``$POXSCAN_CACHE``, else
    ``~/.cache/poxscan``; content-addressed, so sharing it is safe): computing Lite0 for the
    subset costs far more than any other step.
    """
    import warnings

    from poxscan.cli import main

    ws = workspace(root)
    out = Path(root) / "deep_model"
    best = Path(root) / "deep_best.json"
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, value in env_for(ws).items():
            mp.setenv(key, value)
        mp.chdir(root)
        common = ["--data-root", data_root, "--dataset", "msld_v1"]
        rc = main(
            [
                "tune", *common,
                "--families", "deep",
                "--classifiers", "logreg",
                "--selectors", "anova",
                "--n-trials", "1",
                "--n-splits", "3",
                "--storage", f"sqlite:///{Path(root) / 'deep_study.db'}",
                "--out", str(best),
                "--no-progress",
            ]
        )  # fmt: skip
        assert rc == 0 and best.is_file()
        rc = main(["train", "--config", str(best), *common, "--out", str(out), *TRAIN_FLAGS])
        assert rc == 0
    return out
