"""Texture features: grey-level co-occurrence (Haralick) statistics and uniform LBP histograms.

Vesicles, pustules, crusts and umbilicated centres give lesions textures that colour alone
misses. Each image is fitted to ``image_size`` with :func:`poxscan.core.imageio.to_square` and
converted to grey (ITU-R BT.601 luma, as OpenCV does).

- **GLCM**: the grey image is quantised to ``levels`` levels and a symmetric, normalised
  co-occurrence matrix is built for every distance in ``distances`` and angle in ``angles``
  (degrees). For each Haralick property in ``props`` and each distance the extractor reports
  the mean over the angles and their range (max - min): the mean is rotation-robust, the range
  says how directional the texture is.
- **LBP**: for every ``(P, R)`` in ``lbp``, rotation-invariant uniform local binary patterns
  (``method="uniform"``, P + 2 codes) on the 8-bit grey image, as a normalised histogram.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from skimage.feature import graycomatrix, graycoprops, local_binary_pattern

from poxscan.core.imageio import to_square
from poxscan.features._base import ImageFeatureExtractor

__all__ = ["GLCM_PROPS", "TextureFeatures"]

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
    version = "1"

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
            if len(pair) != 2 or int(pair[0]) < 1 or float(pair[1]) <= 0:
                raise ValueError(f"lbp entries must be (P >= 1, R > 0) pairs, got {pair!r}")

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
        grey = cv2.cvtColor(to_square(image, int(self.image_size)), cv2.COLOR_RGB2GRAY)
        levels = int(self.levels)
        # Equal-width quantisation keeps the grey scale absolute (no per-image stretching).
        quantised = (grey.astype(np.uint16) * levels // 256).astype(np.uint8)
        glcm = graycomatrix(
            quantised,
            distances=[int(d) for d in self.distances],
            angles=np.deg2rad([float(a) for a in self.angles]),
            levels=levels,
            symmetric=True,
            normed=True,
        )
        out: list[float] = []
        for prop in self.props:
            # graycoprops returns NaN-free values, but correlation of a flat patch is 0/0:
            # skimage defines it as 1; nan_to_num guards any other degenerate case.
            values = np.nan_to_num(graycoprops(glcm, prop), nan=0.0, posinf=0.0, neginf=0.0)
            for i in range(values.shape[0]):
                row = values[i]
                out += [float(row.mean()), float(row.max() - row.min())]
        for p, r in self.lbp:
            p = int(p)
            codes = local_binary_pattern(grey, p, float(r), method="uniform")
            hist = np.bincount(codes.astype(np.int64).ravel(), minlength=p + 2)[: p + 2]
            out += list(hist / codes.size)
        return np.asarray(out, dtype=np.float32)
