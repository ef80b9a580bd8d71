"""Is a question about mpox at all? Vocabulary checks used beside the retrieval score.

Two signals: whether the text names mpox (or something only mpox questions name: its vaccines,
its antiviral, this tool), and whether it names another disease or health topic the knowledge base
does not cover ("symptoms of covid", "how is HIV transmitted"). A question naming another topic
and not mpox is out of scope however well its wording matches an entry.

Two more checks apply even when the text names mpox: a topic no entry covers (what a vaccine or
test costs, alcohol, catching mpox twice, giving blood: :func:`not_covered_topic`), and a
comparison of mpox with a look-alike disease no entry describes (herpes, syphilis, ...:
:func:`uncovered_comparison`), which gets the testing entry when it asks how to tell the rashes
apart (only a lab test can) or how alike or different they are, the what-is-mpox entry when it
asks whether they are one disease (or one a kind of the other), and "I don't know" otherwise
(how much worse one is, having both at once).
"""

from __future__ import annotations

import difflib
import functools
import re

__all__ = [
    "IDENTITY_ENTRY",
    "OTHER_TOPICS",
    "TESTING_ENTRY",
    "mentions_mpox",
    "mentions_other_topic",
    "not_covered_topic",
    "uncovered_comparison",
]

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
    # s17-chat: school subjects and medicines no entry covers, asked without mpox
    "physics",
    "quantum physics",
    "chemistry",
    "algebra",
    "calculus",
    "antidepressant",
    "antidepressants",
    "ssri",
    "ssris",
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
    # s21-chat: everyday questions and medicines no entry covers, asked without mpox
    "mononucleosis",
    "quantum",
    "metformin",
    "insulin",
    "statin",
    "statins",
    "tooth",
    "teeth",
    "toothache",
    "passport",
    "passports",
    "visa",
    "joke",
    "jokes",
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
    "hand foot mouth",
    "hand-foot-mouth",
    "hand-foot-and-mouth",
    "hfmd",
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
    # Added in the s6-chat work.
    "hives",
    "urticaria",
    # Added in the s9-chat work.
    "sunscreen",
    "sun cream",
    "suncream",
    "sunblock",
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
    r"\b(?:vaccination|vaccine|immuni[sz]ation)\s+schedule\s+for\s+(?:babies|kids|children)\b|"
    # s14-chat: vaccines for a trip ("what vaccines do i need for a trip to thailand"), mpox
    # not named.
    r"^(?!.*\b(?:mpox|jynneos|imvanex|mva)\b).*\b(?:vaccin\w*|jabs?|shots?)\s+(?:do|should|would)\s+"
    r"(?:i|we|you)\s+need\s+(?:for|before)\s+(?:a|my|our|the)\s+(?:trip|holiday|travel|vacation)\b"
)


# "flu-like", "cold-like", "hot and cold", "cold sweats" describe symptoms, not another disease.
_SYMPTOM_WORDING = re.compile(
    r"\b(?:flu|cold)\s*-?\s*(?:like|ish|type)\b|\bhot\s+(?:and|n|&)\s+cold\b|"
    r"\bcold\s+(?:sweats?|shivers?|chills?)\b"
)


# Words of a comparison ("is it like chickenpox", "measles vs mpox", "how do they differ").
_COMPARISON = re.compile(
    r"\b(?:like|alike|same|similar\w*|differ\w*|vs|versus|compar\w*|apart|than|worse|milder|"
    r"mistak\w*|confus\w*|resembl\w*|or)\b"
)
# Diseases the knowledge base describes only beside mpox: a question about them alone ("how do
# I treat chickenpox in my kid") is out of scope, a comparison is not.
_COMPARED_ONLY = re.compile(r"\b(?:chickenpox|measles)\b")


# An other topic named only as what is compared with ("like covid", "worse than the flu").
_COMPARED_WITH_OTHER = re.compile(
    r"\b(?:like|unlike|than|as|vs|versus|compared\s+(?:to|with)|similar\s+to|same\s+as)\s+"
    r"(?:the\s+|a\s+|an\s+|having\s+(?:the\s+|a\s+)?)?(?:"
    + "|".join(re.escape(t) for t in OTHER_TOPICS)
    + r")\b(?!\s+(?:vaccin\w*|jabs?|shots?|boosters?|tests?|symptoms?|patients?))"
)

_SPREAD_OR_START = re.compile(
    r"\b(?:spread\w*|catch\w*|contagious|infectious|transmi\w*|airborne|air|breath\w*|"
    r"cough\w*|sneez\w*|droplets?|start\w*|begin\w*|feel\w*)\b"
)


