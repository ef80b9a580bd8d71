"""SHA-256 of files and bytes: the one implementation every manifest, cache and check uses."""

from __future__ import annotations

import hashlib
from os import PathLike

__all__ = ["bytes_sha256", "file_digest", "file_sha256"]

_CHUNK = 1 << 20


def file_digest(path: str | PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB chunks.

    Parameters
    ----------
    path : path-like
    algorithm : str
        Any name :func:`hashlib.new` takes (Keras publishes ``"sha256"`` and ``"md5"`` hashes).

    Returns
    -------
    str
        The hex digest.
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: str | PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    return file_digest(path, "sha256")


def bytes_sha256(data: bytes | str) -> str:
    """Hex SHA-256 of bytes (a ``str`` is encoded as UTF-8 first)."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()
