"""The one image loader on real images and on a corpus of bad inputs made here."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from poxscan.core.imageio import ImageLoadError, image_hash, load_image, to_square


def _save(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but holds almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture
def photo(real_images) -> Image.Image:
    return Image.fromarray(real_images[0])


# -- inputs that must be refused, with the file and the problem named ----------------------------
def test_zero_bytes_refused(tmp_path: Path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=r"empty\.jpg: file is empty"):
        load_image(path)


def test_text_named_jpg_refused(tmp_path: Path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a photo\n")
    with pytest.raises(ImageLoadError, match=r"notes\.jpg: not an image"):
        load_image(path)


def test_truncated_jpeg_refused(tmp_path: Path, photo):
    data = _save(photo, "JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match=r"cut\.jpg: truncated or corrupt"):
        load_image(path)


def test_header_claiming_30000_squared_refused_before_decoding(tmp_path: Path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(30000, 30000))
    with pytest.raises(ImageLoadError, match=r"bomb\.png: image claims .*decompression bomb"):
        load_image(path)
    # Below Pillow's own limit, ours still refuses, naming the claimed size.
    path.write_bytes(_png_header_only(9000, 9000))
    with pytest.raises(ImageLoadError, match=r"bomb\.png: image claims 9000x9000 pixels"):
        load_image(path)


def test_missing_file_refused(tmp_path: Path):
    with pytest.raises(ImageLoadError, match=r"nothing\.png: no such file"):
        load_image(tmp_path / "nothing.png")


def test_unsupported_format_refused():
    gif = _save(Image.new("RGB", (8, 8), (10, 20, 30)), "GIF")
    with pytest.raises(ImageLoadError, match=r"upload\.gif: unsupported image format 'GIF'"):
        load_image(gif, name="upload.gif")


def test_oversized_file_refused(tmp_path: Path, photo):
    path = tmp_path / "big.jpg"
    path.write_bytes(_save(photo, "JPEG"))
    with pytest.raises(ImageLoadError, match=r"big\.jpg: file is \d+ bytes, over the limit"):
        load_image(path, max_bytes=100)


# -- inputs that must be converted to 8-bit RGB ---------------------------------------------------
def test_16bit_png_scaled_not_clipped():
    ramp = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    data = _save(Image.fromarray(ramp), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    out = load_image(data)
    assert out.dtype == np.uint8 and out.shape == (8, 8, 3)
    # Full 16-bit range maps onto the full 8-bit range; clipping would saturate most pixels.
    assert out.min() == 0 and out.max() == 255
    assert (out[..., 0] == 255).mean() < 0.1
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_cmyk_jpeg_becomes_rgb(photo):
    data = _save(photo.convert("CMYK"), "JPEG", quality=95)
    out = load_image(data)
    assert out.shape == (*photo.size[::-1], 3) and out.dtype == np.uint8
    # The colours survive the round trip (JPEG loss aside).
    assert np.abs(out.astype(int) - np.asarray(photo, dtype=int)).mean() < 12


def test_rgba_png_composited_on_white():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half fully transparent
    out = load_image(_save(Image.fromarray(rgba, "RGBA"), "PNG"))
    np.testing.assert_array_equal(out[0, 0], [200, 0, 0])
    np.testing.assert_array_equal(out[3, 3], [255, 255, 255])


def test_palette_and_grayscale_become_rgb():
    grey = Image.new("L", (5, 3), 77)
    out = load_image(_save(grey, "PNG"))
    assert out.shape == (3, 5, 3) and (out == 77).all()
    pal = Image.new("RGB", (5, 3), (0, 128, 255)).convert("P", palette=Image.Palette.ADAPTIVE)
    out = load_image(_save(pal, "PNG"))
    np.testing.assert_array_equal(out[1, 1], [0, 128, 255])


def test_exif_orientation_applied_and_metadata_dropped():
    # A 40x20 image, left half red; EXIF orientation 6 means "rotate 90 degrees clockwise".
    arr = np.zeros((20, 40, 3), dtype=np.uint8)
    arr[:, :20] = (255, 0, 0)
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"  # camera make: metadata that must not survive
    out = load_image(_save(img, "JPEG", quality=100, exif=exif.tobytes()))
    assert out.shape == (40, 20, 3)
    # After rotating clockwise the former left half is on top.
    assert out[:18, :, 0].mean() > 200 and out[22:, :, 0].mean() < 50
    assert isinstance(out, np.ndarray)  # pixels only: no EXIF can travel with the result


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF"])
def test_every_supported_format_decodes(fmt, photo, tmp_path: Path):
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(_save(photo, fmt))
    out = load_image(path)
    assert out.shape == (*photo.size[::-1], 3)
    tol = 12 if fmt in ("JPEG", "WEBP") else 0
    assert np.abs(out.astype(int) - np.asarray(photo, dtype=int)).mean() <= tol


def test_format_sniffed_not_trusted_from_name(tmp_path: Path, photo):
    path = tmp_path / "really_a_png.jpg"
    path.write_bytes(_save(photo, "PNG"))
    np.testing.assert_array_equal(load_image(path), np.asarray(photo))


# -- real images ---------------------------------------------------------------------------------
def test_real_jfif_and_phone_photo_load(data_root: Path):
    thumb = load_image(data_root / "ahsan2022" / "Monkeypox" / "1.jfif")
    assert thumb.ndim == 3 and thumb.shape[2] == 3 and thumb.dtype == np.uint8
    normals = sorted((data_root / "ahsan2022" / "Normal").iterdir())
    sizes = {load_image(p).shape[:2] for p in normals[:5]}
    assert all(min(s) > 0 for s in sizes)


def test_to_square_hides_size_and_aspect(real_images):
    img = real_images[0]
    wide = np.concatenate([img, img], axis=1)  # twice as wide
    small = img[::2, ::2]
    for variant in (img, wide, small):
        out = to_square(variant, 96)
        assert out.shape == (96, 96, 3) and out.dtype == np.uint8
    # Same content at two sizes gives nearly the same square.
    diff = np.abs(to_square(img, 96).astype(int) - to_square(small, 96).astype(int)).mean()
    assert diff < 10


def test_image_hash_is_content_not_container(photo):
    png = load_image(_save(photo, "PNG"))
    tiff = load_image(_save(photo, "TIFF"))
    assert image_hash(png) == image_hash(tiff)
    changed = png.copy()
    changed[0, 0, 0] ^= 1
    assert image_hash(changed) != image_hash(png)


@pytest.mark.parametrize("fmt", ["TIFF", "WEBP", "PNG"])
def test_frames_beyond_the_first_are_named_as_ignored(fmt, tmp_path):
    from poxscan.core.imageio import ImageFramesWarning

    frames = [
        Image.new("RGB", (24, 16), colour) for colour in ((250, 0, 0), (0, 250, 0), (0, 0, 250))
    ]
    path = tmp_path / f"pages.{fmt.lower()}"
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], lossless=True)
    with pytest.warns(ImageFramesWarning, match=r"pages\..*holds 3 frames; only the first"):
        image = load_image(path)
    assert image.shape == (16, 24, 3) and image[..., 0].min() > 200  # the first (red) frame
    single = tmp_path / f"one.{fmt.lower()}"
    frames[0].save(single, fmt, lossless=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageFramesWarning)
        load_image(single)
