"""The feature cache: features computed once per image content and extractor, reused after.

Layout under the cache root (``$POXSCAN_CACHE``, else ``~/.cache/poxscan``)::

    features/<fingerprint>/meta.json          extractor class, parameters, feature names
    features/<fingerprint>/chunk-*.npz        content hashes + float32 matrix + feature names
    paths.json                                (path, size, mtime_ns) -> content hash

- Rows are keyed by :func:`poxscan.core.imageio.image_hash` of the decoded pixels, so a renamed or
  re-saved copy of an image (same pixels) is not computed twice, and by the extractor's
  :meth:`~poxscan.features.ImageFeatureExtractor.fingerprint` (family, parameters, code version,
  weights), so a changed parameter recomputes only that family.
- Newly computed rows are written as a chunk every ``chunk_size`` images, atomically
  (:mod:`poxscan.core.atomic`), and once more when a run stops on an error: an interrupted run loses
  at most the chunk in progress, and the next run computes only what is missing. Chunks hold
  only strings and numbers and are read with ``allow_pickle=False``.
- ``paths.json`` remembers the content hash of each file by its path, size and modification
  time, so a second run does not decode images at all; a changed file misses and is decoded.

Several processes may share a cache: chunk names are unique, and the path index is merged
with what is on disk before it is rewritten.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from poxscan import __version__
from poxscan.core.atomic import atomic_write, atomic_write_text
from poxscan.core.imageio import ImageLoadError, image_hash, load_image

__all__ = [
    "CACHE_ENV",
    "FeatureCache",
    "FeatureResult",
    "extract_features",
    "extract_many",
    "load_feature_table",
]

log = logging.getLogger(__name__)

CACHE_ENV = "POXSCAN_CACHE"
_INDEX_NAME = "paths.json"
_META_NAME = "meta.json"
#: Merge a fingerprint's chunks into one file once there are more than this many.
_COMPACT_AFTER = 32


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


class _PathIndex:
    """``(path, size, mtime_ns) -> content hash``, so unchanged files need no decoding."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, list] = self._read()
        self.new: dict[str, list] = {}

    def _read(self) -> dict[str, list]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {k: v for k, v in data.get("paths", {}).items() if len(v) == 3}
        except (OSError, ValueError, AttributeError) as exc:
            log.warning(
                "ignoring unreadable path index %s (%s); images will be decoded", self.path, exc
            )
            return {}

    @staticmethod
    def _key(path: str | PathLike) -> tuple[str, int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return os.path.abspath(path), st.st_size, st.st_mtime_ns

    def lookup(self, path: str | PathLike) -> str | None:
        key = self._key(path)
        if key is None:
            return None
        entry = self.new.get(key[0]) or self.entries.get(key[0])
        if entry and entry[0] == key[1] and entry[1] == key[2]:
            return entry[2]
        return None

    def remember(self, path: str | PathLike, content_hash: str) -> None:
        key = self._key(path)
        if key is not None:
            self.new[key[0]] = [key[1], key[2], content_hash]

    def save(self) -> None:
        """Merge this run's entries into the file on disk (another process may have written)."""
        if not self.new:
            return
        merged = self._read()
        merged.update(self.new)
        self.entries = merged
        self.new = {}
        text = json.dumps({"version": 1, "paths": merged}, sort_keys=True)
        atomic_write_text(self.path, text)


class _Store:
    """One fingerprint's rows: what the chunks on disk hold plus rows not yet written."""

    def __init__(self, root: Path | None, extractor: Any, chunk_size: int) -> None:
        # root None: an in-memory store that reads and writes nothing (no cache).
        self.fingerprint = extractor.fingerprint()
        self.folder = None if root is None else root / "features" / self.fingerprint
        self.extractor = extractor
        self.chunk_size = chunk_size
        self.names: list[str] | None = None
        self.rows: dict[str, np.ndarray] = {}
        self.chunks: list[Path] = []
        # Chunks that could not be read: removed once their rows have been recomputed and
        # written again, so later runs do not warn about them forever.
        self.corrupt: list[Path] = []
        self._pending_hashes: list[str] = []
        self._pending_rows: list[np.ndarray] = []
        self.n_computed = 0
        if self.folder is not None:
            self._load()

    # -- reading ------------------------------------------------------------------------------
    def _load(self) -> None:
        assert self.folder is not None
        meta = self.folder / _META_NAME
        if meta.is_file():
            try:
                self.names = list(json.loads(meta.read_text(encoding="utf-8"))["feature_names"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("ignoring unreadable %s (%s)", meta, exc)
        for chunk in sorted(self.folder.glob("chunk-*.npz")):
            try:
                with np.load(chunk, allow_pickle=False) as data:
                    hashes = [str(h) for h in data["hashes"]]
                    matrix = np.asarray(data["X"], dtype=np.float32)
                    names = [str(n) for n in data["names"]]
            except FileNotFoundError:
                continue  # compacted away by another process while listing
            except Exception as exc:
                log.warning("ignoring unreadable cache chunk %s (%s)", chunk, exc)
                self.corrupt.append(chunk)
                continue
            if matrix.shape != (len(hashes), len(names)):
                log.warning("ignoring malformed cache chunk %s (shape %s)", chunk, matrix.shape)
                self.corrupt.append(chunk)
                continue
            if self.names is None:
                self.names = names
            elif names != self.names:
                log.warning("ignoring cache chunk %s: its feature names differ", chunk)
                continue
            self.chunks.append(chunk)
            for h, row in zip(hashes, matrix, strict=True):
                self.rows.setdefault(h, row)

    def __contains__(self, content_hash: str) -> bool:
        return content_hash in self.rows

    # -- computing ----------------------------------------------------------------------------
    def feature_names(self) -> list[str]:
        """Names from the cache, else from fitting the extractor (on a tiny dummy image)."""
        if self.names is None:
            self._ensure_fitted([np.zeros((32, 32, 3), np.uint8)])
        assert self.names is not None
        return self.names

    def _ensure_fitted(self, images: list[np.ndarray]) -> None:
        if not hasattr(self.extractor, "feature_names_out_"):
            self.extractor.fit(images)
        names = [str(n) for n in self.extractor.get_feature_names_out()]
        if self.names is None:
            self.names = names
        elif names != self.names:
            raise RuntimeError(
                f"the feature cache {self.folder} holds features named differently from what "
                f"{type(self.extractor).__name__} now computes, under the same fingerprint: the "
                "extractor changed without a new `version`; bump it or delete that folder"
            )

    def compute(self, hashes: list[str], images: list[np.ndarray]) -> None:
        """Transform one batch and keep its rows; write a chunk when enough have piled up."""
        self._ensure_fitted(images)
        matrix = np.asarray(self.extractor.transform(images), dtype=np.float32)
        if matrix.shape != (len(images), len(self.names or ())):
            raise RuntimeError(
                f"{type(self.extractor).__name__}.transform returned shape {matrix.shape} "
                f"for {len(images)} images and {len(self.names or ())} features"
            )
        for h, row in zip(hashes, matrix, strict=True):
            self.rows[h] = row
            self._pending_hashes.append(h)
            self._pending_rows.append(row)
        self.n_computed += len(images)
        if len(self._pending_hashes) >= self.chunk_size:
            self.flush()

    # -- writing ------------------------------------------------------------------------------
    def _write_meta(self) -> None:
        assert self.folder is not None
        meta = self.folder / _META_NAME
        if meta.is_file():
            return
        ext = self.extractor
        payload = {
            "fingerprint": self.fingerprint,
            "family": getattr(ext, "family", ""),
            "class": f"{type(ext).__module__}.{type(ext).__qualname__}",
            "version": getattr(ext, "version", ""),
            "params": ext._fingerprint_params(),
            "n_features": len(self.names or ()),
            "feature_names": self.names,
            "poxscan_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        atomic_write_text(meta, json.dumps(payload, indent=1, default=_json_default))

    def flush(self) -> None:
        """Write the rows computed since the last flush as one chunk, atomically."""
        if not self._pending_hashes:
            return
        if self.folder is None:
            self._pending_hashes, self._pending_rows = [], []
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_meta()
        # Unique per process and call, so concurrent writers never collide.
        name = f"chunk-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.npz"
        path = self.folder / name
        with atomic_write(path, "wb") as handle:
            np.savez(
                handle,
                hashes=np.asarray(self._pending_hashes, dtype="U64"),
                X=np.stack(self._pending_rows).astype(np.float32),
                names=np.asarray(self.names, dtype=str),
            )
        self.chunks.append(path)
        self._pending_hashes, self._pending_rows = [], []
        for chunk in self.corrupt:
            # Its rows are unreadable, so whatever of them this run needed was just recomputed.
            chunk.unlink(missing_ok=True)
            log.info("removed the unreadable cache chunk %s after recomputing", chunk)
        self.corrupt = []

    def compact(self) -> None:
        """Merge many chunks into one (new file first, then the old ones are removed)."""
        self.flush()
        if len(self.chunks) <= _COMPACT_AFTER:
            return
        old = list(self.chunks)
        self._pending_hashes = list(self.rows)
        self._pending_rows = [self.rows[h] for h in self._pending_hashes]
        self.chunks = []
        self.flush()
        for chunk in old:
            chunk.unlink(missing_ok=True)


@dataclass
class FeatureResult:
    """What :func:`extract_features` returns.

    Attributes
    ----------
    table : DataFrame
        One row per image that loaded (index: record ``id``), one column per feature.
    failures : list of (str, str)
        ``(id, message)`` of every image that could not be used.
    n_computed : int
        Images whose features were computed in this call.
    n_cached : int
        Images whose features were not computed in this call: read from the cache, or
        holding the same pixels as an image computed in it. ``n_computed + n_cached +
        len(failures)`` is the number of records.
    fingerprint : str
        The extractor's fingerprint.
    location : Path or None
        Folder of this fingerprint in the cache (None with ``cache=False``).
    """

    table: pd.DataFrame
    failures: list[tuple[str, str]] = field(default_factory=list)
    n_computed: int = 0
    n_cached: int = 0
    fingerprint: str = ""
    location: Path | None = None


class FeatureCache:
    """Features on disk, by image content hash and extractor fingerprint.

    Parameters
    ----------
    root : path-like, optional
        Cache folder; default ``$POXSCAN_CACHE``, else ``~/.cache/poxscan``.
    chunk_size : int, default=64
        Newly computed rows are written every this many images (a smaller value loses less
        work to an interruption, at the price of more files).
    """

    def __init__(self, root: str | PathLike | None = None, chunk_size: int = 64) -> None:
        chosen = root or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "poxscan"
        self.root = Path(chosen).expanduser()
        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.chunk_size = int(chunk_size)

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.root)!r})"

    def folder(self, extractor: Any) -> Path:
        """Where the features of this extractor (fingerprint) live."""
        return self.root / "features" / extractor.fingerprint()

    def _store(self, extractor: Any) -> _Store:
        return _Store(self.root, extractor, self.chunk_size)

    def _index(self) -> _PathIndex:
        return _PathIndex(self.root / _INDEX_NAME)


def _as_records(records: pd.DataFrame) -> pd.DataFrame:
    missing = {"id", "path"} - set(records.columns)
    if missing:
        raise ValueError(f"records need columns 'id' and 'path'; missing {sorted(missing)}")
    if records["id"].duplicated().any():
        dup = records.loc[records["id"].duplicated(), "id"].iloc[0]
        raise ValueError(f"records hold the id {dup!r} more than once")
    return records


def _family(extractor: Any) -> str:
    return getattr(extractor, "family", "") or type(extractor).__name__


def extract_many(
    records: pd.DataFrame,
    extractors: Sequence[Any],
    cache: FeatureCache | Literal[False] | None = None,
    progress: bool = True,
    batch_size: int = 32,
) -> list[FeatureResult]:
    """Features of several extractors in one pass: each image is decoded at most once.

    Parameters and behaviour are those of :func:`extract_features`, for a list of extractors;
    returns one :class:`FeatureResult` per extractor, in order.
    """
    from tqdm.auto import tqdm

    records = _as_records(records)
    if not extractors:
        raise ValueError("expected at least one extractor")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if cache is None:
        cache = FeatureCache()
    if cache is False:
        stores = [_Store(None, ext, chunk_size=1 << 62) for ext in extractors]
        index = None
    else:
        stores = [cache._store(ext) for ext in extractors]
        index = cache._index()

    hashes: dict[str, str] = {}  # record id -> content hash
    failures: list[tuple[str, str]] = []
    batches: list[tuple[list[str], list[np.ndarray]]] = [([], []) for _ in stores]
    queued: list[set[str]] = [set() for _ in stores]
    n_decoded = 0

    def run_batch(k: int) -> None:
        hs, imgs = batches[k]
        if hs:
            stores[k].compute(hs, imgs)
            batches[k] = ([], [])

    desc = "+".join(_family(e) for e in extractors)
    bar = tqdm(
        total=len(records), desc=f"features {desc}", unit="img", disable=not progress, leave=False
    )
    try:
        for rid, path in zip(records["id"], records["path"], strict=True):
            rid = str(rid)
            bar.update(1)
            known = index.lookup(path) if index is not None else None
            if known is not None and all(
                known in s or known in q for s, q in zip(stores, queued, strict=True)
            ):
                hashes[rid] = known
                continue
            try:
                image = load_image(path)
            except ImageLoadError as exc:
                log.warning("skipping %s: %s", rid, exc)
                failures.append((rid, str(exc)))
                continue
            n_decoded += 1
            content = image_hash(image)
            hashes[rid] = content
            if index is not None:
                index.remember(path, content)
            for k, store in enumerate(stores):
                if content in store or content in queued[k]:
                    continue  # cached, or a duplicate of an image already in this run
                queued[k].add(content)
                batches[k][0].append(content)
                batches[k][1].append(image)
                if len(batches[k][0]) >= batch_size:
                    run_batch(k)
        for k in range(len(stores)):
            run_batch(k)
    finally:
        bar.close()
        # Keep whatever was computed, also when stopping on an error or an interrupt.
        try:
            for store in stores:
                store.flush()
        finally:
            if index is not None:
                index.save()
    for store in stores:
        store.compact()
    log.debug("decoded %d of %d images", n_decoded, len(records))

    ok_ids = [str(r) for r in records["id"] if str(r) in hashes]
    results = []
    for store in stores:
        names = store.feature_names()
        if ok_ids:
            matrix = np.stack([store.rows[hashes[r]] for r in ok_ids]).astype(np.float32)
        else:
            matrix = np.empty((0, len(names)), np.float32)
        table = pd.DataFrame(matrix, index=pd.Index(ok_ids, name="id"), columns=names)
        results.append(
            FeatureResult(
                table=table,
                failures=list(failures),
                n_computed=store.n_computed,
                n_cached=len(ok_ids) - store.n_computed,
                fingerprint=store.fingerprint,
                location=store.folder,
            )
        )
    return results


def extract_features(
    records: pd.DataFrame,
    extractor: Any,
    cache: FeatureCache | Literal[False] | None = None,
    progress: bool = True,
    batch_size: int = 32,
) -> FeatureResult:
    """Features of every record's image, from the cache where possible.

    Parameters
    ----------
    records : DataFrame
        Needs columns ``id`` (unique) and ``path``, as :func:`poxscan.core.data.load_records`
        returns.
    extractor : ImageFeatureExtractor
        What to compute; its fingerprint chooses the cache folder.
    cache : FeatureCache or False, optional
        Where to read and write features; default ``FeatureCache()``; False computes
        everything and writes nothing.
    progress : bool, default=True
        Show a tqdm progress bar.
    batch_size : int, default=32
        Images handed to ``extractor.transform`` at a time (deep extractors run them as one
        batch); also bounds how many decoded images are held in memory.

    Returns
    -------
    FeatureResult
        ``table`` (index: ``id`` of every image that loaded, columns: the extractor's feature
        names), ``failures`` (``(id, message)``, each also logged as a warning naming the file
        and the problem), ``n_computed`` and ``n_cached``.
    """
    return extract_many(records, [extractor], cache, progress, batch_size)[0]


def _family_params(
    families: Iterable[str] | Mapping[str, Mapping[str, Any] | None],
) -> dict[str, dict[str, Any]]:
    from poxscan.features import DEFAULT_PARAMS, FAMILIES

    if isinstance(families, str):
        families = [families]
    if isinstance(families, Mapping):
        items = [(f, dict(p or {})) for f, p in families.items()]
    else:
        items = [(f, {}) for f in families]
    out: dict[str, dict[str, Any]] = {}
    for family, params in items:
        if family not in FAMILIES:
            raise KeyError(f"unknown feature family {family!r}; known: {sorted(FAMILIES)}")
        out[family] = {**DEFAULT_PARAMS.get(family, {}), **params}
    if not out:
        raise ValueError("expected at least one feature family")
    return out


def load_feature_table(
    records: pd.DataFrame,
    families: Iterable[str] | Mapping[str, Mapping[str, Any] | None],
    cache: FeatureCache | str | PathLike | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """The features of several families side by side, computed or read from the cache.

    Parameters
    ----------
    records : DataFrame
        Needs columns ``id`` and ``path`` (see :func:`poxscan.core.data.load_records`).
    families : list of str or dict of str -> dict
        Family names (default parameters, :data:`poxscan.features.DEFAULT_PARAMS`), or family
        -> parameters (merged over the defaults).
    cache : FeatureCache or path-like, optional
        The cache (or its folder); default ``FeatureCache()``.
    progress : bool, default=True
        Show a progress bar.

    Returns
    -------
    DataFrame
        Index: ``id`` of the images that loaded in every family, in the order of ``records``;
        columns: every family's feature names, families in the given order.
        ``table.attrs["failures"]`` lists ``(id, message)`` of the images left out.
    """
    from poxscan.features import make_extractor

    if not isinstance(cache, FeatureCache):
        cache = FeatureCache(cache)
    params = _family_params(families)
    extractors = [make_extractor(family, **p) for family, p in params.items()]
    results = extract_many(records, extractors, cache=cache, progress=progress)
    ok = set.intersection(*(set(r.table.index) for r in results))
    ids = [str(r) for r in records["id"] if str(r) in ok]
    table = pd.concat([r.table.loc[ids] for r in results], axis=1)
    failures: dict[str, str] = {}
    for result in results:
        for rid, message in result.failures:
            failures.setdefault(rid, message)
    table.attrs["failures"] = sorted(failures.items())
    return table
