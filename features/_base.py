"""What every poxscan feature extractor shares: the scikit-learn transformer contract over images.

An extractor is a stateless transformer. Its input ``X`` is a sequence of RGB ``uint8`` images
as :func:`poxscan.core.imageio.load_image` returns them, of any size (a list of arrays, or one array
of shape ``(n, h, w, 3)``); each extractor fits them to its own input with
:func:`poxscan.core.imageio.to_square` (the handcrafted families with :func:`reduced_square`,
the same square with large photos first halved cheaply). Its output is a ``float32`` matrix
whose columns :meth:`get_feature_names_out` names ``"<family>__<feature>"``.

:meth:`fingerprint` identifies what the extractor computes (class, parameters, code version,
weights), so caches and saved models know when features must be recomputed.

Every extractor takes ``color_constancy`` (:mod:`poxscan.features.color_constancy`): ``None``
(default) leaves the images alone; ``"shades_of_gray"`` corrects each image's colour cast before
its features are taken, and enters the fingerprint, so cached features of the two never mix.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Sequence
from typing import ClassVar

import cv2
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from poxscan.core.imageio import to_square
from poxscan.features.color_constancy import apply_color_constancy, parse

__all__ = ["ImageFeatureExtractor", "check_images", "fit_square", "reduced_square", "scratch"]

#: Per-thread scratch arrays, reused from image to image: a fresh array of a few hundred kB
#: per step costs page faults that took longer than the arithmetic on it (LBP at P = 24:
#: 5 ms instead of 1.5 ms).
_SCRATCH = threading.local()
_MAX_SCRATCH = 128


def scratch(name: object, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A reusable array of this thread, for intermediate results only.

    Its contents are whatever its last user left; never return it (or a view of it) to a
    caller. Keyed by name, shape and dtype; the store is emptied when it holds too many.
    """
    store = getattr(_SCRATCH, "arrays", None)
    if store is None or len(store) > _MAX_SCRATCH:
        store = _SCRATCH.arrays = {}
    key = (name, tuple(shape), np.dtype(dtype).str)
    array = store.get(key)
    if array is None:
        array = store[key] = np.empty(shape, dtype)
    return array


def _area_tab(ssize: int, dsize: int, scale: float) -> list[tuple[int, int, float]]:
    """OpenCV's ``computeResizeAreaTab`` (one channel): (dst, src, float32 weight) entries."""
    tab = []
    f32 = np.float32
    for dx in range(dsize):
        fsx1 = dx * scale
        fsx2 = fsx1 + scale
        cell = min(scale, ssize - fsx1)
        sx1, sx2 = math.ceil(fsx1), math.floor(fsx2)
        sx2 = min(sx2, ssize - 1)
        sx1 = min(sx1, sx2)
        if sx1 - fsx1 > 1e-3:
            tab.append((dx, sx1 - 1, float(f32((sx1 - fsx1) / cell))))
        for sx in range(sx1, sx2):
            tab.append((dx, sx, float(f32(1.0 / cell))))
        if fsx2 - sx2 > 1e-3:
            tab.append((dx, sx2, float(f32(min(min(fsx2 - sx2, 1.0), cell) / cell))))
    return tab


#: (source length, resized length, crop offset, size) -> source window (start, stop) whose own
#: area resize to ``size`` equals the crop of the full resize, or None.
_WINDOWS: dict[tuple[int, int, int, int], tuple[int, int] | None] = {}


def _exact_window(length: int, resized: int, offset: int, size: int) -> tuple[int, int] | None:
    """Source window along one axis that resizes to exactly the centre crop, if one exists.

    cv2.resize(INTER_AREA) weighs each source pixel by a table computed from the scale
    ``1 / (resized / length)``; the window qualifies when its own table (same scale as
    doubles) is the full table's crop entry for entry, so the two resizes add the same
    products in the same order.
    """
    key = (length, resized, offset, size)
    if key in _WINDOWS:
        return _WINDOWS[key]
    window = None
    scale = 1.0 / (resized / length)
    full = [(d - offset, s, a) for d, s, a in _area_tab(length, resized, scale)]
    full = [e for e in full if 0 <= e[0] < size]
    start, stop = full[0][1], full[-1][1] + 1
    if stop - start < length and 1.0 / (size / (stop - start)) == scale:
        own = _area_tab(stop - start, size, scale)
        if own == [(d, s - start, a) for d, s, a in full]:
            window = (start, stop)
    if len(_WINDOWS) < 256:
        _WINDOWS[key] = window
    return window


def fit_square(image: np.ndarray, size: int) -> np.ndarray:
    """:func:`poxscan.core.imageio.to_square`, without resizing pixels the crop discards.

    ``to_square`` area-resizes the whole photo and keeps the centre square; for a 3:2 phone
    photo a third of that work is thrown away. Where the source columns (or rows) under the
    centre square area-resize on their own to the same pixels (see :func:`_exact_window`:
    for example 4872 x 3248 to 224 or 128 px), only they are resized; the result is
    identical (tested on every shared image), else ``to_square`` itself runs.
    """
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    if scale >= 1 or (new_w == size and new_h == size):
        return to_square(image, size)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    rows = (0, height) if new_h == size else _exact_window(height, new_h, top, size)
    cols = (0, width) if new_w == size else _exact_window(width, new_w, left, size)
    if rows is None or cols is None:
        return to_square(image, size)
    window = image[rows[0] : rows[1], cols[0] : cols[1]]
    return np.ascontiguousarray(cv2.resize(window, (size, size), interpolation=cv2.INTER_AREA))


#: A photo is first halved while its shorter side stays at least this many times the square.
_HALVE_ABOVE = 2