# Everyday topics beside health (s9-chat): what a pet may eat ("can dogs eat grapes"; not "can
# my dog get mpox"), and cooking ("how long do I boil an egg").
_EVERYDAY_TOPICS = (
    (
        "pet food",
        re.compile(
            r"\b(?:dogs?|cats?|puppy|puppies|kittens?|pets?|hamsters?|rabbits?|parrots?)\s+"
            r"(?:\w+\s+)?(?:eat|eats|eating|drink|drinks|chew)\s+(?!mpox\b|it\b|this\b|that\b|them\b)\w+"
        ),
    ),
    (
        # s10-chat: daily amounts in general ("how much water should I drink a day").
        "daily needs",
        re.compile(
            r"\bhow\s+(?:much|many\s+(?:hours|glasses|cups|litres|liters|bottles)\s+of)\s+"
            r"(?:water|sleep|exercise|protein|caffeine|coffee|sugar|salt|fibre|fiber)\b"
        ),
    ),
    (
        # s12-chat: opening hours of a shop, pharmacy or clinic.
        "opening hours",
        re.compile(
            r"\b(?:opening|closing)\s+(?:hours|times)\b|"
            r"\bwhat\s+time\s+(?:does|do|is|will)\s+(?:the\s+|my\s+)?(?:[\w-]+\s+){1,2}?"
            r"(?:open|close|shut)\b|"
            r"\b(?:is|are)\s+(?:the\s+|my\s+)?(?:[\w-]+\s+){1,3}?(?:open|closed)\s+"
            r"(?:on|at|today|tomorrow|tonight|this|over|during)\b"
        ),
    ),
    (
        # s12-chat: sport results and events ("who won the rugby world cup").
        "sport",
        re.compile(
            r"\bwho\s+won\b|\bworld\s+cup\b|\bolympics\b|"
            r"\b(?:football|soccer|rugby|cricket|footy|basketball|baseball|tennis|golf)\s+"
            r"(?:scores?|results?|match(?:es)?|games?|final|league|season)\b"
        ),
    ),
    (
        # s12-chat: a product asked to be recommended (creams, shampoos, brands).
        "product advice",
        re.compile(
            r"\b(?:recommend|suggest)\s+(?:me\s+)?(?:an?\s+|some\s+)?(?:good\s+|best\s+|nice\s+)?"
            r"(?:[\w-]+\s+){0,2}?(?:creams?|moisturi[sz]ers?|lotions?|shampoos?|soaps?|brands?|"
            r"products?|ointments?)\b"
        ),
    ),
    (
        # s19-chat: the time, writing a text, a sports injury, with no mpox named.
        "everyday requests",
        re.compile(
            r"\bwhat\s+time\s+is\s+it\b|"
            r"\b(?:write|draft)\s+(?:me\s+)?(?:an?\s+|my\s+|some\s+)?(?:\w+\s+)?(?:speech|essay|"
            r"letter|email|cv|resume|poem|song|toast|caption)\b|"
            r"\b(?:knee|ankle|wrist|hip|shin|hamstring|calf)\s+(?:\w+\s+)?(?:hurts?|pain|ache\w*|"
            r"injur\w*|sprain\w*)\b(?:\W+\w+){0,4}?\W+(?:running|run|jogging|football|soccer|gym|"
            r"workout|training|exercise|a\s+fall|sport)\b"
        ),
    ),
    (
        # s18-chat: stories and gadgets asked for with no mpox named ("tell me a bedtime story",
        # "the best phone to buy").
        "stories and shopping",
        re.compile(
            r"\b(?:tell|read|write)\s+(?:me\s+|us\s+)?(?:an?\s+)?(?:\w+\s+)?"
            r"(?:story|stories|fairy\s+tale)\b|"
            r"\b(?:best|which|good|cheapest)\s+(?:\w+\s+)?(?:phones?|laptops?|cars?|tvs?|cameras?|"
            r"headphones|tablets?\s+to\s+buy|consoles?)\b(?:\W+\w+){0,3}?\W+"
            r"(?:buy|get|choose|right\s+now)\b|"
            # s20-chat: apps and sites to pick ("what is the best dating app").
            r"\b(?:best|good|top|which)\s+(?:\w+\s+)?(?:dating|shopping|fitness|music|video|"
            r"games?|gaming|banking|language|photo|food|taxi)\s+(?:apps?|sites?|websites?)\b"
        ),
    ),
    (
        # s14-chat: places to eat or drink ("can you recommend a good restaurant in cardiff").
        "eating out",
        re.compile(
            r"\b(?:restaurants?|cafes?|pubs?|takeaways?|bars?)\s+(?:in|near|around)\b|"
            r"\b(?:good|best|nice|cheap)\s+(?:restaurants?|cafes?|pubs?|takeaways?|places?\s+to\s+eat)\b"
        ),
    ),
    (
        # s14-chat: supplements and gym nutrition ("how much vitamin d should i take daily",
        # "the best protein powder"); not whether a vitamin helps against mpox.
        "supplements",
        re.compile(
            r"\bhow\s+much\s+(?:vitamin|vit)\s+\w+\s+(?:should|do|can|a)\b(?!.*\b(?:mpox|it)\b)|"
            r"\bprotein\s+(?:powders?|shakes?|bars?)\b|\bpre\s*-?\s*workout\b"
        ),
    ),
    (
        # s14-chat: a child's sleep ("how do i get my toddler to sleep through the night").
        "child sleep",
        re.compile(
            r"\b(?:babies|baby|toddlers?|kids?|child|children|newborns?)\s+(?:[\w']+\s+){0,3}?"
            r"(?:sleep|nap)\s+(?:through|all\s+night|longer)\b|"
            r"\bsleep\s+training\b"
        ),
    ),
    (
        # s14-chat: working hours and driving rules ("how many hours can a truck driver drive").
        "driving rules",
        re.compile(
            r"\bhow\s+many\s+hours\s+(?:can|may|should)\s+(?:a|an|you|i)\s+(?:\w+\s+){0,2}?"
            r"(?:drive|work)\b"
        ),
    ),
    (
        # s14-chat: removing a tattoo.
        "tattoo removal",
        re.compile(r"\btattoos?\s+(?:removed|removal)\b|\bremov\w*\s+(?:a\s+|my\s+)?tattoos?\b"),
    ),
    (
        # s15-chat: a human medicine given to a pet ("can i give my cat ibuprofen", "is tylenol
        # safe for dogs").
        "medicines for pets",
        re.compile(
            r"\b(?:give|giving|gave)\s+(?:my\s+|our\s+|a\s+|the\s+)?(?:dogs?|cats?|puppy|puppies|"
            r"kittens?|pets?|rabbits?)\s+(?:some\s+|an?\s+)?(?:[\w-]+\s+)?(?:ibuprofen|paracetamol|"
            r"acetaminophen|tylenol|advil|nurofen|aspirin|calpol|benadryl|antihistamines?|"
            r"painkillers?|medicines?|pills?|tablets?)\b|"
            r"\b(?:ibuprofen|paracetamol|acetaminophen|tylenol|advil|nurofen|aspirin|calpol|benadryl|"
            r"antihistamines?|painkillers?)\s+(?:\w+\s+){0,2}?(?:for|to)\s+(?:my\s+|our\s+|a\s+)?"
            r"(?:dogs?|cats?|puppy|puppies|kittens?|pets?|rabbits?)\b"
        ),
    ),
    (
        # s15-chat: travel prices ("how much is a flight to lagos", "the cost of a train ticket").
        "travel prices",
        re.compile(
            r"\bhow\s+much\s+(?:is|are|does|do|would|will|was)\s+(?:it\s+(?:cost\s+)?(?:for|to)\s+)?"
            r"(?:a\s+|an\s+|the\s+|my\s+|one\s+)?(?:[\w-]+\s+){0,2}?(?:flights?|plane\s+tickets?|"
            r"tickets?|train|trains|bus|coach|taxi|uber|cab|hotels?|fares?|airbnb|visas?)\b|"
            r"\b(?:price|prices|cost|costs)\s+of\s+(?:a\s+|an\s+|the\s+)?(?:[\w-]+\s+)?(?:flights?|"
            r"tickets?|hotels?|fares?|train|taxi|visas?)\b"
        ),
    ),
    (
        # s15-chat: a tattoo or piercing healing ("how long does a tattoo take to heal").
        "tattoo and piercing aftercare",
        re.compile(
            r"\b(?:tattoos?|piercings?)\s+(?:\w+\s+){0,4}?heal\w*|"
            r"\b(?:tattoo|piercing)\s+after\s*-?\s*care\b|\bheal\w*\s+(?:\w+\s+)?(?:tattoos?|piercings?)\b"
        ),
    ),
    (
        # s15-chat: flying while pregnant, mpox not named ("is it safe to fly when pregnant").
        "flying while pregnant",
        re.compile(
            r"\b(?:fly|flying|flights?|travel\w*)\s+(?:when|while|during|in|at)\s+(?:\w+\s+){0,2}?"
            r"(?:pregnan\w*|trimester)\b|\bpregnan\w*\s+(?:\w+\s+){0,3}?(?:fly|flying|flights?)\b"
        ),
    ),
    (
        "cooking",
        re.compile(
            r"\b(?:boil|cook|bake|fry|roast|grill|microwave|poach|steam)\w*\s+(?:an?\s+|the\s+|some\s+|"
            r"my\s+)?(?:eggs?|rice|pasta|chicken|potato\w*|cakes?|bread|vegetables|veg|noodles|soup)\b|"
            r"\brecipes?\b"
        ),
    ),
)


