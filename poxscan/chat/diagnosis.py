"""Detect requests for a diagnosis ("I have spots on my arm, is it mpox?").

The chatbot must never give a verdict on a person's own symptoms, so such requests are caught by
transparent rules before retrieval. A rule fires on an explicit verdict request ("do I have
mpox", "could this be mpox", "is my rash mpox", "what do I have", "diagnose my rash") or on a
description of one's own symptoms that ends by naming the disease ("bumps on my face. mpox?").
Questions that only mention the asker ("can I get the vaccine?", "I was exposed, what should I
do?") are left to retrieval.

All patterns run on :func:`poxscan.chat.text.normalize` output, where every spelling of
monkeypox reads ``mpox`` and contractions are expanded.
"""

from __future__ import annotations

import re

__all__ = ["RULES", "detect_diagnosis_request", "is_diagnosis_request"]

# Diseases a user may ask to be told they have. "it"/"this"/"that" stand for the disease in
# "do I have it?"; they are only allowed where the grammar makes that reading the likely one.
_DISEASE = r"(?:mpox|chickenpox|smallpox|measles|herpes|syphilis|shingles|scabies)"
_DISEASE_OR_IT = rf"(?:{_DISEASE}|it|this|that)"
_WORD = r"[\w-]+"
# Skin findings and symptoms a person may describe.
_SYMPTOM = (
    r"(?:rash\w*|spots?|bumps?|blisters?|sores?|lesions?|pimples?|pustules?|scabs?|ulcers?|"
    r"boils?|welts?|hives|marks?|fever\w*|swollen|swelling|itch\w*|red\w*|lumps?|"
    r"symptoms?|skin)"
)
# What a verdict question is about: "it", "this", "these", "my rash", "his son".
_SUBJECT = rf"(?:it|this|that|these|those|they|mine|(?:my|his|her|our|their)\s+{_WORD})"
# Words that may sit between the subject and the disease ("this rash", "my son back") - but not
# verbs or adjectives that turn the sentence into a general question ("is it called mpox",
# "is it true rodents spread mpox", "can my pet get mpox").
_NOUNISH = (
    r"(?!(?:called|named|known|true|safe|possible|likely|related|similar|different|worse|like|"
    r"than|as|vs|versus|compared|milder|more|less|just|still|normal|typical|usual|for|with|of|"
    r"better|dangerous|contagious|serious|common|get|gets|catch|give|have|has|had|cause|causes|"
    r"spread\w*|transmit\w*|diagnos\w*|treat\w*|test\w*|prevent\w*|become|same|from)\b)"
    rf"{_WORD}"
)
# The person concerned: the asker or someone they describe.
_PERSON = (
    r"(?:i|me|my|mine|we|our|he|she|his|her|they|their|"
    r"son|daughter|baby|kid|child|partner|boyfriend|girlfriend|husband|wife)"
)
# Questions about what to do, where to go, how to cope: informational, not verdict requests.
_ACTION_QUESTION = re.compile(
    r"\b(?:should i|should we|what should|what do i do|what to do|what can i|what now|"
    r"where (?:can|do|should|to)|how (?:do|can|should) i|how long|when (?:should|do|can) i|"
    r"who (?:should i|to)|is it safe)\b"
)

_HOW_TO = re.compile(r"\bhow\s+(?:do|can|should|would|to)\b")

