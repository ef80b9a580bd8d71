"""hypothesis against load_image: random bytes and mutated real files.

Whatever the bytes, :func:`load_image` returns an 8-bit RGB array or raises
:class:`ImageLoadError`, nothing else, and within a time bound. Mutations start from real
photos of the datasets re-encoded in every accepted format, so the decoders' deep paths are
reached, not only their magic-number checks. The number of cases tried is printed.
"""

from __future__ import annotations

import io
import time
import warnings
from collections import Counter

import numpy as np
import pytest
from _fuzz_report import LINES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from poxscan.core.imageio import ALLOWED_FORMATS, ImageLoadError, load_image

#: Seconds one call may take, whatever the input (the files here are at most a few hundred kB).
TIME_BOUND_S = 5.0
MAX_EXAMPLES = 300
CASES: Counter = Counter()
OUTCOMES: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_cases():
    yield
    LINES.append(f"hypothesis load_image: {sum(CASES.values())} cases tried ({dict(CASES)})")
    LINES.append(f"  outcomes: {dict(OUTCOMES)}")


def _seeds(real_images) -> list[bytes]:
    """Real photos, shrunk, in every accepted format (and a few modes)."""
    out = []
    for k, array in enumerate(real_images[:3]):
        img = Image.fromarray(array).resize((96, 72))
        for fmt in ("JPEG", "PNG", "WEBP", "BMP", "TIFF"):
            buf = io.BytesIO()
            img.convert("L" if k == 1 and fmt == "PNG" else "RGB").save(buf, fmt)
            out.append(buf.getvalue())
    buf = io.BytesIO()
    frames = [Image.fromarray(real_images[0]).resize((32, 24))] * 2
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    out.append(buf.getvalue())
    return out


def _check(data: bytes, kind: str) -> None:
    CASES[kind] += 1
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # frames and Pillow's own warnings are fine
            image = load_image(data, name="fuzz")
    except ImageLoadError as exc:
        assert exc.name == "fuzz" and exc.problem
        OUTCOMES["ImageLoadError"] += 1
    else:
        assert isinstance(image, np.ndarray) and image.dtype == np.uint8
        assert image.ndim == 3 and image.shape[2] == 3 and image.size > 0
        OUTCOMES["image"] += 1
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_BOUND_S, f"{kind}: {elapsed:.1f} s"


@settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
@given(data=st.binary(max_size=4096))
def test_random_bytes(data):
    _check(data, "random")


@settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
@given(prefix=st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF", b"BM", b"II*\x00",
                               b"MM\x00*"]), rest=st.binary(max_size=2048))  # fmt: skip
def test_random_bytes_behind_a_real_magic_number(prefix, rest):
    _check(prefix + rest, "magic")


def test_mutated_real_files(real_images):
    seeds = _seeds(real_images)
    assert {Image.open(io.BytesIO(s)).format for s in seeds} <= ALLOWED_FORMATS

    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(
        seed=st.sampled_from(seeds),
        edits=st.lists(
            st.tuples(st.floats(0, 1), st.integers(0, 255), st.sampled_from("flip cut dup")),
            min_size=1,
            max_size=8,
        ),
    )
    def run(seed, edits):
        data = bytearray(seed)
        for where, value, how in edits:
            i = min(int(where * len(data)), len(data) - 1)
            if how == "flip":
                data[i] = value
            elif how == "cut":
                del data[i:]
            else:
                data[i:i] = data[i : i + value]
            if not data:
                break
        _check(bytes(data), "mutated")

    run()
    assert CASES["mutated"] >= MAX_EXAMPLES // 2
