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

Speed. The co-occurrence matrices are :func:`skimage.feature.graycomatrix`'s, their pairs
counted by :func:`cv2.calcHist` (:func:`cooccurrence`; in the extractor straight into one row
per (distance, angle)); the Haralick properties are :func:`skimage.feature.graycoprops`'
(:func:`glcm_properties`): mean, variance and correlation from the two marginals, and in the
extractor the entropy from the integer counts (``log N - sum(c log c) / N``, a table look-up
instead of a logarithm per entry), so the float64 values agree with skimage's to about 1e-15
(tested). The LBP codes are computed by :func:`uniform_lbp` (:mod:`poxscan.features.lbp`),
not by :func:`skimage.feature.local_binary_pattern` (about 7 times slower): the same
definition, computed separably in float32 for all pixels at once, the bits counted in 8-bit
arithmetic and the histogram taken by :func:`cv2.calcHist` without forming the codes. A
neighbour that equals the centre in exact arithmetic counts as >=, whereas skimage's float64
round-off decides such ties either way; that is the only difference. Measured on all 409
shared images (``experiments/bench_handcrafted.py``): every LBP bin within 2e-5 of skimage's
for (8, 1) (one pixel in one image), 1.1e-3 for (16, 2) and 2.4e-4 for (24, 3) (about 0.2 %
and 0.02 % of pixels get another code); GLCM features identical. Those bins move by more than
the feature cache's own consistency check allows (1e-4), so the version was 2 (v1 used
skimage's LBP); it is 3 since the square of large photos changed (above): each time its
fingerprint changed, cached texture features are recomputed, and a model trained on older
texture features is refused until it is retrained.

