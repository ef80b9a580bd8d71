"""Uploaded images: read, sniff, name safely, optionally keep (metadata stripped).

Nothing about an upload is trusted but its bytes. The file's type is sniffed from its content by
:func:`poxscan.core.imageio.load_image` (the client's file name and content type are ignored); the
client's file name is only ever *shown*, reduced to a short printable base name and escaped by
the templates, and never used to name anything on disk. Uploads are not stored unless the app
is configured with ``KEEP_UPLOADS_DIR``; then the decoded pixels are re-encoded as PNG (so EXIF,
GPS positions and other metadata are dropped) under a name made from their hash.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest, HTTPException, UnprocessableEntity, UnsupportedMediaType

from poxscan.core.atomic import atomic_write_bytes
from poxscan.core.imageio import ImageLoadError, image_hash, load_image

__all__ = [
    "FIELD",
    "Upload",
    "display_name",
    "error_for",
    "keep_upload",
    "read_upload",
    "release_pixels",
    "thumbnail_png",
]

#: Name of the multipart field holding the image, in the form and the API.
FIELD = "file"
_MAX_NAME = 80


class _PixelBudget:
    """At most ``limit`` pixels being decoded (or screened) at once, across the server's threads.

    Decoding holds a few full-size copies of an image (Pillow's, the RGB array), and the decoded
    array lives until its prediction is done: eight 40-megapixel uploads decoded together peak
    at several GB. Requests beyond the budget wait; one image alone may always use the whole
    budget.
    """

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self.used = 0
        self._cond = threading.Condition()

    def acquire(self, pixels: int) -> int:
        """Wait until ``pixels`` fit, take them; returns what to :meth:`release`."""
        pixels = max(0, min(int(pixels), self.limit))
        with self._cond:
            self._cond.wait_for(lambda: self.used + pixels <= self.limit)
            self.used += pixels
        return pixels

    def release(self, pixels: int) -> None:
        """Give back what :meth:`acquire` returned."""
        with self._cond:
            self.used -= pixels
            self._cond.notify_all()

    @contextlib.contextmanager
    def take(self, pixels: int) -> Iterator[None]:
        granted = self.acquire(pixels)
        try:
            yield
        finally:
            self.release(granted)


def release_pixels(held: list[tuple[_PixelBudget, int]]) -> None:
    """Give back the pixels :func:`read_upload` kept in ``held`` (and empty it)."""
    while held:
        budget, pixels = held.pop()
        budget.release(pixels)


_BUDGETS: dict[int, _PixelBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def _budget(limit: int) -> _PixelBudget:
    with _BUDGETS_LOCK:
        return _BUDGETS.setdefault(int(limit), _PixelBudget(limit))


def _claimed_pixels(data: bytes) -> int:
    """Pixels the header claims (0 if it cannot be read: the decoder will say why)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            return int(img.width) * int(img.height)
    except Exception:
        return 0


@dataclass
class Upload:
    """A decoded upload: the pixels and a name that is safe to show."""

    name: str
    image: np.ndarray
    n_bytes: int


def display_name(filename: str | None) -> str:
    """A short printable base name for messages; never a path to use on disk.

    Directory parts (``../../etc/passwd.jpg`` -> ``passwd.jpg``, either slash), control and
    format characters are removed and the result is cut to 80 characters. Markup characters
    are kept: templates escape them, JSON carries them as data.

    Examples
    --------
    >>> display_name("../../etc/passwd.jpg")
    'passwd.jpg'
    >>> display_name("")
    'upload'
    """
    name = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > _MAX_NAME:
        name = name[: _MAX_NAME - 1] + "…"
    return name or "upload"


def error_for(exc: ImageLoadError) -> HTTPException:
    """The HTTP error for an unusable upload: 415 for a non-image or unsupported format,
    422 for an image that is empty, truncated, corrupt or too large."""
    problem = exc.problem
    if problem.startswith("unsupported image format") or problem.startswith("not an image"):
        return UnsupportedMediaType(f"{exc}. Upload a photo as JPEG, PNG, WebP, BMP or TIFF.")
    return UnprocessableEntity(f"{exc}.")


def read_upload(
    files: dict,
    max_pixels: int,
    pixels_in_flight: int | None = None,
    hold: list[tuple[_PixelBudget, int]] | None = None,
) -> Upload:
    """Decode the image in the request's ``file`` field.

    Parameters
    ----------
    files : mapping
        ``request.files``.
    max_pixels : int
        Refuse images with more pixels than this (decompression bombs).
    pixels_in_flight : int, optional
        Pixels all threads may decode at once (default: twice ``max_pixels``); bounds the
        server's memory under many concurrent large uploads.
    hold : list, optional
        Keep the decoded image's share of that budget after returning, recorded in this list,
        until :func:`release_pixels` (after its prediction: the array is as large as ever
        then); without it the share is given back once decoded.

    Raises
    ------
    werkzeug.exceptions.HTTPException
        400 when no file or more than one was sent, 415 or 422 (see :func:`error_for`) when
        it is not a usable image; the description says what is wrong and names the file.
    """
    parts = files.getlist(FIELD) if hasattr(files, "getlist") else [files.get(FIELD)]
    parts = [p for p in parts if p is not None]
    if len(parts) > 1:
        # Which one would be screened is not for the server to guess.
        raise BadRequest(
            f"{len(parts)} files were sent in the field '{FIELD}': send one photo per request."
        )
    storage: FileStorage | None = parts[0] if parts else None
    if storage is None:
        raise BadRequest(
            f"No image was uploaded: send the photo as the multipart form field '{FIELD}'."
        )
    data = storage.read()
    if not storage.filename and not data:
        raise BadRequest("No file was chosen: pick a photo of the skin lesion, then submit.")
    name = display_name(storage.filename)
    budget = _budget(pixels_in_flight or 2 * max_pixels)
    granted = budget.acquire(min(_claimed_pixels(data), max_pixels))
    try:
        image = load_image(data, name=name, max_pixels=max_pixels)
    except ImageLoadError as exc:
        budget.release(granted)
        raise error_for(exc) from None
    except BaseException:
        budget.release(granted)
        raise
    if hold is None:
        budget.release(granted)
    else:
        hold.append((budget, granted))
    return Upload(name=name, image=image, n_bytes=len(data))


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def thumbnail_png(image: np.ndarray, max_side: int = 320) -> bytes:
    """A small PNG of the decoded pixels, for showing the upload back on the result page."""
    import cv2

    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return _png(image)


def keep_upload(image: np.ndarray, folder: str | PathLike) -> Path:
    """Save the decoded pixels as ``<pixel sha256>.png`` in ``folder`` (atomically).

    The name comes from the pixels, never from the client, and PNG re-encoding drops every
    piece of metadata the original file carried.
    """
    target = Path(folder) / f"{image_hash(image)}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        atomic_write_bytes(target, _png(image))
    return target
