"""Lite model directories: int8 backbone + joblib pipeline, hash-checked, run by LiteRT alone.

The lite directory is made by the real ``poxscan train --runtime litert-int8`` on a subset of
MSLD v1 (real images, real EfficientNet-Lite0 weights); its features are checked against an
independent computation (``DeepFeatures(runtime="tflite-int8")`` on the same file), and a fresh
process predicts with it without importing TensorFlow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _trained_models import copy_model, flip_byte, lite_model_dir, subset_records, workspace

from poxscan.core.imageio import load_image

pytestmark = [pytest.mark.slow, pytest.mark.deep]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> str:
    return str(tmp_path_factory.getbasetemp() / "poxscan_models")


@pytest.fixture(scope="module")
def lite_dir(root, data_root) -> Path:
    return lite_model_dir(root, str(data_root))


@pytest.fixture(scope="module")
def photos(root, data_root) -> list[str]:
    records = subset_records(workspace(root), Path(data_root))
    return [records[records["y"] == 1]["path"].iloc[0], records[records["y"] == 0]["path"].iloc[0]]


def test_every_file_is_in_the_manifest_and_fingerprints_tie_them(lite_dir):
    import hashlib

    manifest = json.loads((lite_dir / "manifest.json").read_text())
    listed = set(manifest["files"])
    on_disk = {
        p.relative_to(lite_dir).as_posix()
        for p in lite_dir.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert listed == on_disk
    backbone = manifest["runtime"]["backbones"]["deep"]
    assert backbone["file"] in listed and backbone["file"].endswith("-int8.tflite")
    content = (lite_dir / backbone["file"]).read_bytes()
    assert (
        hashlib.sha256(content).hexdigest()
        == backbone["sha256"]
        == manifest["files"][backbone["file"]]
    )
    assert len(content) < 5e6  # an int8 Lite0 is about 4 MB
    assert manifest["model"]["fingerprints"]["deep"] == backbone["fingerprint"]
    assert backbone["replaces_fingerprint"] != backbone["fingerprint"]
    assert "tensorflow" not in manifest["environment"]["packages"]
    assert manifest["environment"]["packages"]["ai-edge-litert"]
    assert backbone["representative"]["n_images"] > 10  # calibrated on the training images


def test_lite_features_match_an_independent_litert_run(lite_dir, photos):
    from poxscan.features.deep import DeepFeatures
    from poxscan.pipelines.persistence import load_model

    model, manifest = load_model(lite_dir)
    images = [load_image(p) for p in photos]
    table = model.extract(images)
    tflite = lite_dir / manifest["runtime"]["backbones"]["deep"]["file"]
    ref = DeepFeatures(runtime="tflite-int8", tflite_model=tflite).fit(images).transform(images)
    cols = [c for c in table.columns if c.startswith("deep__")]
    assert cols == [str(n) for n in DeepFeatures().fit(images).get_feature_names_out()]
    np.testing.assert_allclose(table[cols].to_numpy(), ref, rtol=1e-5, atol=1e-5)
    assert np.abs(ref).sum() > 0


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory) -> str:
    """A non-skin photo (scikit-image's astronaut), written by the test."""
    import skimage.data
    from PIL import Image

    path = tmp_path_factory.mktemp("nonskin") / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(path)
    return str(path)


def test_fresh_process_predicts_without_tensorflow(lite_dir, photos, astronaut):
    code = (
        "import json, sys\n"
        "from poxscan.predict import Predictor\n"
        f"p = Predictor.load({str(lite_dir)!r})\n"
        f"out = [r.to_dict() for r in p.predict_paths({[*photos, astronaut]!r}, top_k=3)]\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'torch', 'shap') if m in sys.modules)\n"
        "print(json.dumps({'heavy': heavy, 'out': out, 'info': p.info()}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout.strip().splitlines()[-1])
    assert payload["heavy"] == []
    assert payload["info"]["runtime"] == "litert-int8"
    assert payload["info"]["gate"]["embedding"]["runtime"] == "litert-int8"
    from poxscan.predict import Predictor

    here = Predictor.load(lite_dir).predict_paths(photos, top_k=3)
    for got, want in zip(payload["out"][:2], here, strict=True):
        assert got["ok"] and got["probability"] == pytest.approx(want.probability, abs=1e-9)
        assert len(got["top_features"]) == 3
    # The gate ran there too, on the int8 embedding, without TensorFlow: refused, no probability.
    refused = payload["out"][-1]
    assert not refused["ok"] and refused["code"] == "not_skin" and "probability" not in refused


def test_the_lite_gate_embeds_with_the_int8_backbone(lite_dir, root, data_root):
    """Reference photos, threshold and binding of the gate of a lite directory."""
    import math

    from poxscan.features.deep import DeepFeatures

    manifest = json.loads((lite_dir / "manifest.json").read_text())
    emb = manifest["gate"]["embedding"]
    backbone = manifest["runtime"]["backbones"]["deep"]
    assert emb["runtime"] == "litert-int8" and emb["tflite_file"] == backbone["file"]
    assert emb["tflite_sha256"] == backbone["sha256"] == manifest["files"][backbone["file"]]
    assert "gate.npz" in manifest["files"]
    records = subset_records(workspace(root), Path(data_root))
    with np.load(lite_dir / "gate.npz") as data:
        reference, oof = data["reference"], data["oof_scores"]
    assert reference.shape == (len(records), 1280) == (emb["n_reference"], 1280)
    # The reference rows are the int8 embeddings (an independent LiteRT run of the same file),
    # not the float ones: each photo's own row is its nearest, at cosine ~1.
    images = [load_image(p) for p in records["path"].iloc[:6]]
    tflite = lite_dir / backbone["file"]
    int8 = DeepFeatures(runtime="tflite-int8", tflite_model=tflite).fit(images).transform(images)
    floats = DeepFeatures().fit(images).transform(images)

    def best_cosine(E):
        U = E / np.linalg.norm(E, axis=1, keepdims=True)
        return (U @ reference.T).max(axis=1)

    assert np.all(best_cosine(int8) > 1 - 1e-5)
    assert np.all(best_cosine(floats) < 1 - 1e-3)
    # The conformal rule on the out-of-fold scores: the ceil((n + 1)(1 - rate))-th smallest.
    rank = math.ceil((len(oof) + 1) * (1 - emb["refuse_rate"]))
    assert emb["threshold"] == pytest.approx(sorted(oof)[min(rank, len(oof)) - 1])
    card = (lite_dir / "model_card.md").read_text()
    assert "## Input gate" in card


def test_a_lite_directory_refuses_a_non_skin_photo(lite_dir, photos, astronaut, capsys):
    from poxscan.cli import main
    from poxscan.predict import Predictor

    predictor = Predictor.load(lite_dir)
    refused, lesion = predictor.predict_paths([astronaut, photos[0]])
    assert refused.refused and refused.code == "not_skin"
    assert "probability" not in refused.to_dict() and "label" not in refused.to_dict()
    assert refused.gate["checks"]["distance"] > refused.gate["checks"]["distance_threshold"]
    assert lesion.ok and lesion.gate["screenable"] and 0 <= lesion.probability <= 1
    assert lesion.gate["checks"]["distance"] <= lesion.gate["checks"]["distance_threshold"]
    rc = main(["predict", "--model", str(lite_dir), "--json", astronaut, photos[0]])
    doc = json.loads(capsys.readouterr()[0])
    assert rc == 1 and doc["n_refused"] == 1
    assert doc["results"][0]["code"] == "not_skin" and "probability" not in doc["results"][0]
    assert doc["results"][1]["ok"]


def test_a_gate_not_bound_to_the_backbone_is_refused(lite_dir, tmp_path):
    from poxscan.pipelines.persistence import ModelIntegrityError
    from poxscan.predict import Predictor

    flipped = copy_model(lite_dir, tmp_path / "flipped")
    flip_byte(flipped / "gate.npz")
    with pytest.raises(ModelIntegrityError, match=r"gate\.npz"):
        Predictor.load(flipped)
    other = copy_model(lite_dir, tmp_path / "other")
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["gate"]["embedding"]["tflite_sha256"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="not this model directory's backbone"):
        Predictor.load(other)


def test_a_changed_backbone_is_refused_before_it_runs(lite_dir, tmp_path):
    from poxscan.pipelines.persistence import ModelIntegrityError, load_model

    bad = copy_model(lite_dir, tmp_path / "bad")
    backbone = next((bad / "backbones").glob("*.tflite"))
    flip_byte(backbone)
    with pytest.raises(ModelIntegrityError, match=backbone.name):
        load_model(bad)


def test_export_lite_converts_a_float_model(root, data_root, tmp_path, photos):
    """A float deep model -> ``poxscan export-lite``: same pipeline, int8 backbone, close."""
    import warnings

    from poxscan.cli import main
    from poxscan.predict import Predictor

    ws = workspace(root)
    float_dir, lite = tmp_path / "float", tmp_path / "lite"
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mp.setenv("POXSCAN_MANIFEST", str(ws["manifest"]))
        common = ["--data-root", str(data_root), "--cache-dir", str(ws["cache"])]
        rc = main(
            ["train", "--family", "deep", "--selector", "anova", "--k", "64",
             "--classifier", "logreg", "--param", "C=0.01", "--dataset", "msld_v1",
             "--out", str(float_dir), "--no-shap", "--cv", "4", "--n-boot", "100",
             "--no-progress", *common]
        )  # fmt: skip
        assert rc == 0
        assert main(["export-lite", str(float_dir), str(lite), *common]) == 0
    manifest = json.loads((lite / "manifest.json").read_text())
    # The float model's gate is refitted on the int8 embeddings, bound to the new backbone.
    float_gate = json.loads((float_dir / "manifest.json").read_text())["gate"]["embedding"]
    lite_gate = manifest["gate"]["embedding"]
    assert float_gate["runtime"] == "float" and lite_gate["runtime"] == "litert-int8"
    assert lite_gate["tflite_sha256"] == manifest["runtime"]["backbones"]["deep"]["sha256"]
    assert lite_gate["threshold"] != float_gate["threshold"]
    assert lite_gate["orient"] == float_gate["orient"]  # the pose both extractors apply
    check = manifest["lite_check"]
    assert check["n_images"] == manifest["training_data"]["n_images"]
    assert check["decisions_equal"] >= 0.85 and check["mean_abs_diff"] < 0.1
    a = Predictor.load(float_dir, explain=False).predict_paths(photos, top_k=0)
    b = Predictor.load(lite, explain=False).predict_paths(photos, top_k=0)
    for fa, fb in zip(a, b, strict=True):
        assert abs(fa.probability - fb.probability) < 0.15
    assert manifest["converted_from"]["manifest_sha256"]
    # Deep-only and affine: the converter wrote its head (no SHAP background: no explanations),
    # and the head answers as the converted pipeline does.
    assert manifest["head"]["file"] == "head.npz" and not manifest["head"]["explains"]
    fast = Predictor.load(lite, explain=False)
    assert fast.uses_fast_path
    c = fast.predict_paths(photos, top_k=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POXSCAN_NO_FAST_HEAD", "1")
        slow = Predictor.load(lite, explain=False)
    assert not slow.uses_fast_path
    for fc, fs in zip(c, slow.predict_paths(photos, top_k=0), strict=True):
        assert fc.probability == pytest.approx(fs.probability, abs=1e-9)
        assert fc.label == fs.label


def test_lite_training_creates_missing_parent_folders(root, data_root, tmp_path):
    """``--out models/x`` on a fresh checkout: the staging folder beside the target used to
    fail when ``models/`` did not exist yet."""
    import warnings

    from poxscan.cli import main

    ws = workspace(root)
    out = tmp_path / "not" / "yet" / "there"
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mp.setenv("POXSCAN_MANIFEST", str(ws["manifest"]))
        rc = main(
            ["train", "--runtime", "litert-int8", "--family", "color", "--dataset", "msld_v1",
             "--data-root", str(data_root), "--cache-dir", str(ws["cache"]), "--out", str(out),
             "--no-shap", "--cv", "4", "--n-boot", "100", "--no-progress", "--gate", "pixels"]
        )  # fmt: skip
    assert rc == 0
    assert (out / "manifest.json").is_file() and (out / "model.joblib").is_file()
    # Nothing staged is left behind.
    assert sorted(p.name for p in out.parent.iterdir()) == ["there"]
