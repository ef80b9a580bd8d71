"""Text normalisation shared by the chatbot's retrieval, diagnosis and scope checks."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path

import yaml

__all__ = [
    "STOPWORDS",
    "Lexicon",
    "content_text",
    "default_lexicon_path",
    "expand_lay_terms",
    "load_lexicon",
    "normalize",
    "stem",
    "tokens",
]

# Spellings of the disease's names folded into one token, so that "monkeypox", "monkey pox",
# "monkypox" and "mpox" match the same knowledge-base words.
_NAME_PATTERNS = (
    (re.compile(r"\bmonk\w{0,4}\s*-?\s*p[o0](?:x|cks|ks)\w*"), "mpox"),
    (re.compile(r"\bm\s*-\s*pox\b|\bmpxv?\b|\bmpox\w+"), "mpox"),
    # Letters dropped or swapped ("mokeypox", "mnkypox", "monkeypx") and the short name typed
    # apart or as it sounds ("m pox", "m.pox", "empox", "mpocks").
    (re.compile(r"\bm[ao]?n?k[aeiy]{0,3}p[o0]?(?:x|cks|ks)\w*"), "mpox"),
    (re.compile(r"\b(?:e?m|em)\s*[.-]?\s*p[o0](?:x|cks|ks)\b"), "mpox"),
    (re.compile(r"\bchi?c?ke?n\s*-?\s*p[o0](?:x+|cks|ks)\b"), "chickenpox"),
    (re.compile(r"\bsmall?\s*-?\s*p[o0](?:x+|cks|ks)\b"), "smallpox"),
    # "pox" alone ("hiv+ and got pox"), once the other poxes are single words: mpox here.
    (re.compile(r"(?<![\w-])pox\b"), "mpox"),
)
_CONTRACTIONS = (
    # The irregular ones first: "won't" is not "wo not" (which "wo" -> "without" then misread).
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"\b(\w+)n't\b"), r"\1 not"),
    (re.compile(r"\bi'm\b"), "i am"),
    (re.compile(r"\b(\w+)'ve\b"), r"\1 have"),
    (re.compile(r"\b(\w+)'re\b"), r"\1 are"),
    (re.compile(r"\b(\w+)'ll\b"), r"\1 will"),
    (re.compile(r"\b(\w+)'d\b"), r"\1 would"),
    (re.compile(r"\b(it|that|what|there|this|he|she|who|where|how)'s\b"), r"\1 is"),
    (re.compile(r"'s\b"), ""),  # possessive: "daughter's rash" -> "daughter rash"
)
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# s11-chat: courtesy around a question ("good morning doctor, kindly advise ... thank you in
# advance") carries no topic, but "doctor" or "how are you" scored as one ("hello how are
# you" had matched how mpox spreads). Read after the replacements (so "thx", "pls" are words).
_GREETING = (
    r"(?:hi+|hello+|hey+|hiya|howdy|greetings|namaste|salaam|"
    # s19-chat: greetings in other languages
    r"privet|merhaba|vanakkam|hola|bonjour|ciao|hallo|ola|olá|oi|jambo|habari|sawubona|"
    r"konnichiwa|annyeong(?:haseyo)?|ni\s+hao|sat\s+sri\s+akal|salam|shalom|kumusta|"
    r"good\s+(?:morning|afternoon|evening|day)|dear)"
    r"(?:\s+(?:there|doctor|doc|sir|madam|ma'?am|bot|chatbot|team|everyone|all|friend|mate|guys))?"
)
_LEADING_COURTESY = re.compile(
    rf"^(?:\s*(?:{_GREETING}|how\s+are\s+you(?:\s+doing)?(?:\s+today)?|"
    r"(?:i\s+)?hope\s+you\s+are\s+(?:well|fine|good|doing\s+well))(?:\s*[,.!?:;-]+|\s+|$))+"
)
_TRAILING_COURTESY = re.compile(
    r"(?:[\s,.!-]*\b(?:thanks?(?:\s+you)?(?:\s+(?:so|very)\s+much|\s+a\s+lot|"
    r"\s+in\s+advance|\s+for\s+(?:your|the|any)\s+help)?|many\s+thanks|cheers|"
    r"(?:kind|best|warm)?\s*regards|god\s+bless(?:\s+you)?))+[\s.!]*$"
)
_KINDLY = re.compile(r"\bkindly\s+")


def _strip_courtesy(text: str) -> str:
    text = _LEADING_COURTESY.sub("", text)
    text = _TRAILING_COURTESY.sub("", text)
    return _KINDLY.sub("", text)


def normalize(text: str) -> str:
    """Lower-case, unify quotes, expand contractions, fold the disease's names, fix chat-speak.

    Parameters
    ----------
    text
        Raw user text.

    Returns
    -------
    str
        Single-spaced text in which every spelling of monkeypox reads ``mpox`` and the
        lexicon's chat-speak and misspellings (``lexicon.yaml``, ``replace``) read as words.
        Punctuation is kept (the diagnosis detector looks at question marks).
    """
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    for pattern, repl in _CONTRACTIONS:
        text = pattern.sub(repl, text)
    for pattern, repl in _NAME_PATTERNS:
        text = pattern.sub(repl, text)
    text = _strip_courtesy(_replacements()(text))
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Word tokens of already normalised text."""
    return _TOKEN_RE.findall(text)