#: (name, pattern) pairs; a text is a diagnosis request if any pattern matches.
RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # "do I have mpox?", "could I have it", "do I hav mpox or chickenpox"
    (
        "do_i_have",
        re.compile(
            rf"\b(?:do|did|could|might|may|can)\s+(?:i|we)\s+(?:have|hav|has|got|be having)\s+"
            rf"(?:the\s+|a\s+case\s+of\s+)?{_DISEASE_OR_IT}\b(?!\s+(?:is|to|spread)\b)"
        ),
    ),
    # "does she have mpox", "could my son have monkeypox"
    (
        "does_someone_have",
        re.compile(
            rf"\b(?:do|does|did|could|might|may|can)\s+(?:he|she|they|(?:my|our)\s+{_WORD})\s+"
            rf"(?:have|has|got)\s+(?:the\s+)?{_DISEASE}\b"
        ),
    ),
    # "is it mpox", "is this rash mpox", "is my rash chickenpox"
    (
        "is_this_mpox",
        re.compile(
            rf"\b(?:is|are)\s+{_SUBJECT}\s+(?:{_NOUNISH}\s+){{0,2}}?"
            rf"(?:really\s+|actually\s+|possibly\s+)?(?:an?\s+)?{_DISEASE}\b"
        ),
    ),
    # "is the bump on my lip mpox", "are these spots on my back chickenpox or mpox"
    (
        "is_the_symptom_mpox",
        re.compile(
            rf"\b(?:is|are)\s+(?:the|this|that|these|those|my|his|her|our|their)\s+"
            rf"(?:{_NOUNISH}\s+)?{_SYMPTOM}\s+(?:(?:on|in|near|around|under|at|by|behind)\s+"
            rf"(?:my|his|her|our|their)\s+(?:{_NOUNISH}\s+){{0,2}}?)?(?:an?\s+)?{_DISEASE}\b"
        ),
    ),
    # "could this be mpox", "could my daughter rash be mpox", "might it be monkeypox"
    (
        "could_this_be",
        re.compile(
            rf"\b(?:could|can|might|may|would)\s+{_SUBJECT}\s+(?:{_NOUNISH}\s+){{0,2}}?"
            rf"(?:really\s+|actually\s+|possibly\s+)?be\s+(?:an?\s+)?{_DISEASE}\b"
        ),
    ),
    # "are my symptoms mpox", "is my rash chickenpox or mpox"
    (
        "are_my_symptoms",
        re.compile(
            rf"\b(?:is|are)\s+(?:my|his|her|our|their)\s+(?:{_WORD}\s+){{0,2}}?{_DISEASE}\b"
        ),
    ),
    # "these bumps on my legs are mpox", "my rash looks like mpox"
    (
        "symptom_is_mpox",
        re.compile(
            rf"\b(?:my|his|her|our|their|these|this|those)\s+(?:{_WORD}\s+){{0,3}}?{_SYMPTOM}\s+"
            rf"(?:{_WORD}\s+){{0,4}}?(?:is|are|be|looks?\s+like|seems?\s+like)\s+"
            rf"(?:{_WORD}\s+)?{_DISEASE}\b"
        ),
    ),
    # "is this rash from mpox", "are my spots caused by monkeypox"
    (
        "symptom_from_mpox",
        re.compile(
            rf"\b(?:is|are|could|can|might)\s+(?:this|that|these|those|my|his|her|our|their)"
            rf"\s+(?:{_WORD}\s+)?{_SYMPTOM}\s+(?:(?:on|in|near|around|under|at)\s+"
            rf"(?:my|his|her|our|their)\s+{_WORD}\s+)?(?:be\s+)?(?:from|caused\s+by|due\s+to)\s+"
            rf"{_DISEASE}\b(?=\s*(?:[?.!]|$|or\b))"
        ),
    ),
    # "does this sound like mpox", "does it look like monkeypox to you"
    (
        "sound_like",
        re.compile(
            rf"\b(?:do|does|did)\s+(?:it|this|that|these|those|they)\s+(?:sound|look|seem)\s+"
            rf"like\s+(?:{_WORD}\s+)?{_DISEASE}\b"
        ),
    ),
    # "tell me if I have mpox", "can you tell whether it is monkeypox"
    (
        "tell_me_if",
        re.compile(
            rf"\btell\s+(?:me\s+)?(?:if|whether)\s+(?:i|it|this|that|he|she|(?:my|our)\s+{_WORD})\s+"
            rf"(?:is|are|have|has|got)\s+(?:{_WORD}\s+)?{_DISEASE_OR_IT}\b"
        ),
    ),
    # "tell me if the bumps on my arm are mpox", "can you tell whether these spots are mpox"
    (
        "tell_me_if_symptom",
        re.compile(
            rf"\btell\s+(?:me\s+)?(?:if|whether)\s+(?:the|these|those|this|that|my|his|her|our)\s+"
            rf"(?:{_WORD}\s+){{0,5}}?(?:is|are)\s+(?:an?\s+)?(?:{_WORD}\s+)?{_DISEASE_OR_IT}\b"
        ),
    ),
    # "check my rash", "look at these spots", "pls examine my bumps"
    (
        "check_my_rash",
        re.compile(
            rf"\b(?:check|look\s+at|examine|assess|judge|identify|rate|see)\s+"
            rf"(?:my|this|these|those|his|her|our|their)\s+(?:{_WORD}\s+){{0,2}}?{_SYMPTOM}\b"
        ),
    ),
    # "am I infected with mpox", "have I caught monkeypox"
    (
        "am_i_infected",
        re.compile(
            rf"\b(?:am\s+i|are\s+we|is\s+(?:he|she))\s+(?:infected|positive)\b|"
            rf"\bhave\s+(?:i|we)\s+(?:got|caught|contracted)\s+{_DISEASE_OR_IT}\b|"
            rf"\bhas\s+(?:he|she|(?:my|our)\s+{_WORD})\s+(?:got|caught|contracted)\s+"
            rf"{_DISEASE_OR_IT}\b"
        ),
    ),
    # "diagnose my rash", "what do I have", "what is this rash on my arm"
    (
        "what_do_i_have",
        re.compile(
            rf"\bdiagnos\w*\s+(?:me|my|this|it|him|her|us|our)\b|"
            rf"\bwhat\s+(?:do|does)\s+(?:i|we|he|she|(?:my|our)\s+{_WORD})\s+(?:have|hav|got)\b"
            rf"(?!\s+to\b)|"
            rf"\bwhat\s+(?:is|are)\s+(?:this|these|that|those)\s+(?:{_WORD}\s+){{0,2}}?on\s+"
            rf"(?:my|his|her|our)\b|"
            rf"\bwhat\s+is\s+wrong\s+with\s+(?:my|me|him|her)\b|"
            rf"\btell\s+me\s+what\s+(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+(?:have|has|got)\b"
        ),
    ),
)

