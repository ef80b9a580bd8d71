"""Decisions that do not depend on a turn or a mirror: the eight-view deep TTA."""

from __future__ import annotations

import numpy as np
import pytest

from poxscan.core.imageio import to_square
from poxscan.features.deep import DeepFeatures

pytestmark = [pytest.mark.deep, pytest.mark.slow]


def test_eight_view_tta_is_invariant_to_turns_and_mirrors(real_images):
    img = to_square(real_images[1], 224)  # square input: turns and mirrors are exact
    views = [img, np.rot90(img), np.rot90(img, 2), img[:, ::-1], img[::-1], img.transpose(1, 0, 2)]
    views = [np.ascontiguousarray(v) for v in views]
    d4 = DeepFeatures(tta=8).fit(views[:1])
    plain = DeepFeatures().fit(views[:1])
    feats = d4.transform(views)
    for f in feats[1:]:
        np.testing.assert_allclose(f, feats[0], rtol=1e-4, atol=1e-4)
    # Without TTA a turn moves the embedding: the invariance comes from the eight views.
    raw = plain.transform(views[:2])
    assert np.abs(raw[0] - raw[1]).max() > 1e-2
    # And the eight-view mean is the mean of the plain embeddings of the eight symmetries.
    turns = [np.ascontiguousarray(np.rot90(img, k)) for k in range(4)]
    eight = turns + [np.ascontiguousarray(t[:, ::-1]) for t in turns]
    np.testing.assert_allclose(feats[0], plain.transform(eight).mean(axis=0), rtol=1e-4, atol=1e-4)
    assert d4.fingerprint() not in (plain.fingerprint(), DeepFeatures(tta=2).fingerprint())
