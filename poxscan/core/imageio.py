"""The one way every path in poxscan reads an image.

Every model, cache, audit and web upload goes through :func:`load_image`, so that no model can
learn from how a file was stored: the result is always an 8-bit RGB array, EXIF orientation
applied and every piece of metadata (EXIF, ICC, comments, file type) dropped. Models then see a
fixed-size square made by :func:`to_square` (shorter side resized, centre cropped), so neither the
image size nor the aspect ratio survives into the pixels.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import warnings
from os import PathLike

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_PIXELS",
    "ImageFramesWarning",
    "ImageLoadError",
    "image_hash",
    "load_image",
    "to_square",
]

#: Formats Pillow may decode. MPO is how Pillow names multi-picture JPEGs from phones.
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF"})
#: Refuse images claiming more pixels than this (about 8000 x 8000): decompression bombs.
MAX_PIXELS = 64_000_000
#: Refuse files larger than this many bytes before decoding anything.
MAX_BYTES = 64 * 1024 * 1024

Source = str | PathLike | bytes


class ImageLoadError(ValueError):
    """An input that is not a usable image; the message names the file and the problem.

    Parameters
    ----------
    name : str
        The file name (or a label for in-memory data).
    problem : str
        What is wrong, in words a person can act on.
    """

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {problem}")


class ImageFramesWarning(UserWarning):
    """A file holds several frames (multi-page TIFF, animated WebP or PNG); the first is used."""


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _os_problem(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: the file cannot be read"
    if exc.errno == errno.EISDIR:
        return "is a directory, not an image file"
    return f"cannot be read ({exc.strerror or type(exc).__name__})"


def _read_path(path: str | PathLike, name: str, max_bytes: int) -> bytes:
    """Read a regular file, at most ``max_bytes + 1`` bytes; every OS error becomes ours.

    The file is opened non-blocking and checked with ``fstat`` on the open descriptor, so a
    FIFO never blocks the reader and nothing can be swapped in between the check and the read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ImageLoadError(name, _os_problem(exc)) from None
    except ValueError as exc:  # e.g. an embedded NUL byte in the path
        raise ImageLoadError(name, f"not a usable path ({exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise ImageLoadError(name, f"is {kind}, not an image file")
        if info.st_size > max_bytes:
            raise ImageLoadError(
                name, f"file is {info.st_size} bytes, over the limit of {max_bytes}"
            )
        chunks, total = [], 0
        # /proc and other pseudo-files report size 0 yet hold data: read to EOF, capped.
        while total <= max_bytes:
            block = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not block:
                break
            chunks.append(block)
            total += len(block)
        return b"".join(chunks)
    except OSError as exc:
        raise ImageLoadError(name, _os_problem(exc)) from None
    finally:
        os.close(fd)


def _read_bytes(source: Source, name: str, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | PathLike):
        data = _read_path(source, name, max_bytes)
    else:
        raise ImageLoadError(name, f"expected a path or bytes, got {type(source).__name__}")
    if not data:
        raise ImageLoadError(name, "file is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ImageLoadError(name, f"file is {len(data)} bytes, over the limit of {max_bytes}")
    return data


def _to_uint8_rgb(img: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to an 8-bit RGB array; transparency is composited on white."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (and 32-bit integer) grey: scale the full 16-bit range to 8 bits instead of
        # clipping, which is what Image.convert("L") would do.
        arr = np.asarray(img, dtype=np.float64)
        grey = np.clip(arr / 257.0, 0, 255).round().astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) / (hi - lo) * 255.0
        grey = np.nan_to_num(scaled).round().astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")  # for an RGB image this would be one more full-size copy
    return np.asarray(img, dtype=np.uint8)


def load_image(
    source: Source,
    *,
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
) -> np.ndarray:
    """Decode an image file into an 8-bit RGB array with its EXIF orientation applied.

    JPEG (including ``.jfif``), PNG, WebP, BMP and TIFF are accepted, whatever the file is
    named: the format is sniffed from the content. Grayscale, palette, alpha (composited on
    white), CMYK and 16-bit images become 8-bit RGB. Metadata is dropped because only pixels
    are returned.

    Parameters
    ----------
    source : str, path-like or bytes
        A file path, or the file's bytes (for uploads).
    name : str, optional
        How to name the input in error messages; defaults to the path, or ``"<bytes>"``.
    max_pixels : int, default=MAX_PIXELS
        Refuse images whose header claims more pixels than this (decompression bombs),
        before any pixel is decoded.
    max_bytes : int, default=MAX_BYTES
        Refuse files larger than this.

    Returns
    -------
    image : ndarray of shape (height, width, 3), dtype uint8
        The pixels in RGB order.

    Raises
    ------
    ImageLoadError
        If the input is missing, unreadable (permission, I/O error), not a regular file (a
        directory, FIFO, device), empty, not an image, of an unsupported format, truncated,
        corrupt, or too large. The message names the file and the problem. Nothing else is
        raised, whatever the bytes.

    Warns
    -----
    ImageFramesWarning
        When the file holds more than one frame (multi-page TIFF, animated WebP or PNG): only
        the first is used. A phone's multi-picture JPEG (MPO) is not warned about.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("L", (4, 3), 128).save(buf, "PNG")
    >>> load_image(buf.getvalue()).shape
    (3, 4, 3)
    """
    if name is None:
        name = "<bytes>" if isinstance(source, bytes | bytearray | memoryview) else str(source)
    data = _read_bytes(source, name, max_bytes)
    n_frames = 1
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns or raises at its global limit; ours is explicit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format
            width, height = img.size
            if fmt not in ALLOWED_FORMATS:
                raise ImageLoadError(
                    name,
                    f"unsupported image format {fmt!r}; "
                    f"expected one of {', '.join(sorted(ALLOWED_FORMATS))}",
                )
            if width <= 0 or height <= 0:
                raise ImageLoadError(name, f"image has no pixels ({width}x{height})")
            if width * height > max_pixels:
                raise ImageLoadError(
                    name,
                    f"image claims {width}x{height} pixels, over the limit of {max_pixels} "
                    "(possible decompression bomb)",
                )
            if fmt != "MPO":  # MPO's extra frames are previews and depth maps, not pages
                n_frames = int(getattr(img, "n_frames", 1) or 1)
                img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img)
            array = np.ascontiguousarray(_to_uint8_rgb(img))
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(name, "not an image, or a format that cannot be decoded") from None
    except Image.DecompressionBombError as exc:
        # Pillow refuses headers past twice its own limit before ours is checked.
        raise ImageLoadError(
            name, f"image claims more than {max_pixels} pixels (possible decompression bomb; {exc})"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageLoadError(name, f"truncated or corrupt image data ({exc})") from None
    except Exception as exc:
        # A decoder fed hostile bytes may fail in any way (struct.error, IndexError,
        # ZeroDivisionError, MemoryError on a lying header...): it is still a bad file.
        raise ImageLoadError(name, f"corrupt image data ({type(exc).__name__}: {exc})") from None
    if n_frames > 1:
        warnings.warn(
            f"{name}: the {fmt} file holds {n_frames} frames; only the first is used",
            ImageFramesWarning,
            stacklevel=2,
        )
    return array


def to_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize the shorter side to ``size`` and crop the centre to ``size`` x ``size``.

    The one documented way poxscan fits an image to a model's input. Cropping rather than
    stretching keeps the aspect ratio of the original out of the pixels, so no model can learn
    it. Downscaling uses area interpolation (anti-aliased), upscaling bicubic.

    Parameters
    ----------
    image : ndarray of shape (height, width, 3), dtype uint8
        An RGB image, as returned by :func:`load_image`.
    size : int
        Side of the square output, in pixels.

    Returns
    -------
    square : ndarray of shape (size, size, 3), dtype uint8
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (h, w, 3), got {image.shape}")
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_w = max(size, round(width * scale))
    new_h = max(size, round(height * scale))
    if (new_h, new_w) != (height, width):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        image = cv2.resize(image, (new_w, new_h), interpolation=interp)
    top = (new_h - size) // 2
    left = (new_w - size) // 2
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def image_hash(image: np.ndarray) -> str:
    """SHA-256 of decoded pixels and their shape: the content key of caches and audits.

    Two files holding the same pixels (re-saved with other metadata, say) share a hash.
    """
    digest = hashlib.sha256()
    digest.update(str(image.shape).encode())
    digest.update(np.ascontiguousarray(image, dtype=np.uint8).tobytes())
    return digest.hexdigest()