def mentions_other_topic(normalized_text: str) -> str | None:
    """The first other disease/topic the text names, or ``None``.

    HIV and AIDS do not count where the text asks about HIV medicines, PrEP, or whether having
    HIV makes "it" worse: the knowledge base answers those. Symptom wordings ("flu-like",
    "hot and cold") do not name the flu or a cold, and neither does a disease named only as
    what "it" is compared with in how it spreads or starts ("does it spread like covid", "does
    it start like the flu"; not "is it worse than covid"). Chickenpox and measles count unless
    the text compares (the knowledge base answers comparisons with mpox, not questions about
    them alone).
    """
    hiv_ok = bool(_HIV_IN_SCOPE.search(normalized_text))
    normalized_text = _SYMPTOM_WORDING.sub(" ", normalized_text)
    if _OTHER_VACCINE.search(normalized_text):
        return "other vaccines"
    # "does it spread through the air like covid": the other disease is only what "it" (mpox)
    # is compared with in how it spreads or starts, which entries answer (not in how bad it is).
    if _SPREAD_OR_START.search(normalized_text):
        normalized_text = _COMPARED_WITH_OTHER.sub(" ", normalized_text)
    alone = _COMPARED_ONLY.search(normalized_text)
    if alone and not _COMPARISON.search(normalized_text):
        return alone.group(0)
    for match in _OTHER_RE.finditer(normalized_text):
        if hiv_ok and match.group(0) in ("hiv", "aids"):
            continue
        return match.group(0)
    for name, pattern in _EVERYDAY_TOPICS:
        if pattern.search(normalized_text):
            return name
    return _misspelt_other_topic(normalized_text)


#: Minimum ``difflib`` similarity of a misspelt disease name to the one it stands for.
_MISSPELT_CUTOFF = 0.87


