"""DeepFeatures: frozen EfficientNet-Lite0 embeddings of real images."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from poxscan.core.imageio import load_image, to_square
from poxscan.features import make_extractor
from poxscan.features.backbones import efficientnet_lite as lite
from poxscan.features.deep import DeepFeatures

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


# -- options: multi-level pooling, max pooling, test-time augmentation --------------------------


@pytest.fixture(scope="module")
def multi_avgmax(real_images):
    fx = DeepFeatures(layers="multi", pooling="avgmax").fit(real_images)
    return fx, fx.transform(real_images)


def _blocks(names: np.ndarray) -> dict[str, np.ndarray]:
    """Column positions of each ``deep__<backbone>_<layer>_<i>`` layer tag, in order."""
    tags = [str(n).removeprefix("deep__efficientnet-lite0_").rsplit("_", 1)[0] for n in names]
    return {t: np.flatnonzero(np.asarray(tags) == t) for t in dict.fromkeys(tags)}


def test_multi_level_shape_names_and_head(real_images, lite0_features, multi_avgmax):
    _fx, head = lite0_features
    fx, feats = multi_avgmax
    stages = lite.stage_outputs("lite0")
    widths = [stages[s - 1][1] for s in (4, 5, 6, 7)]
    assert widths == [80, 112, 192, 320]
    names = fx.get_feature_names_out()
    assert feats.shape == (len(real_images), 2 * (sum(widths) + 1280)) == (6, len(names))
    assert len(set(names)) == len(names)
    blocks = _blocks(names)
    assert list(blocks) == [
        f"{layer}{kind}"
        for layer in ("stage4", "stage5", "stage6", "stage7", "head")
        for kind in ("", "max")
    ]
    assert [len(blocks[f"stage{s}"]) for s in (4, 5, 6, 7)] == widths
    assert names[blocks["stage4"][0]] == "deep__efficientnet-lite0_stage4_0"
    assert names[-1] == "deep__efficientnet-lite0_headmax_1279"
    # The head's average-pooled part is the default embedding, from the same graph.
    np.testing.assert_allclose(feats[:, blocks["head"]], head, rtol=1e-4, atol=1e-4)
    for tag in ("stage4", "stage5", "stage6", "stage7", "head"):
        avg, mx = feats[:, blocks[tag]], feats[:, blocks[f"{tag}max"]]
        assert (mx >= avg - 1e-4).all(), tag  # a maximum is never below the mean
        assert (mx > avg + 1e-3).any(), tag
        assert np.abs(np.diff(avg, axis=0)).max() > 1e-3, tag  # varies between images
    # Stage outputs are linear bottlenecks: signed, unlike the ReLU6 head.
    assert feats[:, blocks["stage7"]].min() < 0


def test_multi_level_average_only_matches(real_images, multi_avgmax):
    fx_both, both = multi_avgmax
    fx = DeepFeatures(layers="multi").fit(real_images[:3])
    feats = fx.transform(real_images[:3])
    names = fx.get_feature_names_out()
    assert feats.shape == (3, 80 + 112 + 192 + 320 + 1280)
    # Same names and values as the average-pooled columns of the avg+max variant.
    keep = [i for i, n in enumerate(fx_both.get_feature_names_out()) if "max_" not in n]
    np.testing.assert_array_equal(fx_both.get_feature_names_out()[keep], names)
    np.testing.assert_allclose(feats, both[:3, keep], rtol=1e-4, atol=1e-4)


def test_tta_averages_mirrors(real_images, lite0_features):
    _fx, plain = lite0_features
    img = to_square(real_images[0], 224)
    # Left half and its mirror: horizontally symmetric, not vertically.
    sym = np.ascontiguousarray(np.concatenate([img[:, :112], img[:, :112][:, ::-1]], axis=1))
    assert np.array_equal(sym, sym[:, ::-1]) and not np.array_equal(sym, sym[::-1])
    base = DeepFeatures().fit([sym])
    hflip = DeepFeatures(tta=1).fit([sym])
    both = DeepFeatures(tta=2).fit([sym])
    np.testing.assert_allclose(hflip.transform([sym]), base.transform([sym]), rtol=1e-5, atol=1e-5)
    # The vertical mirror is a different image: tta=2 moves away from the plain embedding.
    assert np.abs(both.transform([sym]) - base.transform([sym])).max() > 1e-2
    # On real images, tta=1 is the mean of the image's and its mirror's embeddings.
    mirrored = [np.ascontiguousarray(im[:, ::-1]) for im in real_images]
    want = (plain + base.transform(mirrored)) / 2
    got = hflip.transform(real_images)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert np.abs(got - plain).max() > 1e-2
    assert list(hflip.get_feature_names_out()) == list(base.get_feature_names_out())


def test_options_change_the_fingerprint_and_defaults_keep_it():
    default = DeepFeatures()
    # The default configuration keeps the fingerprint it had before the options existed.
    assert set(default._fingerprint_params()) == {"backbone", "weights", "weights_fingerprint"}
    variants = [
        DeepFeatures(layers="multi"),
        DeepFeatures(pooling="avgmax"),
        DeepFeatures(layers="multi", pooling="avgmax"),
        DeepFeatures(tta=1),
        DeepFeatures(tta=2),
        DeepFeatures(layers="multi", tta=1),
        DeepFeatures(backbone="efficientnet-lite1"),
        DeepFeatures(backbone="efficientnet-lite2", layers="multi", tta=1),
    ]
    prints = [default.fingerprint()] + [v.fingerprint() for v in variants]
    assert len(set(prints)) == len(prints)
    assert DeepFeatures(layers="head", pooling="avg", tta=0).fingerprint() == prints[0]
    assert DeepFeatures(tta=np.int64(1), batch_size=4).fingerprint() == variants[3].fingerprint()


def test_bad_options_are_refused(real_images, tmp_path):
    for params, match in [
        ({"layers": "all"}, "unknown layers"),
        ({"pooling": "gem"}, "unknown pooling"),
        ({"tta": 3}, "tta"),
        ({"tta": True}, "tta"),
        ({"backbone": "resnet50v2", "layers": "multi"}, "not available"),
    ]:
        with pytest.raises(ValueError, match=match):
            DeepFeatures(**params).fit(real_images[:1])
    fake = tmp_path / "lite0.tflite"
    fake.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="Keras runtime"):
        DeepFeatures(layers="multi", runtime="tflite-float32", tflite_model=fake).fingerprint()
