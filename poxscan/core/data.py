"""Datasets as ``data_manifest.yaml`` describes them: files, labels, patient groups, checksums.

An image is named everywhere by its id, ``"<dataset>/<relative path>"``. Labels come from the
class folder through the manifest's mapping; the patient id, where a dataset has one, comes from
the file name through the manifest's regular expression. Near-duplicate links found by
``poxscan data audit`` merge these into the group ids that every split uses
(:func:`load_groups`).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from poxscan.core.hashing import bytes_sha256, file_sha256

__all__ = [
    "BINARY_POSITIVE",
    "DATA_ENV",
    "MULTICLASS_LABELS",
    "DatasetSpec",
    "VerifyReport",
    "content_checksum",
    "file_sha256",
    "groups_file",
    "groups_source",
    "load_groups",
    "load_manifest",
    "load_records",
    "resolve_data_root",
    "verify_dataset",
]

DATA_ENV = "POXSCAN_DATA"
MANIFEST_ENV = "POXSCAN_MANIFEST"
GROUPS_ENV = "POXSCAN_GROUPS"
#: Shipped with the package (in a checkout, links to the repository's ``data_manifest.yaml``
#: and to the committed audit's ``experiments/results/audit/groups.csv``), so that an
#: installed wheel needs nothing from the checkout.
RESOURCES = Path(__file__).resolve().parent / "resources"
DEFAULT_MANIFEST = RESOURCES / "data_manifest.yaml"
DEFAULT_GROUPS = RESOURCES / "groups.csv"
MULTICLASS_LABELS = ("mpox", "chickenpox", "measles", "normal", "other")
BINARY_POSITIVE = "mpox"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff"})


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset's entry in ``data_manifest.yaml``."""

    name: str
    path: str
    title: str
    upstream: str
    commit: str
    licence: str
    classes: dict[str, str]
    expected_counts: dict[str, int]
    checksum: str
    files: dict[str, str]
    group_pattern: str | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def group_of(self, relpath: str) -> str:
        """Patient id from the file name, or the file itself where there is none."""
        if self.group_pattern:
            match = re.match(self.group_pattern, Path(relpath).name)
            if match:
                return f"{self.name}:{match.group('group')}"
        return f"{self.name}:{relpath}"


def resolve_data_root(root: str | PathLike | None = None) -> Path:
    """The folder holding the datasets: ``root``, else ``$POXSCAN_DATA``, else ``./data``."""
    chosen = root or os.environ.get(DATA_ENV) or "data"
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"data root {path} does not exist; pass --data-root or set ${DATA_ENV} "
            "(see the README for how to download the datasets)"
        )
    return path


def load_manifest(path: str | PathLike | None = None) -> dict[str, DatasetSpec]:
    """Read ``data_manifest.yaml`` into one :class:`DatasetSpec` per dataset."""
    path = Path(path or os.environ.get(MANIFEST_ENV) or DEFAULT_MANIFEST)
    if not path.is_file():
        raise FileNotFoundError(
            f"data manifest {path} not found: pass its path or set ${MANIFEST_ENV}"
        )
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    specs = {}
    known = {f.name for f in DatasetSpec.__dataclass_fields__.values()}
    for name, entry in raw["datasets"].items():
        entry = dict(entry)
        extra = {k: entry.pop(k) for k in list(entry) if k not in known}
        bad = set(entry["classes"].values()) - set(MULTICLASS_LABELS)
        if bad:
            raise ValueError(f"{path}: dataset {name} maps classes to unknown labels {bad}")
        specs[name] = DatasetSpec(name=name, extra=extra, **entry)
    return specs


def content_checksum(files: dict[str, str]) -> str:
    """One checksum over a dataset: SHA-256 of its sorted ``"<relpath>  <sha256>"`` lines."""
    lines = "".join(f"{rel}  {files[rel]}\n" for rel in sorted(files))
    return bytes_sha256(lines)