@functools.lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    """Words of the knowledge base and of English function words: never read as misspellings."""
    from poxscan.chat.knowledge import load_knowledge_base
    from poxscan.chat.text import STOPWORDS, normalize, tokens

    words = set(STOPWORDS)
    for entry in load_knowledge_base().entries:
        for text in (*entry.questions, entry.answer, entry.keywords):
            words.update(tokens(normalize(text)))
    return frozenset(words)


_SINGLE_WORD_TOPICS = tuple(t for t in OTHER_TOPICS if re.fullmatch(r"[a-z]{6,}", t))


def _misspelt_other_topic(normalized_text: str) -> str | None:
    """s15-chat: another disease's name misspelt ("how do you catch scabbies", "is clamydia
    curable"): a word of six letters or more, not a word of the knowledge base, within
    ``difflib`` 0.87 of a one-word topic of :data:`OTHER_TOPICS` ("single" is 0.86 of
    "shingles"). The lexicon lists only the misspellings someone wrote down."""
    known = _known_words()
    for word in re.findall(r"[a-z]{6,}", normalized_text):
        if word in known:
            continue
        match = difflib.get_close_matches(word, _SINGLE_WORD_TOPICS, n=1, cutoff=_MISSPELT_CUTOFF)
        if match:
            return match[0]
    return None


#: The entry that answers how to tell mpox from a look-alike rash (a lab test).
TESTING_ENTRY = "testing"
#: The entry that answers whether mpox is another disease, or a kind of it (which virus causes
#: mpox).
IDENTITY_ENTRY = "what_is_mpox"

# s17-chat: what the tool does with what it is sent ("do you save my photos", "what happens to
# my pictures"): a question about the tool, not a photo handed over to be judged ("can you see
# / look at my photo" hands one over, so those verbs are not here). Part of the privacy topic.
_TOOL_DATA = (
    r"\b(?:do|does|will|would|can|could|did)\s+(?:you|this\s+(?:\w+\s+)?(?:app|tool|site|"
    r"website|bot|chatbot)|poxscan|it|anyone|someone|people)\s+(?:\w+\s+)?(?:save|saves|store|"
    r"stores|keep|keeps|share|shares|sell|sells|delete|deletes|record|records|log|logs)\s+"
    r"(?:my|the|our|your|any|people'?s)?\s*(?:messages?|chats?|photos?|pictures?|pics?|"
    r"images?|data|conversations?|info\w*|questions?|uploads?)\b|"
    r"\bwhat\s+happens\s+to\s+(?:my|the|our)\s+(?:messages?|chats?|photos?|pictures?|pics?|"
    r"images?|data|uploads?)\b|\bwhere\s+(?:do|does|are|is)\s+(?:my|the)\s+(?:photos?|"
    r"pictures?|pics?|images?|data|messages?)\s+(?:go|stored|kept|saved)\b"
)

