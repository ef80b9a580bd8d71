"""Colour features: per-channel histograms and moments in perceptual colour spaces.

Mpox, chickenpox and measles lesions differ in redness, pallor and the colour of their centres,
which RGB mixes with brightness. Each image is fitted to ``image_size`` with
:func:`poxscan.core.imageio.to_square` and converted with OpenCV
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

from poxscan.core.imageio import to_square
from poxscan.features._base import ImageFeatureExtractor

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


def _hue_stats(hue_deg: np.ndarray, weights: np.ndarray) -> list[float]:
    """Weighted mean resultant vector (cos, sin) and circular standard deviation in radians."""
    total = float(weights.sum())
    if total <= 0:
        return [0.0, 0.0, float(np.sqrt(-2.0 * np.log(_MIN_RESULTANT)))]
    theta = np.deg2rad(hue_deg)
    c = float(np.sum(weights * np.cos(theta)) / total)
    s = float(np.sum(weights * np.sin(theta)) / total)
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
    version = "1"

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
        square = to_square(image, int(self.image_size))
        rgb = square.astype(np.float32) / 255.0
        bins = int(self.bins)
        out: list[float] = []
        for space in self._spaces():
            code, channels, ranges = SPACES[space]
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
