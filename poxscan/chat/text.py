"""Text normalisation shared by the chatbot's retrieval, diagnosis and scope checks."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["STOPWORDS", "content_text", "expand_lay_terms", "normalize", "stem", "tokens"]

# Spellings of the disease's names folded into one token, so that "monkeypox", "monkey pox",
# "monkypox" and "mpox" match the same knowledge-base words.
_NAME_PATTERNS = (
    (re.compile(r"\bmonk\w{0,4}\s*-?\s*p[o0](?:x|cks|ks)\w*"), "mpox"),
    (re.compile(r"\bm\s*-\s*pox\b|\bmpxv?\b|\bmpox\w+"), "mpox"),
    (re.compile(r"\bchicken\s*-?\s*pox\b"), "chickenpox"),
    (re.compile(r"\bsmall\s*-?\s*pox\b"), "smallpox"),
)
_CONTRACTIONS = (
    (re.compile(r"\b(\w+)n't\b"), r"\1 not"),
    (re.compile(r"\bi'm\b"), "i am"),
    (re.compile(r"\b(\w+)'ve\b"), r"\1 have"),
    (re.compile(r"\b(\w+)'re\b"), r"\1 are"),
    (re.compile(r"\b(\w+)'ll\b"), r"\1 will"),
    (re.compile(r"\b(\w+)'d\b"), r"\1 would"),
    (re.compile(r"\b(it|that|what|there|this|he|she|who|where|how)'s\b"), r"\1 is"),
    (re.compile(r"'s\b"), ""),  # possessive: "daughter's rash" -> "daughter rash"
)
# Chat-speak spellings of function words, so that rules and retrieval read them normally.
_CHAT_SPEAK = re.compile(r"\b(u|ur|r|pls|plz|wat|wut|im|ive|dont|cant|whats|ppl|hw)\b")
_CHAT_SPEAK_MAP = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "pls": "please",
    "plz": "please",
    "wat": "what",
    "wut": "what",
    "im": "i am",
    "ive": "i have",
    "dont": "do not",
    "cant": "can not",
    "whats": "what is",
    "ppl": "people",
    "hw": "how",
}
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def normalize(text: str) -> str:
    """Lower-case, unify quotes, expand contractions and fold the disease's names.

    Parameters
    ----------
    text
        Raw user text.

    Returns
    -------
    str
        Single-spaced text in which every spelling of monkeypox reads ``mpox``. Punctuation is
        kept (the diagnosis detector looks at question marks).
    """
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    for pattern, repl in _CONTRACTIONS:
        text = pattern.sub(repl, text)
    for pattern, repl in _NAME_PATTERNS:
        text = pattern.sub(repl, text)
    text = _CHAT_SPEAK.sub(lambda m: _CHAT_SPEAK_MAP[m.group(1)], text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Word tokens of already normalised text."""
    return _TOKEN_RE.findall(text)


#: Function words dropped before retrieval: they carry no topic and, left in, make
#: "how do you get mpox" match "how do you test for mpox". Question words that change the
#: topic (who, when, how, long, many, after, before, not) are kept.
STOPWORDS = frozenset(
    """a an the of to in on at for from by with about as and or but if so than then that this
    these those it its is are was were be been being am do does did doing have has had having
    i me my mine myself we us our you your yours he him his she her they them their what which
    whom whose there here can could would may might will shall must just really very
    please tell know want wanna like some any also too up into onto over s t ok okay hi hello
    hey thanks thank does im ive dont""".split()
)