# Topics no entry covers, even about mpox: (name, pattern).
_NOT_COVERED = (
    (
        "costs",
        re.compile(
            r"\b(?:cost|costs|costing|price|prices|priced|pricing|pay|paying|paid|expensive|"
            r"cheap\w*|afford\w*|insurance|insured|copay|fees?|charge[sd]?|for\s+free|"
            r"free\s+of\s+charge|(?:is|are)\s+(?:it\s+|they\s+|the\s+)?(?:\w+\s+){0,2}?"
            # "is it free" asks about money; "symptom free", "scab free" do not.
            r"(?<!symptom\s)(?<!symptoms\s)(?<!rash\s)(?<!scab\s)(?<!scabs\s)(?<!pain\s)"
            r"(?<!virus\s)free)\b|"
            # "how much is the jab": its price (not "how much is the vaccine effective").
            r"\bhow\s+much\s+(?:is|are|will|would|was)\s+(?:it\s+|they\s+)?(?:the\s+|an?\s+|one\s+|"
            r"my\s+)?(?:[\w-]+\s+)?(?:vaccin\w*|jabs?|shots?|tests?|testing|treatment|tpoxx|"
            r"tecovirimat|jynneos|course)\b(?=\s*(?:[?.!,]|$|in\b|at\b|for\b|without\b|if\b))"
        ),
    ),
    (
        "alcohol",
        re.compile(
            r"\b(?:drink\w*|have|having)\s+(?:\w+\s+)?(?:alcohol|booze|beers?|wine|spirits)\b|"
            r"\b(?:alcohol|booze|beers?|wine)\s+(?:with|while|on|when|if|and)\b|"
            r"\bget(?:ting)?\s+drunk\b|\bhangovers?\b|"
            # "can I drink while on tpoxx": a drink with a medicine or the illness is alcohol.
            r"\b(?:can|could|may|should)\s+(?:i|you|we)\s+(?:still\s+)?drink\s+(?:while|when|on)\b"
        ),
    ),
    (
        "catching mpox again",
        re.compile(
            r"\b(?:get|gets|catch|catches|have|had|getting|catching)\s+(?:mpox|it)\s+(?:twice|"
            r"again|more\s+than\s+once|a\s+second\s+time)\b|\bre-?infect\w*|"
            r"\b(?:mpox|it|the\s+rash|the\s+sores|the\s+symptoms)\s+(?:ever\s+)?"
            r"(?:come|comes|coming|came)\s+back\b(?!\s+to\b)|\brecurr?\w*|\brelaps\w*|"
            # "if I had mpox am I immune": immunity after the illness.
            r"\b(?:had|have\s+had|recovered\s+from|got\s+over|survived)\s+(?:mpox|it)\b"
            r"(?:\W+\w+){0,5}?\W+(?:immune|immunity)\b|"
            r"\b(?:immune|immunity)\s+(?:after|once|from|since)\s+(?:having\s+|i\s+had\s+|"
            r"catching\s+|getting\s+)?(?:had\s+)?(?:mpox|it)\b"
        ),
    ),
    (
        # "can I get the mpox jab the same day as my flu shot": giving it with other vaccines.
        "other vaccines with the mpox vaccine",
        re.compile(
            r"\b(?:covid(?:-19)?|coronavirus|flu|influenza|hpv|mmr|shingles|tetanus|hep\w*|"
            r"meningitis|meningococcal|pneumonia|pneumococcal|polio|typhoid|yellow\s+fever|"
            r"travel|other|another|routine)\s+(?:vaccin\w*|jabs?|shots?|boosters?|"
            r"immuni[sz]ations?)\b"
        ),
    ),
    (
        # s10-chat: travel advice for a place ("is it safe to travel to X", "should I cancel my
        # trip", "is there a travel ban"); not travelling while ill ("can I travel while I have
        # mpox": the isolation entry).
        "travel advice",
        re.compile(
            r"\btravel\s+(?:bans?|restrictions?|advi\w+|warnings?|notices?|alerts?|health\s+notices?)\b|"
            r"\b(?:cancel|postpon|delay|call\w*\s+off|rethink|reconsider|put\w*\s+off)\w*\s+"
            r"(?:my\s+|our\s+|the\s+|a\s+|this\s+)?(?:\w+\s+)?(?:trips?|holidays?|vacations?|travel|"
            r"flights?|journey|visit)\b|"
            r"\b(?:safe|dangerous|risky|ok|okay|wise)\s+(?:\w+\s+)?to\s+(?:travel|fly)\s+(?:to|in|around)\b|"
            r"\bshould\s+(?:i|we)\s+(?:still\s+)?(?:travel|fly)\s+to\b"
        ),
    ),
    (
        # s10-chat: what health workers or care staff wear to protect themselves (no entry
        # gives infection control in health care), not how a patient protects a household.
        "protective equipment for health workers",
        re.compile(
            r"\bppe\b|\bpersonal\s+protective\s+equipment\b|\bn95s?\b|\brespirators?\b|"
            r"\b(?:(?:health\s*-?\s*care|health|medical|hospital|clinic|dental|lab)\s+(?:workers?|staff|"
            r"professionals?|personnel|providers?)|nurses?|dentists?|paramedics?|midwi(?:fe|ves)|care\s+(?:home|workers?|staff)|"
            r"nursing\s+home)\b(?:\W+\w+){0,6}?\W+(?:protect\w*|wear\w*|gloves|gowns?|masks?|goggles|face\s+shields?|aprons?|"
            r"equipment|precautions?|stay\s+safe|keep\s+(?:themselves|ourselves)\s+safe)\b"
        ),
    ),
    (
        # s10-chat: whether to tell an employer or a school (no entry covers disclosure); not
        # telling sex partners or contacts.
        "telling an employer or school",
        re.compile(
            r"\b(?:tell|telling|told|inform\w*|notify\w*|disclos\w*|report\w*)\s+(?:to\s+)?"
            r"(?:(?:the\s+)?rest\s+of\s+)?(?:my\s+|the\s+|our\s+|his\s+|her\s+|their\s+)?"
            r"(?:boss|employer|workplace|work|manager|line\s+manager|hr|school|teachers?|class|"
            r"college|university|uni|nursery|daycare|childminder|kindergarten|landlord|company|parents\s+of)\b|"
            r"\b(?:boss|employer|workplace|school|teachers?|class|manager|nursery|daycare|childminder|kindergarten)\s+(?:\w+\s+){0,2}?"
            r"(?:be\s+)?(?:told|informed|notified)\b"
        ),
    ),
    (
        # s17-chat: what the law, an employer or an airline must do ("can my boss fire me", "can
        # I sue", "is it legal for the school to", "a refund on my flight"): no entry gives
        # legal or contractual advice.
        "legal and employment rights",
        re.compile(
            r"\b(?:fire|fires|fired|firing|sack|sacks|sacked|dismiss\w*|terminat\w*)\s+"
            r"(?:me|him|her|us|them|someone|people|staff|workers?|employees?)\b|"
            r"\b(?:expel\w*|evict\w*|suspend|suspended)\s+(?:me|him|her|us|them|my\s+\w+)\b|"
            r"\b(?:sick|fit|doctor'?s?|medical)\s+(?:notes?|certificates?)\b|"
            r"\b(?:sue|sues|sued|suing|lawsuits?|lawyers?|attorneys?|solicitors?|"
            r"compensation|refunds?|refunded|illegal|legally|legal\s+(?:rights?|action|advice))\b|"
            r"\b(?:is|are|it)\s+(?:it\s+)?(?:\w+\s+)?legal\b|\bagainst\s+the\s+law\b|"
            # s20-chat: a country's laws ("what's the mpox law in greece").
            r"\blaws?\s+(?:in|of|for)\s+(?!the\s+(?:body|skin)\b)\w+|\blegislation\b|"
            r"\b(?:sick|statutory)\s+pay\b|\bpaid\s+(?:sick\s+)?leave\b"
        ),
    ),
    (
        # s17-chat: investing ("should I buy their stock"): not health information.
        "investing",
        re.compile(
            r"\b(?:buy|buying|sell|selling|own|invest\w*\s+in)\s+(?:\w+\s+){0,3}?"
            r"(?:stocks?|shares|crypto)\b|\bstock\s+(?:price|market|tips?)\b|"
            r"\b(?:share|stock)\s+price\b|\binvest(?:ing|ment|ments|or|ors)?\b|"
            r"\b(?:revenues?|profits?|earnings|market\s+cap\w*)\b"
        ),
    ),
    (
        # s17-chat: current or exact counts and technical figures ("how many cases last month",
        # "the exact fatality rate in 2023", "the Ct cut-off", "the ICD-10 code"): the knowledge
        # base gives general facts, not surveillance data or lab specs.
        "exact figures and statistics",
        re.compile(
            r"\bhow\s+many\s+(?:\w+\s+){0,3}?(?:cases|deaths|infections|people|doses|vials|"
            r"vaccines|jabs|shots)\b"
            r"(?:\W+\w+){0,8}?\W+(?:(?:last|this|past|previous)\s+(?:week|month|year|weekend)|"
            r"today|yesterday|so\s+far|right\s+now|currently|in\s+stock|received?|delivered|shipped|"
            r"donated|ordered|sent|given\s+out|administered|distributed|buy|bought|purchased|"
            # a place and a year ("in poland in 2023"; the world's 2022 count is answered)
            r"in\s+(?!the\b|total\b|all\b)\w+(?:\s+\w+)?\s+in\s+(?:19|20)\d\d)\b|"
            # s18-chat: the exact R0.
            r"\br0\b|\br\s+(?:naught|nought|zero)\b|\breproduction\s+number\b|"
            r"\bexact\w*\s+(?:\w+\s+){0,3}?(?:rates?|numbers?|figures?|counts?|percentages?|"
            r"statistics?)\b|\bstatistics\b|\bcase\s+counts?\b|"
            # s21-chat: rates per population ("the incidence per 100000 in london").
            r"\b(?:incidence|prevalence)\b|\bper\s+(?:100|1000|10000|100000|million)\b|"
            r"\b(?:ct|cycle\s+threshold)\s+(?:values?|cut\s*-?\s*offs?|thresholds?)\b|"
            r"\bicd\s*-?\s*(?:10|11)?\b"
        ),
    ),
    (
        # s17-chat to s19-chat: the virus's genetics ("how many base pairs", "APOBEC3
        # mutations", "the orf c19l gene", "how many kilobases"): beyond an FAQ.
        "the virus's genetics",
        re.compile(
            r"\bbase\s+pairs?\b|\bgenome\s+(?:length|size)\b|"
            r"\bhow\s+(?:long|big)\s+is\s+(?:the\s+)?(?:\w+\s+){0,3}?genome\b|"
            r"\bapobec\w*|\bkilobases?\b|\bgenes?\b|\borfs?\b|"
            # s20-chat: the virus's molecular make-up ("the protein structure of the virus").
            r"\bprotein\s+(?:structures?|sequences?|folding)\b|\bamino\s+acids?\b"
        ),
    ),
    (
        # s18-chat: what the tool does with what it is sent ("do you save my photos", "is what
        # I type here private"): no entry says (the tool stores nothing, but the knowledge base
        # does not cover privacy).
        "privacy of messages and photos",
        re.compile(
            _TOOL_DATA + r"|\b(?:what\s+i\s+(?:type|write|say|send|ask)|my\s+(?:messages?|"
            r"chats?|data|photos?|pictures?|pics?|images?|uploads?|questions?|conversations?))\b"
            r"(?:\W+\w+){0,4}?\W+(?:private|confidential|secure|stored|saved|kept|shared|"
            r"anonymous)\b"
        ),
    ),
    (
        # s18-chat: research funding ("how do i apply for an mpox research grant").
        "research funding",
        re.compile(r"\b(?:research\s+)?grants?\b|\bresearch\s+funding\b|\bfellowships?\b"),
    ),
    (
        # s17-chat: naming a particular hospital or doctor ("the best hospital in Manila",
        # "recommend a good skin doctor for Lagos"): the entries say what kind of care to seek,
        # they name no provider.
        "recommending a provider",
        re.compile(
            r"\b(?:best|top|good|great|cheapest|recommend\w*)\s+(?:\w+\s+){0,2}?"
            r"(?:hospitals?|clinics?|doctors?|dermatologists?|specialists?|gps?|physicians?)\s+"
            r"(?:in|at|for|around)\s+(?!me\b|my\b|mpox\b|monkeypox\b|it\b|this\b|that\b|"
            r"the\s+(?:rash|sores?|pain|symptoms?|test\w*|vaccin\w*)\b|"
            r"(?:testing|treatment|vaccin\w*|sores?|rash\w*|pain|symptoms?)\b)\w+|"
            # s20-chat: a place's hotline or phone number ("the mpox hotline number in nepal").
            r"\b(?:hotlines?|helplines?|(?:phone|contact|telephone)\s+numbers?)\b"
            r"(?:\W+\w+){0,3}?\W+(?:in|for|of)\s+(?!me\b|my\b|mpox\b|monkeypox\b|it\b)\w+"
        ),
    ),
    (
        # s17-chat: writing programs ("a python script to count cases from a csv").
        "programming",
        re.compile(
            r"\b(?:python|javascript|typescript|sql|csv|json|html|regex|pandas|numpy)\b|"
            r"\b(?:write|code|build)\s+(?:me\s+)?(?:(?:a|an|some)\s+)?(?:\w+\s+)?"
            r"(?:script|program|function|app|code|website)\b"
        ),
    ),
    (
        # s21-chat: songs, jokes and posts asked for, even about mpox ("write a rap song about
        # mpox for my instagram", "tell me a joke"): not health information.
        "songs, jokes and posts",
        re.compile(
            r"\b(?:write|compose|make\s+up|make|create)\s+(?:me\s+|us\s+)?(?:an?\s+|some\s+|my\s+)?"
            r"(?:[\w-]+\s+){0,2}?(?:songs?|raps?|poems?|jingles?|lyrics|jokes?|limericks?|haikus?|"
            r"captions?|tweets?|memes?|instagram\s+posts?|tiktoks?)\b|"
            r"\b(?:tell|give)\s+(?:me\s+|us\s+)?(?:an?\s+|some\s+|another\s+)?(?:\w+\s+)?jokes?\b"
        ),
    ),
    (
        # s17-chat: religious rulings ("is tecovirimat halal"): not a medical question.
        "religious rulings",
        re.compile(r"\b(?:halal|haram|kosher|fatwa)\b"),
    ),
    (
        "giving blood",
        re.compile(
            r"\bblood\s+(?:transfusions?|donations?|donors?|banks?)\b|"
            r"\b(?:donate|donating|give|giving|gave)\s+blood\b|\btransfusions?\b"
        ),
    ),
)


