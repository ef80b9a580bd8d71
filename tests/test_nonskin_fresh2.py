"""The fresh2 non-skin set (``experiments/nonskin_fresh2.py``): deterministic, new kinds only,
every image RGB uint8 with both sides in [224, 640]. Nothing here runs the gate on it."""

from __future__ import annotations

import numpy as np
import pytest
from _experiments import load_experiment

# The sibling module the set imports (experiments/ goes on sys.path first, as for a script).
fresh2_module = load_experiment("nonskin_fresh2")
nonskin = load_experiment("nonskin")
FRESH2_KINDS, MAX_SIDE, MIN_SIDE = (
    fresh2_module.FRESH2_KINDS,
    fresh2_module.MAX_SIDE,
    fresh2_module.MIN_SIDE,
)
build_fresh2_set = fresh2_module.build_fresh2_set


@pytest.fixture(scope="module")
def fresh2():
    return build_fresh2_set()


def test_deterministic(fresh2):
    # Each kind has its own random stream, so rebuilding three kinds (a cheaper check than the
    # whole set) must give the same images as the full build.
    kinds = FRESH2_KINDS[::5]
    again = build_fresh2_set(kinds=kinds)
    first = [i for i in fresh2 if i.kind in kinds]
    assert len(first) == 16 * len(kinds)
    assert [(i.kind, i.name) for i in first] == [(i.kind, i.name) for i in again]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    other = build_fresh2_set(seed=7, kinds=kinds[:1])
    assert not np.array_equal(other[0].image, first[0].image)
    with pytest.raises(ValueError, match="unknown fresh2 kinds"):
        build_fresh2_set(kinds=["no such kind"])


def test_kinds_and_counts(fresh2):
    assert len(FRESH2_KINDS) >= 10 and len(set(FRESH2_KINDS)) == len(FRESH2_KINDS)
    assert len(fresh2) >= 160
    assert {i.kind for i in fresh2} == set(FRESH2_KINDS)
    for kind in FRESH2_KINDS:
        assert sum(i.kind == kind for i in fresh2) == 16
    old = set(nonskin.DEV_KINDS) | set(nonskin.HELD_OUT_KINDS) | set(nonskin.FRESH_KINDS)
    assert not old & set(FRESH2_KINDS)
    assert len({(i.kind, i.name) for i in fresh2}) == len(fresh2)


def test_images_rgb_uint8_in_size_range(fresh2):
    for item in fresh2:
        x = item.image
        assert x.dtype == np.uint8 and x.ndim == 3 and x.shape[2] == 3, item.name
        assert MIN_SIDE <= min(x.shape[:2]) and max(x.shape[:2]) <= MAX_SIDE, item.name
        assert not item.held_out and item.fresh
