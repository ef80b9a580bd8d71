"""Canonical orientation: turn and mirror a photo into a pose fixed by its own pixels.

A photo of a lesion has no "up": the same lesion mirrored or turned by 90 degrees must get the
same decision. Averaging the embedding over the eight symmetries of the square (``tta=8``)
gives that at eight forward passes per photo. Canonicalisation (Kaba et al., "Equivariance
with learned canonicalization functions", ICML 2023, here with a fixed rather than a learned
function) gives it at one: of the eight turns and mirrors of the photo, the network sees the
one whose luminance dipole points into a fixed sector.

The dipole of a view is the first moment of its luminance about the centre,
:math:`(m_x, m_y) = \\sum_{r,c} L_{rc}\\,(x_c, y_r) / N` with :math:`x, y` in [-1, 1] (``x`` to
the right, ``y`` down). The eight symmetries act on it by sign changes and a swap, so exactly
one view (up to ties) has :math:`m_x \\ge m_y \\ge 0`: the view that maximises
:math:`2 m_x + m_y`.

The pose is chosen on the photo as decoded, before it is fitted to the network's square: the
resizing to the square is not exactly symmetric (OpenCV's fixed-point weights, and a centre
crop that cannot be centred when the margin is odd), so a pose chosen after it would differ by
a pixel between a photo and its mirror. Luma and moments are exact integers (Rec. 601 weights
299/587/114, coordinates ``2c - (W - 1)``), so a turned or mirrored photo's eight scores are an
exact permutation of the original's and it is shown to the network identically, not just
nearly. Where the dipole is near a sector boundary (a nearly symmetric photo) a small change of
the pixels, such as a JPEG re-save, can move it across; the benchmark measures that too.

Views are numbered as in :class:`poxscan.features.deep.DeepFeatures` ``tta=8``: view ``k`` is
``np.rot90(image, k % 4)``, mirrored left-right when ``k >= 4``.
"""

from __future__ import annotations

import cv2
import numpy as np

from poxscan.core.imageio import to_square
from poxscan.features.recompression import recompress
from poxscan.features.resolution import cap_resolution
from poxscan.features.smoothing import binomial_smooth

__all__ = [
    "ORIENTATIONS",
    "canonical_pose",
    "d4_view",
    "pose_index",
    "pose_scores",
    "posed_squares",
    "undo_view",
]

#: What ``orient`` may name: ``None`` (the photo as it is) or ``"canonical"``.
ORIENTATIONS = (None, "canonical")
_LUMA = np.array([299, 587, 114], dtype=np.int64)  # Rec. 601, integers so sums are exact


_CV2_TURNS = (None, cv2.ROTATE_90_COUNTERCLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_CLOCKWISE)


def d4_view(image: np.ndarray, k: int) -> np.ndarray:
    """View ``k`` (0-7) of an image: ``k % 4`` quarter turns, then a mirror if ``k >= 4``."""
    image = np.asarray(image)
    if image.ndim == 3 and image.dtype == np.uint8 and image.shape[2] <= 4:
        # OpenCV permutes the same pixels as np.rot90 and a mirror, without numpy's strided
        # copy of the whole photo.
        out = np.ascontiguousarray(image)
        if k % 4:
            out = cv2.rotate(out, _CV2_TURNS[k % 4])
        return cv2.flip(out, 1) if k >= 4 else out
    out = np.rot90(image, k % 4, axes=(0, 1))
    if k >= 4:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def undo_view(image: np.ndarray, k: int) -> np.ndarray:
    """The inverse of :func:`d4_view`: maps what was made on view ``k`` back onto the photo."""
    out = image[:, ::-1] if k >= 4 else image
    return np.ascontiguousarray(np.rot90(out, -(k % 4), axes=(0, 1)))