The fourth speed-up round kept version 3: the LBP runs the same float32 operations (the same
bits), only grouped and counted otherwise, and the Haralick sums are taken in another order.
Tolerance: a float64 round-off of about 1e-15 relative, which can move a float32 feature by at
most one unit in its last place; on all 409 shared images no value moved (max abs difference
0 against v3's code, ``experiments/results/bench_handcrafted.md``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import cv2
import numpy as np

from poxscan.features._base import ImageFeatureExtractor, reduced_square
from poxscan.features.lbp import lbp_histograms, uniform_lbp, uniform_lbp_histogram

__all__ = [
    "GLCM_PROPS",
    "TextureFeatures",
    "cooccurrence",
    "glcm_properties",
    "uniform_lbp",
    "uniform_lbp_histogram",
]

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


def _pair_counts(image: np.ndarray, offsets: Sequence[tuple[int, int]], levels: int) -> np.ndarray:
    """Counts of the level pairs (pixel, pixel + offset), one direction, for every offset.

    :func:`cv2.calcHist` over the image and its shifted copy: exact integer counts in float32
    (below 2**24 pairs). Returns an array of shape ``(len(offsets), levels, levels)``.
    """
    image = np.asarray(image, dtype=np.uint8)
    rows, cols = image.shape
    counts = np.zeros((len(offsets), levels, levels), dtype=np.float32)
    for k, (dr, dc) in enumerate(offsets):
        r0, r1 = max(0, -dr), min(rows, rows - dr)
        c0, c1 = max(0, -dc), min(cols, cols - dc)
        if r1 <= r0 or c1 <= c0:
            continue
        first = image[r0:r1, c0:c1]
        second = image[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        counts[k] = cv2.calcHist(
            [first, second], [0, 1], None, [levels, levels], [0, levels, 0, levels]
        )
    return counts


def _normalise(P: np.ndarray) -> np.ndarray:
    """Rows of ``P`` (float64) divided by their sums, a zero sum by one (as skimage does)."""
    sums = P.sum(axis=1, keepdims=True)
    sums[sums == 0] = 1
    return P / sums


def _symmetric_counts(counts: np.ndarray) -> np.ndarray:
    """graycomatrix's ``symmetric=True`` counts of :func:`_pair_counts`, one flattened matrix
    per row: shape ``(n_offsets, levels * levels)``, float64 (integers)."""
    n, levels, _ = counts.shape
    both = counts + counts.transpose(0, 2, 1)  # integers, exact in float32
    return both.reshape(n, levels * levels).astype(np.float64)


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
    offsets = _offsets(tuple(int(d) for d in distances), tuple(float(a) for a in angles))
    rows = _normalise(_symmetric_counts(_pair_counts(image, offsets, levels)))
    # Angles vary fastest in the offsets, as graycomatrix's last axis.
    return rows.T.reshape(levels, levels, len(distances), len(angles))


#: levels -> (levels as float64, weights of contrast, dissimilarity and homogeneity).
_GLCM_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}

_LINEAR_PROPS = ("contrast", "dissimilarity", "homogeneity")


def _glcm_grid(levels: int) -> tuple[np.ndarray, np.ndarray]:
    grid = _GLCM_GRIDS.get(levels)
    if grid is None:
        level = np.arange(levels, dtype=np.float64)
        d = (level[:, None] - level[None, :]).ravel()
        linear = np.stack([d * d, np.abs(d), 1.0 / (1.0 + d * d)])
        grid = _GLCM_GRIDS[levels] = (level, linear)
    return grid


#: k * log(k) for k = 0, 1, ..., grown as needed (entropy from integer counts), up to
#: ``_MAX_TABLE`` entries (8 MB; a 224 px image needs 2**17).
_XLOGX = np.zeros(1)
_MAX_TABLE = 1 << 20


def _count_entropy(counts: np.ndarray) -> np.ndarray:
    """``-sum(p * log(p))`` of each row's ``p = counts / counts.sum()`` over non-zero counts,
    as ``log(N) - sum(c * log(c)) / N``: a table look-up for each count (integers, below
    2**24) instead of a logarithm; the same value up to round-off (about 1e-15)."""
    global _XLOGX
    top = int(counts.max(initial=0))
    if top < _MAX_TABLE:
        table = _XLOGX
        if top >= table.size:
            k = np.arange(1 << top.bit_length(), dtype=np.float64)
            table = _XLOGX = k * np.log(np.maximum(k, 1.0))
        terms = table[counts.astype(np.intp)]
    else:  # a very large image: no table of that size
        terms = counts * np.log(np.maximum(counts, 1.0))
    total = counts.sum(axis=1)
    filled = total > 0
    out = np.zeros(len(total))
    out[filled] = np.log(total[filled]) - terms[filled].sum(axis=1) / total[filled]
    return out


def _haralick(
    P: np.ndarray, levels: int, props: Sequence[str], counts: np.ndarray | None = None
) -> np.ndarray:
    """:func:`glcm_properties` of row-major matrices ``P`` (n, levels * levels), normalised:
    one row of values per property, shape ``(len(props), n)``.

    With ``counts``, the symmetric integer counts ``P`` was normalised from (the extractor's
    case), the entropy comes from them (:func:`_count_entropy`) and the moments of the two
    marginals are taken once (a symmetric matrix's two marginals are the same).
    """
    n = P.shape[0]
    level, linear = _glcm_grid(levels)
    out = np.empty((len(props), n))
    rows = [row for row, prop in enumerate(props) if prop in _LINEAR_PROPS]
    if rows:
        weights = linear[[_LINEAR_PROPS.index(props[row]) for row in rows]]
        out[rows] = np.einsum("nk,mk->mn", P, weights)
    asm = moments = None
    for row, prop in enumerate(props):
        if prop in _LINEAR_PROPS:
            continue
        if prop in ("ASM", "energy"):
            asm = np.einsum("nk,nk->n", P, P) if asm is None else asm
            out[row] = np.sqrt(asm) if prop == "energy" else asm
        elif prop == "entropy" and counts is not None:
            out[row] = _count_entropy(counts)
        elif prop == "entropy":
            # log(1) = 0 where P is 0: skimage's sum over the non-zero entries.
            out[row] = -np.einsum("nk,nk->n", P, np.log(P + (P == 0)))
        else:  # mean, variance, std, correlation: moments of the two marginals
            if moments is None:
                moments = _marginal_moments(P.reshape(n, levels, levels), level, counts is not None)
            square, mean_i, d_i, var_i, d_j, var_j = moments
            if prop == "mean":
                out[row] = mean_i
            elif prop == "variance":
                out[row] = var_i
            elif prop == "std":
                out[row] = np.sqrt(var_i)
            else:
                cov = np.einsum("ni,ni->n", np.einsum("nij,nj->ni", square, d_j), d_i)
                scale = np.sqrt(var_i * var_j)
                # skimage: 1 where a standard deviation is below 1e-15.
                flat = (var_i < 1e-30) | (var_j < 1e-30)
                out[row] = np.where(flat, 1.0, cov / np.where(flat, 1.0, scale))
    return out


def _marginal_moments(square: np.ndarray, level: np.ndarray, symmetric: bool) -> tuple:
    """(matrices, mean over i, i - mean, variance over i, j - mean, variance over j)."""
    p_i = np.einsum("nij->ni", square)
    mean_i = np.einsum("ni,i->n", p_i, level)
    d_i = level - mean_i[:, None]
    var_i = np.einsum("ni,ni->n", p_i, d_i * d_i)
    if symmetric:
        return square, mean_i, d_i, var_i, d_i, var_i
    p_j = np.einsum("nij->nj", square)
    d_j = level - np.einsum("nj,j->n", p_j, level)[:, None]
    return square, mean_i, d_i, var_i, d_j, np.einsum("nj,nj->n", p_j, d_j * d_j)


def glcm_properties(P: np.ndarray, props: Sequence[str]) -> dict[str, np.ndarray]:
    """``{prop: skimage.feature.graycoprops(P, prop)}`` for all ``props`` in one pass.

    The same formulas as skimage 0.26 (re-normalised matrices, correlation 1 where a standard
    deviation is below 1e-15, entropy over non-zero entries); the mean, variance and standard
    deviation from the marginals (the same sums, grouped by row or column); sums in another
    order: round-off of about 1e-15. Sums are ``einsum``, never BLAS.

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
    rows = np.ascontiguousarray(P.astype(np.float64).reshape(levels * levels, n_d * n_a).T)
    values = _haralick(_normalise(rows), levels, props)
    return {prop: v.reshape(n_d, n_a) for prop, v in zip(props, values, strict=True)}


#: levels -> the uint8 table of the equal-width quantisation.
_QUANTISERS: dict[int, np.ndarray] = {}


def _quantise(grey: np.ndarray, levels: int) -> np.ndarray:
    """``grey * levels // 256``: a shift where ``levels`` is a power of two (the same values,
    several times faster than :func:`cv2.LUT`), else the table."""
    if levels & (levels - 1) == 0:
        return np.right_shift(grey, 8 - levels.bit_length() + 1)
    lut = _QUANTISERS.get(levels)
    if lut is None:
        lut = _QUANTISERS[levels] = (np.arange(256, dtype=np.uint16) * levels // 256).astype(
            np.uint8
        )
    return cv2.LUT(grey, lut)


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
    # Still 3 after the fourth speed-up round: the same values (see the module docstring).
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
        distances = tuple(int(d) for d in self.distances)
        angles = tuple(float(a) for a in self.angles)
        pairs = [(int(p), float(r)) for p, r in self.lbp]
        # Equal-width quantisation keeps the grey scale absolute (no per-image stretching).
        quantised = _quantise(grey, levels)
        counts = _symmetric_counts(_pair_counts(quantised, _offsets(distances, angles), levels))
        # Correlation of a flat patch is 0/0, defined as 1 (as skimage); nan_to_num guards any
        # other degenerate case. Per property and distance: mean and range over the angles.
        values = _haralick(_normalise(counts), levels, self.props, counts)
        values = np.nan_to_num(values, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        values = values.reshape(len(self.props), len(distances), len(angles))
        n_glcm = 2 * len(self.props) * len(distances)
        out = np.empty(n_glcm + sum(p + 2 for p, _ in pairs))
        glcm = out[:n_glcm].reshape(len(self.props), len(distances), 2)
        np.mean(values, axis=-1, out=glcm[..., 0])
        np.subtract(values.max(axis=-1), values.min(axis=-1), out=glcm[..., 1])
        start = n_glcm
        for (p, _), hist in zip(pairs, lbp_histograms(grey, pairs), strict=True):
            np.divide(hist, grey.size, out=out[start : start + p + 2])
            start += p + 2
        return out.astype(np.float32)
