"""Safety routes: questions the chatbot answers from a fixed entry, whatever retrieval ranks first.

A question asking how much of a medicine to take ("how much ibuprofen for mpox pain", "how many
tpoxx a day") must get the "no doses here: ask your clinician or pharmacist" entry, never the
general entry of that medicine or of pain relief, however its other words score. The rule needs
both a dose request and a medicine (vaccine doses are left to retrieval).

A warning sign described with mpox ("I have mpox and can't breathe properly", "sores and now he
is confused") gets an entry that says to get urgent care: the children or pregnancy entry when
the text names a child or a pregnancy, the eye entry for one's own eye, else the seek-care entry.

Patterns run on :func:`poxscan.chat.text.normalize` output.
"""

from __future__ import annotations

import functools
import re

from poxscan.chat.text import load_lexicon

__all__ = [
    "CHILD_ENTRY",
    "DOSE_ENTRY",
    "EYE_ENTRY",
    "PREGNANCY_ENTRY",
    "URGENT_ENTRY",
    "mentions_child",
    "mentions_pregnancy",
    "safety_entry",
]

#: The entry that escalates a child's mpox to a doctor / urgent care.
CHILD_ENTRY = "children"
#: The knowledge-base entry that gives no doses and points to a clinician or pharmacist.
DOSE_ENTRY = "medicine_doses"
#: Entries of a warning sign: in general, in pregnancy, in one's own eye.
URGENT_ENTRY = "seek_care"
PREGNANCY_ENTRY = "pregnancy_newborns"
EYE_ENTRY = "eye_symptoms"

_DOSE = re.compile(
    r"\b(?:how\s+much|how\s+many\s+(?:mg|milligrams?|pills?|tablets?|capsules?|doses?)|"
    r"how\s+many\s+(?:\w+\s+)?(?:can|should|do|could|may)\s+i\s+(?:take|have|use|give)|"
    r"how\s+often\s+(?:can|should|do|could|may)\s+(?:i|you|we)\s+(?:take|have|give|use)|"
    r"doses?|dosages?|dosing|\d+\s*mg|milligrams?|max(?:imum)?\s+(?:amount|dose)|overdose|"
    r"double\s+(?:up|dose)|how\s+many\s+(?:a|per|each)\s+day|"
    r"(?:right|correct|safe|max\w*|usual|normal|recommended)\s+(?:amount|dose|dosage|quantity)|"
    r"amount\s+of)\b"
)
# A medicine: a generic word, or a drug name of the lexicon (``expand.drugs`` of
# poxscan/chat/lexicon.yaml: brand and generic names, misspellings), vaccines and the dose
# words aside, so the names are kept in one place.
_MEDICINE_WORDS = re.compile(
    r"\b(?:medicines?|medications?|meds|pills?|tablets?|capsules?|drugs?|pain\s*killers?|"
    r"pain\s+(?:relief|relievers?|medicine)|antivirals?)\b"
)


@functools.lru_cache(maxsize=1)
def _drug_names() -> tuple[re.Pattern[str], ...]:
    drugs = load_lexicon().sections.get("drugs", ())
    return tuple(p for p, canon in drugs if not {"vaccine", "dose"} & set(canon.split()))


def _names_a_medicine(text: str) -> bool:
    return bool(_MEDICINE_WORDS.search(text)) or any(p.search(text) for p in _drug_names())


# "how much does tpoxx cost" asks about money, not a dose.
_MONEY = re.compile(r"\b(?:cost|costs|price|pay|paid|expensive|cheap|free|insurance)\b")
_VACCINE = re.compile(r"\b(?:vaccin\w*|jabs?|shots?|jynneos|imvanex|acam2000|booster)\b")


# "can my 3 year old get really sick from mpox": how ill a child may get is answered by the
# children entry (see a doctor promptly, urgent-care signs), not by the general severe-disease one.
_CHILD = re.compile(
    r"\b(?:bab(?:y|ies)|toddlers?|child|children|kids?|sons?|daughters?|newborns?|infants?|"
    r"little\s+ones?|\d+\s*(?:years?|months?)\s*old)\b"
)
_SEVERE = re.compile(
    r"\b(?:sick|ill|serious\w*|severe\w*|dangerous|danger|worse|deadly|die|hospital\w*|"
    r"worried|worry|risky|at\s+risk)\b"
)
_PREGNANCY = re.compile(r"\b(?:pregnan\w*|unborn|expecting|foetus|fetus|breast\s*-?feed\w*)\b")


