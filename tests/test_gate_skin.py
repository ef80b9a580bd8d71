"""The gate's skin-colour evidence: the share of skin-coloured pixels (a pixel statistic) and its
threshold, calibrated jointly with the embedding distance so that the two together refuse the
chosen share of real lesion photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from _trained_models import feature_data, subset_records, workspace

from poxscan.core.image_checks import check_pixels, skin_share
from poxscan.core.imageio import load_image, to_square
from poxscan.pipelines.gate import (
    EmbeddingGate,
    InputGate,
    conformal_threshold,
    image_skin_shares,
    joint_thresholds,
)


@pytest.fixture(scope="module")
def paths(root, data_root) -> list[str]:
    return feature_data(root, str(data_root))[3]


@pytest.fixture(scope="module")
def photos(paths) -> list[np.ndarray]:
    return [load_image(p) for p in paths[:12]]


def greyscale(photo: np.ndarray) -> np.ndarray:
    """A black-and-white print of a photo: same detail, no colour."""
    return np.repeat(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def sky_and_foliage(photo: np.ndarray) -> np.ndarray:
    """The photo's texture in the blues and greens of a landscape (hue turned by 120-180 deg)."""
    hsv = cv2.cvtColor(photo, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 75) % 180  # OpenCV hue: 0..179
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


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


def test_lesion_photos_are_mostly_skin_coloured_and_made_images_are_not(photos):
    shares = image_skin_shares(photos)
    assert np.median(shares) > 0.5 and shares.min() > 0.05, shares
    for photo in photos[:4]:
        grey = check_pixels(greyscale(photo))
        assert grey.screenable and grey.checks["skin_share"] == 0.0  # no chroma at all
        other = check_pixels(sky_and_foliage(photo))
        assert other.screenable and other.checks["skin_share"] < 0.05, other.checks


def test_joint_thresholds_refuse_a_conformal_share_of_real_photos_by_either_score():
    rng = np.random.default_rng(0)
    n, rate = 999, 0.02
    scores, shares = rng.normal(size=n), rng.uniform(size=n)  # independent: the worst case
    t_dist, t_skin = joint_thresholds(scores, shares, rate)
    refused = (scores > t_dist) | (shares < t_skin)
    assert 0 < refused.sum() <= rate * (n + 1)  # a conformal count of the calibration
    assert (scores > t_dist).any() and (shares < t_skin).any()  # both scores refuse some
    assert refused[np.argmax(scores)] and refused[np.argmin(shares)]
    # Two separate thresholds at the same rate would refuse about twice as many.
    separate = (scores > conformal_threshold(scores, rate)) | (
        -shares > conformal_threshold(-shares, rate)
    )
    assert separate.sum() > 1.5 * refused.sum()
    # New photos from the same distributions: about `rate` refused.
    new_s, new_k = rng.normal(size=50_000), rng.uniform(size=50_000)
    new_refused = np.mean((new_s > t_dist) | (new_k < t_skin))
    assert 0.5 * rate < new_refused < 1.5 * rate, new_refused


@pytest.mark.deep
def test_the_gate_refuses_a_photo_without_skin_colours_as_not_skin(root, data_root, photos):
    from poxscan.features.cache import load_feature_table

    # Real Lite0 embeddings of the subset's photos (the deep family, through the cache).
    ws = workspace(root)
    records = subset_records(ws, Path(data_root))
    E = load_feature_table(records, ["deep"], cache=ws["cache"], progress=False).to_numpy()
    groups = feature_data(root, str(data_root))[2]
    shares = image_skin_shares([load_image(p) for p in records["path"]])
    fitted = EmbeddingGate().fit(E[12:], groups[12:], skin_shares=shares[12:])
    assert 0 < fitted.skin_threshold_ < np.median(shares)
    gate = InputGate(fitted)
    # A held-out lesion photo passes; the same photo (same embedding) in black and white or in
    # sky-and-foliage colours is refused by its skin share alone.
    accepted = 0
    for i, photo in enumerate(photos[:6]):
        here = gate.check_embedding(E[i], check_pixels(photo).checks)
        if not here.screenable:
            continue  # the distance refused it (about 1 %): the skin share is not at stake
        accepted += 1
        assert here.checks["skin_share"] >= here.checks["skin_threshold"]
        for made in (greyscale(photo), sky_and_foliage(photo)):
            verdict = gate.check_embedding(E[i], check_pixels(made).checks)
            assert not verdict.screenable and verdict.code == "not_skin"
            assert verdict.checks["distance"] <= verdict.checks["distance_threshold"]
            assert verdict.checks["skin_share"] < verdict.checks["skin_threshold"]
    assert accepted >= 4
    with pytest.raises(ValueError, match="skin"):
        gate.check_embedding(E[0], {})  # without the pixel statistics it cannot decide


def shuffled(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """The photo's own pixels in random places: its colours (skin's), none of its structure."""
    flat = photo.reshape(-1, 3).copy()
    np.random.default_rng(seed).shuffle(flat)
    return flat.reshape(photo.shape)


def test_pixel_noise_in_skin_colours_is_refused_as_not_skin(photos):
    for i, photo in enumerate(photos[:4]):
        lesion = check_pixels(photo)
        assert lesion.screenable and lesion.checks["neighbour_correlation"] > 0.5
        noise = check_pixels(shuffled(photo, i))
        assert not noise.screenable and noise.code == "not_skin", noise.checks
        assert noise.checks["neighbour_correlation"] < 0.35
        # Same colours as the lesion photo: refused for its structure, not for its colour.
        assert noise.checks["skin_share"] == pytest.approx(lesion.checks["skin_share"], abs=0.1)
