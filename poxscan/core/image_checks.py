"""Pixel checks of the input gate: is this image usable at all, before any model sees it?

Cheap statistics of the decoded RGB pixels (numpy and OpenCV only, no model, no TensorFlow),
each answering one question a person can act on:

========== ===================================================================================
code       what is wrong
========== ===================================================================================
too_small  the shorter side has fewer than :data:`MIN_SIDE` pixels
blank      (nearly) one colour: no detail at all
too_dark   most pixels are near black
too_bright most pixels are near white (over-exposed)
too_blurry no sharp detail at the size the model sees (variance of the Laplacian)
collage    several pictures in one: straight seams or flat gutters across the whole image
           (collages, screenshots, slides)
not_skin   not a photo of skin: pixel noise (neighbouring pixels barely resemble each other,
           which a camera photo's do at any exposure), or no skin colour at all (fewer than
           :data:`SKIN_FLOOR` of the pixels in the YCrCb skin region: black-and-white
           pictures, documents, screens, sky, foliage); and, for the photos that pass, the
           fitted part of the gate (:mod:`poxscan.pipelines.gate`: the embedding's distance
           to the training photos)
========== ===================================================================================

The thresholds are constants fixed *before* looking at non-skin images, from what a camera
photo of skin is (the noise floor came later, set below the lesion photos' own lowest
neighbour correlation): they are meant to refuse only images no model could screen, and the
benchmark (``experiments/bench_gate.py``) counts how many real lesion photos each one refuses.
:data:`REASONS` holds the message and the advice shown for each code, so every front end (CLI,
API, page, on-device) says the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "CHECKS",
    "MIN_SIDE",
    "REASONS",
    "SKIN_FLOOR",
    "GateFinding",
    "check_pixels",
    "pixel_statistics",
    "reason",
    "skin_share",
]

#: Shorter side, in pixels, below which an image is refused as too small.
MIN_SIDE = 96
#: Side of the grey square the statistics are computed on (what the model sees is 224 px).
_SIDE = 224

#: Code -> (what is wrong, what to do), in plain words.
REASONS: dict[str, tuple[str, str]] = {
    "too_small": (
        f"The picture is too small: its shorter side must have at least {MIN_SIDE} pixels.",
        "Send the original photo from the camera, not a thumbnail or a cropped preview.",
    ),
    "blank": (
        "The picture is blank or almost one colour: there is nothing to screen.",
        "Take a photo of the skin itself, filling most of the picture with it.",
    ),
    "too_dark": (
        "The picture is too dark to see the skin.",
        "Take the photo in daylight or a well-lit room; avoid the flash's glare and shadows.",
    ),
    "too_bright": (
        "The picture is too bright (over-exposed): the skin's detail is washed out.",
        "Move out of direct sunlight or switch off the flash, and take it again.",
    ),
    "too_blurry": (
        "The picture is too blurry: the model needs to see the lesion's edges and texture.",
        "Hold the phone steady about 10-20 cm from the skin, tap the screen to focus on the "
        "lesion, and take it again.",
    ),
    "collage": (
        "The picture seems to hold several pictures in one (a collage, a screenshot or a "
        "slide), which the model cannot screen.",
        "Send one photo of one area of skin, straight from the camera, not a screenshot.",
    ),
    "not_skin": (
        "This does not look like a photo of skin like the ones the model was trained on, so "
        "the model cannot screen it.",
        "Send a close, sharp, well-lit photo of the skin lesion itself, filling most of the "
        "picture, without other objects, text or filters.",
    ),
}
#: The order the checks run in (the first that fails is the reason given).
CHECKS = ("too_small", "blank", "too_dark", "too_bright", "collage", "not_skin", "too_blurry")
# (blank is checked twice: perfectly flat first, low contrast after dark and bright; not_skin
# here is pixel noise or no skin colour, the fitted gate decides the rest)

# Thresholds (fixed a priori; see the module docstring).
_FLAT_STD = 1.5  # grey-level standard deviation below which an image is one colour
_BLANK_STD = 4.0  # ... and below which, not dark nor bright, it is still too flat
_DARK_MEAN, _DARK_SHARE = 40.0, 0.85  # mean grey below this and this share of pixels < 40
_BRIGHT_MEAN, _BRIGHT_SHARE = 235.0, 0.80  # mean grey above this and this share > 235
_BLUR_VAR = 2.0  # variance of the Laplacian of the 224 px grey square
_SEAM_RATIO = 8.0  # a full-width row step this many times the steps of the rows around it
_SEAM_MIN = 4.0  # ... and at least this many grey levels, on most of the row
_GUTTER_STD = 1.0  # an interior row or column this flat ...
_GUTTER_SHARE = 0.04  # ... and wider together than this share of the central part
# Seams and gutters count only in the central part: stock photos carry watermark bars and
# white margins along their edges, which are not several pictures.
_CENTRAL = (0.2, 0.8)
# Neighbouring pixels of a camera photo at 224 px are strongly correlated (the lesion photos'
# lowest: 0.58; a photo's correlation is near 1); independent pixel noise's is near 0 (0.2 after
# the area resampling to 224 px).
_NOISE_CORR = 0.35
# Skin chromaticity region in YCrCb (Chai & Ngan 1999): 133 <= Cr <= 173, 77 <= Cb <= 127.
# Chromaticity, not brightness: a skin pixel stays in it from shade to daylight; grey
# documents, screens, sky, foliage and greyscale pictures fall outside.
#: Share of skin-coloured pixels below which a picture shows no skin at all (fixed a priori:
#: one pixel in a hundred; a lesion photo fills most of the picture with skin).
SKIN_FLOOR = 0.01
_SKIN_CR = (133, 173)
_SKIN_CB = (77, 127)


@dataclass
class GateFinding:
    """One verdict of the gate.

    Attributes
    ----------
    screenable : bool
        Whether the image may be screened.
    code : str
        ``"ok"`` or a key of :data:`REASONS`.
    message, advice : str
        What is wrong and what to do (empty when screenable).
    checks : dict
        The statistics behind the verdict (JSON-able).
    """

    screenable: bool
    code: str = "ok"
    message: str = ""
    advice: str = ""
    checks: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def reason(code: str, checks: dict[str, Any] | None = None) -> GateFinding:
    """A refusal with the message and advice of ``code``."""
    message, advice = REASONS[code]
    return GateFinding(False, code, message, advice, dict(checks or {}))


def _squares(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 224 px RGB square the model sees and its grey levels (float64)."""
    import cv2

    from poxscan.core.imageio import to_square

    square = to_square(np.asarray(image), _SIDE)
    return square, cv2.cvtColor(square, cv2.COLOR_RGB2GRAY).astype(np.float64)


