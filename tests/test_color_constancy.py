"""Shades of Gray colour constancy: values worked out by hand, and the extractor option."""

from __future__ import annotations

import numpy as np
import pytest

from poxscan.features import make_extractor
from poxscan.features.color_constancy import parse, shades_of_gray


def test_gray_world_on_two_pixels_matches_hand_values():
    # p = 1: illuminant = channel means (150, 100, 75); norm / sqrt(3) = sqrt(38125) / sqrt(3)
    # = 112.731; gains 0.75154, 1.12731, 1.50308.
    img = np.array([[[200, 100, 50], [100, 100, 100]]], dtype=np.uint8)
    out = shades_of_gray(img, p=1)
    np.testing.assert_array_equal(out, [[[150, 113, 75], [75, 113, 150]]])


def test_shades_of_gray_p6_on_two_pixels_matches_hand_values():
    # R = 0 and 255: e_R = 255 * 0.5 ** (1/6) = 227.179; G = B = 90 everywhere: e = 90.
    # norm / sqrt(3) = sqrt(227.179^2 + 2 * 90^2) / sqrt(3) = 150.344.
    # R gain 150.344 / 227.179 = 0.66179 -> 255 * 0.66179 = 168.76; G, B -> 150.34.
    img = np.array([[[0, 90, 90], [255, 90, 90]]], dtype=np.uint8)
    out = shades_of_gray(img)  # default p = 6
    np.testing.assert_array_equal(out, [[[0, 150, 150], [169, 150, 150]]])


def test_a_uniform_cast_becomes_neutral_grey_and_grey_is_left_alone():
    # Any p: e = (60, 120, 180); every channel -> 60 * sqrt(14) / sqrt(3) = 129.61 -> 130.
    cast = np.tile(np.array([60, 120, 180], np.uint8), (4, 5, 1))
    np.testing.assert_array_equal(shades_of_gray(cast), np.full((4, 5, 3), 130, np.uint8))
    grey = np.random.default_rng(0).integers(0, 256, (6, 7, 1)).astype(np.uint8).repeat(3, 2)
    np.testing.assert_array_equal(shades_of_gray(grey), grey)


def test_a_black_channel_leaves_the_image_unchanged():
    img = np.zeros((3, 3, 3), np.uint8)
    img[..., 0] = 80
    np.testing.assert_array_equal(shades_of_gray(img), img)


@pytest.mark.parametrize("bad", ["grey_edge", "shades_of_gray:0.5", "shades_of_gray:x", 6])
def test_bad_options_are_refused(bad):
    with pytest.raises(ValueError, match="color_constancy"):
        parse(bad)
    with pytest.raises(ValueError, match="color_constancy"):
        make_extractor("color", color_constancy=bad).fit([np.zeros((8, 8, 3), np.uint8)])


@pytest.mark.parametrize("family", ["color", "texture", "hog"])
def test_option_changes_fingerprint_and_features_default_keeps_them(family, real_images):
    plain = make_extractor(family).fit(real_images[:2])
    explicit_none = make_extractor(family, color_constancy=None)
    corrected = make_extractor(family, color_constancy="shades_of_gray").fit(real_images[:2])
    other_p = make_extractor(family, color_constancy="shades_of_gray:2")
    assert explicit_none.fingerprint() == plain.fingerprint()
    assert "color_constancy" not in plain._fingerprint_params()
    prints = {plain.fingerprint(), corrected.fingerprint(), other_p.fingerprint()}
    assert len(prints) == 3
    # A cast photo: the corrected features move towards those of the neutral original.
    img = real_images[0]
    cast = np.clip(img.astype(float) * [1.3, 1.0, 0.7], 0, 255).astype(np.uint8)
    a, b = corrected.transform([img, cast])
    assert not np.allclose(plain.transform([img]), corrected.transform([img]))
    p_img, p_cast = plain.transform([img, cast])
    if family == "color":
        assert np.abs(a - b).sum() < np.abs(p_img - p_cast).sum()


def test_deep_extractor_fingerprint_keeps_default_and_changes_with_option():
    plain = make_extractor("deep")
    assert make_extractor("deep", color_constancy=None).fingerprint() == plain.fingerprint()
    assert (
        make_extractor("deep", color_constancy="shades_of_gray").fingerprint()
        != plain.fingerprint()
    )
