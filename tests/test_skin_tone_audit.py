"""experiments/skin_tone_audit.py: the individual typology angle of made images, and its bands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _experiments import load_experiment
from skimage.color import lab2rgb

audit = load_experiment("skin_tone_audit")


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
    assert audit.ita_degrees(_photo(lightness, a, b)) == pytest.approx(expected, abs=2.0)


def test_bands_follow_the_declared_limits():
    assert audit.band_of(60.0) == audit.BANDS[0][0]
    assert audit.band_of(41.0) == audit.BANDS[1][0]  # 41 itself is not lighter (> 41)
    assert audit.band_of(10.5) == audit.BANDS[1][0]
    assert audit.band_of(10.0) == audit.BANDS[2][0]
    assert audit.band_of(-120.0) == audit.BANDS[2][0]


def test_a_darker_photo_has_a_lower_angle():
    light = audit.ita_degrees(_photo(75, 8, 14))
    dark = audit.ita_degrees(_photo(30, 10, 18))
    assert light > 41 >= 10 >= dark