def _list_images(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


@dataclass
class VerifyReport:
    """What :func:`verify_dataset` found."""

    dataset: str
    folder: Path
    missing: list[str]
    extra: list[str]
    changed: list[str]
    counts: dict[str, int]
    expected_counts: dict[str, int]
    checksum_ok: bool
    #: relpath -> why it could not be read (permission, I/O error, ...).
    unreadable: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        bad = self.missing or self.extra or self.changed or self.unreadable
        return not bad and self.checksum_ok

    def summary(self) -> str:
        """A few lines a person reads."""
        status = "OK" if self.ok else "FAILED"
        lines = [f"{self.dataset} ({self.folder}): {status}"]
        for cls, want in sorted(self.expected_counts.items()):
            have = self.counts.get(cls, 0)
            mark = "" if have == want else f"  (expected {want})"
            lines.append(f"  {cls}: {have} images{mark}")
        for label, items in (
            ("missing", self.missing),
            ("extra", self.extra),
            ("changed", self.changed),
            ("unreadable", [f"{rel}: {why}" for rel, why in self.unreadable.items()]),
        ):
            if items:
                lines.append(f"  {len(items)} {label}:")
                lines.extend(f"    {item}" for item in items)
        if not self.checksum_ok and not (
            self.missing or self.extra or self.changed or self.unreadable
        ):
            lines.append("  content checksum does not match the manifest")
        return "\n".join(lines)


def verify_dataset(spec: DatasetSpec, root: str | PathLike) -> VerifyReport:
    """Compare a local copy of a dataset with its manifest entry, file by file.

    Parameters
    ----------
    spec : DatasetSpec
        The manifest entry.
    root : path-like
        The data root; the dataset lies in ``root / spec.path``.

    Returns
    -------
    VerifyReport
        Missing, extra and changed files, per-class counts, and whether the content checksum
        matches.
    """
    folder = Path(root) / spec.path
    present = _list_images(folder) if folder.is_dir() else []
    expected = set(spec.files)
    missing = sorted(expected - set(present))
    extra = sorted(set(present) - expected)
    changed, actual, unreadable = [], {}, {}
    if folder.is_dir():
        # A directory, FIFO or device named like a listed image: say what it is, never open it.
        for path in folder.rglob("*"):
            rel = path.relative_to(folder).as_posix()
            if rel in expected and not path.is_file():
                kind = "a directory" if path.is_dir() else "not a regular file"
                unreadable[rel] = f"is {kind}, not an image file"
    missing = [rel for rel in missing if rel not in unreadable]
    for rel in sorted(expected & set(present)):
        try:
            actual[rel] = file_sha256(folder / rel)
        except OSError as exc:
            # One unreadable file is reported and the others are still checked.
            unreadable[rel] = f"cannot be read ({exc.strerror or type(exc).__name__})"
            continue
        if actual[rel] != spec.files[rel]:
            changed.append(rel)
    counts: dict[str, int] = {}
    for rel in present:
        cls = rel.split("/", 1)[0]
        counts[cls] = counts.get(cls, 0) + 1
    checksum_ok = not missing and not extra and content_checksum(actual) == spec.checksum
    return VerifyReport(
        spec.name, folder, missing, extra, changed, counts, spec.expected_counts, checksum_ok,
        unreadable,
    )  # fmt: skip


def load_records(
    datasets: str | list[str],
    root: str | PathLike | None = None,
    manifest: dict[str, DatasetSpec] | None = None,
) -> pd.DataFrame:
    """One row per image of the named datasets, in a stable order.

    Columns: ``id`` (``"<dataset>/<relpath>"``), ``dataset``, ``relpath``, ``path``, ``cls``
    (the class folder), ``label`` (multi-class name), ``y`` (1 for mpox, else 0) and
    ``patient`` (patient id, or the file itself where the dataset has none).
    Only files listed in the manifest are used.
    """
    names = [datasets] if isinstance(datasets, str) else list(datasets)
    manifest = manifest or load_manifest()
    root = resolve_data_root(root)
    rows = []
    for name in names:
        if name not in manifest:
            raise KeyError(f"unknown dataset {name!r}; the manifest has {sorted(manifest)}")
        spec = manifest[name]
        folder = root / spec.path
        if not folder.is_dir():
            raise FileNotFoundError(f"dataset {name} not found at {folder}")
        for rel in sorted(spec.files):
            cls = rel.split("/", 1)[0]
            label = spec.classes[cls]
            rows.append(
                {
                    "id": f"{name}/{rel}",
                    "dataset": name,
                    "relpath": rel,
                    "path": str(folder / rel),
                    "cls": cls,
                    "label": label,
                    "y": int(label == BINARY_POSITIVE),
                    "patient": spec.group_of(rel),
                }
            )
    return pd.DataFrame(rows)


def groups_file(path: str | PathLike | None = None) -> Path:
    """The groups file :func:`load_groups` reads: ``path``, else ``$POXSCAN_GROUPS``, else the
    groups shipped with the package (the path is returned whether or not the file exists)."""
    return Path(path or os.environ.get(GROUPS_ENV) or DEFAULT_GROUPS)


def groups_source(groups: Any, path: str | PathLike | None = None) -> dict[str, Any]:
    """Which split groups are in use, for a report: file, sha256 and number of groups.

    Parameters
    ----------
    groups : array-like
        The group id of every image in use.
    path : path-like, optional
        As for :func:`groups_file`.

    Returns
    -------
    dict
        ``file``: the groups file (the shipped one named by its place in the package, not by
        this installation's path), ``None`` when there is none and patient ids are used;
        ``sha256``: its hash (or ``None``); ``n_groups``: distinct ids in ``groups``.
    """
    where = groups_file(path)
    present = where.is_file()
    shipped = present and where.resolve() == DEFAULT_GROUPS.resolve()
    name = "poxscan/core/resources/groups.csv (shipped)" if shipped else str(where)
    return {
        "file": name if present else None,
        "sha256": file_sha256(where) if present else None,
        "n_groups": len({str(g) for g in groups}),
    }


def load_groups(records: pd.DataFrame, path: str | PathLike | None = None) -> pd.Series:
    """Group id per record: patient ids merged with the audit's near-duplicate links.

    Reads the ``groups.csv`` written by ``poxscan data audit`` (columns ``id``, ``group``):
    ``path``, else ``$POXSCAN_GROUPS``, else the groups shipped with the package (the audit
    of the two shared sets). Records the file does not cover keep their patient id, with a
    warning, because splitting them without the audit may leak near-duplicates across folds.

    Returns
    -------
    groups : Series of str, indexed like ``records``
    """
    path = groups_file(path)
    groups = records["patient"].copy()
    if not path.is_file():
        if path != DEFAULT_GROUPS:
            raise FileNotFoundError(f"groups file {path} not found (from `poxscan data audit`)")
        warnings.warn(
            f"{path} not found: splitting by patient id only; run `poxscan data audit` "
            "to merge near-duplicates into groups",
            stacklevel=2,
        )
        return groups
    table = pd.read_csv(path, dtype=str).set_index("id")["group"]
    known = records["id"].isin(table.index)
    if not known.all():
        warnings.warn(
            f"{(~known).sum()} images are not in {path}; they keep their patient id",
            stacklevel=2,
        )
    groups[known] = records.loc[known, "id"].map(table)
    return groups
