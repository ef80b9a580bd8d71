"""A model directory checked against its manifest: the one verification every loader calls.

Classical models (:mod:`poxscan.pipelines.persistence`, ``model.joblib``) and fine-tuned CNNs
(:mod:`poxscan.pipelines.cnn_model`, ``model.keras``) share the layout: a ``manifest.json``
listing the sha256 of every other file. :func:`verify_directory` reads each file **once**,
hashes those bytes and hands back the bytes of the files the caller will load, so nothing can be
swapped between the check and the use (no second read). The manifest itself is read once too:
the pin (``manifest_sha256``) is compared with the very bytes that are then parsed.
"""

from __future__ import annotations

import json
import os
import stat
import warnings
from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any

from poxscan.core.hashing import bytes_sha256, file_sha256

__all__ = [
    "MANIFEST_NAME",
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "MODEL_NAME",
    "IncompatibleModelError",
    "ModelIntegrityError",
    "UnpinnedModelWarning",
    "file_sha256",
    "list_files",
    "read_regular",
    "verify_directory",
]

MANIFEST_NAME = "manifest.json"
#: The classical model directory's format (:mod:`poxscan.pipelines.persistence`), here so that a
#: loader that imports no scikit-learn (:mod:`poxscan.pipelines.lite_head`) can check it too.
MODEL_FORMAT = "poxscan-model"
MODEL_FORMAT_VERSION = 1
MODEL_NAME = "model.joblib"
#: Refuse manifests larger than this (a manifest is a few kB).
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


class ModelIntegrityError(RuntimeError):
    """A model directory does not match its manifest; nothing in it was unpickled."""


class IncompatibleModelError(RuntimeError):
    """A model cannot be used with the code installed now (format or feature extractors)."""


class UnpinnedModelWarning(UserWarning):
    """A model was loaded without ``manifest_sha256``: whoever can rewrite it can swap it."""


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file, opened without following a final symlink.

    Raises
    ------
    ModelIntegrityError
        A link, a non-regular file, a file over ``limit`` bytes, or an OS error.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ModelIntegrityError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModelIntegrityError(f"{path}: not a regular file; refusing to load")
        if limit is not None and info.st_size > limit:
            raise ModelIntegrityError(f"{path}: {info.st_size} bytes, over the limit of {limit}")
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ModelIntegrityError(f"{path}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)


def list_files(folder: Path) -> dict[str, Path]:
    """Every entry below ``folder`` by POSIX relative path; links and odd entries refused."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            raise ModelIntegrityError(f"{folder}: {rel} is a symbolic link; refusing to load")
        if path.is_dir():
            continue
        if not path.is_file():
            raise ModelIntegrityError(f"{folder}: {rel} is not a regular file; refusing to load")
        out[rel] = path
    return out


def _read_manifest(folder: Path, pinned: str | None) -> tuple[dict[str, Any], str]:
    path = folder / MANIFEST_NAME
    if path.is_symlink() or not path.is_file():
        raise ModelIntegrityError(f"{folder}: {MANIFEST_NAME} is missing; not a poxscan model")
    data = read_regular(path, MAX_MANIFEST_BYTES)
    actual = bytes_sha256(data)
    if pinned is not None and actual != pinned.strip().lower():
        raise ModelIntegrityError(f"{path}: sha256 {actual} differs from the pinned {pinned}")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelIntegrityError(f"{path}: unreadable manifest ({exc})") from None
    return manifest, actual


def verify_directory(
    model_dir: str | PathLike,
    *,
    fmt: str,
    format_version: int,
    primary: str,
    manifest_sha256: str | None = None,
    read: Iterable[str] = (),
    other_hint: str = "",
) -> tuple[dict[str, Any], dict[str, bytes], str]:
    """Check every file of a model directory against its manifest, reading each once.

    Parameters
    ----------
    model_dir : path-like
        The model directory.
    fmt, format_version : str, int
        The manifest's expected ``format`` and the newest ``format_version`` understood.
    primary : str
        The file the manifest must list (``model.joblib``, ``model.keras``).
    manifest_sha256 : str, optional
        Expected sha256 of ``manifest.json`` itself (pins the whole model). Without it an
        :class:`UnpinnedModelWarning` is issued.
    read : iterable of str
        Files whose verified bytes to return (the ones the caller will load).
    other_hint : str
        Added to the "not a ... manifest" message (e.g. which option loads the other kind).

    Returns
    -------
    manifest : dict
    blobs : dict of str to bytes
        The verified bytes of the files named in ``read``.
    sha256 : str
        sha256 of the manifest bytes that were parsed.

    Raises
    ------
    ModelIntegrityError
        Missing folder or manifest, unreadable manifest, a pin that differs, a file whose
        sha256 differs, a file the manifest lists that is missing, or a file it does not list;
        the message names the file.
    IncompatibleModelError
        A manifest of another format or a newer format version.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise ModelIntegrityError(f"{folder}: no such model directory")
    manifest, sha = _read_manifest(folder, manifest_sha256)
    path = folder / MANIFEST_NAME
    if not isinstance(manifest, dict) or manifest.get("format") != fmt:
        raise IncompatibleModelError(f"{path}: not a {fmt} manifest{other_hint}")
    try:
        version = int(manifest.get("format_version", 0))
    except (TypeError, ValueError):
        raise IncompatibleModelError(f"{path}: format_version is not a number") from None
    if version > format_version:
        raise IncompatibleModelError(
            f"{path}: format version {version} is newer than this poxscan understands "
            f"({format_version}); upgrade poxscan"
        )
    expected = manifest.get("files")
    if not isinstance(expected, dict) or primary not in expected:
        raise ModelIntegrityError(f"{path}: lists no files (or no {primary})")
    present = list_files(folder)
    present.pop(MANIFEST_NAME, None)
    missing = sorted(set(expected) - set(present))
    if missing:
        raise ModelIntegrityError(
            f"{folder}: {missing[0]} is listed in the manifest but missing"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    extra = sorted(set(present) - set(expected))
    if extra:
        raise ModelIntegrityError(
            f"{folder}: {extra[0]} is not listed in the manifest; refusing a directory with "
            "unknown files" + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
        )
    wanted = set(read)
    blobs: dict[str, bytes] = {}
    for rel in sorted(expected):
        data = read_regular(present[rel])
        actual = bytes_sha256(data)
        if actual != expected[rel]:
            raise ModelIntegrityError(
                f"{folder / rel}: sha256 {actual} does not match the manifest "
                f"({expected[rel]}); the file was changed or corrupted; refusing to load it"
            )
        if rel in wanted:
            blobs[rel] = data  # these very bytes are what the caller loads
    if manifest_sha256 is None:
        warnings.warn(
            f"{folder}: the model is not pinned. Its files match its manifest, but whoever can "
            f"rewrite the directory could swap both; pin it with --manifest-sha256 {sha} "
            "(manifest_sha256= in Python) when it comes from elsewhere",
            UnpinnedModelWarning,
            stacklevel=3,
        )
    return manifest, blobs, sha
