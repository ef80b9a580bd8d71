"""DeepFeatures: frozen EfficientNet-Lite0 embeddings of real images."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from poxscan.features import make_extractor
from poxscan.features.backbones import efficientnet_lite as lite
from poxscan.features.deep import DeepFeatures

from poxscan.imageio import load_image

REFERENCE = Path(__file__).parent / "fixtures" / "efficientnet_lite_reference.npz"

pytestmark = [pytest.mark.deep, pytest.mark.slow]


@pytest.fixture(scope="module")
def reference_images(data_root):
    ref = np.load(REFERENCE)
    return [load_image(data_root / i) for i in ref["image_ids"]], ref


@pytest.fixture(scope="module")
def lite0_features(real_images):
    fx = DeepFeatures(batch_size=4).fit(real_images)
    return fx, fx.transform(real_images)


def test_shape_names_and_values(real_images, lite0_features):
    fx, feats = lite0_features
    assert feats.shape == (len(real_images), 1280)
    assert feats.dtype == np.float32
    names = fx.get_feature_names_out()
    assert names[0] == "deep__efficientnet-lite0_0"
    assert names[-1] == "deep__efficientnet-lite0_1279"
    assert len(set(names)) == 1280
    assert np.isfinite(feats).all()
    # Pooled ReLU6 activations: within [0, 6], and not all alike across images.
    assert feats.min() >= 0 and feats.max() <= 6
    assert np.abs(np.diff(feats, axis=0)).max() > 0.1


def test_deterministic_and_independent_of_batching(real_images, lite0_features):
    _fx, feats = lite0_features
    again = DeepFeatures(batch_size=32).fit(real_images).transform(real_images)
    np.testing.assert_allclose(again, feats, rtol=1e-5, atol=1e-5)
    single = DeepFeatures(batch_size=1).fit(real_images[:2]).transform(real_images[:2])
    np.testing.assert_allclose(single, feats[:2], rtol=1e-5, atol=1e-5)


def test_changes_when_the_image_changes(real_images, lite0_features):
    fx, feats = lite0_features
    changed = list(real_images)
    changed[0] = np.ascontiguousarray(255 - changed[0])  # a negative of the first image
    out = fx.transform(changed)
    assert np.abs(out[0] - feats[0]).max() > 0.1
    np.testing.assert_allclose(out[1:], feats[1:], rtol=1e-5, atol=1e-5)


def test_matches_pytorch_pooled_features(reference_images):
    """Embeddings of images of any size equal PyTorch's pooled features (rtol, atol 1e-3*max)."""
    images, ref = reference_images
    feats = make_extractor("deep", backbone="efficientnet-lite0").fit(images).transform(images)
    want = ref["lite0_features"]
    np.testing.assert_allclose(feats, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())


def test_pickles_small_without_the_model(real_images, lite0_features):
    fx, feats = lite0_features
    blob = pickle.dumps(fx)
    # Parameters and 1280 feature names; the model alone would be about 13 MB.
    assert len(blob) < 100_000
    assert b"keras" not in blob and b"tensorflow" not in blob
    restored = pickle.loads(blob)
    assert restored.get_params() == fx.get_params()
    np.testing.assert_allclose(restored.transform(real_images), feats, rtol=1e-5, atol=1e-5)


def test_fingerprint_names_the_weights_hash(tmp_path):
    digest = hashlib.sha256(lite.default_weights_path("lite0").read_bytes()).hexdigest()
    fx = DeepFeatures()
    assert fx._fingerprint_params()["weights_fingerprint"] == f"sha256:{digest}"
    assert DeepFeatures(batch_size=8).fingerprint() == fx.fingerprint()
    assert DeepFeatures(backbone="EfficientNet_Lite0").fingerprint() == fx.fingerprint()
    assert DeepFeatures(backbone="efficientnet-lite2").fingerprint() != fx.fingerprint()
    weights = tmp_path / "custom.weights.h5"
    weights.write_bytes(b"first")
    first = DeepFeatures(weights=weights).fingerprint()
    weights.write_bytes(b"second")
    assert DeepFeatures(weights=weights).fingerprint() not in (first, fx.fingerprint())


def test_bad_parameters_are_refused(real_images):
    with pytest.raises(KeyError, match="unknown backbone"):
        DeepFeatures(backbone="alexnet").fit(real_images)
    with pytest.raises(ValueError, match="batch_size"):
        DeepFeatures(batch_size=0).fit(real_images).transform(real_images)