# "I think I have mpox": a suspicion statement. A verdict request unless the text also asks
# what to do, which retrieval answers (seek care, isolation).
_SUSPICION = re.compile(
    rf"\b(?:think|suspect|fear|believe|guess|worried|afraid|scared|concerned|sure)\s+"
    rf"(?:that\s+)?(?:i|he|she|we|it|this|these|they|(?:my|our)\s+{_WORD})\s+"
    rf"(?:{_WORD}\s+){{0,4}}?(?:have|has|got|caught|is|are)\s+(?:{_WORD}\s+)?{_DISEASE}\b"
)
# "sores on my lip - mpox yes or no?": a verdict asked for outright.
_YES_OR_NO = re.compile(rf"\b{_DISEASE}\b[\s,?!.-]*(?:yes\s+or\s+no|or\s+not|y\s*/\s*n)\b")
# "bumps on my face. mpox?": own symptoms, then the disease name as the question.
_TRAILING_NAME = re.compile(
    rf"(?:^|[,.;:!?]|\s-|\bor)\s*(?:is\s+it\s+|maybe\s+)?{_DISEASE}\s*\?+\W*$"
)
_DESCRIBES_OWN = re.compile(
    rf"\b{_PERSON}\b.*\b{_SYMPTOM}\b|\b{_SYMPTOM}\b.*\b{_PERSON}\b|^\s*(?:got|have|having)\b"
)


def detect_diagnosis_request(normalized_text: str) -> str | None:
    """Name of the rule that marks the text as a request for a diagnosis, else ``None``.

    Parameters
    ----------
    normalized_text
        Output of :func:`poxscan.chat.text.normalize`.

    Returns
    -------
    str or None
        The rule's name (for explanations and tests), or ``None`` when no rule fires.
    """
    text = normalized_text
    for name, pattern in RULES:
        # "how do I check my rash for mpox" asks how to check, not for a verdict.
        if name == "check_my_rash" and _HOW_TO.search(text):
            continue
        if pattern.search(text):
            return name
    if _SUSPICION.search(text) and not _ACTION_QUESTION.search(text):
        return "suspicion"
    if _YES_OR_NO.search(text):
        return "yes_or_no"
    if _TRAILING_NAME.search(text) and _DESCRIBES_OWN.search(text):
        return "symptoms_then_name"
    return None


def is_diagnosis_request(normalized_text: str) -> bool:
    """Whether the (normalised) text asks for a verdict on someone's symptoms."""
    return detect_diagnosis_request(normalized_text) is not None
