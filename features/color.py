"""Colour features: per-channel histograms and moments in perceptual colour spaces.

Mpox, chickenpox and measles lesions differ in redness, pallor and the colour of their centres,
which RGB mixes with brightness. Each image is fitted to ``image_size`` with
:func:`poxscan.features._base.reduced_square` (:func:`poxscan.core.imageio.to_square`'s square;
a large photo is first halved by 2 x 2 means, within half a grey level on average; version 2,
v1 used to_square itself) and converted with OpenCV
(float input for HSV and YCrCb; 8-bit for Lab, whose float conversion is 15 times slower,
rescaled to CIE units, within about 2 units of the float conversion) to the requested spaces:

- ``"hsv"``: hue in degrees, saturation and value in [0, 1];
- ``"lab"``: CIE L*a*b* (D65), L in [0, 100], a and b roughly in [-110, 100];
- ``"ycrcb"``: luma and chroma in [0, 1].

Per channel the extractor reports a normalised histogram of ``bins`` bins over the channel's
fixed range (so bins mean the same thing in every image), the mean, standard deviation,
skewness, excess kurtosis and the 10th, 50th and 90th percentiles.

Hue is an angle: 359 degrees is next to 1 degree, so its linear mean and moments are
meaningless. For hue the extractor reports the saturation-weighted mean resultant vector
(``cos`` and ``sin`` components, whose length measures how concentrated the hues are) and the
circular standard deviation. Grey pixels have no defined hue, which is why hue statistics and
the hue histogram are weighted by saturation; an image without any saturated pixel gets zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from poxscan.features._base import ImageFeatureExtractor, reduced_square

__all__ = ["SPACES", "ColorFeatures"]

#: Colour space -> (OpenCV conversion from float RGB in [0, 1], channel names, channel ranges).
SPACES: dict[str, tuple[int, tuple[str, str, str], tuple[tuple[float, float], ...]]] = {
    "hsv": (cv2.COLOR_RGB2HSV, ("h", "s", "v"), ((0.0, 360.0), (0.0, 1.0), (0.0, 1.0))),
    # The sRGB gamut spans about a in [-86, 98] and b in [-108, 95].
    "lab": (cv2.COLOR_RGB2Lab, ("l", "a", "b"), ((0.0, 100.0), (-90.0, 100.0), (-110.0, 100.0))),
    "ycrcb": (cv2.COLOR_RGB2YCrCb, ("y", "cr", "cb"), ((0.0, 1.0), (0.0, 1.0), (0.0, 1.0))),
}
_LINEAR_STATS = ("mean", "std", "skew", "kurt", "p10", "p50", "p90")
_HUE_STATS = ("cos", "sin", "circstd")
#: A mean resultant length below this counts as "no dominant hue" (caps the circular std).
_MIN_RESULTANT = 1e-6


def _moments(values: np.ndarray) -> list[float]:
    """Mean, std, skewness, excess kurtosis and percentiles; zeros where std is zero."""
    mean = float(values.mean())
    centred = values - mean
    # Products, not ** with float exponents: several times faster on 50k pixels.
    sq = centred * centred
    var = float(sq.mean())
    std = var**0.5
    if std > 1e-8:
        skew = float(np.mean(sq * centred)) / std**3
        kurt = float(np.mean(sq * sq)) / var**2 - 3.0
    else:
        # A flat channel has no shape: report "symmetric, normal-tailed" instead of NaN.
        skew = kurt = 0.0
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return [mean, std, skew, kurt, float(p10), float(p50), float(p90)]


def _bin_index(levels: np.ndarray, bins: int, lo: float, hi: float) -> np.ndarray:
    """Bin of each level in ``np.histogram(np.clip(levels, lo, hi), bins, (lo, hi))``.

    numpy's uniform binning is equivalent to comparing with ``np.linspace(lo, hi, bins + 1)``
    (its scaled index is corrected against those edges), the last bin closed.
    """
    edges = np.linspace(lo, hi, bins + 1)
    index = np.searchsorted(edges, np.clip(levels, lo, hi), side="right") - 1
    return np.clip(index, 0, bins - 1)


#: (id of a levels table, bins, lo, hi) -> bin index of each level; a few tables per process.
_BIN_CACHE: dict[tuple[int, int, float, float], np.ndarray] = {}


def _cached_bins(levels: np.ndarray, bins: int, lo: float, hi: float) -> np.ndarray:
    key = (id(levels), bins, lo, hi)
    index = _BIN_CACHE.get(key)
    if index is None:
        index = _BIN_CACHE[key] = _bin_index(levels, bins, lo, hi)
    return index


def _level_stats(
    counts: np.ndarray, levels: np.ndarray, bin_index: np.ndarray, bins: int
) -> list[float]:
    """Histogram and :func:`_moments` of a channel given as counts of its distinct values.

    ``levels[i]`` (ascending) is a value the channel takes ``counts[i]`` times and falls in
    histogram bin ``bin_index[i]``. Equal to computing them on the pixels (the same values
    fall in the same bins; the percentiles are the same order statistics, interpolated as
    :func:`numpy.percentile` does), with sums in another order: round-off of about 1e-12. An
    8-bit channel has at most 256 levels, so this costs almost nothing, where sorting and
    summing 50,176 pixels per channel cost milliseconds. Sums are ``einsum``, not ``@``:
    OpenBLAS would spread a dot product over threads, which on a busy 2-core machine costs
    milliseconds instead of microseconds.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n = float(counts.sum())
    hist = np.bincount(bin_index, weights=counts, minlength=bins)[:bins]
    mean = float(np.einsum("i,i->", counts, levels)) / n
    centred = levels - mean
    sq = centred * centred
    var = float(np.einsum("i,i->", counts, sq)) / n
    std = var**0.5
    if std > 1e-8:
        skew = float(np.einsum("i,i,i->", counts, sq, centred)) / n / std**3
        kurt = float(np.einsum("i,i,i->", counts, sq, sq)) / n / var**2 - 3.0
    else:
        skew = kurt = 0.0
    # numpy.percentile's "linear" method: order statistics k and k + 1 of the sorted pixels.
    ends = np.cumsum(counts)
    positions = np.array([q / 100 * (n - 1) for q in (10, 50, 90)])
    ks = np.floor(positions)
    ts = positions - ks
    a = levels[np.searchsorted(ends, ks, side="right")]
    b = levels[np.searchsorted(ends, np.minimum(ks + 1, n - 1), side="right")]
    percentiles = [
        float(bb - (bb - aa) * (1 - t) if t >= 0.5 else aa + (bb - aa) * t)
        for aa, bb, t in zip(a, b, ts, strict=True)
    ]
    return [*list(hist / n), mean, std, skew, kurt, *percentiles]