def skin_share(square: np.ndarray) -> float:
    """Share of the pixels of an RGB uint8 image whose chromaticity is skin's (YCrCb region).

    OpenCV's 8-bit YCrCb (14-bit fixed point: ``Y = (4899 R + 9617 G + 1868 B + 2^13) >> 14``,
    ``Cr = ((R - Y) 11682 + 128 * 2^14 + 2^13) >> 14``, ``Cb`` likewise with ``B`` and 9241),
    which the on-device page re-computes in integers, pixel for pixel.
    """
    return _share_in_region(square, _SKIN_CR, _SKIN_CB)


def _share_in_region(square: np.ndarray, cr: tuple[int, int], cb: tuple[int, int]) -> float:
    import cv2

    ycc = cv2.cvtColor(np.ascontiguousarray(square, dtype=np.uint8), cv2.COLOR_RGB2YCrCb)
    lo = np.array([0, cr[0], cb[0]], np.uint8)
    hi = np.array([255, cr[1], cb[1]], np.uint8)
    inside = cv2.inRange(ycc, lo, hi)
    return float(cv2.countNonZero(inside)) / max(inside.size, 1)


_AROUND = np.r_[-6:-1, 2:7]


def _percentile25(steps: np.ndarray) -> np.ndarray:
    """``np.percentile(steps, 25, axis=1)`` (linear interpolation) by partial sorting: the two
    order statistics it interpolates between, several times faster than a full sort."""
    n = steps.shape[1]
    pos = 0.25 * (n - 1)
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    part = np.partition(steps, (lo, hi), axis=1)
    a, b = part[:, lo].astype(np.float64), part[:, hi].astype(np.float64)
    return a + (pos - lo) * (b - a)


def _seam_score(grey: np.ndarray) -> float:
    """Strongest straight full-length step between two rows (or columns) relative to the steps
    of the rows around it: where two pictures meet, neighbouring rows stop resembling each other
    along the whole line, which a natural photo's edges seldom do."""
    best = 0.0
    levels = grey.astype(np.int16)  # the grey levels are whole numbers
    for g in (levels, levels.T):
        steps = np.abs(np.diff(g, axis=0))  # (rows - 1, cols)
        # A seam is a step present along most of the line: its 25th percentile is high.
        line = _percentile25(steps)
        lo, hi = (int(f * len(line)) for f in _CENTRAL)
        i = np.arange(max(lo, 7), min(hi, len(line) - 7))
        i = i[line[i] >= _SEAM_MIN]
        if i.size:
            # The five lines either side, skipping the immediate neighbours.
            around = line[i[:, None] + _AROUND]
            best = max(best, float(np.max(line[i] / (np.median(around, axis=1) + 0.5))))
    return best


