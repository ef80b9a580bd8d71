"""The JPEG recompression of the network's square input (``poxscan.features.recompression``)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from poxscan.features.deep import DeepFeatures
from poxscan.features.recompression import recompress


def _pillow_round_trip(square: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(square).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def test_each_square_goes_through_one_jpeg_encode_at_the_quality(real_images):
    squares = np.stack([np.asarray(Image.fromarray(i).resize((64, 64))) for i in real_images[:3]])
    out = recompress(squares, 60)
    assert out.shape == squares.shape and out.dtype == np.uint8
    for square, got in zip(squares, out, strict=True):
        np.testing.assert_array_equal(got, _pillow_round_trip(square, 60))
    # Lossy: the pixels change, more at a lower quality; the same input gives the same bytes.
    err = {q: np.abs(recompress(squares, q).astype(int) - squares).mean() for q in (30, 90)}
    assert 0 < err[90] < err[30]
    np.testing.assert_array_equal(recompress(squares, 60), out)
    np.testing.assert_array_equal(recompress(squares[0], 60), out[0])  # one image, no batch
    np.testing.assert_array_equal(recompress(squares, 0), squares)  # 0: untouched


def test_bad_qualities_and_types_are_clear_errors():
    img = np.zeros((8, 8, 3), np.uint8)
    for bad in (-1, 96, 2.5, True):
        with pytest.raises(ValueError, match="jpeg"):
            recompress(img, bad)
    with pytest.raises(ValueError, match="uint8 RGB"):
        recompress(img.astype(np.float32), 75)
    with pytest.raises(ValueError, match="jpeg must be a quality"):
        DeepFeatures(jpeg=100).fingerprint()


def test_a_lite_model_refuses_the_recompressed_input():
    from poxscan.pipelines.lite_model import lite_training_families

    with pytest.raises(ValueError, match="asks for jpeg="):
        lite_training_families({"deep": {"backbone": "efficientnet-lite0", "jpeg": 75}}, "b.tflite")