#: V of OpenCV's float HSV for each 8-bit max(R, G, B): float32(u) / 255 (see _transform_one).
_V_LEVELS = (np.arange(256, dtype=np.float32) / np.float32(255.0)).astype(np.float64)
#: OpenCV's 8-bit Lab levels in CIE units: L * 255 / 100, a + 128, b + 128.
_LAB_LEVELS = (
    np.arange(256, dtype=np.float64) * (100.0 / 255.0),
    np.arange(256, dtype=np.float64) - 128.0,
    np.arange(256, dtype=np.float64) - 128.0,
)


def _s_levels() -> np.ndarray:
    """S of OpenCV's float HSV for every (max, min) pair of 8-bit channels, by OpenCV itself."""
    hi, lo = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    pixels = np.stack([hi, lo, lo], axis=-1).astype(np.float32) / np.float32(255.0)
    s = cv2.cvtColor(pixels, cv2.COLOR_RGB2HSV)[..., 1]
    s[hi < lo] = 0.0  # impossible pairs; never counted
    return s.reshape(-1).astype(np.float64)


#: S of every (max, min) pair in ascending order, and the pairs in that order.
_S_LEVELS: tuple[np.ndarray, np.ndarray] | None = None


def _hue_edges(bins: int) -> np.ndarray:
    """Float32 hue-bin edges ``e`` with ``h >= e[i]`` exactly when ``h >= linspace(...)[i]``.

    For a float32 ``h`` that holds when ``e[i]`` is the smallest float32 not below the
    float64 edge. ``e[bins]`` is infinite: the last bin is closed, as numpy's.
    """
    edges = np.linspace(0.0, 360.0, bins + 1)
    e32 = edges.astype(np.float32)
    low = e32.astype(np.float64) < edges
    e32[low] = np.nextafter(e32[low], np.float32(np.inf))
    e32[bins] = np.inf
    return np.concatenate([e32, [np.float32(np.inf)]]).astype(np.float32)


