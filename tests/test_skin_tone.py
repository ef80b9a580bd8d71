"""poxscan.core.skin_tone: the individual typology angle of made images, and its bands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.color import lab2rgb, rgb2lab

from poxscan.core import skin_tone


def _photo(lightness: float, a: float, b: float, border=(0, 0, 255)) -> np.ndarray:
    # One CIELAB colour in the central half, a saturated border around it (which must not count).
    colour = lab2rgb(np.array([[[lightness, a, b]]], dtype=float))[0, 0]
    image = np.empty((80, 120, 3), dtype=np.uint8)
    image[:] = border
    image[20:60, 30:90] = np.round(colour * 255).astype(np.uint8)
    return image


@pytest.mark.parametrize(
    ("lightness", "a", "b"), [(70, 10, 15), (55, 15, 20), (40, 12, 22), (25, 8, 12)]
)
def test_ita_of_a_known_colour(lightness, a, b):
    expected = math.degrees(math.atan((lightness - 50) / b))
    # Rounding to 8-bit RGB moves L* and b* by a fraction of a unit.
    assert skin_tone.ita_degrees(_photo(lightness, a, b)) == pytest.approx(expected, abs=2.0)


def test_bands_follow_the_declared_limits():
    assert skin_tone.tone_band(60.0) == skin_tone.TONE_BANDS[0][0]
    # 41 itself is not lighter (the band is ITA > 41).
    assert skin_tone.tone_band(41.0) == skin_tone.TONE_BANDS[1][0]
    assert skin_tone.tone_band(10.5) == skin_tone.TONE_BANDS[1][0]
    assert skin_tone.tone_band(10.0) == skin_tone.TONE_BANDS[2][0]
    assert skin_tone.tone_band(-120.0) == skin_tone.TONE_BANDS[2][0]


def test_a_darker_photo_has_a_lower_angle():
    light = skin_tone.ita_degrees(_photo(75, 8, 14))
    dark = skin_tone.ita_degrees(_photo(30, 10, 18))
    assert light > 41 >= 10 >= dark


def test_a_large_photo_reads_a_subsample_with_the_same_tone():
    # A 2000 x 3000 photo of noisy skin colours: the strided centre must give the tone that
    # every pixel of the centre gives (computed here directly with skimage).
    rng = np.random.default_rng(0)
    base = np.array([180, 130, 110], dtype=float)
    image = np.clip(base + rng.normal(0, 25, (2000, 3000, 3)), 0, 255).astype(np.uint8)
    lab = rgb2lab(image[500:1500, 750:2250]).reshape(-1, 3)
    full = math.degrees(math.atan2(np.median(lab[:, 0]) - 50, np.median(lab[:, 2])))
    assert skin_tone.ita_degrees(image) == pytest.approx(full, abs=0.5)
