"""Shape features: histograms of oriented gradients (HOG) on the grey image.

HOG describes where edges run and how strongly: lesion borders, rings around umbilicated
centres, the layout of several lesions. Each image is fitted to an ``image_size`` square with
:func:`poxscan.core.imageio.to_square`, converted to grey and described by
:func:`skimage.feature.hog`. With the defaults (128 px, 16 px cells, 2 x 2-cell blocks, 9
orientations, L2-Hys) that is 7 x 7 blocks x 4 cells x 9 orientations = 1764 features, named
``hog__block<row>_<col>_cell<i>_<j>_ori<k>``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from skimage.feature import hog

from poxscan.core.imageio import to_square
from poxscan.features._base import ImageFeatureExtractor

__all__ = ["HOGFeatures"]

_BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")


class HOGFeatures(ImageFeatureExtractor):
    """Histogram of oriented gradients of the grey, square-fitted image.

    Parameters
    ----------
    image_size : int, default=128
        Side of the square the gradients are measured on.
    orientations : int, default=9
        Unsigned orientation bins over 0-180 degrees.
    pixels_per_cell : (int, int), default=(16, 16)
        Cell size in pixels (rows, columns).
    cells_per_block : (int, int), default=(2, 2)
        Block size in cells; blocks overlap by one cell.
    block_norm : {"L1", "L1-sqrt", "L2", "L2-Hys"}, default="L2-Hys"
        Block normalisation.
    color_constancy : {None, "shades_of_gray", "shades_of_gray:<p>"}, default=None
        Correct each image's colour cast first (:mod:`poxscan.features.color_constancy`).

    Examples
    --------
    >>> import numpy as np
    >>> ext = HOGFeatures().fit([np.zeros((8, 8, 3), np.uint8)])
    >>> ext.n_features_out_
    1764
    """

    family = "hog"
    version = "1"

    def __init__(
        self,
        image_size: int = 128,
        orientations: int = 9,
        pixels_per_cell: Sequence[int] = (16, 16),
        cells_per_block: Sequence[int] = (2, 2),
        block_norm: str = "L2-Hys",
        color_constancy: str | None = None,
    ) -> None:
        self.image_size = image_size
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.block_norm = block_norm
        self.color_constancy = color_constancy

    def _grid(self) -> tuple[int, int, int, int, int]:
        """Blocks per row and column, cells per block (rows, columns) and orientations."""
        size = int(self.image_size)
        ppc = tuple(int(v) for v in self.pixels_per_cell)
        cpb = tuple(int(v) for v in self.cells_per_block)
        if len(ppc) != 2 or len(cpb) != 2 or min(ppc + cpb) < 1:
            raise ValueError(
                "pixels_per_cell and cells_per_block must be pairs of positive integers, "
                f"got {self.pixels_per_cell} and {self.cells_per_block}"
            )
        if self.block_norm not in _BLOCK_NORMS:
            raise ValueError(f"block_norm must be one of {_BLOCK_NORMS}, got {self.block_norm!r}")
        if int(self.orientations) < 1:
            raise ValueError(f"orientations must be positive, got {self.orientations}")
        n_cells = (size // ppc[0], size // ppc[1])
        n_blocks = (n_cells[0] - cpb[0] + 1, n_cells[1] - cpb[1] + 1)
        if min(n_blocks) < 1:
            raise ValueError(
                f"image_size={size} holds {n_cells} cells of {ppc} px: fewer than one block "
                f"of {cpb} cells"
            )
        return n_blocks[0], n_blocks[1], cpb[0], cpb[1], int(self.orientations)

    def _feature_names(self) -> list[str]:
        rows, cols, cr, cc, n_ori = self._grid()
        # Same order as skimage's feature_vector=True ravel: block row, block column, cell row,
        # cell column, orientation.
        return [
            f"block{br}_{bc}_cell{i}_{j}_ori{o}"
            for br in range(rows)
            for bc in range(cols)
            for i in range(cr)
            for j in range(cc)
            for o in range(n_ori)
        ]

    def _transform_one(self, image: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(to_square(image, int(self.image_size)), cv2.COLOR_RGB2GRAY)
        features = hog(
            grey.astype(np.float32) / 255.0,
            orientations=int(self.orientations),
            pixels_per_cell=tuple(int(v) for v in self.pixels_per_cell),
            cells_per_block=tuple(int(v) for v in self.cells_per_block),
            block_norm=self.block_norm,
            feature_vector=True,
        )
        return np.nan_to_num(features.astype(np.float32), nan=0.0)