def pose_scores(image: np.ndarray) -> np.ndarray:
    """``2 m_x + m_y`` of each of the eight views of an RGB image (shape ``(8,)``).

    Parameters
    ----------
    image : ndarray of shape (height, width, 3)
        The photo as decoded (uint8 RGB, as :func:`~poxscan.core.imageio.load_image` gives).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (h, w, 3), got {image.shape}")
    h, w = image.shape[:2]
    # Luma summed down each column and along each row, in integers. OpenCV's int32 sums are
    # exact for uint8 (below 8 million pixels a row or column) and avoid numpy's slow
    # reduction along the rows of a channels-last array.
    if image.dtype == np.uint8:
        contiguous = np.ascontiguousarray(image)
        per_col = cv2.reduce(contiguous, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).reshape(w, 3)
        per_row = cv2.reduce(contiguous, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).reshape(h, 3)
    else:
        per_col, per_row = image.sum(axis=0), image.sum(axis=1)
    cols = per_col.astype(np.int64) @ _LUMA
    rows = per_row.astype(np.int64) @ _LUMA
    mx = int(cols @ (2 * np.arange(w, dtype=np.int64) - (w - 1)))
    my = int(rows @ (2 * np.arange(h, dtype=np.int64) - (h - 1)))
    # To coordinates in [-1, 1] per pixel; a turn swaps (w, h) with the moments, so the scores
    # of a turned photo are the same floats, permuted.
    x = mx / (max(w - 1, 1) * w * h)
    y = my / (max(h - 1, 1) * w * h)
    scores = []
    for k in range(8):
        vx, vy = x, y
        for _ in range(k % 4):  # np.rot90 turns counter-clockwise: (x, y) -> (y, -x)
            vx, vy = vy, -vx
        if k >= 4:
            vx = -vx
        scores.append(2.0 * vx + vy)
    return np.array(scores)


def pose_index(image: np.ndarray) -> int:
    """The view (0-7) of largest :func:`pose_scores`; the lowest on a tie."""
    return int(np.argmax(pose_scores(image)))


def canonical_pose(image: np.ndarray) -> tuple[np.ndarray, int]:
    """The photo turned and mirrored into its canonical pose, and the view that did it.

    Returns
    -------
    view : ndarray
        ``d4_view(image, k)`` (the image itself, not a copy, when ``k == 0``).
    k : int
        :func:`pose_index` of the image.
    """
    k = pose_index(image)
    return (image if k == 0 else d4_view(image, k)), k


def posed_squares(
    images: list[np.ndarray],
    size: int,
    orient: str | None = None,
    smooth: int = 0,
    jpeg: int = 0,
    downscale: int = 0,
) -> np.ndarray:
    """The network's uint8 square inputs (:func:`~poxscan.core.imageio.to_square`), each photo
    first turned into its canonical pose when ``orient`` is ``"canonical"``, then brought to a
    shorter side of at most ``downscale`` pixels (:func:`~poxscan.features.resolution.
    cap_resolution`) when that is not 0; the squares then smoothed by
    :func:`~poxscan.features.smoothing.binomial_smooth` when ``smooth`` is not 0 and re-encoded
    by :func:`~poxscan.features.recompression.recompress` when ``jpeg`` is not 0.

    Raises
    ------
    ValueError
        On an ``orient`` not in :data:`ORIENTATIONS`, or a ``smooth``, ``jpeg`` or
        ``downscale`` that the smoothing, the recompression or the resolution cap refuses.
    """
    if orient not in ORIENTATIONS:
        raise ValueError(f"unknown orient {orient!r}; use one of {ORIENTATIONS}")
    if orient == "canonical":
        images = [canonical_pose(np.asarray(img))[0] for img in images]
    if downscale:
        # After the pose: the pose is chosen on the photo as decoded, so a turned or mirrored
        # photo reaches the cap as the same pixels and comes out of it identically.
        images = [cap_resolution(np.asarray(img), downscale) for img in images]
    squares = np.stack([to_square(np.asarray(img), size) for img in images])
    return recompress(binomial_smooth(squares, smooth), jpeg)
