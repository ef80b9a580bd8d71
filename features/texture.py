"""Texture features: grey-level co-occurrence (Haralick) statistics and uniform LBP histograms.

Vesicles, pustules, crusts and umbilicated centres give lesions textures that colour alone
misses. Each image is fitted to ``image_size`` with :func:`poxscan.features._base.reduced_square`
(:func:`poxscan.core.imageio.to_square`'s square; a photo whose shorter side is at least four
times ``image_size`` is first halved by 2 x 2 means, within half a grey level of to_square's
pixels on average: version 3, v2 used to_square itself) and converted to grey (ITU-R BT.601
luma, as OpenCV does).

- **GLCM**: the grey image is quantised to ``levels`` levels and a symmetric, normalised
  co-occurrence matrix is built for every distance in ``distances`` and angle in ``angles``
  (degrees). For each Haralick property in ``props`` and each distance the extractor reports
  the mean over the angles and their range (max - min): the mean is rotation-robust, the range
  says how directional the texture is.
- **LBP**: for every ``(P, R)`` in ``lbp``, rotation-invariant uniform local binary patterns
  (``method="uniform"``, P + 2 codes) on the 8-bit grey image, as a normalised histogram.

Speed. The co-occurrence matrices are :func:`skimage.feature.graycomatrix`'s, counted by
:func:`cv2.calcHist` (:func:`cooccurrence`, about 1 ms); the Haralick properties are
:func:`skimage.feature.graycoprops`' (:func:`glcm_properties`). The LBP codes are computed
by :func:`uniform_lbp`, not by :func:`skimage.feature.local_binary_pattern` (about 7 times
slower): the same definition (neighbours on the circle placed and rounded as skimage places
them, bilinear interpolation with zeros outside the image, a neighbour counts when it is >= the
centre, "uniform" = at most two 0/1 changes along the P neighbours), computed separably in
float32 for all pixels at once.
The bits are counted with saturating 8-bit OpenCV arithmetic (ones and changes per pixel,
P <= 127) and the histogram is taken by :func:`cv2.calcHist` (:func:`uniform_lbp_histogram`)
without forming the codes, the arrays and calls of each (size, P, R) bound once per thread
(:class:`_LBPPlan`): the same bits as v2's numpy version, so on the same square the same
features (max abs difference 0 on the 376 shared images whose square did not change), in
about 60 % of its time. A neighbour that equals the centre in exact arithmetic counts as >=,
whereas skimage's float64 round-off decides such ties either way; that is the only difference.
Measured on all 409 shared images (``experiments/bench_handcrafted.py``): every LBP bin
within 2e-5 of skimage's for (8, 1) (one pixel in one image), 1.1e-3 for (16, 2) and 2.4e-4 for
(24, 3) (about 0.2 % and 0.02 % of pixels get another code); GLCM features identical. Those
bins move by more than the feature cache's own consistency check allows (1e-4), so the version
was 2 (v1 used skimage's LBP); it is 3 since the square of large photos changed (above): each
time its fingerprint changed, cached texture features are recomputed, and a model trained on
older texture features is refused until it is retrained.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence

import cv2
import numpy as np

from poxscan.features._base import ImageFeatureExtractor, reduced_square

__all__ = [
    "GLCM_PROPS",
    "TextureFeatures",
    "cooccurrence",
    "glcm_properties",
    "uniform_lbp",
    "uniform_lbp_histogram",
]

#: A neighbour within this of the centre counts as equal (float32 interpolation round-off is
#: below 1e-4 on 8-bit values; a real difference of two weights on integers is far above).
_TIE = np.float32(1e-4)

#: Properties :func:`skimage.feature.graycoprops` knows.
GLCM_PROPS = frozenset(
    {
        "contrast",
        "dissimilarity",
        "homogeneity",
        "energy",
        "correlation",
        "ASM",
        "mean",
        "variance",
        "std",
        "entropy",
    }
)


class _LBPPlan:
    """The arrays and the OpenCV calls of :func:`_lbp_counts` for one (h, w, P, R), bound once.

    On a 224 px image the arithmetic of one neighbour takes about 20 us; finding offsets,
    scratch arrays and views again for each neighbour of each image cost almost as much. The
    calls run grouped by horizontal interpolation (the neighbours k and P - k share one), each
    line consumed while it is still in cache; every neighbour's comparison is kept (``masks``)
    and the bits are counted afterwards in a few numpy passes over all of them.
    """

    def __init__(self, h: int, w: int, points: int, radius: float) -> None:
        pad = math.ceil(radius) + 1
        shape = (h + 2 * pad, w + 2 * pad)
        self.padded = np.zeros(shape, np.float32)  # border stays zero
        self.interior = self.padded[pad : pad + h, pad : pad + w]
        self.padded8 = np.zeros(shape, np.uint8)  # the same pixels, for whole-pixel offsets
        self.interior8 = self.padded8[pad : pad + h, pad : pad + w]
        self.threshold = np.empty((h, w), np.float32)
        line = np.empty((shape[0], w), np.float32)
        value = np.empty((h, w), np.float32)
        self.masks = np.empty((points, h, w), np.uint8)
        self.differs = np.empty((points - 1, h, w), np.uint8)
        self.ones = np.empty((h, w), np.uint8)
        self.changes = np.empty((h, w), np.uint8)
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
        #: (function, arguments) in the order they run: v3's float32 operations, the same bits.
        self.calls: list[tuple] = []
        for (c0, fc), members in groups.items():
            left = self.padded[:, pad + c0 : pad + c0 + w]
            if fc == 0:
                across = left
            else:
                right = self.padded[:, pad + c0 + 1 : pad + c0 + 1 + w]
                self.calls.append((add, (left, 1 - fc, right, fc, 0, line)))
                across = line
            for k, r0, fr in members:
                top = across[pad + r0 : pad + r0 + h]
                if fr != 0:
                    bottom = across[pad + r0 + 1 : pad + r0 + 1 + h]
                    self.calls.append((add, (top, 1 - fr, bottom, fr, 0, value)))
                    self.calls.append((compare, (value, self.threshold, ge, self.masks[k])))
                elif fc != 0:
                    self.calls.append((compare, (top, self.threshold, ge, self.masks[k])))
                else:
                    # A whole pixel: for integers, v >= c - 1e-4 (float32) is v >= c (uint8).
                    pixel = self.padded8[pad + r0 : pad + r0 + h, pad + c0 : pad + c0 + w]
                    self.calls.append((compare, (pixel, self.interior8, ge, self.masks[k])))

    def run(self, grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.interior[...] = grey
        self.interior8[...] = grey
        np.subtract(self.interior, _TIE, out=self.threshold)
        for function, args in self.calls:
            function(*args)
        masks = self.masks
        # Masks are 0 or 255 (-1 mod 256): 8-bit sums count minus the set bits (P <= 127).
        np.add.reduce(masks, axis=0, dtype=np.uint8, out=self.ones)
        np.negative(self.ones, out=self.ones)
        # 0/1 changes along the P neighbours (no wrap-around, as skimage counts).
        np.bitwise_xor(masks[1:], masks[:-1], out=self.differs)
        np.add.reduce(self.differs, axis=0, dtype=np.uint8, out=self.changes)
        np.negative(self.changes, out=self.changes)
        return self.ones, self.changes


#: Per thread: (h, w, P, R) -> plan, a few at a time.
_PLANS = threading.local()
_MAX_PLANS = 12


def _lbp_counts(grey: np.ndarray, points: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: neighbours >= the centre, and 0/1 changes along the P neighbours.

    Both as uint8 arrays of this thread's plan (valid until its next call). The neighbour
    values and the comparisons are v2's float32 operations, so every bit is v2's; the bits are
    counted with saturating 8-bit OpenCV arithmetic instead of numpy boolean passes:
    :func:`cv2.compare` gives 0 or 255, which is -1 as int8, so subtracting it adds one;
    :func:`cv2.bitwise_xor` of two neighbours' masks marks a change.
    """
    grey = np.asarray(grey)
    p = int(points)
    if not 1 <= p <= 127:
        raise ValueError(f"LBP needs 1 <= P <= 127 neighbours (8-bit counts), got {p}")
    plans = getattr(_PLANS, "plans", None)
    if plans is None or len(plans) > _MAX_PLANS:
        plans = _PLANS.plans = {}
    key = (*grey.shape, p, float(radius))
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = _LBPPlan(*grey.shape, p, float(radius))
    return plan.run(grey)


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
    ones, changes = _lbp_counts(grey, points, radius)
    return np.where(changes <= 2, ones, np.uint8(int(points) + 1))


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
    p = int(points)
    ones, changes = _lbp_counts(grey, p, radius)
    # changes > 2 -> 255 (non-uniform), else 0; the max puts non-uniform pixels in bin 255.
    cv2.compare(changes, 2, cv2.CMP_GT, dst=changes)
    cv2.max(ones, changes, dst=ones)
    hist = cv2.calcHist([ones], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    return np.concatenate([hist[: p + 1], hist[255:]])


def _c_round(x: float) -> int:
    """C's round (halves away from zero), which graycomatrix's Cython loop uses."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


@functools.lru_cache(maxsize=64)
def _offsets(
    distances: tuple[int, ...], angles_deg: tuple[float, ...]
) -> tuple[tuple[int, int], ...]:
    """(row, column) offset of every (distance, angle), as graycomatrix rounds them."""
    offsets: list[tuple[int, int]] = []
    for d in distances:
        for a in np.deg2rad([float(x) for x in angles_deg]):
            offsets.append((_c_round(math.sin(a) * d), _c_round(math.cos(a) * d)))
    return tuple(offsets)


def cooccurrence(
    image: np.ndarray, distances: Sequence[int], angles: Sequence[float], levels: int
) -> np.ndarray:
    """Symmetric, normalised co-occurrence matrices, as ``skimage.feature.graycomatrix``.

    ``graycomatrix(image, distances, np.deg2rad(angles), levels, symmetric=True,
    normed=True)``, its pairs counted by :func:`cv2.calcHist` over the image and its shifted
    copy (exact integer counts in float32 below 2**24 pairs), about 10 times faster.

    Parameters
    ----------
    image : ndarray of uint8, shape (h, w)
        Values below ``levels``.
    distances : sequence of int
    angles : sequence of float
        Degrees.
    levels : int

    Returns
    -------
    ndarray of float64, shape (levels, levels, len(distances), len(angles))
    """
    image = np.asarray(image, dtype=np.uint8)
    rows, cols = image.shape
    n_d, n_a = len(distances), len(angles)
    counts = np.zeros((levels, levels, n_d * n_a), dtype=np.float64)
    offsets = _offsets(tuple(int(d) for d in distances), tuple(float(a) for a in angles))
    for k, (dr, dc) in enumerate(offsets):
        r0, r1 = max(0, -dr), min(rows, rows - dr)
        c0, c1 = max(0, -dc), min(cols, cols - dc)
        if r1 <= r0 or c1 <= c0:
            continue
        first = image[r0:r1, c0:c1]
        second = image[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        counts[:, :, k] = cv2.calcHist(
            [first, second], [0, 1], None, [levels, levels], [0, levels, 0, levels]
        )
    counts += counts.transpose(1, 0, 2)
    sums = counts.sum(axis=(0, 1), keepdims=True)
    sums[sums == 0] = 1
    # Angles vary fastest in the loop above, as graycomatrix's last axis.
    return (counts / sums).reshape(levels, levels, n_d, n_a)


#: levels -> (i, j, weights of contrast, dissimilarity and homogeneity), flattened.
_GLCM_GRIDS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _glcm_grid(levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    grid = _GLCM_GRIDS.get(levels)
    if grid is None:
        i, j = np.meshgrid(np.arange(levels), np.arange(levels), indexing="ij")
        i, j = i.ravel().astype(np.float64), j.ravel().astype(np.float64)
        d = i - j
        linear = np.stack([d * d, np.abs(d), 1.0 / (1.0 + d * d)])
        grid = _GLCM_GRIDS[levels] = (i, j, linear)
    return grid


def glcm_properties(P: np.ndarray, props: Sequence[str]) -> dict[str, np.ndarray]:
    """``{prop: skimage.feature.graycoprops(P, prop)}`` for all ``props`` in one pass.

    The same formulas as skimage 0.26 (re-normalised matrices, correlation 1 where a standard
    deviation is below 1e-15, entropy over non-zero entries), sums in another order: round-off
    of about 1e-15. Sums are ``einsum``, never BLAS.

    Parameters
    ----------
    P : ndarray, shape (levels, levels, n_distances, n_angles)
    props : sequence of str
        Names in :data:`GLCM_PROPS`.

    Returns
    -------
    dict of str to ndarray of float64, shape (n_distances, n_angles)
    """
    levels, _, n_d, n_a = P.shape
    # One row per matrix (contiguous): einsum's row-by-vector loops are several times faster
    # than its generic (k, n) path on these small arrays.
    P = np.ascontiguousarray(P.astype(np.float64).reshape(levels * levels, n_d * n_a).T)
    sums = P.sum(axis=1, keepdims=True)
    sums[sums == 0] = 1
    P = P / sums
    i, j, linear = _glcm_grid(levels)

    def weighted(w: np.ndarray) -> np.ndarray:
        return np.einsum("nk,k->n", P, w)

    out: dict[str, np.ndarray] = {}
    mean_i = mean_j = None
    for prop in props:
        if prop in ("contrast", "dissimilarity", "homogeneity"):
            value = weighted(linear[("contrast", "dissimilarity", "homogeneity").index(prop)])
        elif prop in ("ASM", "energy"):
            value = np.einsum("nk,nk->n", P, P)
            value = np.sqrt(value) if prop == "energy" else value
        elif prop == "entropy":
            logs = np.log(P, where=P != 0, out=np.zeros_like(P))
            value = -np.einsum("nk,nk->n", P, logs)
        else:  # mean, variance, std, correlation
            if mean_i is None:
                mean_i, mean_j = weighted(i), weighted(j)
            di = i[None, :] - mean_i[:, None]
            if prop == "mean":
                value = mean_i
            elif prop in ("variance", "std"):
                value = np.einsum("nk,nk->n", P, di * di)
                value = np.sqrt(value) if prop == "std" else value
            else:
                dj = j[None, :] - mean_j[:, None]
                std_i = np.sqrt(np.einsum("nk,nk->n", P, di * di))
                std_j = np.sqrt(np.einsum("nk,nk->n", P, dj * dj))
                cov = np.einsum("nk,nk->n", P, di * dj)
                flat = (std_i < 1e-15) | (std_j < 1e-15)
                value = np.ones_like(cov)
                value[~flat] = cov[~flat] / (std_i[~flat] * std_j[~flat])
        out[prop] = np.asarray(value, dtype=np.float64).reshape(n_d, n_a)
    return out


class TextureFeatures(ImageFeatureExtractor):
    """GLCM (Haralick) statistics over distances and angles plus uniform LBP histograms.

    Parameters
    ----------
    image_size : int, default=224
        Side of the square the texture is measured on.
    levels : int, default=32
        Grey levels of the quantised image the co-occurrence matrices count (2 to 256).
    distances : sequence of int, default=(1, 2, 4)
        Pixel offsets of the co-occurrence matrices.
    angles : sequence of float, default=(0, 45, 90, 135)
        Offset directions in degrees; mean and range are taken over them.
    props : sequence of str, default=("contrast", "dissimilarity", "homogeneity", "energy",
        "correlation", "entropy")
        Haralick properties (see :data:`GLCM_PROPS`).
    lbp : sequence of (int, float), default=((8, 1), (16, 2), (24, 3))
        ``(P, R)`` pairs: P neighbours on a circle of radius R.
    color_constancy : {None, "shades_of_gray", "shades_of_gray:<p>"}, default=None
        Correct each image's colour cast first (:mod:`poxscan.features.color_constancy`).

    Examples
    --------
    >>> import numpy as np
    >>> ext = TextureFeatures(image_size=64).fit([np.zeros((8, 8, 3), np.uint8)])
    >>> ext.n_features_out_
    90
    """

    family = "texture"
    # 2: uniform_lbp instead of skimage's local_binary_pattern (ties decided exactly).
    # 3: the reduced square (_base.reduced_square) instead of to_square's for large photos.
    version = "3"

    def __init__(
        self,
        image_size: int = 224,
        levels: int = 32,
        distances: Sequence[int] = (1, 2, 4),
        angles: Sequence[float] = (0, 45, 90, 135),
        props: Sequence[str] = (
            "contrast",
            "dissimilarity",
            "homogeneity",
            "energy",
            "correlation",
            "entropy",
        ),
        lbp: Sequence[tuple[int, float]] = ((8, 1), (16, 2), (24, 3)),
        color_constancy: str | None = None,
    ) -> None:
        self.image_size = image_size
        self.levels = levels
        self.distances = distances
        self.angles = angles
        self.props = props
        self.lbp = lbp
        self.color_constancy = color_constancy

    def _check_params(self) -> None:
        if not 2 <= int(self.levels) <= 256:
            raise ValueError(f"levels must be between 2 and 256, got {self.levels}")
        if int(self.image_size) < 8:
            raise ValueError(f"image_size must be at least 8, got {self.image_size}")
        if not self.distances or any(int(d) < 1 for d in self.distances):
            raise ValueError(f"distances must be positive integers, got {self.distances}")
        if not self.angles:
            raise ValueError("angles must not be empty")
        unknown = set(self.props) - GLCM_PROPS
        if unknown:
            raise ValueError(f"unknown GLCM properties {sorted(unknown)}; see {sorted(GLCM_PROPS)}")
        for pair in self.lbp:
            if len(pair) != 2 or not 1 <= int(pair[0]) <= 127 or float(pair[1]) <= 0:
                raise ValueError(f"lbp entries must be (1 <= P <= 127, R > 0) pairs, got {pair!r}")

    def _feature_names(self) -> list[str]:
        self._check_params()
        names = []
        for prop in self.props:
            for d in self.distances:
                names += [f"glcm_{prop}_d{int(d)}_mean", f"glcm_{prop}_d{int(d)}_range"]
        for p, r in self.lbp:
            tag = f"lbp_p{int(p)}_r{float(r):g}"
            names += [f"{tag}_bin{k:02d}" for k in range(int(p) + 2)]
        return names

    def _transform_one(self, image: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(reduced_square(image, int(self.image_size)), cv2.COLOR_RGB2GRAY)
        levels = int(self.levels)
        # Equal-width quantisation keeps the grey scale absolute (no per-image stretching).
        lut = (np.arange(256, dtype=np.uint16) * levels // 256).astype(np.uint8)
        quantised = cv2.LUT(grey, lut)
        glcm = cooccurrence(quantised, self.distances, self.angles, levels)
        values_by_prop = glcm_properties(glcm, self.props)
        # Correlation of a flat patch is 0/0, defined as 1 (as skimage); nan_to_num guards any
        # other degenerate case. Per property and distance: mean and range over the angles.
        values = np.nan_to_num(
            np.stack([values_by_prop[prop] for prop in self.props]), nan=0.0, posinf=0.0, neginf=0.0
        )
        spread = values.max(axis=-1) - values.min(axis=-1)
        out = [np.stack([values.mean(axis=-1), spread], axis=-1).ravel()]
        for p, r in self.lbp:
            out.append(uniform_lbp_histogram(grey, int(p), float(r)) / grey.size)
        return np.concatenate(out).astype(np.float32)
