"""Colour constancy: remove the colour cast of the light and camera before features are taken.

Photos of one lesion from two cameras or clinics differ in white balance; a model that learns
the cast of one collection does not transfer to the next. Shades of Gray (Finlayson & Trezzi,
"Shades of gray and colour constancy", CIC 2004) estimates the illuminant of each channel as
the Minkowski ``p``-mean of its pixels,

.. math:: e_c = \\left(\\frac{1}{N} \\sum_x I_c(x)^p\\right)^{1/p},

and scales each channel so that the estimate becomes neutral grey:
:math:`I'_c = I_c \\cdot \\bar e / e_c` with :math:`\\bar e = \\lVert e \\rVert_2 / \\sqrt 3`
(so a neutral image is left unchanged). ``p = 1`` is Gray World, ``p -> inf`` Max-RGB;
``p = 6`` is the value Finlayson & Trezzi found best and that skin-lesion work (Barata et al.,
IEEE JBHI 2015) uses. The result is rounded and clipped back to ``uint8``.

Every extractor takes ``color_constancy=None | "shades_of_gray" | "shades_of_gray:<p>"``
(:class:`poxscan.features.ImageFeatureExtractor`); the default ``None`` leaves images and the
extractor's fingerprint as they were.
"""

from __future__ import annotations

import numpy as np

__all__ = ["COLOR_CONSTANCY", "DEFAULT_POWER", "apply_color_constancy", "parse", "shades_of_gray"]

#: The methods an extractor's ``color_constancy`` may name (``None``: no correction).
COLOR_CONSTANCY = (None, "shades_of_gray")
#: Minkowski norm of Shades of Gray when the name gives none (Finlayson & Trezzi 2004).
DEFAULT_POWER = 6.0


def parse(spec: str | None) -> tuple[str, float] | None:
    """``None`` or ``(method, p)`` from ``"shades_of_gray"`` / ``"shades_of_gray:<p>"``.

    Raises
    ------
    ValueError
        On an unknown method or a power below 1.
    """
    if spec is None:
        return None
    if not isinstance(spec, str):
        raise ValueError(f"color_constancy must be None or a string, got {spec!r}")
    method, _, power = spec.partition(":")
    if method not in COLOR_CONSTANCY:
        raise ValueError(
            f"unknown color_constancy {spec!r}; use None, 'shades_of_gray' or 'shades_of_gray:<p>'"
        )
    try:
        p = float(power) if power else DEFAULT_POWER
    except ValueError:
        raise ValueError(f"color_constancy {spec!r}: power {power!r} is not a number") from None
    if not np.isfinite(p) or p < 1:
        raise ValueError(f"color_constancy {spec!r}: the power must be a finite number >= 1")
    return method, p


def shades_of_gray(image: np.ndarray, p: float = DEFAULT_POWER) -> np.ndarray:
    """The image with its Shades-of-Gray illuminant estimate mapped to neutral grey.

    Parameters
    ----------
    image : ndarray of uint8, shape (h, w, 3)
        RGB image.
    p : float, default=6
        Minkowski norm of the illuminant estimate.

    Returns
    -------
    ndarray of uint8, shape (h, w, 3)
        The corrected image (a black image is returned unchanged).
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image, got {img.dtype} {img.shape}")
    x = img.astype(np.float64)
    # Scale to [0, 1] before the power so x**p stays well inside float64 for large p.
    e = np.mean((x / 255.0) ** float(p), axis=(0, 1)) ** (1.0 / float(p))
    norm = float(np.linalg.norm(e))
    if norm == 0 or not np.all(e > 0):
        return img.copy()  # a channel without light carries no estimate: leave the image
    gain = (norm / np.sqrt(3.0)) / e
    return np.clip(np.rint(x * gain), 0, 255).astype(np.uint8)


def apply_color_constancy(images: list[np.ndarray], spec: str | None) -> list[np.ndarray]:
    """Each image corrected as ``spec`` says (:func:`parse`); ``None`` returns them as given."""
    parsed = parse(spec)
    if parsed is None:
        return images
    _method, p = parsed
    return [shades_of_gray(img, p) for img in images]