# Warning signs that need urgent care (the seek-care, children and pregnancy entries list them).
_WARNING_SIGN = re.compile(
    r"\b(?:(?:can\s+not|cannot|cant|hard\s+to|trouble|difficulty|struggl\w*\s+to|unable\s+to)\s+"
    r"(?:breath\w*|swallow\w*|keep\s+(?:\w+\s+)?down)|short(?:ness)?\s+of\s+breath|breathless\w*|"
    r"(?:gasping|wheezing)|chest\s+pains?|pain\s+in\s+(?:my|his|her|the)\s+chest|"
    r"(?:is|am|are|seems?|getting|gets|got|feel\w*|very|become\w*)\s+(?:very\s+|really\s+|so\s+)?"
    r"(?:confused|disoriented|delirious)(?!\s+(?:about|by|with|as|on|over|whether|if|what|which|"
    r"how|why))|fainted|fainting|feel\w*\s+faint|pass(?:ed|ing)\s+out|seizures?|"
    r"(?:will\s+not|can\s+not|cannot|unable\s+to)\s+(?:wake|drink)|"
    r"(?:unusually|very|really|so|too)\s+(?:drowsy|sleepy))\b"
)
# One's own (or a described person's) eye with a sore or symptom.
_OWN_EYE = re.compile(
    r"\b(?:my|his|her|our|their)\s+(?:\w+\s+)?(?:eyes?|eyelids?|vision|eyesight)\b|"
    r"\b(?:in|near|on|around|next\s+to|by)\s+(?:my|his|her|the)\s+(?:\w+\s+)?(?:eyes?|eyelids?)\b"
)
# The text is about mpox: the disease, or skin findings of it.
_MPOX_CONTEXT = re.compile(
    r"\b(?:mpox|rash\w*|sores?|spots?|blisters?|lesions?|pustules?|scabs?|bumps?)\b"
)


def _warning_sign_entry(text: str) -> str | None:
    if not _MPOX_CONTEXT.search(text):
        return None
    if _WARNING_SIGN.search(text):
        if _CHILD.search(text):
            return CHILD_ENTRY
        return PREGNANCY_ENTRY if _PREGNANCY.search(text) else URGENT_ENTRY
    if _OWN_EYE.search(text) and not _CHILD.search(text) and not _PREGNANCY.search(text):
        return EYE_ENTRY
    return None


def safety_entry(normalized_text: str) -> str | None:
    """The entry a safety rule routes the text to, or ``None``.

    Parameters
    ----------
    normalized_text
        Output of :func:`poxscan.chat.text.normalize`.

    Returns
    -------
    str or None
        :data:`DOSE_ENTRY` for a dose question about a medicine (not a vaccine); for a warning
        sign described with mpox :data:`CHILD_ENTRY`, :data:`PREGNANCY_ENTRY` or
        :data:`URGENT_ENTRY`; :data:`EYE_ENTRY` for one's own eye with mpox;
        :data:`CHILD_ENTRY` for how ill a child may get (not in pregnancy); else ``None``.
    """
    text = normalized_text
    hit = _DOSE.search(text) and _names_a_medicine(text) and not _VACCINE.search(text)
    if hit and not _MONEY.search(text):
        return DOSE_ENTRY
    urgent = _warning_sign_entry(text)
    if urgent is not None:
        return urgent
    if _CHILD.search(text) and _SEVERE.search(text) and not _PREGNANCY.search(text):
        return CHILD_ENTRY
    return None


def mentions_pregnancy(normalized_text: str) -> bool:
    """Whether the (normalised) text speaks of a pregnancy or breastfeeding."""
    return bool(_PREGNANCY.search(normalized_text))


def mentions_child(normalized_text: str) -> bool:
    """Whether the (normalised) text speaks of a baby or child."""
    return bool(_CHILD.search(normalized_text))
