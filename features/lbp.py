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
is still in cache (k = 0, then 1 and P - 1, 2 and P - 2, ...), and each mask is counted as
soon as it is made, with saturating 8-bit OpenCV arithmetic: :func:`cv2.subtract` of the mask
(-1 as int8) adds one to the ones, and :func:`cv2.bitwise_xor` with a neighbour's mask made
before marks a change; a mask's plane is reused once both its neighbours along the circle are
counted (:func:`_slots`: two planes in that order instead of P). The plans of one call share
one workspace (:class:`_Workspace`: the padded image, the threshold, the buffers), filled
once per image: 1.2 MB for (8, 1), (16, 2) and (24, 3) at 224 px instead of 6.3 MB with
arrays and every line kept per plan (texture v3). The floating-point operations are texture
version 2's, so every bit is v2's.
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
    planes of the neighbours' masks, and the two counts."""

    def __init__(self, h: int, w: int, pad: int) -> None:
        self.h, self.w, self.pad = h, w, pad
        shape = (h + 2 * pad, w + 2 * pad)
        self.padded = np.zeros(shape, np.float32)  # the border stays zero
        self.interior = self.padded[pad : pad + h, pad : pad + w]
        self.padded8 = np.zeros(shape, np.uint8)  # the same pixels, for whole-pixel offsets
        self.interior8 = self.padded8[pad : pad + h, pad : pad + w]
        self.threshold = np.empty((h, w), np.float32)
        self.line = np.empty((shape[0], w), np.float32)
        self.value = np.empty((h, w), np.float32)
        self.bits = np.empty((0, h, w), np.uint8)
        self.ones = np.empty((h, w), np.uint8)
        self.changes = np.empty((h, w), np.uint8)

    def planes(self, n: int) -> np.ndarray:
        """At least ``n`` uint8 planes (h, w); a plan keeps the array it was given."""
        if len(self.bits) < n:
            self.bits = np.empty((n, self.h, self.w), np.uint8)
        return self.bits

    def fill(self, grey: np.ndarray) -> None:
        self.interior[...] = grey
        self.interior8[...] = grey
        np.subtract(self.interior, _TIE, out=self.threshold)


class _LBPPlan:
    """The OpenCV calls of one (P, R) on a workspace, in the order they run."""

    def __init__(self, ws: _Workspace, points: int, radius: float) -> None:
        h, w, pad = ws.h, ws.w, ws.pad
        self.ws = ws
        angles = 2 * np.pi * np.arange(points) / points
        # skimage's neighbour offsets (rows down, columns right), rounded as it rounds them.
        rows = np.round(-radius * np.sin(angles), 5)
        cols = np.round(radius * np.cos(angles), 5)
        groups: dict[tuple[int, float], list[tuple[int, int, float]]] = {}
        for k in range(points):
            r0, c0 = math.floor(rows[k]), math.floor(cols[k])
            fc = float(cols[k] - c0)
            groups.setdefault((c0, fc), []).append((k, r0, float(rows[k] - r0)))
        order = [k for members in groups.values() for k, _, _ in members]
        slot, planes = _slots(order, points)
        bits = ws.planes(planes + 1)
        masks = [bits[slot[k]] for k in range(points)]
        differ = bits[planes]
        add, compare, ge = cv2.addWeighted, cv2.compare, cv2.CMP_GE
        subtract, xor = cv2.subtract, cv2.bitwise_xor
        ones, changes = ws.ones.view(np.int8), ws.changes.view(np.int8)
        threshold, value = ws.threshold, ws.value
        done: set[int] = set()
        #: (function, arguments): v2's float32 operations, so v2's bits; then the counts.
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
                    self.calls.append((compare, (value, threshold, ge, masks[k])))
                elif fc != 0:
                    self.calls.append((compare, (top, threshold, ge, masks[k])))
                else:
                    # A whole pixel: for integers, v >= c - 1e-4 (float32) is v >= c (uint8).
                    pixel = ws.padded8[pad + r0 : pad + r0 + h, pad + c0 : pad + c0 + w]
                    self.calls.append((compare, (pixel, ws.interior8, ge, masks[k])))
                # A mask is 0 or 255, -1 as int8: subtracting it counts one (P <= 127).
                self.calls.append((subtract, (ones, masks[k].view(np.int8), ones)))
                # 0/1 changes along the P neighbours (no wrap-around, as skimage counts).
                for j in (k - 1, k + 1):
                    if j in done:
                        self.calls.append((xor, (masks[k], masks[j], differ)))
                        self.calls.append((subtract, (changes, differ.view(np.int8), changes)))
                done.add(k)

    def count(self) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel of the image last filled in: neighbours >= the centre, and 0/1 changes
        along the P neighbours; the workspace's uint8 arrays (valid until its next use)."""
        self.ws.ones[...] = 0
        self.ws.changes[...] = 0
        for function, args in self.calls:
            function(*args)
        return self.ws.ones, self.ws.changes


def _slots(order: list[int], points: int) -> tuple[dict[int, int], int]:
    """A plane for each neighbour's mask, in the order they are made (``order``), freed once
    both of its neighbours along the circle (k - 1 and k + 1) have been compared with it: the
    plane of each k, and how many planes."""
    slot: dict[int, int] = {}
    free: list[int] = []
    done: set[int] = set()
    released: set[int] = set()
    planes = 0
    for k in order:
        if free:
            slot[k] = free.pop()
        else:
            slot[k], planes = planes, planes + 1
        done.add(k)
        for j in (k - 1, k, k + 1):
            if j in done and j not in released:
                if all(i in done for i in (j - 1, j + 1) if 0 <= i < points):
                    released.add(j)
                    free.append(slot[j])
    return slot, planes


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
    store = getattr(_STATE, "workspaces", None)
    if store is None or len(store) > _MAX_WORKSPACES:
        store = _STATE.workspaces = {}
    key = (*shape, pad)
    entry = store.get(key)
    if entry is None:
        entry = store[key] = (_Workspace(*shape, pad), {})
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