#: Function words dropped before retrieval: they carry no topic and, left in, make
#: "how do you get mpox" match "how do you test for mpox". Question words that change the
#: topic (who, when, how, long, many, after, before, not) are kept. s11-chat: the filler of a
#: long question too ("I keep hearing ...", "basically"; the spelling fix read "hear" as "heart").
#: s20-chat: who is asking ("my friend asks", "asking for my sister"; "ask" itself stays: "what
#: can I ask you").
STOPWORDS = frozenset(
    """a an the of to in on at for from by with about as and or but if so than then that this
    these those it its is are was were be been being am do does did doing have has had having
    i me my mine myself we us our you your yours he him his she her they them their what which
    whom whose there here can could would may might will shall must just really very
    please tell know want wanna like some any also too up into onto over s t ok okay hi hello
    hey thanks thank does im ive dont hear heard hearing basically literally honestly anyway
    anyways asks asked asking""".split()
)


def default_lexicon_path() -> Path:
    """Path of the informal-word lexicon shipped as package data."""
    return Path(str(resources.files("poxscan.chat").joinpath("lexicon.yaml")))


@dataclass(frozen=True)
class Lexicon:
    """The informal-word lexicon: in-place replacements and appended expansions.

    Attributes
    ----------
    replace
        Word or phrase -> what it stands for (all ``replace`` sections merged).
    expand
        ``(pattern, canonical words)`` pairs (all ``expand`` sections, in file order).
    sections
        ``expand`` section name -> its ``(pattern, canonical words)`` pairs (e.g. ``"drugs"``).
    """

    replace: dict[str, str]
    expand: tuple[tuple[re.Pattern[str], str], ...]
    sections: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = field(default_factory=dict)


def load_lexicon(path: str | PathLike | None = None) -> Lexicon:
    """Read and compile a lexicon YAML (default: ``poxscan/chat/lexicon.yaml``).

    Raises
    ------
    ValueError
        Naming the file and the entry, for a malformed section or a bad regular expression.
    """
    target = Path(path) if path is not None else default_lexicon_path()
    return _load_lexicon(str(target))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that rejects a key repeated in one mapping (PyYAML keeps the last one
    silently, so a second ``expand`` entry with the same words would drop the first's patterns)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ValueError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


@functools.lru_cache(maxsize=4)
def _load_lexicon(path: str) -> Lexicon:
    with open(path, encoding="utf-8") as handle:
        try:
            data = yaml.load(handle, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with 'replace' and 'expand' sections")
    replace: dict[str, str] = {}
    for section, words in (data.get("replace") or {}).items():
        if not isinstance(words, dict):
            raise ValueError(f"{path}: replace.{section} must map words to replacements")
        replace.update({str(k).lower(): str(v).lower() for k, v in words.items()})
    expand: list[tuple[re.Pattern[str], str]] = []
    sections: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {}
    for section, terms in (data.get("expand") or {}).items():
        if not isinstance(terms, dict):
            raise ValueError(f"{path}: expand.{section} must map words to pattern lists")
        for canonical, patterns in terms.items():
            if not isinstance(patterns, list) or not patterns:
                raise ValueError(f"{path}: expand.{section}.{canonical} needs a pattern list")
            try:
                pattern = re.compile(rf"\b(?:{'|'.join(str(p) for p in patterns)})\b")
            except re.error as exc:
                raise ValueError(f"{path}: expand.{section}.{canonical}: {exc}") from exc
            expand.append((pattern, str(canonical)))
            sections[str(section)] = (*sections.get(str(section), ()), expand[-1])
    return Lexicon(replace=replace, expand=tuple(expand), sections=sections)


@functools.lru_cache(maxsize=1)
def _replacements():
    """One compiled substitution for every ``replace`` word of the default lexicon."""
    words = load_lexicon().replace
    # Longest first, so that a phrase wins over a word inside it.
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")
    return lambda text: pattern.sub(lambda m: words[m.group(0)], text)


def expand_lay_terms(normalized_text: str) -> str:
    """Append the knowledge base's words for lay terms, slang and drug names in the text."""
    extra = [canon for pattern, canon in load_lexicon().expand if pattern.search(normalized_text)]
    return normalized_text if not extra else normalized_text + " " + " ".join(extra)


def stem(word: str) -> str:
    """A light suffix stripper, enough to match "spreads"/"spread", "vaccinated"/"vaccine"."""
    if len(word) >= 5 and word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    for suffix, min_len in (("ing", 6), ("ies", 5), ("ed", 5), ("s", 4)):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith(("ss", "us", "is")):
            base = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            # "getting" -> "get", "stopped" -> "stop" (but "spill", "kiss", "buzz" keep theirs).
            if suffix in ("ing", "ed") and len(base) >= 3 and base[-1] == base[-2]:
                if base[-1] not in "lsz" and base[-1] not in "aeiou":
                    base = base[:-1]
            return base
    return word


def content_text(normalized_text: str) -> str:
    """Retrieval view of normalised text: lay terms expanded, stop words dropped, stemmed."""
    words = tokens(expand_lay_terms(normalized_text))
    kept = [stem(w) for w in words if w not in STOPWORDS]
    return " ".join(kept)
