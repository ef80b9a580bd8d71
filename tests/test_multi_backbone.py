"""Deep features of several backbones side by side: values, fingerprints, cache, configs."""

from __future__ import annotations

import numpy as np
import pytest

from poxscan.features import make_extractor
from poxscan.features.cache import FeatureCache, load_feature_table
from poxscan.features.deep import DeepFeatures

pytestmark = [pytest.mark.deep, pytest.mark.slow]

PAIR = ["efficientnet-lite0", "efficientnet-lite1"]


@pytest.fixture(scope="module")
def singles(real_images):
    imgs = real_images[:3]
    return {b: DeepFeatures(backbone=b).fit(imgs).transform(imgs) for b in PAIR}


def test_concatenates_the_backbones_in_order(real_images, singles):
    imgs = real_images[:3]
    multi = DeepFeatures(backbone=PAIR).fit(imgs)
    out = multi.transform(imgs)
    assert out.shape == (3, 2 * 1280)
    np.testing.assert_allclose(out[:, :1280], singles[PAIR[0]], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[:, 1280:], singles[PAIR[1]], rtol=1e-5, atol=1e-5)
    names = multi.get_feature_names_out()
    assert names[0] == "deep__efficientnet-lite0_0"
    assert names[1280] == "deep__efficientnet-lite1_0"


def test_fingerprint_spellings_and_order():
    listed = DeepFeatures(backbone=PAIR)
    assert DeepFeatures(backbone="+".join(PAIR)).fingerprint() == listed.fingerprint()
    assert DeepFeatures(backbone=tuple(PAIR)).fingerprint() == listed.fingerprint()
    assert DeepFeatures(backbone=PAIR[::-1]).fingerprint() != listed.fingerprint()
    assert DeepFeatures(backbone=PAIR, tta=1).fingerprint() != listed.fingerprint()
    assert DeepFeatures(backbone=PAIR[0]).fingerprint() != listed.fingerprint()
    assert [p.fingerprint() for p in listed.parts()] == [
        DeepFeatures(backbone=b).fingerprint() for b in PAIR
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"backbone": ["efficientnet-lite0", "EfficientNet_Lite0"]},
        {"backbone": PAIR, "weights": "some.h5"},
        {"backbone": PAIR, "runtime": "tflite-float32", "tflite_model": "x.tflite"},
        {"backbone": "efficientnet-lite0+"},
    ],
)
def test_bad_combinations_are_refused(params):
    with pytest.raises(ValueError, match="backbone"):
        DeepFeatures(**params).fit([np.zeros((16, 16, 3), np.uint8)])


def test_cache_stores_each_backbone_once_and_configs_reuse_it(msld_records, tmp_path):
    records = msld_records.iloc[:3]
    cache = FeatureCache(tmp_path / "cache")
    combined = load_feature_table(
        records, {"color": {}, "deep": {"backbone": PAIR}}, cache=cache, progress=False
    )
    folders = sorted(p.name for p in (tmp_path / "cache" / "features").iterdir())
    # One folder per backbone (reused by any combination), none for the combination.
    expected = sorted(
        [make_extractor("color").fingerprint()]
        + [DeepFeatures(backbone=b).fingerprint() for b in PAIR]
    )
    assert folders == expected
    single = load_feature_table(records, {"deep": {"backbone": PAIR[1]}}, cache=cache)
    np.testing.assert_array_equal(combined[single.columns].to_numpy(), single.to_numpy())
    assert combined.shape == (
        3,
        len(make_extractor("color").fit([np.zeros((8, 8, 3), np.uint8)]).get_feature_names_out())
        + 2560,
    )


def test_image_model_from_a_config_with_backbones_and_tta(msld_records, real_images):
    from poxscan.pipelines.builder import config_families
    from poxscan.pipelines.image_model import ImageModel

    config = {"families": {"deep": {"backbone": PAIR, "tta": 1}}, "k": 20, "params": {"C": 0.1}}
    fams = config_families(config)
    assert fams == {"deep": {"backbone": PAIR, "tta": 1}}
    records = msld_records.groupby("y", group_keys=False).head(6)
    table = load_feature_table(records, fams, progress=False, cache=False)
    model = ImageModel(families=fams, pipeline=config, calibration="none", cv=2).fit_features(
        table, records["y"].to_numpy(), records["patient"].to_numpy()
    )
    p = model.predict_proba(real_images[:2])
    assert p.shape == (2, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # Mirror invariance of tta=1 carries through the whole model.
    mirrored = [np.ascontiguousarray(img[:, ::-1]) for img in real_images[:2]]
    np.testing.assert_allclose(model.predict_proba(mirrored), p, atol=1e-4)
