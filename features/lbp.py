"""Rotation-invariant uniform local binary patterns, as skimage's, with OpenCV array operations.

:func:`uniform_lbp` is ``skimage.feature.local_binary_pattern(grey, P, R, method="uniform")``
by the same definition (neighbours on the circle placed and rounded as skimage places them,
bilinear interpolation with zeros outside the image, a neighbour counts when it is >= the
centre, "uniform" = at most two 0/1 changes along the P neighbours, without wrapping around),
computed for all pixels at once in float32: about 7 times faster than skimage. A neighbour that
equals the centre in exact arithmetic counts as >= (``_TIE``), whereas skimage's float64
round-off decides such ties either way; that is the only difference (measured in
:mod:`poxscan.features.texture`'s docstring and tested in ``tests/test_handcrafted_features.py``).

How. Every neighbour is a horizontal interpolation (a "line", shared by the neighbours k and
P - k, which lie in the same column) and then a vertical one, each one :func:`cv2.addWeighted`
call, compared with the centre by :func:`cv2.compare` (0 or 255); a neighbour on a whole pixel
is compared in uint8. The calls of each (image size, P, R) are bound once per thread
(:class:`_LBPPlan`): finding offsets, arrays and views again for each neighbour of each image
cost almost as much as the arithmetic. They run grouped by line, each line consumed while it
is still in cache, and the bits are counted afterwards by three numpy passes over all of them
(:meth:`_LBPPlan.count`). The plans of one call share one workspace (:class:`_Workspace`: the
padded image, the threshold, the buffers), filled once per image, so that the histograms of
several (P, R) cost little more memory than the largest. The floating-point operations are
texture version 2's, so every bit is v2's.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["lbp_histograms", "uniform_lbp", "uniform_lbp_histogram"]

#: A neighbour within this of the centre counts as equal (float32 interpolation round-off is
#: below 1e-4 on 8-bit values; a real difference of two weights on integers is far above).
_TIE = np.float32(1e-4)


class _Workspace:
    """The arrays the plans of one (h, w) image share: the padded image in float32 (zero
    border) and uint8, the threshold (centre - ``_TIE``), one line and one value buffer, the
    neighbours' bits and their changes (``capacity`` planes), and the two counts."""

    def __init__(self, h: int, w: int, pad: int, capacity: int) -> None:
        self.h, self.w, self.pad = h, w, pad
        shape = (h + 2 * pad, w + 2 * pad)
        self.padded = np.zeros(shape, np.float32)  # the border stays zero
        self.interior = self.padded[pad : pad + h, pad : pad + w]
        self.padded8 = np.zeros(shape, np.uint8)  # the same pixels, for whole-pixel offsets
        self.interior8 = self.padded8[pad : pad + h, pad : pad + w]
        self.threshold = np.empty((h, w), np.float32)
        self.line = np.empty((shape[0], w), np.float32)
        self.value = np.empty((h, w), np.float32)
        self.bits = np.empty((capacity, h, w), np.uint8)
        self.ones = np.empty((h, w), np.uint8)
        self.changes = np.empty((h, w), np.uint8)

    def fill(self, grey: np.ndarray) -> None:
        self.interior[...] = grey
        self.interior8[...] = grey
        np.subtract(self.interior, _TIE, out=self.threshold)


class _LBPPlan:
    """The OpenCV calls of one (P, R) on a workspace, in the order they run."""

    def __init__(self, ws: _Workspace, points: int, radius: float) -> None:
        h, w, pad = ws.h, ws.w, ws.pad
        self.ws = ws
        self.masks = ws.bits[:points]
        self.differs = ws.bits[points : 2 * points - 1]
        angles = 2 * np.pi * np.arange(points) / points
        # skimage's neighbour offsets (rows down, columns right), rounded as it rounds them.
        rows = np.round(-radius * np.sin(angles), 5)
        cols = np.round(radius * np.cos(angles), 5)
        groups: dict[tuple[int, float], list[tuple[int, int, float]]] = {}
        for k in range(points):
            r0, c0 = math.floor(rows[k]), math.floor(cols[k])
            fc = float(cols[k] - c0)
            groups.setdefault((c0, fc), []).append((k, r0, float(rows[k] - r0)))
        add, compare, ge = cv2.addWeighted, cv2.compare, cv2.CMP_GE
        threshold, value = ws.threshold, ws.value
        #: (function, arguments): v2's float32 operations, so v2's bits.
        self.calls: list[tuple] = []
        for (c0, fc), members in groups.items():
            left = ws.padded[:, pad + c0 : pad + c0 + w]
            if fc == 0:
                across = left
            else:
                right = ws.padded[:, pad + c0 + 1 : pad + c0 + 1 + w]
                self.calls.append((add, (left, 1 - fc, right, fc, 0, ws.line)))
                across = ws.line
            for k, r0, fr in members:
                top = across[pad + r0 : pad + r0 + h]
                if fr != 0:
                    bottom = across[pad + r0 + 1 : pad + r0 + 1 + h]
                    self.calls.append((add, (top, 1 - fr, bottom, fr, 0, value)))
                    self.calls.append((compare, (value, threshold, ge, self.masks[k])))
                elif fc != 0:
                    self.calls.append((compare, (top, threshold, ge, self.masks[k])))
                else:
                    # A whole pixel: for integers, v >= c - 1e-4 (float32) is v >= c (uint8).
                    pixel = ws.padded8[pad + r0 : pad + r0 + h, pad + c0 : pad + c0 + w]
                    self.calls.append((compare, (pixel, ws.interior8, ge, self.masks[k])))

    def count(self) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel of the image last filled in: neighbours >= the centre, and 0/1 changes
        along the P neighbours; the workspace's uint8 arrays (valid until its next use)."""
        for function, args in self.calls:
            function(*args)
        ws, masks = self.ws, self.masks
        # Masks are 0 or 255 (-1 mod 256): 8-bit sums count minus the set bits (P <= 127).
        np.add.reduce(masks, axis=0, dtype=np.uint8, out=ws.ones)
        np.negative(ws.ones, out=ws.ones)
        # 0/1 changes along the P neighbours (no wrap-around, as skimage counts).
        np.bitwise_xor(masks[1:], masks[:-1], out=self.differs)
        np.add.reduce(self.differs, axis=0, dtype=np.uint8, out=ws.changes)
        np.negative(ws.changes, out=ws.changes)
        return ws.ones, ws.changes