# s10-chat: drinks that are not alcohol, named where the alcohol pattern would read a drink.
_SOFT_DRINK = re.compile(
    r"^(?!.*\b(?:alcohol|booze|beers?|wine|spirits|drunk|vodka|whisk(?:e)?y|gin|rum|cocktails?)\b)"
    r".*\b(?:water|fluids|liquids|juice|tea|electrolytes?|squash|soft\s+drinks?)\b"
)


# s15-chat: another vaccine asked about as the cause of mpox ("is mpox caused by the covid
# vaccine", "mpox is shingles from the covid jab", "does the flu shot give you mpox"): a claim
# about what mpox is, not a question on giving the mpox vaccine with others.
_OTHER_VACCINE_AS_CAUSE = re.compile(
    r"\b(?:caused|causing|cause[sd]?|giv(?:e|es|en|ing)|gave|from|because\s+of|due\s+to|"
    r"side\s+effects?\s+of|made\s+by|linked\s+to|related\s+to|blamed\s+on)\s+(?:by\s+)?"
    r"(?:the\s+|a\s+|an\s+|their\s+|our\s+|my\s+|those\s+)?(?:covid(?:-19)?|coronavirus|flu|"
    r"influenza|hpv|mmr|shingles)\s+(?:vaccin\w*|jabs?|shots?|boosters?)\b|"
    r"\b(?:covid(?:-19)?|coronavirus|flu|influenza|hpv|mmr|shingles)\s+(?:vaccin\w*|jabs?|shots?|"
    r"boosters?)\s+(?:\w+\s+)?(?:cause[sd]?|causing|give[sn]?|gave|giving|led\s+to|leads?\s+to|"
    r"made|make|makes|creat\w*|spread\w*|start\w*)\b(?=.*\bmpox\b)"
)