def _neighbour_correlation(grey: np.ndarray, var: float) -> float:
    """How much each pixel resembles its right and lower neighbours: ``1 - D / (2 var)``, ``D``
    the larger mean squared difference of horizontal and vertical neighbours (for a stationary
    image, the lag-1 correlation of the less correlated direction)."""
    h = float(np.mean(np.square(grey[:, 1:] - grey[:, :-1])))
    v = float(np.mean(np.square(grey[1:] - grey[:-1])))
    return 1.0 - max(h, v) / (2.0 * max(var, 1e-12))


def _gutter_share(grey: np.ndarray) -> float:
    """Share of interior rows / columns that are flat from edge to edge (gutters, UI bars)."""
    share = 0.0
    for g in (grey, grey.T):
        flat = g.std(axis=1) < _GUTTER_STD
        content = np.flatnonzero(~flat)
        if content.size < 2:
            continue
        # Only flat lines between content count (a plain border is not a gutter), and only
        # in the central part.
        lo, hi = (int(f * len(g)) for f in _CENTRAL)
        inside = np.zeros(len(g), bool)
        inside[content[0] : content[-1] + 1] = True
        inside[:lo] = inside[hi:] = False
        share = max(share, float((flat & inside).sum()) / max(hi - lo, 1))
    return share


def pixel_statistics(image: np.ndarray) -> dict[str, float]:
    """The statistics the pixel checks use, for a decoded RGB uint8 image.

    Returns
    -------
    dict
        ``height``, ``width``, ``grey_mean``, ``grey_std``, ``dark_share``, ``bright_share``,
        ``laplacian_var``, ``seam_ratio``, ``gutter_share``, ``neighbour_correlation``,
        ``skin_share`` (:func:`skin_share` of the square).
    """
    import cv2

    image = np.asarray(image)
    height, width = int(image.shape[0]), int(image.shape[1])
    square, grey = _squares(image)
    std = float(grey.std())
    return {
        "height": height,
        "width": width,
        "grey_mean": float(grey.mean()),
        "grey_std": std,
        "dark_share": float((grey < 40).mean()),
        "bright_share": float((grey > 235).mean()),
        "laplacian_var": float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        "seam_ratio": _seam_score(grey),
        "gutter_share": _gutter_share(grey),
        "neighbour_correlation": _neighbour_correlation(grey, std * std),
        "skin_share": skin_share(square),
    }


def check_pixels(image: np.ndarray) -> GateFinding:
    """Run the pixel checks on a decoded RGB uint8 image; the first that fails is the reason.

    Parameters
    ----------
    image : ndarray of shape (h, w, 3), uint8
        As :func:`poxscan.core.imageio.load_image` returns it.

    Returns
    -------
    GateFinding
        ``screenable=True`` (code ``"ok"``) when every check passes; the statistics are in
        ``checks`` either way.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (h, w, 3), got {image.shape}")
    if min(image.shape[:2]) < MIN_SIDE:
        return reason(
            "too_small",
            {"height": int(image.shape[0]), "width": int(image.shape[1]), "min_side": MIN_SIDE},
        )
    s = pixel_statistics(image)
    s["min_side"] = MIN_SIDE
    # Perfectly flat is blank whatever its colour; a dark or washed-out photo that keeps a
    # little detail is better told "too dark" / "too bright" than "blank".
    if s["grey_std"] < _FLAT_STD:
        return reason("blank", s)
    if s["grey_mean"] < _DARK_MEAN and s["dark_share"] > _DARK_SHARE:
        return reason("too_dark", s)
    if s["grey_mean"] > _BRIGHT_MEAN and s["bright_share"] > _BRIGHT_SHARE:
        return reason("too_bright", s)
    if s["grey_std"] < _BLANK_STD:
        return reason("blank", s)
    if s["seam_ratio"] >= _SEAM_RATIO or s["gutter_share"] >= _GUTTER_SHARE:
        return reason("collage", s)
    if s["neighbour_correlation"] < _NOISE_CORR or s["skin_share"] < SKIN_FLOOR:
        return reason("not_skin", s)
    if s["laplacian_var"] < _BLUR_VAR:
        return reason("too_blurry", s)
    return GateFinding(True, "ok", "", "", s)
