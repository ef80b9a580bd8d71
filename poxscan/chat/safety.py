"""Safety routes: questions the chatbot answers from a fixed entry, whatever retrieval ranks first.

A question asking how much of a medicine to take ("how much ibuprofen for mpox pain", "how many
tpoxx a day") must get the "no doses here: ask your clinician or pharmacist" entry, never the
general entry of that medicine or of pain relief, however its other words score. The rule needs
both a dose request and a medicine (vaccine doses are left to retrieval).

A warning sign described with mpox ("I have mpox and can't breathe properly", "sores and now he
is confused") gets an entry that says to get urgent care: the children or pregnancy entry when
the text names a child or a pregnancy, the eye entry for one's own eye, else the seek-care entry
(also for sores that look infected). A medicine to give a child ("is it safe to give aspirin to
my son") gets the no-doses entry (ask a pharmacist), and a household chemical on the skin or
swallowed ("can I put bleach on the sores") the entry on unproven remedies, which says they
can harm.

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
    "UNPROVEN_ENTRY",
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
    r"\b(?:how\s+much|how\s+many\s+(?:[\w-]+\s+){0,2}?(?:mg|mill?igrams?|pills?|tablets?|capsules?|doses?)|"
    r"how\s+many\s+(?:\w+\s+)?(?:can|should|do|could|may)\s+i\s+(?:take|have|use|give)|"
    r"how\s+often\s+(?:can|should|do|could|may)\s+(?:i|you|we)\s+(?:take|have|give|use)|"
    r"doses?|dosages?|dosing|\d+\s*mg|mill?igrams?|max(?:imum)?\s+(?:amount|dose)|overdose|"
    r"double\s+(?:up|dose|my|the|your|his|her)|how\s+many\s+(?:a|per|each)\s+day|"
    # "can I take 2 nurofen at once", "take three tablets together"
    r"(?:take|taking|give|giving|have)\s+(?:\d+|two|three|four|five|six|extra|more|another)\s+"
    r"(?:[\w-]+\s+)?(?:at\s+once|at\s+a\s+time|at\s+the\s+same\s+time|together|in\s+one\s+go)|"
    r"(?:right|correct|safe|max\w*|usual|normal|recommended)\s+(?:amount|dose|dosage|quantity)|"
    r"amount\s+of|"
    # s11-chat: how often, as a dose ("2 panadol every 4 hours", "every six hours")
    r"every\s+(?:\d+|two|three|four|five|six|eight|twelve|few|couple\s+of)\s+(?:hours?|hrs?)|"
    # s22-chat: the most one may take ("the max ibuprofen in 24 hours")
    r"max(?:imum)?\s+(?:[\w-]+\s+)?(?:in|per|a)\s+(?:24|twenty\s+four)\s+(?:hours?|hrs?)|"
    r"max(?:imum)?\s+(?:[\w-]+\s+)?(?:a|per)\s+day)\b"
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


# "is it safe to give aspirin to my child": a medicine for a child is a pharmacist's question.
_GIVE_TO_CHILD = re.compile(
    r"\b(?:give|giving|gave)\s+(?:[\w-]+\s+){0,3}?(?:to\s+)?(?:my|a|the|our|his|her)\s+"
    r"(?:\d+\s*(?:years?|months?)\s*old|bab(?:y|ies)|toddlers?|child|children|kids?|sons?|"
    r"daughters?|infants?|newborns?|little\s+ones?)\b"
)
# Harmful home use of household chemicals: swallowed or injected, or put on the skin or sores.
_CHEMICAL = (
    r"(?:bleach|disinfectants?|dettol|lysol|hydrogen\s+peroxide|rubbing\s+alcohol|surgical\s+spirit|"
    r"surface\s+cleaners?|cleaning\s+products?|chlorine|ammonia|turpentine|kerosene|petrol|gasoline)"
)
_HARMFUL_USE = re.compile(
    rf"\b(?:drink\w*|swallow\w*|inject\w*|gargl\w*|ingest\w*|eat\w*)\s+(?:[\w-]+\s+){{0,3}}?"
    rf"{_CHEMICAL}\b|"
    rf"\b{_CHEMICAL}\s+(?:[\w-]+\s+){{0,3}}?(?:on|onto|to|into|over|in)\s+(?:my|the|your|his|her|"
    rf"their|our|a)?\s*(?:[\w-]+\s+)?(?:sores?|spots?|blisters?|skin|rash|wounds?|lesions?|scabs?|"
    rf"body|face|genitals|penis|vagina|mouth|bum|butt|anus)\b|"
    rf"\b(?:bath\w*|soak\w*)\s+(?:[\w-]+\s+){{0,4}}?(?:in|of|with)\s+(?:[\w-]+\s+){{0,2}}?"
    rf"{_CHEMICAL}\b|"
    # "bleach baths", "a dettol soak"
    rf"\b{_CHEMICAL}\s+(?:baths?|bathing|soaks?|soaking|rinses?|gargles?)\b|"
    rf"\b(?:wash|clean|scrub|treat|dab|rub|disinfect)\w*\s+(?:my|the|his|her|your|their|these|those)\s+"
    rf"(?:[\w-]+\s+)?(?:sores?|spots?|blisters?|skin|rash|wounds?|lesions?|scabs?)\s+(?:with|in|using)"
    rf"\s+(?:some\s+)?(?:[\w-]+\s+)?{_CHEMICAL}\b"
)
#: The entry that says unproven and household remedies are not treatments and can harm.
UNPROVEN_ENTRY = "unproven_remedies"
# Sores that look infected: spreading skin infection is an urgent-care sign (seek-care entry).
_INFECTED_SORE = re.compile(
    r"\b(?:my|his|her|their|our|the|these|this|a)\s+(?:[\w-]+\s+){0,2}?(?:sores?|spots?|blisters?|"
    r"lesions?|scabs?|rash|skin)\s+(?:[\w-]+\s+){0,3}?(?:infected|oozing|weeping|hot\s+and\s+swollen)\b|"
    r"\b(?:spreading\s+redness|red\s+streaks?|(?:oozing|leaking)\s+pus|cellulitis)\b"
)


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
    # (s15-chat: "can barely / hardly breathe", "out of breath", "can not catch my breath")
    r"\b(?:(?:can\s+not|cannot|cant|(?:can\s+|could\s+)?(?:barely|hardly)|hard\s+to|trouble|difficulty|"
    r"struggl\w*\s+to|unable\s+to)\s+"
    r"(?:breath\w*|swallow\w*|keep\s+(?:\w+\s+)?down)|short(?:ness)?\s+of\s+breath|breathless\w*|"
    r"out\s+of\s+breath|(?:can\s+not|cannot|cant)\s+catch\s+(?:my|his|her|their)\s+breath|"
    r"(?:gasping|wheezing)|chest\s+pains?|pain\s+in\s+(?:my|his|her|the)\s+chest|"
    r"(?:is|am|are|seems?|getting|gets|got|feel\w*|very|become\w*)\s+(?:very\s+|really\s+|so\s+)?"
    r"(?:confused|disoriented|delirious)(?!\s+(?:about|by|with|as|on|over|whether|if|what|which|"
    r"how|why))"
    # "im confused, does mpox spread ...": puzzled by a question, not delirious
    r"(?!\s*[,.:;-]?\s*(?:about|by|so|but|because|lol|haha|sorry|"
    r"(?:(?:how|what|which|why|when|where)\s+)?(?:does|do|is|are|can|could|will|would)\s+"
    r"(?:mpox|it|you|u|the|people|someone|this|that|an?)\b))|"
    r"fainted|fainting|feel\w*\s+faint|pass(?:ed|ing)\s+out|seizures?|"
    # s16-chat: not able to pee (urinary retention: proctitis or sores can block it); the
    # verb's own forms only, so peeling a scab or "weeks" is no warning sign
    r"(?:can\s+not|cannot|cant|could\s+not|(?:can\s+|could\s+)?(?:barely|hardly)|unable\s+to|"
    r"(?:trouble|difficulty|struggl\w*)\s+(?:to\s+)?|hard\s+to|not\s+able\s+to)\s+"
    r"(?:pee(?:s|d|ing)?|wee(?:s|ing)?|urinat\w*|piss\w*|pass\s+(?:urine|water)|empty\s+(?:my|his|her|the)\s+bladder)|"
    r"(?:have|has|had)\s*(?:not|n't)\s+(?:peed|urinated)|urinary\s+retention|"
    r"(?:no|not\s+any)\s+(?:pee|urine)\s+(?:for|since|all)|"
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
    if _INFECTED_SORE.search(text) and not _CHILD.search(text) and not _PREGNANCY.search(text):
        return URGENT_ENTRY
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
        :data:`URGENT_ENTRY` for sores that look infected; :data:`UNPROVEN_ENTRY` for a
        household chemical on the skin or swallowed; :data:`DOSE_ENTRY` for a medicine given
        to a child;
        :data:`CHILD_ENTRY` for how ill a child may get (not in pregnancy); else ``None``.
    """
    text = normalized_text
    hit = _DOSE.search(text) and _names_a_medicine(text) and not _VACCINE.search(text)
    if hit and not _MONEY.search(text):
        return DOSE_ENTRY
    if _HARMFUL_USE.search(text):
        return UNPROVEN_ENTRY
    if _GIVE_TO_CHILD.search(text) and _names_a_medicine(text) and not _VACCINE.search(text):
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