def not_covered_topic(normalized_text: str) -> str | None:
    """A topic no entry covers ("costs", "alcohol", ...) that the text asks about, or ``None``.

    Parameters
    ----------
    normalized_text
        Output of :func:`poxscan.chat.text.normalize`.
    """
    for name, pattern in _NOT_COVERED:
        if pattern.search(normalized_text):
            # "how much water should I drink when I have mpox": a drink that is not alcohol.
            if name == "alcohol" and _SOFT_DRINK.search(normalized_text):
                continue
            if name == "other vaccines with the mpox vaccine" and _OTHER_VACCINE_AS_CAUSE.search(
                normalized_text
            ):
                continue
            return name
    return None


# Look-alike diseases no entry describes; a comparison of mpox with them is answered by the
# testing entry (how the rashes are told apart) or not at all.
_LOOKALIKE_DISEASE = re.compile(
    r"\b(?:herpes|syphilis|hand\W+foot\W+(?:(?:and|n)\W+)?mouth(?:\s+disease)?|hfmd|scabies|"
    r"molluscum|impetigo|psoriasis|ringworm|cellulitis|gonorrh\w+|chlamydia|hpv|"
    r"genital\s+warts|cold\s+sores?|"
    # s10-chat: common look-alike skin findings beside diseases
    r"acne|(?:insect|bug|mosquito|spider|flea|bed\s*bug)\s+bites?|ingrown\s+hairs?|razor\s+bumps|"
    # s11-chat: an allergic rash and other everyday rashes (not an allergy alone: allergies to
    # the vaccine; not eczema: a risk of severe mpox)
    r"allerg(?:ic|y)\s+(?:reactions?\s+)?rash(?:es)?|rash(?:es)?\s+from\s+(?:an?\s+)?allerg(?:y|ies)|"
    r"allergic\s+reactions?\s+(?:on|of)\s+(?:the\s+|my\s+)?skin|heat\s+rash|hives|urticaria|"
    r"rosacea|folliculitis|"
    # s17-chat: more everyday skin findings people compare with mpox
    r"warts?|verrucas?|boils?|cysts?|tinea|jock\s+itch|pityriasis(?:\s+rosea)?|"
    # s19-chat: childhood rashes no entry describes
    r"rubella|german\s+measles|roseola|scarlet\s+fever|fifth\s+disease|"
    r"lichen\s+planus|"
    # s20-chat: plant and contact rashes
    r"poison\s+(?:ivy|oak|sumac)|contact\s+dermatitis)\b"
)
# The comparison asks how to tell the two apart, or how the skin looks.
_APART = re.compile(
    r"\b(?:tell|apart|distinguish\w*|mistak\w*|confus\w*|recogni[sz]\w*|identif\w*|"
    r"know\s+which|which\s+is\s+which|how\s+(?:do|can|would)\s+(?:i|you|we)\s+know)\b"
)
_ECZEMA = re.compile(r"\b(?:eczema|atopic\s+dermatitis|dermatitis)\b")
_TELL_APART = re.compile(
    r"\b(?:tell\s+(?:\w+\s+){0,3}?apart|apart|distinguish\w*|mistak\w*|confus\w*|which\s+is\s+which|"
    r"tell\s+(?:the\s+)?difference|tell\s+(?:mpox|it|them|one)\s+from)\b"
)
_SKIN_LOOK = re.compile(
    r"\b(?:rash\w*|sores?|spots?|blisters?|bumps?|lesions?|ulcers?|look\w*|appear\w*)\b"
)