def _reduced_window(
    offset: int, resized: int, length: int, size: int, step: int
) -> tuple[int, int]:
    """Source span (start, stop) under ``[offset, offset + size)`` of the resized axis, rounded
    to a length that is a multiple of ``step`` (at most ``length``), centred where it was."""
    a, b = offset * length / resized, (offset + size) * length / resized
    n = max(1, round((b - a) / step)) * step
    if n > length:
        n -= step
    start = min(max(0, round((a + b) / 2 - n / 2)), length - n)
    return start, start + n


def reduced_square(image: np.ndarray, size: int) -> np.ndarray:
    """The square of :func:`fit_square`, with a large photo first halved by exact 2 x 2 means.

    The handcrafted families' square. Where the shorter side is under ``4 * size`` this *is*
    :func:`fit_square` (so :func:`~poxscan.core.imageio.to_square`'s pixels). A larger photo
    is cropped to the source span under to_square's centre square (rounded to whole 2 x 2
    blocks), halved with :func:`cv2.resize` (``INTER_AREA`` at exactly one half: OpenCV's
    SIMD path) while its side stays at least ``2 * size``, and area-resized to the square:
    about 6 ms instead of 22 ms on average for the shared 0.4-16 MP photos (8 ms instead of 47
    for a 16 MP one). The pixels differ from to_square's by the rounding of the halvings and
    by where a box edge falls inside a block (at most a quarter of an output pixel's shift): on
    the shared photos it halves (33 at 224 px, 38 at 128 px), a mean absolute difference of
    0.45 grey levels at 224 px and 0.43 at 128 px (worst photo 0.92 and 0.84, its 99th
    percentile 5 and 6 levels); at 96 px 0.76 (worst 1.39). Tested in
    ``tests/test_handcrafted_features.py``.
    """
    height, width = image.shape[:2]
    shorter = min(height, width)
    if shorter < 2 * _HALVE_ABOVE * size:
        return fit_square(image, size)
    scale = size / shorter
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    halvings = 0
    while shorter / 2 ** (halvings + 1) >= _HALVE_ABOVE * size:
        halvings += 1
    step = 2**halvings
    r0, r1 = _reduced_window((new_h - size) // 2, new_h, height, size, step)
    c0, c1 = _reduced_window((new_w - size) // 2, new_w, width, size, step)
    square = image[r0:r1, c0:c1]
    for _ in range(halvings):
        half = (square.shape[1] // 2, square.shape[0] // 2)
        square = cv2.resize(square, half, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA))


def check_images(X: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """Validate a batch of RGB uint8 images and return it as a list."""
    if isinstance(X, np.ndarray) and X.ndim == 3 and X.shape[-1] == 3:
        raise ValueError("expected a batch of images; got one image (wrap it in a list)")
    images = list(X)
    if not images:
        raise ValueError("expected at least one image")
    for i, img in enumerate(images):
        img = np.asarray(img)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(
                f"image {i}: expected an RGB uint8 array of shape (h, w, 3), "
                f"got dtype {img.dtype} and shape {img.shape}"
            )
    return images


class ImageFeatureExtractor(TransformerMixin, BaseEstimator):
    """Base class: images in, a named ``float32`` feature matrix out.

    Subclasses set ``family`` and ``version`` and implement :meth:`_feature_names` and either
    :meth:`_transform_one` (one image at a time) or :meth:`_transform_batch`.
    """

    #: Prefix of every output column, e.g. ``"color"``.
    family: ClassVar[str] = ""
    #: Bump when the computation changes for the same parameters; caches then recompute.
    version: ClassVar[str] = "1"

    def fit(self, X: Sequence[np.ndarray] | np.ndarray, y: object = None) -> ImageFeatureExtractor:
        """Validate the input and record the output names; nothing is learnt."""
        check_images(X)
        parse(getattr(self, "color_constancy", None))  # fail early on a bad option
        self.feature_names_out_ = np.asarray(
            [f"{self.family}__{name}" for name in self._feature_names()], dtype=object
        )
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def transform(self, X: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Compute the features of each image: an array of shape ``(n_images, n_features)``."""
        check_is_fitted(self, "feature_names_out_")
        images = apply_color_constancy(check_images(X), getattr(self, "color_constancy", None))
        out = self._transform_batch(images)
        out = np.asarray(out, dtype=np.float32)
        if out.shape[1] != self.n_features_out_:
            raise RuntimeError(
                f"{type(self).__name__} produced {out.shape[1]} features, "
                f"expected {self.n_features_out_}"
            )
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the output columns, prefixed by the family."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def fingerprint(self) -> str:
        """Stable identity of what this extractor computes: class, version and parameters."""
        payload = {
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "version": self.version,
            "params": self._fingerprint_params(),
        }
        # No correction keeps the fingerprint extractors had before the option existed.
        if payload["params"].get("color_constancy", None) is None:
            payload["params"].pop("color_constancy", None)
        text = json.dumps(payload, sort_keys=True, default=str)
        return f"{self.family}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    # -- for subclasses ---------------------------------------------------------------------
    def _fingerprint_params(self) -> dict:
        """Parameters that change the output; deep extractors add their weights' hash."""
        params = self.get_params(deep=False)
        if params.get("color_constancy", None) is None:
            params.pop("color_constancy", None)  # no correction: the fingerprint stays as it was
        return params

    def _feature_names(self) -> list[str]:
        raise NotImplementedError

    def _transform_one(self, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _transform_batch(self, images: list[np.ndarray]) -> np.ndarray:
        return np.stack([self._transform_one(np.asarray(img)) for img in images])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.two_d_array = False
        tags.non_deterministic = False
        return tags