# Lay words and slang mapped to the words the knowledge base uses. The canonical words are
# appended (the original word is kept), so expansion only ever adds evidence.
_LAY_TERMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b(?:{pattern})\b"), canonical)
    for pattern, canonical in (
        (r"temperature|feverish|high temp", "fever"),
        (r"tired|tiredness|fatigue|fatigued|exhausted|worn out", "exhaustion"),
        (r"glands?", "lymph nodes"),
        (r"zits?|spots|bumps|pimples", "rash sores"),
        (r"butt|bum|ass|arse|backside|bottom|butthole", "anus anal"),
        (r"privates|private parts|crotch|junk|down there|groin area", "genitals"),
        (r"dick|cock|willy", "penis genitals"),
        (
            r"kill (?:you|me|people|someone|us|anyone)|killed|deaths?|dying|die|lethal",
            "deadly fatal die",
        ),
        (r"std|sti|stds|stis|venereal", "sexually transmitted infection sex"),
        (
            r"hook(?:ing)? ?ups?|sleep(?:ing)? with|have sex|had sex|intercourse|shag\w*",
            "sex sexual",
        ),
        (r"mak(?:e|ing) out|snog\w*|french kiss\w*|smooch\w*", "kissing"),
        (r"breast ?-?feed\w*|nursing|breast milk", "breastfeed"),
        (r"sheets?|linens?|blankets?|pillows?|duvet", "bedding"),
        (r"jabs?|shots?|vax|vaxx\w*|immuni[sz]\w*|inoculat\w*", "vaccine dose"),
        (r"pills?|meds|medications?|drugs?|remed\w*", "medicine treatment"),
        (r"pain ?killers?|pain ?meds|pain relievers?|analgesics?", "pain relief"),
        (r"cure|cured|curable|heal\w*", "cure treatment"),
        (r"doc|gp|physician|nurse|clinic|clinician", "doctor healthcare provider"),
        (r"er|a&e|emergency room|hospital", "emergency hospital"),
        (r"kids?|child|toddlers?|infants?|babies|baby", "children"),
        (r"preggers|expecting|pregnan\w*", "pregnancy pregnant"),
        (r"pets?|dogs?|cats?|puppy|kitten", "pet animals"),
        (r"infectious|transmissible|catching", "contagious"),
        (r"boyfriend|girlfriend|husband|wife|lover|fwb|sex partner|hook ?up", "partner"),
        (r"tested positive|tests? positive|positive test|got diagnosed|was diagnosed", "diagnosed"),
        (
            r"very sick|really sick|seriously ill|severely ill|gravely ill|hospitali[sz]\w*",
            "severe seriously ill",
        ),
        (r"quarantin\w*|self-?isolat\w*|stay home", "isolate isolation"),
        (r"clean\w*|sanitiz\w*|sanitis\w*|bleach|wipe", "disinfect cleaning"),
        (r"rubbers?|protection", "condoms"),
        (r"named?|naming|called|renam\w*", "name called"),
        (r"strains?|variants?|types?|lineages?|subtypes?", "clade clades"),
        (r"poxscan|app|bot|chatbot|assistant|this tool|this website|this site", "tool"),
        (
            r"who are you|are you (?:an?|real|human|ai|robot|bot|doctor|person)|ask you|"
            r"about you|your (?:answers?|info\w*|sources?|data)",
            "tool",
        ),
        (r"scars?|scarring|blind\w*|eyesight|vision", "complications"),
        (
            r"surfaces?|objects?|items?|things|stuff|towels?|clothes|clothing|fomites?",
            "contaminated materials",
        ),
    )
)


def expand_lay_terms(normalized_text: str) -> str:
    """Append the knowledge base's words for lay terms and slang found in the text."""
    extra = [canonical for pattern, canonical in _LAY_TERMS if pattern.search(normalized_text)]
    return normalized_text if not extra else normalized_text + " " + " ".join(extra)


def stem(word: str) -> str:
    """A light suffix stripper, enough to match "spreads"/"spread", "vaccinated"/"vaccine"."""
    if len(word) >= 5 and word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    for suffix, min_len in (("ing", 6), ("ies", 5), ("ed", 5), ("s", 4)):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith(("ss", "us", "is")):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_text(normalized_text: str) -> str:
    """Retrieval view of normalised text: lay terms expanded, stop words dropped, stemmed."""
    words = tokens(expand_lay_terms(normalized_text))
    kept = [stem(w) for w in words if w not in STOPWORDS]
    return " ".join(kept)