# The comparison asks whether the two are one disease, or one a kind of the other.
_IDENTITY = re.compile(
    r"\bsame\s+(?:(?:thing|disease|virus|illness|infection|bug)\b|as\b)|"
    r"\b(?:an?\s+)?(?:type|kind|form|sort|version|strain|variant|family|cousin)\s+of\b|"
    r"\b(?:related|linked)\s+to\b|\bcaused\s+by\s+the\s+same\b"
)

# How alike or different the two are ("is mpox like herpes", "mpox vs syphilis, what's the
# difference"), not how much worse one is ("is mpox worse than syphilis").
_ALIKE_OR_DIFFERENT = re.compile(
    r"\b(?:differ\w*|vs|versus|compar\w*|similar\w*|alike|resembl\w*|like)\b"
)
# Having both ("can you have mpox and syphilis at the same time").
_BOTH_AT_ONCE = re.compile(
    r"\b(?:at\s+the\s+same\s+time|at\s+once|both|together|as\s+well|on\s+top\s+of|"
    r"co-?infect\w*|same\s+time)\b"
)


def uncovered_comparison(normalized_text: str) -> tuple[str, str] | None:
    """``("answer", entry id)`` or ``("unknown", disease)`` for a comparison of mpox with a
    look-alike disease the knowledge base does not describe, else ``None``.

    "Do herpes sores look like mpox sores?" and "how to tell mpox from syphilis" get the testing
    entry (only a lab test tells them apart for sure); "is herpes the same as mpox?" and "is
    mpox a type of herpes?" get :data:`IDENTITY_ENTRY` (what mpox is and which virus causes
    it); "is mpox like herpes?" and "how is mpox different from syphilis?" get the testing entry
    too (s9-chat: the two can look alike and a lab test tells them apart); "is mpox worse than
    syphilis?" or having both at once gets "I don't know" rather than an entry about another
    disease.
    Other questions naming both ("does mpox cause cold sores") are left to retrieval.
    s15-chat: another vaccine said to cause mpox ("is mpox caused by the covid vaccine") gets
    :data:`IDENTITY_ENTRY` too.
    """
    # s15-chat: another vaccine said to cause mpox ("is mpox caused by the covid vaccine"): what
    # mpox is (a disease caused by the monkeypox virus); retrieval read the vaccine words.
    if _OTHER_VACCINE_AS_CAUSE.search(normalized_text) and mentions_mpox(normalized_text):
        return "answer", IDENTITY_ENTRY
    # s12-chat: how to tell mpox from an eczema flare is the testing entry too (eczema alone, a
    # risk of severe mpox, is not a look-alike: "does eczema make mpox worse").
    if (
        _ECZEMA.search(normalized_text)
        and _TELL_APART.search(normalized_text)
        and mentions_mpox(normalized_text)
    ):
        return "answer", TESTING_ENTRY
    other = _LOOKALIKE_DISEASE.search(normalized_text)
    if other is None or not mentions_mpox(normalized_text):
        return None
    apart = _APART.search(normalized_text)
    identity = _IDENTITY.search(normalized_text)
    if not apart and not identity and not _COMPARISON.search(normalized_text):
        return None
    if apart or _SKIN_LOOK.search(normalized_text):
        return "answer", TESTING_ENTRY
    if identity:
        return "answer", IDENTITY_ENTRY
    # "is mpox like herpes", "how is mpox different from syphilis": how alike the two are is
    # answered by the testing entry (they can look alike; a lab test tells them apart), unless
    # the question is how much worse one is, or whether one can have both.
    if _ALIKE_OR_DIFFERENT.search(normalized_text) and not _BOTH_AT_ONCE.search(normalized_text):
        return "answer", TESTING_ENTRY
    return "unknown", other.group(0)
