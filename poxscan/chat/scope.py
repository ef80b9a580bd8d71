"""Is a question about mpox at all? Vocabulary checks used beside the retrieval score.

Two signals: whether the text names mpox (or something only mpox questions name: its vaccines,
its antiviral, this tool), and whether it names another disease or health topic the knowledge base
does not cover ("symptoms of covid", "how is HIV transmitted"). A question naming another topic
and not mpox is out of scope however well its wording matches an entry.
"""

from __future__ import annotations

import re

__all__ = ["OTHER_TOPICS", "mentions_mpox", "mentions_other_topic"]

# Chickenpox, measles and smallpox are covered (comparisons, old vaccine); HIV only with mpox.
_MPOX_TERMS = re.compile(
    r"\b(?:mpox|jynneos|mva-?bn|imvanex|imvamune|acam2000|lc16\w*|tecovirimat|tecovir\w*|tpoxx|"
    r"orthopox\w*|poxscan|clade\w*|poxvirus\w*)\b"
)

#: Other diseases and health topics the knowledge base does not answer about.
OTHER_TOPICS = (
    "covid",
    "covid-19",
    "coronavirus",
    "sars-cov-2",
    "sars",
    "flu",
    "influenza",
    "cold",
    "hiv",
    "aids",
    "diabetes",
    "cancer",
    "ebola",
    "malaria",
    "dengue",
    "cholera",
    "tuberculosis",
    "tb",
    "polio",
    "hepatitis",
    "zika",
    "rabies",
    "shingles",
    "herpes",
    "syphilis",
    "gonorrhea",
    "chlamydia",
    "hpv",
    "scabies",
    "acne",
    "psoriasis",
    "sunburn",
    "migraine",
    "migraines",
    "asthma",
    "allergy",
    "allergies",
    "rsv",
    "strep",
    "norovirus",
    "mumps",
    "rubella",
    "lyme",
    "obesity",
    "depression",
    "anxiety",
    "pneumonia",
    # Added in the s4-chat work: common conditions people ask chatbots about.
    "athletes foot",
    "athlete foot",
    "uti",
    "utis",
    "urinary tract infection",
    "tetanus",
    "parvo",
    "heart attack",
    "stroke",
    "blood pressure",
    "cholesterol",
    "thrush",
    "yeast infection",
    "ringworm",
    "impetigo",
    "warts",
    "lupus",
    "arthritis",
    "gout",
    "kidney stones",
    "appendicitis",
    "whooping cough",
    "meningitis",
    "sepsis",
    "salmonella",
    "food poisoning",
    "lice",
    "bed bugs",
    "bedbugs",
    "fleas",
    "mono",
    "glandular fever",
    "tonsillitis",
    "ear infection",
    "bacterial vaginosis",
    "trichomoniasis",
    "gonorrhoea",
    "typhoid",
    "yellow fever",
    "marburg",
    "lassa",
    "nipah",
    "hantavirus",
    "anthrax",
    "leprosy",
    "cellulitis",
    "mrsa",
    "staph",
    "hand foot and mouth",
    "molluscum",
    "rosacea",
    "dandruff",
    "hair loss",
    "insomnia",
    "adhd",
    "autism",
    "dementia",
    "alzheimer",
    "epilepsy",
    "hay fever",
    "sore throat",
)
_OTHER_RE = re.compile(r"\b(?:" + "|".join(re.escape(t) for t in OTHER_TOPICS) + r")\b")


def mentions_mpox(normalized_text: str) -> bool:
    """Whether the (normalised) text names mpox or a term only mpox questions use."""
    return bool(_MPOX_TERMS.search(normalized_text))


# HIV questions the knowledge base answers although they do not name mpox: HIV medicines and
# PrEP ("should I stop my HIV meds?") and "I'm HIV positive, is it worse for me?".
_HIV_IN_SCOPE = re.compile(
    r"\b(?:hiv\s+(?:med\w*|pills?|drugs?|tablets?|therapy|treatment|regimen)|prep|arvs?|"
    r"antiretroviral\w*)\b|"
    r"\b(?:hiv|aids)\b.*\b(?:worse|riskier|more (?:dangerous|serious|severe)|at risk|higher risk)\b"
)


# Other vaccines ("chickenpox vaccine schedule for kids", "what vaccines do babies need"): the
# knowledge base covers the mpox and old smallpox vaccines only.
_OTHER_VACCINE = re.compile(
    r"\b(?:chickenpox|measles|mmr|varicella|flu|covid|hpv|polio|hep\w*|routine|childhood|"
    r"baby|travel|tetanus|rabies)\s+(?:vaccin\w*|jabs?|shots?|immuni[sz]ations?)\b|"
    r"\bvaccin\w*\s+(?:do|does|should)\s+(?:babies|kids|children|infants|toddlers|teens?)\b|"
    r"\b(?:vaccination|vaccine|immuni[sz]ation)\s+schedule\s+for\s+(?:babies|kids|children)\b"
)


# "flu-like", "cold-like", "hot and cold", "cold sweats" describe symptoms, not another disease.
_SYMPTOM_WORDING = re.compile(
    r"\b(?:flu|cold)\s*-?\s*(?:like|ish|type)\b|\bhot\s+(?:and|n|&)\s+cold\b|"
    r"\bcold\s+(?:sweats?|shivers?|chills?)\b"
)


def mentions_other_topic(normalized_text: str) -> str | None:
    """The first other disease/topic the text names, or ``None``.

    HIV and AIDS do not count where the text asks about HIV medicines, PrEP, or whether having
    HIV makes "it" worse: the knowledge base answers those. Symptom wordings ("flu-like",
    "hot and cold") do not name the flu or a cold.
    """
    hiv_ok = bool(_HIV_IN_SCOPE.search(normalized_text))
    normalized_text = _SYMPTOM_WORDING.sub(" ", normalized_text)
    if _OTHER_VACCINE.search(normalized_text):
        return "other vaccines"
    for match in _OTHER_RE.finditer(normalized_text):
        if hiv_ok and match.group(0) in ("hiv", "aids"):
            continue
        return match.group(0)
    return None
