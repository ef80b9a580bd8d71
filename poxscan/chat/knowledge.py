"""The chatbot's knowledge base: loading and validating ``knowledge_base.yaml``."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path
from urllib.parse import urlparse

import yaml

__all__ = [
    "ALLOWED_SOURCE_DOMAINS",
    "Entry",
    "KnowledgeBase",
    "Source",
    "default_kb_path",
    "load_knowledge_base",
]

#: Every answer paraphrases a page of one of these public-health agencies.
ALLOWED_SOURCE_DOMAINS = ("cdc.gov", "who.int")

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Source:
    """A page an answer paraphrases."""

    title: str
    url: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url}


@dataclass(frozen=True)
class Entry:
    """One question-answer pair of the knowledge base."""

    id: str
    topic: str
    questions: tuple[str, ...]
    answer: str
    sources: tuple[Source, ...]
    keywords: str = ""
    #: Optional regular expression on the normalised question: the entry is answered only when
    #: it matches (an entry about a named thing, such as the old smallpox vaccine, needs the
    #: question to name it; otherwise the next entry is taken).
    requires: str = ""


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """All entries plus the knowledge base's metadata.

    Compared and hashed by identity: :func:`load_knowledge_base` returns one object per file
    version, which lets fitted retrievers be cached per knowledge base.
    """

    entries: tuple[Entry, ...]
    topics: dict[str, str]
    as_of: str
    disclaimer: str
    path: str

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, entry_id: str) -> Entry:
        """The entry with id ``entry_id``; ``KeyError`` naming the id if there is none."""
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(f"no knowledge-base entry {entry_id!r} in {self.path}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.entries)


def default_kb_path() -> Path:
    """Path of the knowledge base shipped as package data."""
    return Path(str(resources.files("poxscan.chat").joinpath("knowledge_base.yaml")))


def _is_allowed_url(url: str) -> bool:
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    return parsed.scheme == "https" and any(
        host == d or host.endswith("." + d) for d in ALLOWED_SOURCE_DOMAINS
    )


def _parse_entry(raw: dict, where: str, topics: dict[str, str]) -> Entry:
    missing = [k for k in ("id", "topic", "questions", "answer", "sources") if not raw.get(k)]
    if missing:
        raise ValueError(f"{where}: missing or empty field(s) {missing}")
    entry_id = str(raw["id"])
    where = f"{where} ({entry_id})"
    if not _ID_RE.match(entry_id):
        raise ValueError(f"{where}: id must be snake_case")
    if raw["topic"] not in topics:
        raise ValueError(f"{where}: unknown topic {raw['topic']!r}; known: {sorted(topics)}")
    questions = tuple(str(q).strip() for q in raw["questions"] if str(q).strip())
    if len(questions) < 2:
        raise ValueError(f"{where}: needs at least two question variants")
    sources = []
    for src in raw["sources"]:
        if not isinstance(src, dict) or not src.get("title") or not src.get("url"):
            raise ValueError(f"{where}: each source needs a title and a url, got {src!r}")
        if not _is_allowed_url(src["url"]):
            raise ValueError(
                f"{where}: source url {src['url']!r} is not an https page on "
                f"{' or '.join(ALLOWED_SOURCE_DOMAINS)}"
            )
        sources.append(Source(str(src["title"]), str(src["url"])))
    return Entry(
        id=entry_id,
        topic=str(raw["topic"]),
        questions=questions,
        answer=" ".join(str(raw["answer"]).split()),
        sources=tuple(sources),
        keywords=" ".join(str(raw.get("keywords") or "").split()),
        requires=_requires(raw.get("requires"), where),
    )


def _requires(value, where: str) -> str:
    if not value:
        return ""
    try:
        re.compile(str(value))
    except re.error as exc:
        raise ValueError(f"{where}: requires is not a regular expression: {exc}") from exc
    return str(value)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> KnowledgeBase:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ValueError(f"{path}: expected a mapping with an 'entries' list")
    topics = {str(k): str(v) for k, v in (data.get("topics") or {}).items()}
    entries = tuple(
        _parse_entry(raw, f"{path}: entry {i}", topics) for i, raw in enumerate(data["entries"])
    )
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise ValueError(f"{path}: duplicate entry id {entry.id!r}")
        seen.add(entry.id)
    if not data.get("as_of"):
        raise ValueError(f"{path}: missing 'as_of' (the date the facts are valid for)")
    return KnowledgeBase(
        entries=entries,
        topics=topics,
        as_of=str(data["as_of"]),
        disclaimer=" ".join(str(data.get("disclaimer") or "").split()),
        path=path,
    )


def load_knowledge_base(path: str | PathLike | None = None) -> KnowledgeBase:
    """Load and validate a knowledge base (default: the one shipped with poxscan).

    Parameters
    ----------
    path
        A YAML file in the format of ``poxscan/chat/knowledge_base.yaml``.

    Returns
    -------
    KnowledgeBase
        Parsed once per file version (cached on path and modification time).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file and entry, if an entry lacks a field, has an unknown topic, a
        duplicate id, or a source that is not an https page on cdc.gov or who.int.
    """
    target = Path(path) if path is not None else default_kb_path()
    if not target.is_file():
        raise FileNotFoundError(f"knowledge base not found: {target}")
    resolved = str(target.resolve())
    return _load_cached(resolved, target.stat().st_mtime_ns)
