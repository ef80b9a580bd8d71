"""The gate's pixel-stage ``not_skin`` checks: no skin colour at all (the share of pixels in the
YCrCb skin region under :data:`~poxscan.core.image_checks.SKIN_FLOOR`) and pixel noise (no
neighbour correlation), each triggered by an image made for it from real lesion photos, which
themselves pass."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from poxscan.core.image_checks import REASONS, SKIN_FLOOR, check_pixels, skin_share
from poxscan.core.imageio import load_image, to_square


def greyscale(photo: np.ndarray) -> np.ndarray:
    """A black-and-white print of a photo: same detail, no colour."""
    return np.repeat(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def sky_and_foliage(photo: np.ndarray) -> np.ndarray:
    """The photo's texture in the blues and greens of a landscape (hue turned by 150 deg)."""
    hsv = cv2.cvtColor(photo, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 75) % 180  # OpenCV hue: 0..179
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def shuffled(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """The photo's own pixels in random places: its colours (skin's), none of its structure."""
    flat = photo.reshape(-1, 3).copy()
    np.random.default_rng(seed).shuffle(flat)
    return flat.reshape(photo.shape)


def _float_share(square: np.ndarray) -> float:
    """The YCrCb skin region by the textbook float formulas (BT.601, 8-bit values rounded to
    the nearest integer), not OpenCV's fixed point."""
    x = square.reshape(-1, 3).astype(np.float64)
    y = np.floor(x @ [0.299, 0.587, 0.114] + 0.5)
    cr = np.floor((x[:, 0] - y) * 0.713 + 128.5)
    cb = np.floor((x[:, 2] - y) * 0.564 + 128.5)
    return float(np.mean((cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127)))


def test_skin_share_matches_the_textbook_region_on_real_photos(photos):
    for photo in photos:
        square = to_square(photo, 224)
        # OpenCV's fixed point and the float formulas differ only on the region's border.
        assert skin_share(square) == pytest.approx(_float_share(square), abs=0.005)


def test_real_lesion_photos_are_mostly_skin_coloured_and_pass(photos):
    for photo in photos:
        finding = check_pixels(photo)
        assert finding.screenable, finding.checks
        assert finding.checks["skin_share"] > 10 * SKIN_FLOOR
        assert finding.checks["neighbour_correlation"] > 0.5


@pytest.mark.parametrize("made", [greyscale, sky_and_foliage])
def test_a_picture_without_skin_colour_is_refused_as_not_skin(made, photos):
    for photo in photos[:4]:
        finding = check_pixels(made(photo))
        assert not finding.screenable and finding.code == "not_skin", finding.checks
        assert finding.message == REASONS["not_skin"][0]
        assert finding.checks["skin_share"] < SKIN_FLOOR
        # The lesion's detail is all there: it is the colour that is missing.
        assert finding.checks["neighbour_correlation"] > 0.5


def test_pixel_noise_in_skin_colours_is_refused_as_not_skin(photos):
    for i, photo in enumerate(photos[:4]):
        lesion = check_pixels(photo)
        noise = check_pixels(shuffled(photo, i))
        assert not noise.screenable and noise.code == "not_skin", noise.checks
        assert noise.checks["neighbour_correlation"] < 0.35
        # Same colours as the lesion photo: refused for its structure, not for its colour.
        assert noise.checks["skin_share"] == pytest.approx(lesion.checks["skin_share"], abs=0.1)
        assert noise.checks["skin_share"] > SKIN_FLOOR


def test_every_real_photo_of_the_shared_sets_but_black_and_white_ones_has_skin_colour(data_root):
    # All 409 lesion photos (the floor has nothing fitted: this count is out of sample).
    from poxscan.core.data import load_records

    records = load_records(["msld_v1", "ahsan2022"], root=data_root)
    under = []
    for path in records["path"]:
        image = load_image(path)
        if skin_share(to_square(image, 224)) < SKIN_FLOOR:
            under.append(image)
    assert len(records) >= 400 and len(under) <= 2  # about 0.2 %: black-and-white prints
    for image in under:
        assert np.abs(image.astype(int) - image.mean(axis=2, keepdims=True)).mean() < 3