def _hue_histogram(hue: np.ndarray, bins: int, weights: np.ndarray) -> np.ndarray:
    """``np.histogram(hue, bins, (0, 360), weights=weights)[0]`` for float32 hue in [0, 360].

    The scaled index is off by at most one; corrected against exact float32 edges as numpy
    corrects its own (see :func:`_hue_edges`), all in float32 without copies to float64.
    """
    edges = _hue_edges(bins)
    index = (hue * np.float32(bins / 360.0)).astype(np.intp)
    np.clip(index, 0, bins - 1, out=index)
    index -= hue < edges[index]
    index += hue >= edges[index + 1]
    return np.bincount(index, weights=weights, minlength=bins)[:bins]


def _hue_stats(hue_deg: np.ndarray, weights: np.ndarray) -> list[float]:
    """Weighted mean resultant vector (cos, sin) and circular standard deviation in radians."""
    total = float(weights.sum())
    if total <= 0:
        return [0.0, 0.0, float(np.sqrt(-2.0 * np.log(_MIN_RESULTANT)))]
    theta = np.deg2rad(hue_deg)
    c = float(np.sum(weights * np.cos(theta)) / total)
    s = float(np.sum(weights * np.sin(theta)) / total)
    return _resultant(c, s)


def _resultant(c: float, s: float) -> list[float]:
    r = max(float(np.hypot(c, s)), _MIN_RESULTANT)
    return [c, s, float(np.sqrt(-2.0 * np.log(min(r, 1.0))))]


