"""The binomial smoothing of the network's square input (``poxscan.features.smoothing``), and
how DeepFeatures applies it and the JPEG recompression."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from poxscan.features.deep import DeepFeatures
from poxscan.features.smoothing import binomial_smooth


@pytest.mark.parametrize("size, taps", [(3, [1, 2, 1]), (5, [1, 4, 6, 4, 1])])
def test_an_impulse_spreads_as_the_outer_product_of_the_taps(size, taps):
    image = np.zeros((11, 13, 3), np.uint8)
    total = sum(taps) ** 2  # 16 or 256: every weight of the 2-D kernel times 1, no rounding
    image[5, 6, 0] = min(total, 255)
    out = binomial_smooth(image, size).astype(int)
    kernel = np.outer(taps, taps)
    r = size // 2
    if total < 256:
        np.testing.assert_array_equal(out[5 - r : 6 + r, 6 - r : 7 + r, 0], kernel)
    else:  # 255 * kernel / 256, each pass rounded: within one level of the exact value
        exact = 255 * kernel / 256
        assert np.abs(out[5 - r : 6 + r, 6 - r : 7 + r, 0] - exact).max() <= 1
    assert out[..., 1:].max() == 0
    assert out.sum(axis=(0, 1))[0] == pytest.approx(image.sum(axis=(0, 1))[0], abs=size * size)


@pytest.mark.parametrize("size, sigma", [(3, np.sqrt(0.5)), (5, 1.0)])
def test_real_squares_agree_with_opencvs_float_filter(real_images, size, sigma):
    squares = np.stack([cv2.resize(img, (96, 96)) for img in real_images[:4]])
    kernel = np.array([1, 2, 1] if size == 3 else [1, 4, 6, 4, 1], np.float64)
    kernel /= kernel.sum()
    out = binomial_smooth(squares, size)
    for square, got in zip(squares, out, strict=True):
        want = cv2.sepFilter2D(
            square.astype(np.float64), -1, kernel, kernel, borderType=cv2.BORDER_REPLICATE
        )
        assert np.abs(got - want).max() <= 1.0  # the two integer roundings

    # It smooths: the image's high-frequency energy falls.
    def roughness(x: np.ndarray) -> float:
        return float(np.mean([np.abs(cv2.Laplacian(i.astype(np.float64), -1)).mean() for i in x]))

    assert roughness(out) < 0.7 * roughness(squares)
    # A flat image and size 0 are left exactly as they are.
    flat = np.full((20, 30, 3), 137, np.uint8)
    np.testing.assert_array_equal(binomial_smooth(flat, size), flat)
    np.testing.assert_array_equal(binomial_smooth(squares, 0), squares)


def test_bad_sizes_and_types_are_clear_errors():
    img = np.zeros((8, 8, 3), np.uint8)
    for bad in (1, 4, 7, True):
        with pytest.raises(ValueError, match="smooth must be one of"):
            binomial_smooth(img, bad)
    with pytest.raises(ValueError, match="uint8"):
        binomial_smooth(img.astype(np.float32), 3)
    with pytest.raises(ValueError, match="smooth must be one of"):
        DeepFeatures(smooth=4).fingerprint()


def _jpeg40(squares):
    from poxscan.features.recompression import recompress

    return recompress(squares, 40)


# JPEG quality 40, not 75: 135 of msld_v1's 228 photos come back pixel for pixel from a
# re-encode at 75 (saved at that quality, on the same 8 x 8 grid).
@pytest.mark.parametrize(
    "option, value, transform",
    [("smooth", 3, lambda q: binomial_smooth(q, 3)), ("jpeg", 40, _jpeg40)],
    ids=["smooth", "jpeg"],
)
def test_deep_features_fingerprint_and_input_follow_the_option(
    real_images, monkeypatch, option, value, transform
):
    plain, changed = DeepFeatures(), DeepFeatures(**{option: value})
    # The default keeps the fingerprint it had before the option existed.
    assert DeepFeatures(**{option: 0}).fingerprint() == plain.fingerprint()
    assert changed.fingerprint() != plain.fingerprint()
    assert DeepFeatures(**{option: np.int64(value)}).fingerprint() == changed.fingerprint()
    # What reaches the network is the transformed square, fitted as before.
    seen = []

    class Recorder:
        def predict_on_batch(self, x):
            seen.append(np.asarray(x))
            return np.zeros((len(x), 1280), np.float32)

    monkeypatch.setattr(DeepFeatures, "_model", lambda self: Recorder())
    images = list(real_images[:2])
    plain._transform_batch(images)
    changed._transform_batch(images)
    from poxscan.core.imageio import to_square

    spec = plain._spec()
    squares = np.stack([to_square(img, spec.input_size) for img in images])
    np.testing.assert_allclose(seen[0], spec.preprocess(squares), atol=1e-6)
    np.testing.assert_allclose(seen[1], spec.preprocess(transform(squares)), atol=1e-6)
    assert not np.allclose(seen[0], seen[1])


@pytest.mark.parametrize("option", [{"smooth": 3}, {"color_constancy": "shades_of_gray"}])
def test_a_lite_model_refuses_an_input_its_backbone_would_not_compute(option):
    from poxscan.pipelines.lite_model import lite_training_families

    families = {"deep": {"backbone": "efficientnet-lite0", **option}}
    with pytest.raises(ValueError, match=f"asks for {next(iter(option))}="):
        lite_training_families(families, "backbone-int8.tflite")
    plain = lite_training_families({"deep": {"backbone": "efficientnet-lite0"}}, "b.tflite")
    assert plain["deep"]["runtime"] == "tflite-int8"


def test_converting_a_model_checks_the_same_options_as_training_a_lite_one():
    from poxscan.pipelines.lite_model import _unsupported_options

    assert _unsupported_options(DeepFeatures().get_params(deep=False)) == []
    params = DeepFeatures(tta=8, smooth=3, layers="multi").get_params(deep=False)
    assert _unsupported_options(params) == [("layers", "multi"), ("tta", 8), ("smooth", 3)]
