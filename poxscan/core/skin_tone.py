"""The skin tone of a photo, for auditing decisions by tone: the individual typology angle.

``ITA = atan((L* - 50) / b*)`` in degrees (Chardon, Cretois and Hourseau 1991) of the median
CIELAB colour of the photo's central half (a lesion close-up is mostly skin there). Lower is
darker. It measures the photo's colour (its lesions, light and white balance), not the
person's skin type, which no shared set records; it is what lets a model card and
``experiments/skin_tone_audit.py`` show whether decisions differ between lighter and darker
photos. Never a model input.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_SIDE", "TONE_BANDS", "ita_degrees", "tone_band"]

#: The central half is read at most this many pixels a side (a strided subsample).
MAX_SIDE = 128

#: (name, lowest ITA of the band, exclusive; ``None``: no lower bound), lightest first: Del Bino
#: and Bernerd's six classes (very light > 55, light 41-55, intermediate 28-41, tan 10-28, brown
#: -30-10, dark below -30) merged to three, so that each band of the shared sets holds photos of
#: both classes.
TONE_BANDS: tuple[tuple[str, float | None], ...] = (
    ("lighter (ITA > 41)", 41.0),
    ("intermediate and tan (10 to 41)", 10.0),
    ("brown and dark (ITA <= 10)", None),
)


def ita_degrees(image: np.ndarray) -> float:
    """Individual typology angle of the median colour of the image's central half.

    Parameters
    ----------
    image : ndarray of shape (h, w, 3), uint8
        An RGB photo.

    Returns
    -------
    float
        ``degrees(arctan2(L* - 50, b*))``: the textbook ``atan((L* - 50) / b*)`` where
        ``b* > 0`` (skin is yellowish), continued past +-90 degrees for blue-tinted photos.
    """
    from skimage.color import rgb2lab

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (h, w, 3), got {image.shape}")
    h, w = image.shape[:2]
    # Every step-th pixel of the centre, at most MAX_SIDE a side: the median barely moves, and
    # CIELAB conversion of a full phone photo would cost a tenth of a second.
    step = max(1, -(-max(h, w) // (2 * MAX_SIDE)))
    centre = image[h // 4 : h - h // 4 : step, w // 4 : w - w // 4 : step]
    lab = rgb2lab(centre).reshape(-1, 3)
    lightness, yellow = np.median(lab[:, 0]), np.median(lab[:, 2])
    return float(np.degrees(np.arctan2(lightness - 50.0, yellow)))


def tone_band(ita: float) -> str:
    """The band of :data:`TONE_BANDS` a tone falls in."""
    for name, low in TONE_BANDS:
        if low is None or ita > low:
            return name
    raise AssertionError("unreachable: the last band has no lower bound")
