"""The resolution cap before the network's square (``poxscan.features.resolution``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from poxscan.core.imageio import to_square
from poxscan.features.deep import DeepFeatures
from poxscan.features.orientation import posed_squares
from poxscan.features.resolution import cap_resolution


def test_a_large_photo_is_brought_to_the_cap_and_a_small_one_is_left_alone(real_images):
    rng = np.random.default_rng(0)
    large = rng.integers(0, 256, (300, 450, 3), dtype=np.uint8)
    out = cap_resolution(large, 120)
    # Shorter side 300 -> 120, so the longer 450 -> 180; pixels as OpenCV's area resize gives.
    assert out.shape == (120, 180, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, cv2.resize(large, (180, 120), interpolation=cv2.INTER_AREA))
    # Area interpolation averages: a downscaled noise image has a smaller spread.
    assert out.std() < large.std()
    small = real_images[0]
    assert cap_resolution(small, max(small.shape[:2])) is small  # already small enough
    assert cap_resolution(large, 0) is large  # 0: off
    tall = rng.integers(0, 256, (400, 200, 3), dtype=np.uint8)
    assert cap_resolution(tall, 100).shape == (200, 100, 3)


def test_bad_caps_are_clear_errors():
    img = np.zeros((32, 32, 3), np.uint8)
    for bad in (8, -5, 2.5, True, "224"):
        with pytest.raises(ValueError, match="downscale"):
            cap_resolution(img, bad)
    with pytest.raises(ValueError, match="downscale must be 0 or at least 16"):
        DeepFeatures(downscale=4).fingerprint()


def test_the_cap_comes_after_the_pose_so_a_mirrored_photo_gives_the_same_square():
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (333, 517, 3), dtype=np.uint8)
    photo[:100, :150] = 255  # a bright corner, so the pose is well defined
    mirrored = np.ascontiguousarray(photo[:, ::-1])
    a, b = posed_squares([photo, mirrored], 96, orient="canonical", downscale=150)
    np.testing.assert_array_equal(a, b)
    # Without a pose the cap still feeds the square: the photo as capped, then fitted.
    (plain,) = posed_squares([photo], 96, downscale=150)
    np.testing.assert_array_equal(plain, to_square(cap_resolution(photo, 150), 96))
    (uncapped,) = posed_squares([photo], 96)
    assert not np.array_equal(plain, uncapped)


def test_the_option_enters_the_fingerprint_and_the_default_keeps_the_old_one():
    base = DeepFeatures(backbone="efficientnet-lite0").fingerprint()
    assert DeepFeatures(backbone="efficientnet-lite0", downscale=0).fingerprint() == base
    capped = DeepFeatures(backbone="efficientnet-lite0", downscale=184).fingerprint()
    assert capped != base
    assert DeepFeatures(backbone="efficientnet-lite0", downscale=np.int64(184)).fingerprint() == (
        capped
    )


def test_a_lite_model_and_the_shared_gate_refuse_the_capped_input():
    from poxscan.pipelines.gate import model_embedding
    from poxscan.pipelines.lite_model import lite_training_families

    deep = {"backbone": "efficientnet-lite0", "downscale": 184}
    with pytest.raises(ValueError, match="asks for downscale="):
        lite_training_families({"deep": deep}, "b.tflite")
    # The gate's embedding does not cap, so it must not claim the model's embedding as its own.
    assert model_embedding({"deep": deep}) is None
    assert model_embedding({"deep": {"backbone": "efficientnet-lite0"}}) is not None