class ColorFeatures(ImageFeatureExtractor):
    """Colour histograms and moments in HSV, CIE Lab and optionally YCrCb.

    Parameters
    ----------
    image_size : int, default=224
        Side of the square (see :func:`poxscan.core.imageio.to_square`) the statistics are taken on.
    bins : int, default=16
        Histogram bins per channel, over the channel's fixed range.
    spaces : sequence of {"hsv", "lab", "ycrcb"}, default=("hsv", "lab")
        Colour spaces, in output order.
    color_constancy : {None, "shades_of_gray", "shades_of_gray:<p>"}, default=None
        Correct each image's colour cast first (:mod:`poxscan.features.color_constancy`).

    Examples
    --------
    >>> import numpy as np
    >>> ext = ColorFeatures(bins=8).fit([np.zeros((32, 32, 3), np.uint8)])
    >>> ext.transform([np.full((40, 50, 3), 200, np.uint8)]).shape
    (1, 86)
    """

    family = "color"
    # 2: the reduced square (_base.reduced_square) instead of to_square's for large photos.
    version = "2"

    def __init__(
        self,
        image_size: int = 224,
        bins: int = 16,
        spaces: Sequence[str] = ("hsv", "lab"),
        color_constancy: str | None = None,
    ) -> None:
        self.image_size = image_size
        self.bins = bins
        self.spaces = spaces
        self.color_constancy = color_constancy

    def _check_params(self) -> None:
        if int(self.bins) < 2:
            raise ValueError(f"bins must be at least 2, got {self.bins}")
        if int(self.image_size) < 8:
            raise ValueError(f"image_size must be at least 8, got {self.image_size}")
        spaces = [self.spaces] if isinstance(self.spaces, str) else list(self.spaces)
        unknown = [s for s in spaces if s not in SPACES]
        if unknown or not spaces:
            raise ValueError(f"unknown colour spaces {unknown}; choose from {sorted(SPACES)}")
        if len(set(spaces)) != len(spaces):
            raise ValueError(f"colour spaces repeat: {spaces}")

    def _spaces(self) -> list[str]:
        return [self.spaces] if isinstance(self.spaces, str) else list(self.spaces)

    def _feature_names(self) -> list[str]:
        self._check_params()
        names = []
        for space in self._spaces():
            _, channels, _ = SPACES[space]
            for ch in channels:
                prefix = f"{space}_{ch}"
                names += [f"{prefix}_hist{i:02d}" for i in range(int(self.bins))]
                stats = _HUE_STATS if (space, ch) == ("hsv", "h") else _LINEAR_STATS
                names += [f"{prefix}_{stat}" for stat in stats]
        return names

    def _transform_one(self, image: np.ndarray) -> np.ndarray:
        square = reduced_square(image, int(self.image_size))
        rgb = square.astype(np.float32) / 255.0
        bins = int(self.bins)
        out: list[float] = []
        for space in self._spaces():
            code, channels, ranges = SPACES[space]
            if space in ("lab", "hsv"):
                out += self._fast_space(space, square, rgb, bins)
                continue
            if space == "lab":
                # OpenCV's 8-bit Lab: L * 255 / 100, a + 128, b + 128.
                converted = cv2.cvtColor(square, code).reshape(-1, 3).astype(np.float64)
                converted[:, 0] *= 100.0 / 255.0
                converted[:, 1:] -= 128.0
            else:
                converted = cv2.cvtColor(rgb, code).reshape(-1, 3).astype(np.float64)
            for k, ch in enumerate(channels):
                values = converted[:, k]
                lo, hi = ranges[k]
                # Clip so that the rare out-of-range value (float round-off) lands in an end bin.
                clipped = np.clip(values, lo, hi)
                if (space, ch) == ("hsv", "h"):
                    weights = converted[:, 1]
                    hist, _ = np.histogram(
                        clipped % 360.0, bins=bins, range=(lo, hi), weights=weights
                    )
                    total = hist.sum()
                    out += list(hist / total) if total > 0 else [0.0] * bins
                    out += _hue_stats(values, weights)
                else:
                    hist, _ = np.histogram(clipped, bins=bins, range=(lo, hi))
                    out += list(hist / values.size)
                    out += _moments(values)
        return np.asarray(out, dtype=np.float32)

    def _fast_space(self, space: str, square: np.ndarray, rgb: np.ndarray, bins: int) -> list:
        """Lab and HSV through the counts of their 8-bit levels (see :func:`_level_stats`).

        Counts come from :func:`cv2.calcHist` (exact integers in float32 below 2**24 pixels).
        """
        global _S_LEVELS
        _, _, ranges = SPACES[space]
        out: list[float] = []
        if space == "lab":
            lab = cv2.cvtColor(square, cv2.COLOR_RGB2Lab)
            for k in range(3):
                counts = cv2.calcHist([lab], [k], None, [256], [0, 256]).ravel()
                index = _cached_bins(_LAB_LEVELS[k], bins, *ranges[k])
                out += _level_stats(counts, _LAB_LEVELS[k], index, bins)
            return out
        r, g, b = cv2.split(square)
        vmax = cv2.max(cv2.max(r, g), b)
        vmin = cv2.min(cv2.min(r, g), b)
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).reshape(-1, 3)
        hue, sat = hsv[:, 0], hsv[:, 1]
        # OpenCV's hue is in [0, 360); 360 itself (round-off) wraps to 0 as in the v1 formula.
        hue = np.clip(hue, 0.0, 360.0)
        hue[hue == 360.0] = 0.0
        hist = _hue_histogram(hue, bins, sat)
        total = float(hist.sum())
        out += list(hist / total) if total > 0 else [0.0] * bins
        sat_total = float(np.add.reduce(sat, dtype=np.float64))
        if sat_total <= 0:
            out += [0.0, 0.0, float(np.sqrt(-2.0 * np.log(_MIN_RESULTANT)))]
        else:
            # sat * cos(hue), sat * sin(hue) in one SIMD pass (absolute error below 3e-7).
            x, y = cv2.polarToCart(sat, hue, angleInDegrees=True)
            c = float(np.add.reduce(x, axis=None, dtype=np.float64)) / sat_total
            s = float(np.add.reduce(y, axis=None, dtype=np.float64)) / sat_total
            out += _resultant(c, s)
        if _S_LEVELS is None:
            levels = _s_levels()
            order = np.argsort(levels, kind="stable")
            _S_LEVELS = (levels[order], order)
        s_levels, s_order = _S_LEVELS
        pairs = cv2.calcHist([vmax, vmin], [0, 1], None, [256, 256], [0, 256, 0, 256]).ravel()
        pairs = pairs[s_order]  # in ascending order of S; a few thousand pairs occur
        present = np.flatnonzero(pairs)
        index = _cached_bins(s_levels, bins, *ranges[1])[present]
        out += _level_stats(pairs[present], s_levels[present], index, bins)
        counts = cv2.calcHist([vmax], [0], None, [256], [0, 256]).ravel()
        out += _level_stats(counts, _V_LEVELS, _cached_bins(_V_LEVELS, bins, *ranges[2]), bins)
        return out
