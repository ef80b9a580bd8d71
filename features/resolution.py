"""Resolution harmonisation: every photo brought to at most one level of detail.

The shared sets differ in resolution by class: msld_v1 is 224 px throughout, ahsan2022's
thumbnails are about 183 px on the shorter side, but its Normal photos are phone photos up to
4,872 px (``../shared/datasets/README.md``). Fitted to the network's square, a large photo is
downscaled (sharp) and a thumbnail upscaled (soft), so sharpness tells Normal from the rest
and a model may learn it: a sharp mpox photo from elsewhere then scores as normal skin.
Downscaling every photo whose shorter side exceeds ``max_side`` to that size first (area
interpolation, anti-aliased) gives every photo at most the detail of the smallest ones, at
training and at prediction alike, so detail beyond it cannot carry the label. A photo already
that small is left as it is.

Measured and not adopted (``experiments/candidates.py --set resolution``, declared rule): at
184 px the transfer rule rose from 0.793 to 0.816 (pooled AUC 0.905 -> 0.901), but JPEG-85
decision flips at the shipped threshold rose from 1.71 % to 2.44 %
(``experiments/bench_stability.py --only shipped,shipped_down184``), so the shipped model keeps
the photo's own resolution; the option is off by default.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["cap_resolution", "check_max_side"]


def check_max_side(max_side: object) -> None:
    """Raise ``ValueError`` unless ``max_side`` is 0 or an int of at least 16 pixels."""
    if isinstance(max_side, bool) or not isinstance(max_side, (int, np.integer)):
        raise ValueError(f"downscale must be an int number of pixels (0: none), got {max_side!r}")
    if max_side != 0 and max_side < 16:
        raise ValueError(f"downscale must be 0 or at least 16 pixels, got {max_side}")


def cap_resolution(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` with its shorter side downscaled to ``max_side`` pixels when it is longer.

    Parameters
    ----------
    image : ndarray of shape (height, width, 3), dtype uint8
        An RGB photo as decoded.
    max_side : int
        Largest shorter side kept, in pixels (at least 16); 0 returns the image unchanged.

    Returns
    -------
    ndarray of uint8: the image itself when no downscaling is needed, else a resized copy whose
    shorter side is ``max_side`` and whose aspect ratio is kept to the nearest pixel.

    Raises
    ------
    ValueError
        On a ``max_side`` that is not 0 or an int of at least 16.
    """
    check_max_side(max_side)
    image = np.asarray(image)
    height, width = image.shape[:2]
    short = min(height, width)
    if max_side == 0 or short <= max_side:
        return image
    scale = max_side / short
    size = (max(max_side, round(width * scale)), max(max_side, round(height * scale)))
    return cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)
