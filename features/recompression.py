"""JPEG recompression of the network's square input, a canonicalisation against re-saving.

Re-saving a photo as JPEG moves its embedding a little, and a photo whose probability lies
near the threshold then changes its decision. Re-encoding the square that the backbone sees
at a fixed, lower quality before its preprocessing was meant to let the quantisation of that
quality, not the photo's own compression history, decide most high-frequency content, so that
a photo and its re-save at a higher quality would come out of ``JPEG(., q)`` closer than they
went in. This is
the JPEG input transformation of Das et al., "Keeping the bad guys out" (arXiv 1705.02900,
2017) and Guo et al., ICLR 2018, used for robustness to benign re-saving. What it does to the
decisions is measured by ``experiments/bench_stability.py`` (``shipped_jpeg<q>`` candidates):
on the shipped model it made JPEG-85 decision flips worse, 1.7 % -> 3.9 % at quality 75 and 60
(a re-saved photo crosses other quantisation steps of the second encode than the original
does, so the encoder amplifies small differences instead of absorbing them), and lowered the
out-of-fold AUC (0.894 -> 0.888 / 0.874); no shipped configuration uses it.

Pillow's libjpeg encoder with its defaults (4:2:0 chroma subsampling, standard tables) is
deterministic, so the same square gives the same bytes on every run.
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["recompress"]


def recompress(squares: np.ndarray, quality: int) -> np.ndarray:
    """Squares (``(n, h, w, 3)`` or ``(h, w, 3)`` uint8) encoded as JPEG at ``quality`` and decoded.

    Parameters
    ----------
    squares : ndarray of uint8
        Images, channels last.
    quality : int
        JPEG quality, 1 to 95; 0 returns the input unchanged.

    Returns
    -------
    ndarray of uint8, the shape of ``squares``.

    Raises
    ------
    ValueError
        On a quality outside 0-95 or an input that is not uint8 RGB.
    """
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
        raise ValueError(f"jpeg must be an int quality (0: none), got {quality!r}")
    if not 0 <= int(quality) <= 95:
        raise ValueError(f"jpeg quality must lie in 1-95 (0: none), got {quality}")
    squares = np.asarray(squares)
    if squares.dtype != np.uint8 or squares.shape[-1] != 3:
        raise ValueError(f"recompress takes uint8 RGB images, got {squares.dtype} {squares.shape}")
    if quality == 0:
        return squares
    from PIL import Image

    one = squares.ndim == 3
    batch = squares[None] if one else squares
    out = np.empty_like(batch)
    for i, square in enumerate(batch):
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(square)).save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        with Image.open(buf) as decoded:
            out[i] = np.asarray(decoded.convert("RGB"))
    return out[0] if one else out