#: Per thread: workspaces and plans, a few at a time.
_STATE = threading.local()
_MAX_WORKSPACES = 4


def _plans(
    shape: tuple[int, int], pairs: Sequence[tuple[int, float]]
) -> tuple[_Workspace, list[_LBPPlan]]:
    """This thread's workspace for ``shape`` and these (P, R) pairs, and their plans."""
    pairs = [(int(p), float(r)) for p, r in pairs]
    for p, _ in pairs:
        if not 1 <= p <= 127:
            raise ValueError(f"LBP needs 1 <= P <= 127 neighbours (8-bit counts), got {p}")
    pad = max(math.ceil(r) + 1 for _, r in pairs)
    capacity = max(2 * p - 1 for p, _ in pairs)
    store = getattr(_STATE, "workspaces", None)
    if store is None or len(store) > _MAX_WORKSPACES:
        store = _STATE.workspaces = {}
    key = (*shape, pad, capacity)
    entry = store.get(key)
    if entry is None:
        entry = store[key] = (_Workspace(*shape, pad, capacity), {})
    ws, plans = entry
    out = []
    for pair in pairs:
        plan = plans.get(pair)
        if plan is None:
            plan = plans[pair] = _LBPPlan(ws, *pair)
        out.append(plan)
    return ws, out


def _counts(grey: np.ndarray, points: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    grey = np.asarray(grey)
    ws, (plan,) = _plans(grey.shape, [(points, radius)])
    ws.fill(grey)
    return plan.count()


def uniform_lbp(grey: np.ndarray, points: int, radius: float) -> np.ndarray:
    """Rotation-invariant uniform LBP codes (0 ... P + 1) of an 8-bit grey image.

    As ``skimage.feature.local_binary_pattern(grey, points, radius, method="uniform")``, up to
    ties (see the module docstring).

    Parameters
    ----------
    grey : ndarray of uint8, shape (h, w)
    points, radius : int, float
        P neighbours on a circle of radius R (P <= 127).

    Returns
    -------
    ndarray of uint8, shape (h, w)
    """
    ones, changes = _counts(grey, points, radius)
    return np.where(changes <= 2, ones, np.uint8(int(points) + 1))


def _histogram(ones: np.ndarray, changes: np.ndarray, points: int) -> np.ndarray:
    # changes > 2 -> 255 (non-uniform), else 0; the max puts non-uniform pixels in bin 255.
    cv2.compare(changes, 2, cv2.CMP_GT, dst=changes)
    cv2.max(ones, changes, dst=ones)
    hist = cv2.calcHist([ones], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    return np.concatenate([hist[: points + 1], hist[255:]])


def uniform_lbp_histogram(grey: np.ndarray, points: int, radius: float) -> np.ndarray:
    """Counts of the codes of :func:`uniform_lbp` (``bincount(codes, minlength=P + 2)``).

    Counted by :func:`cv2.calcHist` on the ones with non-uniform pixels set to 255, without
    forming the codes.

    Parameters
    ----------
    grey : ndarray of uint8, shape (h, w)
    points, radius : int, float

    Returns
    -------
    ndarray of float64, shape (P + 2,)
    """
    return lbp_histograms(grey, [(points, radius)])[0]


def lbp_histograms(grey: np.ndarray, pairs: Sequence[tuple[int, float]]) -> list[np.ndarray]:
    """:func:`uniform_lbp_histogram` of every (P, R) in ``pairs``, the image padded once.

    Parameters
    ----------
    grey : ndarray of uint8, shape (h, w)
    pairs : sequence of (int, float)
        ``(P, R)``: P neighbours (at most 127) on a circle of radius R.

    Returns
    -------
    list of ndarray of float64, shapes (P + 2,)
    """
    grey = np.asarray(grey)
    ws, plans = _plans(grey.shape, pairs)
    ws.fill(grey)
    return [_histogram(*plan.count(), int(p)) for plan, (p, _) in zip(plans, pairs, strict=True)]
