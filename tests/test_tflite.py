"""TensorFlow Lite exports of the EfficientNet-Lite0 backbone against Keras, on real images.

Tolerances, on the pooled 1280-d embedding (ReLU6 activations, so values in [0, 6]):

- float32: the same computation; elementwise within 2e-4 absolute (float rounding of a
  different kernel library; measured about 3e-5).
- float16: weights rounded to half precision; every image's embedding keeps a cosine
  similarity above 0.999 with Keras' and the relative L2 error stays below 2 % (measured
  about 0.99993 and 0.7 %).
- int8: weights and activations quantised, calibrated on other (training) images; an
  embedding is the mean of 1280 quantised channels, so we ask for what downstream use needs:
  mean cosine similarity >= 0.97 and every image >= 0.93, relative L2 error < 25 %
  (measured at this size: about 0.99 / 0.98 / 13 %); and top-1 agreement would be
  meaningless here (no classifier). Accuracy of pipelines on int8 features is measured by
  ``experiments/bench_tflite.py`` on the cross-validation folds instead.

The input is 96 px (not 224) to keep the three conversions fast; the export path is the same.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from poxscan.core.imageio import load_image, to_square
from poxscan.features.deep import DeepFeatures
from poxscan.features.litert_runtime import LiteRTModel
from poxscan.pipelines.tflite import backbone_model, export_backbone, load_tflite

pytestmark = [pytest.mark.deep, pytest.mark.slow]

SIZE = 96


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def split(msld_records):
    """12 test images and 16 other (calibration) images, of different patients."""
    firsts = msld_records.drop_duplicates("patient").sort_values("id")
    test = firsts.groupby("y", group_keys=False).head(6)
    rest = msld_records[~msld_records["patient"].isin(test["patient"])]
    calib = rest.groupby("y", group_keys=False).head(8)
    load = lambda rows: [load_image(p) for p in rows["path"]]  # noqa: E731
    return load(test), load(calib)


@pytest.fixture(scope="module")
def exported(split, tmp_path_factory):
    test, calib = split
    out = tmp_path_factory.mktemp("tflite")
    manifests = export_backbone(
        "efficientnet-lite0",
        ["float32", "float16", "int8"],
        out / "lite0",
        representative=calib,
        representative_ids=[f"calib{i}" for i in range(len(calib))],
        representative_source="test calibration images",
        image_size=SIZE,
    )
    squares = np.stack([to_square(img, SIZE) for img in test])
    reference = np.asarray(
        backbone_model("efficientnet-lite0", SIZE).predict_on_batch(squares.astype(np.float32))
    )
    files = {q: out / f"lite0-{q}.tflite" for q in manifests}
    outputs = {q: LiteRTModel(path, num_threads=2).run(squares) for q, path in files.items()}
    return {
        "manifests": manifests,
        "files": files,
        "outputs": outputs,
        "ref": reference,
        "squares": squares,
        "test": test,
    }


def test_float32_matches_keras(exported):
    ref, out = exported["ref"], exported["outputs"]["float32"]
    assert out.shape == ref.shape == (12, 1280)
    assert ref.max() > 1.0  # real activations, not a degenerate output
    np.testing.assert_allclose(out, ref, atol=2e-4, rtol=0)


def test_float16_close_to_keras_and_half_the_size(exported):
    ref, out = exported["ref"], exported["outputs"]["float16"]
    assert _cosine(out, ref).min() > 0.999
    assert np.linalg.norm(out - ref) / np.linalg.norm(ref) < 0.02
    m = exported["manifests"]
    assert m["float16"]["quantization"] == "float16"
    assert 0.4 < m["float16"]["size_bytes"] / m["float32"]["size_bytes"] < 0.6


def test_int8_embeddings_keep_their_direction(exported):
    ref, out = exported["ref"], exported["outputs"]["int8"]
    cos = _cosine(out, ref)
    assert cos.mean() >= 0.97 and cos.min() >= 0.93, cos
    assert np.linalg.norm(out - ref) / np.linalg.norm(ref) < 0.25
    # Not the float model in disguise: the quantisation does change the values.
    assert np.abs(out - ref).max() > 1e-3
    m = exported["manifests"]["int8"]
    assert m["quantization"] == "int8"
    assert m["input"]["dtype"] == "float32" and m["output"]["dtype"] == "float32"
    assert m["representative"]["n_images"] == 16
    assert m["size_bytes"] <= 0.35 * exported["manifests"]["float32"]["size_bytes"]


def test_deep_features_from_the_tflite_file(exported):
    test, files = exported["test"], exported["files"]
    keras_fx = DeepFeatures().fit(test[:1])
    fx = DeepFeatures(runtime="tflite-int8", tflite_model=str(files["int8"])).fit(test[:1])
    # Same names, so a classical pipeline takes either.
    assert list(fx.get_feature_names_out()) == list(keras_fx.get_feature_names_out())
    feats = fx.transform(test)
    np.testing.assert_allclose(feats, exported["outputs"]["int8"], atol=1e-6)
    # What computes the features is in the fingerprint: runtime and file hash.
    f32 = DeepFeatures(runtime="tflite-float32", tflite_model=str(files["float32"]))
    assert len({fx.fingerprint(), f32.fingerprint(), keras_fx.fingerprint()}) == 3
    with pytest.raises(ValueError, match="holds a float32 model"):
        DeepFeatures(runtime="tflite-int8", tflite_model=str(files["float32"])).fit(
            test[:1]
        ).transform(test[:1])
    with pytest.raises(ValueError, match="needs tflite_model"):
        DeepFeatures(runtime="tflite-int8").fit(test[:1]).transform(test[:1])


def test_manifest_guards_the_file(exported, tmp_path):
    src = exported["files"]["float32"]
    side = json.loads(src.with_suffix(".json").read_text())
    assert side["sha256"] == LiteRTModel(src).sha256
    assert side["input"]["shape"] == [1, SIZE, SIZE, 3]
    copy = tmp_path / src.name
    shutil.copy(src, copy)
    shutil.copy(src.with_suffix(".json"), copy.with_suffix(".json"))
    assert load_tflite(copy).sha256 == side["sha256"]
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 1
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_tflite(copy)
