"""Detect requests for a diagnosis ("I have spots on my arm, is it mpox?").

The chatbot must never give a verdict on a person's own symptoms, so such requests are caught by
transparent rules before retrieval. A rule fires on an explicit verdict request ("do I have
mpox", "could this be mpox", "is my rash mpox", "what do I have", "diagnose my rash") or on a
description of one's own symptoms that ends by naming the disease ("bumps on my face. mpox?"),
by asking what they are ("... can you tell me what it is") or by asking the bot's opinion
("... thoughts?"), and on a verdict asked of a photo ("does my picture look like mpox").
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
# "it" standing for the disease at the end of a question: "does my son have it?"
_IT_END = r"(?:it|this|that)\b(?=\s*(?:[?.!,]|$|too\b|already\b|now\b|or\b))"
# Photos of one's own skin.
_PHOTO = r"(?:photos?|pics?|pictures?|images?|selfies?|snaps?|screenshots?)"
# s12-chat: how the asker insists on an answer ("tell me honestly if ...").
_ADVERB = r"(?:honestly\s+|truly\s+|straight\s+|frankly\s+|really\s+|please\s+|pls\s+)?"
# Parts of the body a finding may be on ("what is on my arm").
_BODY_PART = (
    r"(?:skin|body|arms?|legs?|face|hands?|feet|foot|back|chest|neck|penis|dick|lips?|genitals|"
    r"butt|bum|thighs?|belly|stomach|tummy|head|scalp|fingers?|toes?|mouth|tongue|eyes?|"
    r"eyelids?|privates|groin|armpits?|shoulders?|knees?|elbows?|wrists?|ankles?|vagina|vulva|"
    r"balls|testicles?|anus|bottom|nose|ears?|cheeks?|chin|forehead)"
)
# Harmless look-alikes: "pimple or mpox?" asks for a verdict on a lesion.
_LOOKALIKE = (
    r"(?:pimples?|zits?|spots?|bites?|bug\s+bites?|insect\s+bites?|mosquito\s+bites?|"
    r"spider\s+bites?|ingrown\s+hairs?|allerg(?:y|ies|ic\s+reaction)|eczema|heat\s+rash|"
    r"razor\s+(?:burn|bumps?)|acne|cold\s+sores?|boils?|warts?|hives|a\s+rash|something\s+else|"
    r"nothing)"
)
# Words of a general comparison or how-to question ("pimple or mpox, how to tell apart").
_GENERAL = re.compile(
    r"\b(?:how|difference|differ\w*|apart|which|vs|versus|compare\w*|worse|better|more|less|"
    # s12-chat: other comparatives ("is mpox or an allergy rash itchier", "scarier than")
    r"than|itchier|scarier|riskier|deadlier|nastier|bigger|smaller|faster|slower|milder|rarer|"
    r"commoner|harder|easier)\b"
)
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
    r"(?!(?:that|what|which|how|when|why|where|who|"
    r"called|named|known|true|safe|possible|likely|related|similar|different|worse|like|"
    # s15-chat: naming words misspelt or in other forms ("why was it caled monkeypox", "was it
    # renamed mpox", "is it nammed mpox", "was it originally mpox")
    r"c+a+l+e*d|(?:re)?n+a+m+e*d|renamed|rebranded|relabell?ed|labell?ed|dubbed|titled|"
    r"referred|originally|formerly|previously|officially|"
    r"than|as|vs|versus|compared|milder|more|less|just|still|normal|typical|usual|for|with|of|"
    r"better|dangerous|contagious|serious|common|get|gets|catch|give|have|has|had|cause|causes|"
    r"spread\w*|transmit\w*|diagnos\w*|treat\w*|test\w*|prevent\w*|become|same|from|"
    # "if I get a rash after sex, is it always mpox": a general question
    r"always|necessarily|automatically|ever)\b)"
    rf"{_WORD}"
)
# The person concerned: the asker or someone they describe.
_PERSON = (
    r"(?:i|me|my|mine|we|our|he|she|his|her|they|their|"
    r"son|daughter|baby|kid|child|partner|boyfriend|girlfriend|husband|wife|"
    # s12-chat: others a person asks about (a patient, a client, a relative, a friend)
    r"patient|client|customer|toddler|nephew|niece|grandson|granddaughter|mum|mom|dad|brother|"
    r"sister|friend|mate|roommate|flatmate|colleague)"
)
# Questions about what to do, where to go, how to cope: informational, not verdict requests.
_ACTION_QUESTION = re.compile(
    r"\b(?:should i|should we|what should|what do i do|what to do|what can i|what now|"
    r"where (?:can|do|should|to)|how (?:do|can|should) i|how long|when (?:should|do|can) i|"
    r"who (?:should i|to|do i|can i)|is it safe|(?:call|ring|phone|contact|see) (?:a|my|the)\b)\b"
)

# "is it mpox season": the disease's name used as a modifier of another noun.
_NOT_TOPIC_NOUN = (
    r"(?!\s+(?:season|vaccines?|jabs?|shots?|cases?|outbreaks?|tests?|testing|clinics?|"
    r"things?|symptoms?|signs?|risks?|risky|hazards?|threats?|dangers?|exposures?|"
    r"awareness|related|week|month|time|news|year|free|safe|over|gone|done|still|virus\s+"
    r"(?:still|gone)))"
)
# s12-chat: the vaccine or a test named by the disease ("can she have the mpox jab").
_NOT_JAB = r"(?!\s+(?:vaccin\w*|jabs?|shots?|boosters?|doses?|tests?|testing|clinics?)\b)"
_WHAT_TO_DO = re.compile(
    r"\b(?:what (?:should|do|can) (?:i|we) do|what to do|what now|where (?:can|do|should|to)|"
    r"who (?:should|do|can) (?:i|we)|who to)\b"
)
_HOW_TO = re.compile(r"\bhow\s+(?:do|can|should|would|will|to)\b")
# "should I be worried": asks for a verdict, not for what to do.
_TOOL_CAPABILITY = re.compile(
    r"\b(?:can|could|does|do|will|is|would)\s+(?:this|the|your|a)\s+(?:bot|chatbot|app|tool|site|"
    r"website|ai|program|service)\s+(?:\w+\s+)?diagnos\w*|\bpoxscan\s+(?:\w+\s+)?diagnos\w*|"
    # s21-chat: "can you diagnose me if i describe my symptoms" (none described yet).
    r"\b(?:can|could|will|would|are)\s+you\s+(?:able\s+to\s+|even\s+)?diagnos\w*\s+(?:me|people|"
    r"anyone|someone)\s+(?:if|when|once|from\s+what|by\s+what|based\s+on\s+what)\s+i\s+(?:\w+\s+)?"
    r"(?:describe|tell|list|send|give|type|explain)\w*\b(?!.*\b(?:i\s+have|i\s+am|i\s+got|i\s+feel)\b)"
)
# "can the photo tool tell if I have mpox", "can a doctor tell whether it is mpox": what a tool,
# test or clinician can tell, not a verdict asked of the bot.
_OTHER_TELLS = re.compile(
    r"\b(?:can|could|does|do|will|would|how\s+(?:can|does|do|would))\s+(?:this|the|your|a|an|my)\s+"
    r"(?:[\w-]+\s+)?(?:bot|chatbot|app|tool|site|website|ai|program|service|test|scan|screening|"
    r"doctors?|clinic|clinicians?|nurses?|lab|pcr|swab|poxscan)\s+(?:\w+\s+)?"
    r"(?:tell|detect|know|say|see|spot|find\s+out|check|show)\b|"
    r"\b(?:can|could|does|will|would)\s+poxscan\s+(?:\w+\s+)?(?:tell|detect|know|say|see|spot|check)\b"
)
# "how do they confirm it is mpox and not chickenpox": how a diagnosis is made, unless it is
# about the asker's own findings ("how can you confirm my rash is mpox").
_HOW_CONFIRM = re.compile(
    r"\bhow\s+(?:do|does|can|could|would|will|is|are)\s+(?:they|you|one|people|doctors?|labs?|"
    r"clinicians?|(?:a|the)\s+(?:doctors?|labs?|clinic|test))\s+(?:\w+\s+)?"
    r"(?:confirm|verify|know|tell|be\s+sure)\b"
)
_OWN_THING = re.compile(r"\b(?:my|mine|this|these|those|our)\b")
_WORRY_QUESTION = re.compile(r"\bshould\s+(?:i|we)\s+be\s+(?:worried|concerned|scared|afraid)\b")
_ITS = re.compile(
    r"\bits\b(?=\s+(?:an?\s+|the\s+|just\s+|really\s+|probably\s+|def\w*\s+)?"
    r"(?:mpox|chickenpox|smallpox|measles|herpes|syphilis|shingles|scabies)\b)"
)

#: (name, pattern) pairs; a text is a diagnosis request if any pattern matches.
RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # "do I have mpox?", "could I have it", "do I hav mpox or chickenpox"
    (
        "do_i_have",
        re.compile(
            rf"\b(?:do|did|could|might|may|can)\s+(?:i|we)\s+(?:have|hav|has|got|be having)\s+"
            rf"(?:the\s+|a\s+case\s+of\s+)?{_DISEASE_OR_IT}\b(?!\s+(?:is|to|spread)\b)"
            rf"(?!\s+(?:and|without|with\s+no|twice|again|if|while|but|more|for\s+long)\b)"
            # "can I have the mpox jab", "can I have mpox symptoms without a rash": the disease
            # names a vaccine or test, or what one may have in general.
            rf"(?!\s+(?:vaccin\w*|jabs?|shots?|boosters?|tests?|testing|swabs?|jynneos)\b)"
            rf"(?!\s+(?:symptoms?|signs?|sores?|rash)\s+(?:without|with\s+no|but\s+no|and\s+no)\b)"
        ),
    ),
    # "did I catch mpox", "could I have caught it" (but not "did I get it from the vaccine")
    (
        "did_i_catch",
        re.compile(
            rf"\b(?:did\s+(?:i|we|he|she)|(?:could|might|may|would)\s+(?:i|we|he|she)\s+have)\s+"
            rf"(?:caught|got|gotten|get|catch|contracted|contract|picked\s+up)\s+"
            rf"{_DISEASE_OR_IT}\b(?!\s+from\s+(?:the\s+|a\s+|my\s+)?(?:vaccine|jab|shot|jynneos))"
        ),
    ),
    # "does she have mpox", "could my son have monkeypox"
    (
        "does_someone_have",
        re.compile(
            rf"\b(?:do|does|did|could|might|may|can)\s+(?:he|she|they|(?:my|our)\s+{_WORD})\s+"
            # (s12-chat: not the vaccine or a test named by it: "can she have the mpox jab")
            rf"(?:have|has|got)\s+(?:the\s+)?(?:{_DISEASE}\b{_NOT_JAB}|{_IT_END})|"
            # s12-chat: non-native "is he having mpox", "is she got monkeypox"
            rf"\b(?:is|are)\s+(?:he|she|they|(?:my|our|his|her|their)\s+{_WORD})\s+"
            rf"(?:having|got|gotten|has|have|caught)\s+(?:the\s+)?"
            rf"(?:{_DISEASE}\b{_NOT_JAB}|{_IT_END})"
        ),
    ),
    # "is it mpox", "is this rash mpox", "is my rash chickenpox"; s11-chat: a past finding too
    # ("she had a scab on her neck, was that mpox")
    (
        "is_this_mpox",
        re.compile(
            rf"\b(?:is|are|was|were)\s+{_SUBJECT}\s+(?:{_NOUNISH}\s+){{0,2}}?"
            rf"(?:really\s+|actually\s+|possibly\s+)?(?:an?\s+)?{_DISEASE}\b{_NOT_TOPIC_NOUN}"
            # "is it mpox or chickenpox that has more spots" (a comparison), "is it mpox if
            # there is no fever" (a general condition)
            rf"(?!\s+or\s+(?:{_WORD}\s+)?{_DISEASE}\s+(?:that|which|who)\b)"
            rf"(?!\s+(?:that|which)\s+(?:has|have|had|is|are|was|were|causes?|caused|gives?|gave|"
            rf"spreads?|makes?|made|gets?|got|started|killed|hit|broke)\b)"
            rf"(?!\s+(?:if|when|even\s+if|without)\s+(?:there|you|people|someone|a\s+person|the|they)\b)"
        ),
    ),
    # "could the bumps on my hand be mpox"
    (
        "could_the_symptom_be",
        re.compile(
            rf"\b(?:could|can|might|may|would)\s+(?:the|these|those|this|that|my|his|her|our|their)\s+"
            rf"(?:{_WORD}\s+)?{_SYMPTOM}\s+(?:(?:on|in|near|around|under|at)\s+"
            rf"(?:my|his|her|our|their)\s+{_WORD}\s+)?(?:really\s+|possibly\s+)?be\s+(?:an?\s+)?"
            rf"{_DISEASE}\b"
        ),
    ),
    # "how likely is it that I have mpox", "what are the chances I have it"
    (
        "chances_i_have",
        re.compile(
            rf"\b(?:how\s+likely|chances?|odds|probability|likelihood|possible|likely|probable)\s+"
            rf"(?:is\s+it\s+|are\s+)?"
            rf"(?:that\s+)?(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+(?:have|has|got|caught)\s+"
            rf"(?:{_DISEASE}\b|{_IT_END})|"
            # "what are the chances this is mpox", "any chance it is mpox"
            rf"\b(?:chances?|odds|probability|likelihood|possibility)\s+(?:that\s+)?"
            rf"(?:it|this|that|these|those|they|(?:my|his|her|our|their)\s+{_WORD})\s+"
            rf"(?:is|are|(?:could|might|may|would)\s+be)\s+(?:an?\s+)?{_DISEASE}\b{_NOT_TOPIC_NOUN}"
        ),
    ),
    # "is what I have mpox"
    (
        "is_what_i_have",
        re.compile(
            rf"\bis\s+what\s+(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+(?:have|has|got|caught)\s+"
            rf"(?:an?\s+)?{_DISEASE_OR_IT}\b"
        ),
    ),
    # "is the bump on my lip mpox", "are these spots on my back chickenpox or mpox", "were those
    # sores on my penis mpox"
    (
        "is_the_symptom_mpox",
        re.compile(
            rf"\b(?:is|are|was|were)\s+(?:the|this|that|these|those|my|his|her|our|their)\s+"
            rf"(?:{_NOUNISH}\s+)?{_SYMPTOM}\s+(?:(?:on|in|near|around|under|at|by|behind)\s+"
            # (s12-chat: up to three words, "on my babys nappy area")
            rf"(?:my|his|her|our|their)\s+(?:{_NOUNISH}\s+){{0,3}}?)?(?:an?\s+)?{_DISEASE}\b"
        ),
    ),
    # "could this be mpox", "could my daughter rash be mpox", "might it be monkeypox", "could it
    # be the pox" (s10-chat: the article)
    (
        "could_this_be",
        re.compile(
            rf"\b(?:could|can|might|may|would)\s+{_SUBJECT}\s+(?:{_NOUNISH}\s+){{0,2}}?"
            rf"(?:really\s+|actually\s+|possibly\s+)?be\s+(?:an?\s+|the\s+)?{_DISEASE}\b"
        ),
    ),
    # s10-chat: "could my blisters be the start of mpox", "could these be early signs of
    # monkeypox": one's own findings as the start or a sign of it ("it" left out: "diarrhea, can
    # it be a sign of mpox" asks about a symptom in general).
    (
        "could_this_be_a_sign",
        re.compile(
            rf"\b(?:could|can|might|may|would)\s+(?:this|these|those|that|(?:my|his|her|our|their)\s+"
            rf"{_WORD})\s+(?:{_NOUNISH}\s+){{0,2}}?(?:really\s+|actually\s+|possibly\s+)?be\s+"
            rf"(?:an?\s+|the\s+)?(?:(?:first|early|earliest|initial)\s+)?(?:start|beginning|onset|signs?|"
            rf"symptoms?|stages?)\s+of\s+(?:an?\s+)?{_DISEASE}\b"
        ),
    ),
    # "are my symptoms mpox", "is my rash chickenpox or mpox"
    (
        "are_my_symptoms",
        re.compile(
            # ("is my mpox going to scar" asks about a known illness: a word must come between)
            rf"\b(?:is|are)\s+(?:my|his|her|our|their)\s+(?:{_WORD}\s+){{1,2}}?{_DISEASE}\b"
        ),
    ),
    # "these bumps on my legs are mpox", "my rash looks like mpox"
    (
        "symptom_is_mpox",
        re.compile(
            rf"\b(?:my|his|her|our|their|these|this|those)\s+(?:{_WORD}\s+){{0,3}}?"
            rf"(?:{_SYMPTOM}|{_PHOTO})\s+"
            rf"(?:{_WORD}\s+){{0,4}}?(?:is|are|be|(?:looks?|seems?)\s+(?:exactly\s+|just\s+|a\s+lot\s+|"
            rf"kind\s+of\s+|kinda\s+|a\s+bit\s+|totally\s+|really\s+|so\s+much\s+)?like)\s+"
            # (s12-chat: "my photo project is about mpox" names a topic, not a verdict)
            rf"(?:(?!(?:about|for|against)\b){_WORD}\s+)?{_DISEASE}\b"
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
            rf"\b(?:do|does|did)\s+(?:it|this|that|these|those|they|"
            rf"(?:my|his|her|our|their|these|those|this)\s+(?:{_WORD}\s+){{0,2}}?{_SYMPTOM}|"
            # "does my photo look like mpox", "does the pic I sent look like it"
            rf"(?:my|his|her|our|their|these|those|this|the)\s+(?:{_WORD}\s+)?{_PHOTO}"
            rf"(?:\s+(?:i|we|he|she)\s+(?:sent|uploaded|shared|attached|took|posted))?)\s+"
            rf"(?:sound|look|seem)(?:\s+like|\s+to\s+you\s+like)?\s+"
            # ("how does my rash look when mpox heals" asks about a known illness)
            rf"(?!(?:when|if|after|before|once|while|during)\b)(?:{_WORD}\s+){{0,3}}?{_DISEASE}\b|"
            # "does this look infected to you": the bot's own judgement of the skin
            rf"\b(?:do|does|did)\s+(?:it|this|that|these|those|they|"
            rf"(?:my|his|her|our|their)\s+(?:{_WORD}\s+)?(?:{_SYMPTOM}|{_PHOTO}))\s+"
            rf"(?:look|seem|sound)\s+(?:{_WORD}\s+){{0,2}}?to\s+(?:you|u|ya)\b|"
            rf"\b(?:does|do|would|could)\s+(?:it|this|that|these|those)\s+(?:count|qualify)\s+as\s+"
            rf"(?:an?\s+)?{_DISEASE}\b"
        ),
    ),
    # "does this mean I have mpox", "do these sores mean mpox"
    (
        "means_i_have",
        re.compile(
            rf"\b(?:do|does|did|could|would)\s+(?:{_WORD}\s+){{1,5}}?"
            rf"(?:mean|indicate|suggest|prove|confirm|show)\s+(?:that\s+)?"
            rf"(?:(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+(?:have|has|got|caught)\s+"
            rf"(?:{_DISEASE}\b|{_IT_END}))|"
            rf"\b(?:do|does)\s+(?:this|that|these|those|it|(?:my|his|her|our|their)\s+{_WORD})\s+"
            rf"(?:{_WORD}\s+)?(?:mean|indicate|suggest)\s+(?:it\s+is\s+)?(?:an?\s+)?{_DISEASE}\b"
        ),
    ),
    # "this looks like mpox right?", "my symptoms match mpox"
    (
        "looks_like_mpox",
        re.compile(
            rf"^(?:{_WORD}\s+){{0,2}}?(?:this|these|that|those|they)\s+(?:looks?|seems?|sounds?)\s+"
            rf"like\s+(?:{_WORD}\s+)?{_DISEASE}\b|"
            rf"\b(?:my|his|her|our|their|these|this|those)\s+(?:{_WORD}\s+){{0,3}}?{_SYMPTOM}\s+"
            rf"(?:{_WORD}\s+){{0,2}}?(?:match|matches|fit|fits|resemble|resembles|"
            # s12-chat: "my baby rash looks similar to mpox"
            rf"(?:looks?|seems?|is|are)\s+(?:very\s+|so\s+|quite\s+)?similar\s+to)\s+"
            rf"(?:{_WORD}\s+)?{_DISEASE}\b"
        ),
    ),
    # s18-chat: "my wife has mpox looking spots", "i have mpox-like bumps": a real person's
    # finding described by the disease it resembles.
    (
        "has_disease_like_finding",
        re.compile(
            rf"\b(?:i|he|she|we|they|(?:my|our|his|her)\s+{_WORD})\s+(?:has|have|got|has\s+got|"
            rf"have\s+got|gets|get|developed|noticed)\s+(?:some\s+|these\s+|a\s+few\s+|an?\s+)?"
            rf"(?:{_WORD}\s+)?{_DISEASE}[\s-]*(?:looking|like|type|ish)\s+(?:{_WORD}\s+)?{_SYMPTOM}\b"
        ),
    ),
    # s18-chat: "rate my odds: 3 bumps on my thigh", "estimate my chances, red spots since friday":
    # a likelihood asked for a finding described.
    (
        "rate_my_odds",
        re.compile(
            rf"\b(?:rate|estimate|guess|calculate|give\s+me)\s+(?:my|his|her|our)\s+"
            rf"(?:odds|chances?|probability|likelihood)\b(?=.*\b{_SYMPTOM}\b)"
        ),
    ),
    # s19-chat: "can you confirm it's just acne and not mpox", "tell me this bump is only an
    # ingrown hair, not mpox": reassurance asked for about a real finding.
    (
        "confirm_just_not",
        re.compile(
            rf"\b(?:confirm|verify|promise|guarantee|swear|assure\s+me|reassure\s+me|sure|certain|"
            rf"tell\s+me)\s+(?:me\s+)?(?:that\s+)?(?:i|it|its|this|that|these|those|they|he|she|"
            rf"(?:my|our|his|her|their)\s+{_WORD})\s+(?:{_WORD}\s+)?(?:is\s+|are\s+|am\s+|has\s+|"
            rf"have\s+|got\s+)?(?:just|only|simply|merely|probably)\s+(?:an?\s+)?(?:{_WORD}\s+){{0,2}}?"
            rf"{_WORD}\s*,?\s+(?:and\s+|but\s+)?not\s+(?:an?\s+)?{_DISEASE}\b"
        ),
    ),
    # s22-chat: one's own finding, then reassurance asked ("got bumps after a hookup, tell me
    # it's nothing"; "is it nothing to worry about" alone is answered by retrieval).
    (
        "own_finding_reassure",
        re.compile(
            rf"\b(?:i\s+have|i\s+got|i\s+am|i'?ve|got|my|(?:i|we)\s+(?:found|noticed|see|saw))"
            rf"(?:\W+(?!{_DISEASE}\b)\w+){{0,6}}?\W+(?:bumps?|spots?|sores?|blisters?|rash\w*|lumps?|pimples?|"
            rf"lesions?|ulcers?|scabs?|marks?)\b(?:\W+\w+){{0,12}}?\W+"
            rf"(?:tell|promise|assure|reassure)\s+me\s+(?:that\s+)?(?:it'?s|it\s+is|they\s+are|"
            rf"they'?re|this\s+is|its)\s+(?:\w+\s+)?(?:nothing|fine|ok|okay|normal|harmless|"
            rf"not\s+serious)\b"
        ),
    ),
    # s19-chat: the verdict asked at the end in French, Spanish, Portuguese or patois ("..., c'est
    # mpox?", "tengo granitos, ¿es viruela del mono?", "a mpox dat?").
    (
        "foreign_is_it",
        re.compile(
            # (not "¿qué es la viruela del mono?", "qu'est-ce que c'est": what it is)
            rf"(?:^|[\s,.;:!¿?-])(?<!qu[ée]\s)(?<!what\s)(?:(?:c'?\s?est|est-ce|es|é)\s+"
            rf"(?:la\s+|el\s+|o\s+|une?\s+)?{_DISEASE}(?:\s+(?:ou\s+pas|o\s+no|ou\s+não))?|"
            rf"a\s+{_DISEASE}\s+(?:dat|dis|that|this))"
            rf"\s*\?+\W*$"
        ),
    ),
    # s19-chat: "i have a lump down there, mpox right": one's own finding, then the name with a
    # tag asking for agreement.
    (
        "own_finding_tagged",
        re.compile(
            rf"\b(?:i|he|she|we|(?:my|our|his|her)\s+{_WORD})\s+(?:have|has|got|had|noticed|found)\b"
            rf"(?:\W+\w+){{0,10}}?\W+{_SYMPTOM}\b.*[,.;:!?-]\s*(?:so\s+|probably\s+|prob\s+)?"
            rf"(?:its\s+|it\s+is\s+)?{_DISEASE}\s*,?\s*(?:right|yeah|yes|innit|eh|no|correct)\s*\?*\s*$"
        ),
    ),
    # "is this what mpox looks like"
    (
        "is_this_what",
        re.compile(
            rf"\b(?:is|are)\s+(?:this|these|that|those|it|they|(?:my|his|her|our|their)\s+{_WORD})\s+"
            rf"what\s+(?:an?\s+)?{_DISEASE}\s+(?:{_WORD}\s+)?(?:looks?|is|feels?)\b|"
            # s12-chat: "is that how mpox starts on me"
            rf"\b(?:is|are)\s+(?:this|these|that|those)\s+how\s+(?:an?\s+)?{_DISEASE}\s+"
            rf"(?:{_WORD}\s+)?(?:starts?|begins?|looks?|feels?)\b"
        ),
    ),
    # "is a rash on my hand a sign of mpox"
    (
        "own_sign_of",
        re.compile(
            rf"\b(?:is|are|could|can|might)\s+(?:an?\s+|the\s+|this\s+|these\s+|my\s+)?"
            rf"(?:{_WORD}\s+)?{_SYMPTOM}\s+(?:(?:on|in|near|around|under|at)\s+)?"
            rf"(?:my|his|her|our|their)\s+(?:{_WORD}\s+){{0,2}}?(?:be\s+)?(?:an?\s+)?"
            rf"(?:signs?|symptoms?)\s+of\s+{_DISEASE}\b"
        ),
    ),
    # "is the thing on my chin mpox", "are these on his back chickenpox": whatever is on a
    # part of one's body, named by its place instead of a symptom word
    (
        "is_thing_on_body",
        re.compile(
            rf"\b(?:is|are)\s+(?:the|this|that|these|those|what\s+is|whatever\s+is)\s+"
            rf"(?:{_NOUNISH}\s+){{0,2}}?(?:on|in|near|around|under|at|by|behind)\s+"
            rf"(?:my|his|her|our|their)\s+(?:{_NOUNISH}\s+)?{_BODY_PART}\s+"
            rf"(?:{_NOUNISH}\s+)?(?:really\s+|actually\s+|possibly\s+)?(?:an?\s+)?{_DISEASE}\b"
        ),
    ),
    # "I think the thing on my arm is mpox", "the spot on his back looks like chickenpox"
    (
        "thing_on_body_is",
        re.compile(
            rf"\b(?:the|this|that|these|those)\s+(?:{_NOUNISH}\s+){{0,2}}?"
            rf"(?:on|in|near|around|under|at|by|behind)\s+(?:my|his|her|our|their)\s+"
            rf"(?:{_NOUNISH}\s+)?{_BODY_PART}\s+(?:is|are|(?:looks?|seems?)\s+like|"
            rf"(?:could|might|may|must)\s+be)\s+(?:{_WORD}\s+)?(?:an?\s+)?{_DISEASE}\b"
        ),
    ),
    # "do you think my rash is serious", "is my son's rash normal": a verdict on one's findings
    (
        "own_finding_serious",
        re.compile(
            rf"\b(?:is|are|think|reckon|say)\s+(?:that\s+)?(?:my|his|her|our|these|this|those)\s+"
            rf"(?:{_WORD}\s+){{0,2}}?{_SYMPTOM}\s+(?:is\s+|are\s+|looks?\s+|seems?\s+)?"
            rf"(?:really\s+|very\s+|too\s+)?(?:serious|bad|dangerous|worrying|concerning|normal|ok|"
            rf"okay|fine|infected|something\s+serious)\b(?!\s+(?:for|in|with)\s+mpox)"
        ),
    ),
    # "can you tell from my pic whether I need a doctor", "based on my photo, is it bad": a
    # judgement asked of one's own photo, whatever the question about it
    (
        "judge_from_photo",
        re.compile(
            rf"\b(?:from|based\s+on|(?:by\s+)?looking\s+at|judging\s+(?:by|from)|going\s+(?:by|off))"
            rf"\s+(?:my|this|these|those|his|her|our|their)\s+(?:{_WORD}\s+)?{_PHOTO}\b"
        ),
    ),
    # s12-chat: whether a finding sounds, seems or looks like the disease, asked of the bot ("can
    # you tell me if that sounds like mpox", "let me know whether my symptoms sound like it"),
    # how likely it is ("given my symptoms, is it likely mpox") or what it thinks that is ("do
    # you think that is mpox"); the subject is a finding, not the disease ("tell me if mpox
    # symptoms look like chickenpox" is a general question)
    (
        "sounds_like_to_bot",
        re.compile(
            rf"\b(?:tell|say|let\s+(?:me|us)\s+know|know)\s+(?:me\s+|us\s+)?(?:if|whether)\s+"
            rf"(?:it|this|that|they|these|those|(?:my|his|her|our|their)\s+(?:{_WORD}\s+)?{_WORD})\s+"
            rf"(?:sounds?|seems?|looks?)\s+(?:like|to\s+be)\s+(?:an?\s+)?{_DISEASE_OR_IT}\b|"
            rf"\b(?:is|are)\s+(?:it|this|that|these|those|they)\s+(?:most\s+|more\s+)?"
            rf"(?:likely|probably|possibly|maybe|definitely|really|actually)\s+(?:to\s+be\s+)?"
            rf"(?:an?\s+)?{_DISEASE}\s*[?.!]*\s*$|"
            rf"\b(?:do|would|did)\s+(?:you|u|ya)\s+(?:think|reckon|say|believe)\s+(?:that\s+)?"
            rf"(?:that|this|these|those|they)\s+(?:is|are|(?:could|might|may|would)\s+be)\s+"
            rf"(?:an?\s+)?{_DISEASE}\s*[?.!]*\s*$|"
            # "how sure can you be it is mpox", "how likely is it that she has mpox"
            rf"\bhow\s+(?:sure|certain|confident|likely)\s+(?:are\s+you|can\s+you\s+be|is\s+it)\s+"
            rf"(?:that\s+)?(?:i|it|this|that|these|those|they|he|she|(?:my|our|his|her|their)\s+"
            rf"{_WORD})\s+(?:is|are|am|has|have|got)\s+(?:an?\s+)?{_DISEASE}\b|"
            # "does my case sound like monkeypox", "do i have symptoms of mpox", "could what my
            # patient has be mpox"
            rf"\b(?:do|does|did)\s+(?:my|his|her|our|their)\s+(?:case|situation|story|description|"
            rf"condition|problem|issue)\s+(?:sound|look|seem)\s+like\s+(?:an?\s+)?{_DISEASE}\b|"
            rf"\b(?:do|does)\s+(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+(?:have|has)\s+(?:the\s+)?"
            rf"(?:symptoms?|signs?)\s+of\s+(?:an?\s+)?{_DISEASE}\b|"
            rf"\b(?:could|can|might|may|would)\s+what\s+(?:i|he|she|we|they|(?:my|our|his|her)\s+"
            rf"{_WORD})\s+(?:have|has|got)\s+be\s+(?:an?\s+)?{_DISEASE}\b|"
            # "i just want to know if i caught mpox" (not "how many days until i would know if i
            # caught it": when one can know)
            rf"\b(?:want|need|wanna)\s+(?:to\s+)?know\s+(?:if|whether)\s+(?:i|he|she|we|(?:my|our)\s+"
            rf"{_WORD})\s+(?:caught|contracted|picked\s+up)\s+(?:an?\s+)?{_DISEASE}\b|"
            # "does my son have the same thing as the kids in the mpox pictures"
            rf"\b(?:do|does|did|could|might)\s+(?:i|he|she|they|we|(?:my|our)\s+{_WORD})\s+"
            rf"(?:have|has|got)\s+(?:the\s+)?same\s+(?:thing|rash|spots?|sores?|disease|illness)\s+"
            rf"as\b(?=.*\b{_DISEASE}\b)|"
            # "tell me it is not mpox", "should i take it as mpox", "could my rash mean mpox"
            rf"\b(?:tell|promise|reassure)\s+(?:me\s+)?(?:that\s+)?(?:it|this|that|these|they|"
            rf"(?:my|his|her|our|their)\s+{_WORD})\s+(?:is|are)\s+not\s+(?:an?\s+)?{_DISEASE}\b|"
            rf"\b(?:take|treat|count)\s+(?:it|this|that|them|these|those)\s+as\s+(?:an?\s+)?{_DISEASE}\b|"
            rf"\b(?:could|can|does|do|might|would|may)\s+(?:my|his|her|our|their|these|this|those)\s+"
            rf"(?:{_WORD}\s+){{0,4}}?(?:mean|indicate|suggest|point\s+to)\s+(?:that\s+)?(?:i\s+have\s+)?"
            rf"(?:an?\s+)?{_DISEASE}\b|"
            # "i'd like to know if the lesions on my shaft are monkeypox"
            rf"\b(?:like|want|need|wanna)\s+(?:to\s+)?know\s+(?:if|whether)\s+(?:the|these|those|this|"
            rf"that|my|his|her|our)\s+(?:{_WORD}\s+){{0,5}}?(?:is|are)\s+(?:an?\s+)?{_DISEASE}\b|"
            # "is my sons rash the start of mpox" (not "is a rash the first sign of mpox")
            rf"\b(?:is|are)\s+(?:my|his|her|our|their|this|these|those)\s+(?:{_WORD}\s+){{0,2}}?"
            rf"{_SYMPTOM}\s+(?:the\s+|an?\s+)?(?:start|beginning|first\s+signs?|early\s+signs?|"
            rf"signs?|symptoms?)\s+of\s+(?:an?\s+)?{_DISEASE}\b|"
            # "fever + rash on hands = mpox??"
            rf"\b{_SYMPTOM}\b.*=\s*(?:an?\s+)?{_DISEASE}\s*\?"
        ),
    ),
    # "tell me if I have mpox", "can you tell whether it is monkeypox"
    (
        "tell_me_if",
        re.compile(
            # (s12-chat: "can u tell from my description whether i have it")
            rf"\b(?:tell|say|let\s+me\s+know)\s+(?:me\s+)?{_ADVERB}"
            rf"(?:(?:from|by|with|based\s+on)\s+(?:{_WORD}\s+){{1,3}}?)?(?:if|whether|that)\s+"
            rf"(?:i|it|this|that|he|she|(?:my|our)\s+{_WORD})\s+"
            rf"(?:is|are|have|has|got)\s+(?:{_WORD}\s+)?{_DISEASE_OR_IT}\b"
        ),
    ),
    # "did I give her mpox", "have I passed mpox to my husband": a verdict on someone's illness
    # (the general "can I give it to my partner" is a question about spread).
    (
        "gave_it_to",
        re.compile(
            rf"\b(?:did|have|has)\s+(?:i|we|he|she)\s+(?:just\s+)?(?:give|given|pass|passed)\s+"
            rf"(?:(?:him|her|them|us|me|my\s+{_WORD})\s+{_DISEASE}|"
            rf"{_DISEASE}\s+(?:on\s+)?to\s+(?:him|her|them|us|me|my\s+{_WORD}))\b"
        ),
    ),
    # "can you confirm this is not mpox", "promise me my rash is not monkeypox"
    (
        "confirm_it_is",
        re.compile(
            rf"\b(?:confirm|verify|promise|guarantee|swear|assure\s+me|reassure\s+me|"
            rf"sure|certain|confident)\s+(?:me\s+)?(?:that\s+)?"
            rf"(?:i|it|this|that|these|those|they|he|she|(?:my|our|his|her|their)\s+{_WORD})\s+"
            rf"(?:{_WORD}\s+)?(?:is|are|am|has|have|got)\s+(?:not\s+|no\s+)?(?:an?\s+)?"
            rf"{_DISEASE}\b{_NOT_TOPIC_NOUN}"
        ),
    ),
    # "tell me if the bumps on my arm are mpox", "can you tell whether these spots are mpox"
    (
        "tell_me_if_symptom",
        re.compile(
            # (s12-chat: confirm, check or verify too, and an adverb: "tell me honestly if")
            rf"\b(?:tell|confirm|check|verify)\s+(?:me\s+)?{_ADVERB}(?:if|whether)\s+"
            rf"(?:the|these|those|this|that|my|his|her|our)\s+"
            rf"(?:{_WORD}\s+){{0,5}}?(?:is|are)\s+(?:an?\s+)?(?:{_WORD}\s+)?{_DISEASE_OR_IT}\b"
        ),
    ),
    # "check my rash", "look at these spots", "pls examine my bumps"
    (
        "check_my_rash",
        re.compile(
            rf"\b(?:check|look(?:\s+at)?|examine|assess|judge|identify|rate|see|analy[sz]e|scan|confirm|verify|"
            rf"evaluate|review|inspect)\s+(?:out\s+)?(?:my|this|these|those|his|her|our|their)\s+"
            rf"(?:{_WORD}\s+){{0,2}}?(?:{_SYMPTOM}|{_PHOTO})\b"
        ),
    ),
    # "here is a pic of my rash", "can I send you a photo of my spots"
    (
        "photo_of_mine",
        re.compile(
            rf"\b{_PHOTO}\s+of\s+(?:my|his|her|our|their|this|these)\s+(?:{_WORD}\s+){{0,2}}?"
            rf"(?:{_SYMPTOM}|{_BODY_PART})\b|"
            rf"\b(?:send|show|upload|attach|share)\w*\s+(?:you|u)\s+(?:an?\s+|my\s+|this\s+|"
            rf"some\s+)?{_PHOTO}\b|"
            # s12-chat: "here is a photo, is it the same as the mpox rash?"
            # ("here's" reads "here")
            rf"\bhere\s+(?:(?:is|are)\s+)?(?:a|my|the|some|\d+|two)\s+{_PHOTO}\b|"
            # s12-chat: "what do you see in my photo", "anything on this pic"
            rf"\b(?:see|notice|spot|find)\s+(?:\w+\s+)?(?:in|on)\s+(?:my|this|these)\s+"
            rf"(?:{_WORD}\s+)?{_PHOTO}\b|"
            # "the spots in my photo", "I uploaded my picture"
            rf"\b{_SYMPTOM}\s+(?:in|on)\s+(?:my|this|these|our)\s+(?:{_WORD}\s+)?{_PHOTO}\b|"
            rf"\b(?:i|we)\s+(?:just\s+)?(?:sent|uploaded|attached|shared|posted)\s+"
            # s12-chat: "i uploaded 3 pics", "i have attached two photos"
            rf"(?:you\s+|u\s+)?(?:my|this|these|the|a|an|some|a\s+few|few|\d+|two|three|four|five|"
            rf"several|more)\s+(?:{_WORD}\s+)?{_PHOTO}\b"
        ),
    ),
    # s11-chat: what one's own finding is or could be, asked as a clause ("any idea what this
    # rash on my back is", "what could these blisters on my hand be", "can u tell what this is
    # on my neck"); not a risk, an option, the tool or the disease ("what my chances are", "what
    # this bot is", "what this disease is")
    (
        "what_this_finding_is",
        re.compile(
            r"\bwhat\s+(?:(?:could|might|may|would|can)\s+)?(?:this|these|that|those|my|his|her|our|"
            r"their)\s+(?!(?:[\w-]+\s+){0,4}?(?:risks?|chances?|odds|options?|best|plan|bot|chatbot|"
            r"app|tool|site|website|service|question|problem|job|name|number|results?|disease|illness|virus|"
            r"mpox|infection|outbreak|vaccines?|jabs?|shots?|news|clades?|treatment|tests?|medicines?|"
            r"drugs?)\b)"
            r"(?:[\w-]+\s+){0,5}?(?:is|are|(?:could|might|may|would)\s+be|be)\s*[?.!]*\s*$|"
            r"\bwhat\s+(?:this|these|that|those|it|they)\s+(?:[\w-]+\s+){0,3}?(?:is|are)\s+"
            r"(?:on|in|under|near|around|behind|inside)\s+(?:my|his|her|our|their)\b"
        ),
    ),
    # "what do you make of my rash", "what do you think of these spots"
    (
        "what_do_you_make_of",
        re.compile(
            r"\bwhat\s+(?:do|would|did)\s+(?:you|u)\s+(?:make\s+of|think\s+(?:of|about|it\s+is)|say\s+"
            r"(?:about|it\s+is)|reckon)\s*,?\s+(?:my|this|these|those|his|her|our|their|it)\b|"
            # "what does this look like to you", "what do these spots on my belly look like to you"
            r"\bwhat\s+(?:does|do|would)\s+(?:this|that|these|those|it|they|my|his|her|our|their)\s+"
            r"(?:[\w-]+\s+){0,5}?(?:look|seem|sound)\s+like\s+to\s+(?:you|u)\b|"
            # s11-chat: "what do you think these bumps on my leg are", "what do u reckon this is"
            r"\bwhat\s+(?:do|would|did)\s+(?:you|u)\s+(?:think|reckon|guess|suppose)\s+(?:that\s+)?"
            r"(?:my|this|these|those|his|her|our|their)\s+"
            # "what do you think my chances are": a risk, not a finding
            r"(?!(?:[\w-]+\s+){0,4}?(?:risks?|chances?|odds|options?|best|plan)\b)(?:[\w-]+\s+){0,5}?"
            r"(?:is|are|was|were|(?:could|might|may|would)\s+be)\s*[?.!]*\s*$"
        ),
    ),
    # "am I infected with mpox", "have I caught monkeypox"
    (
        "am_i_infected",
        re.compile(
            rf"\b(?:am\s+i|are\s+we|is\s+(?:he|she))\s+(?:infected|positive)\b|"
            rf"\b(?:think|reckon|say|believe|guess|suppose)\s+(?:that\s+)?(?:i|he|she|we)\s+"
            rf"(?:am|is|are|was|were|might\s+be|may\s+be)\s+(?:infected|positive)\b|"
            rf"\b(?:am\s+i|are\s+we|is\s+(?:he|she|(?:my|our|his|her)\s+{_WORD}))\s+(?:sick|ill|down)\s+"
            rf"with\s+{_DISEASE}\b|"
            # s12-chat: "could i be infected? i have a sore" (not "could i be infected without
            # symptoms")
            rf"\b(?:could|might|may|can)\s+(?:i|he|she|we)\s+be\s+(?:infected|positive)"
            rf"(?:\s+(?:with|by)\s+(?:it|mpox))?\s*(?:[?.!,]|$)|"
            # s12-chat: "i have what looks like mpox on my hand"
            rf"\b(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+(?:have|has|got)\s+what\s+(?:looks|seems|"
            rf"appears)\s+(?:to\s+be\s+|like\s+)(?:an?\s+)?{_DISEASE}\b|"
            # s12-chat: non-native "am i having monkeypox"
            rf"\b(?:am\s+i|are\s+we)\s+having\s+(?:the\s+)?{_DISEASE}\b|"
            # s11-chat: "i am affected by mpox?", "am i suffering from monkeypox"
            rf"\bi\s+am\s+(?:infected|affected|suffering)\s+(?:with|by|from)\s+{_DISEASE_OR_IT}\s*\?|"
            rf"\b(?:am\s+i|are\s+we|is\s+(?:he|she))\s+(?:affected|suffering)\s+(?:with|by|from)\s+"
            rf"{_DISEASE}\b|"
            # s11-chat: "is my skin infected with mpox", "are these sores infected by monkeypox"
            rf"\b(?:is|are|was|were)\s+(?:my|his|her|our|their|these|those|this)\s+"
            rf"(?:{_WORD}\s+)?(?:{_SYMPTOM}|{_BODY_PART})\s+(?:{_WORD}\s+)?infected\s+(?:with|by)\s+"
            rf"(?:the\s+)?{_DISEASE_OR_IT}\b|"
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
            # s12-chat: "give me a diagnosis for my blisters"
            rf"\bdiagnos\w*\s+(?:for|of|on)\s+(?:me|my|this|these|those|him|his|her|us|our)\b|"
            # s12-chat: "is it possible that what i have is mpox"
            rf"\bwhat\s+(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+(?:have|has|got)\s+"
            rf"(?:is|are|(?:could|might|may)\s+be)\s+(?:an?\s+)?{_DISEASE}\b|"
            # s12-chat: "guess what i have: fever, rash", "tell me what she has"
            rf"\b(?:guess|tell\s+(?:me|us)|say)\s+what\s+(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+"
            rf"(?:have|has|got)\b(?=\s*(?:[:,.?!-]|$))|"
            rf"\b(?:is|was)\s+(?:this|that|it)\s+what\s+(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+"
            rf"(?:have|has|got|caught)\b|"
            rf"\b(?:what|which)\s+(?:(?:kind|type|sort)\s+of\s+)?(?:one\s+|disease\s+|"
            rf"illness\s+|infection\s+|condition\s+|thing\s+|virus\s+|rash\s+|{_SYMPTOM}\s+)?"
            rf"(?:do|does)\s+(?:i|we|he|she|(?:my|our)\s+{_WORD})\s+"
            rf"(?:have|hav|got)\b"
            rf"(?!\s+to\b)|"
            rf"\bwhat\s+(?:is|are)\s+(?:this|these|that|those)\s+(?:{_WORD}\s+){{0,3}}?on\s+"
            rf"(?:my|his|her|our)\b|"
            rf"\bwhat\s+is\s+wrong\s+with\s+(?:my|me|him|her)\b|"
            # "what is going on with my skin", "what is causing the blisters on my feet"
            rf"\bwhat\s+is\s+(?:going\s+on|happening)\s+(?:with|to|on)\s+(?:my|me|him|her|his)\b|"
            rf"\bwhat\s+(?:is|could\s+be|might\s+be|would\s+be)\s+caus\w*\s+(?:the|these|this|those|"
            rf"my|his|her)\s+(?:{_WORD}\s+){{0,2}}?{_SYMPTOM}\s+(?:on|in|around|near)\s+(?:my|his|her|our)\b|"
            # "what is on my arm", "what's that on his back"
            rf"\bwhat\s+(?:is|are)\s+(?:this\s+|that\s+|these\s+|those\s+|the\s+thing\s+)?"
            rf"(?:on|in)\s+(?:my|his|her|our)\s+(?:{_WORD}\s+)?{_BODY_PART}\b|"
            rf"\bwhat\s+(?:is|are)\s+(?:this|these|that|those)\s+(?:{_WORD}\s+){{0,2}}?{_SYMPTOM}\b"
            rf"(?!\s+(?:of|in|with|from|during|after|called)\s+(?:an?\s+)?{_DISEASE})"
            rf"(?!\s+(?:on|in)\s+(?:the|a|an)\s+(?:photo|picture|pic|image|website|page))|"
            rf"\btell\s+me\s+what\s+(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+(?:have|has|got)\b|"
            # "fever and rash 2 days, what i have" (non-native "what do I have")
            rf"(?:[,.;:]\s*|^\s*)what\s+(?:i|he|she|we)\s+(?:have|has|got)\s*[?.!]*\s*$"
        ),
    ),
)

# "I think I have mpox": a suspicion statement. A verdict request unless the text also asks
# what to do, which retrieval answers (seek care, isolation).
_SUSPECT_SUBJECT = rf"(?:i|he|she|we|it|this|these|they|(?:my|our)\s+{_WORD})"
_SUSPICION = re.compile(
    rf"(?:\b(?:think|thinking|suspect|fear|believe|guess|worried|afraid|scared|concerned|sure|"
    rf"terrified|petrified|paranoid|convinced|reckon|(?:would|wud|do|did|could|can)\s+(?:you|u|ya)\s+say|"
    rf"feel\s+like|freaking\s+out|"
    rf"freaked\s+out|panicking|panicked|bet|wonder\w*\s+(?:if|whether))\s+(?:that\s+)?"
    rf"{_SUSPECT_SUBJECT}|\b(?:maybe|perhaps|probably)\s+{_SUSPECT_SUBJECT}|"
    rf"^\s*(?:{_WORD}\s+){{0,2}}?{_SUSPECT_SUBJECT}\s+(?:might|may|could|must)\b)\s+"
    rf"(?:{_WORD}\s+){{0,4}}?(?:have|has|got|caught|contracted|is|are|gave\s+(?:me|us|him|her)|"
    rf"given\s+(?:me|us|him|her)|passed\s+(?:on\s+)?(?:it\s+)?to\s+(?:me|us))\s+(?:{_WORD}\s+)?"
    # "are you sure it is mpox season" (but "I think I have mpox symptoms" is a suspicion).
    rf"(?:{_DISEASE}\b(?!\s+(?:season|vaccin\w*|jabs?|shots?|outbreaks?|cases?|news|tests?|"
    rf"testing|clinics?)\b)|{_IT_END})"
)
# "I need to know if I have mpox" (but "how do I know if I have mpox" asks how to find out).
_WANTS_VERDICT = re.compile(
    rf"\b(?:know|find\s+out|figure\s+out|work\s+out|determine|decide|sure|confirm|check|see)"
    # s11-chat: "check pls if these are mpox blisters"
    rf"\s+(?:please\s+|for\s+me\s+)?(?:if|whether)\s+"
    rf"(?:i|he|she|we|it|this|these|(?:my|our|the)\s+{_WORD})\s+(?:{_WORD}\s+)?"
    rf"(?:have|has|got|is|are)\s+(?:{_WORD}\s+)?(?:{_DISEASE}\b|{_IT_END})"
)
# "i got mpox?": a statement turned into a question.
_STATEMENT_QUESTION = re.compile(
    rf"(?:^|[,.;:!?]\s*)(?:so\s+)?(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+(?:have|has|got|caught)\s+"
    rf"(?:the\s+)?(?:{_DISEASE}|it)\s*(?:,?\s*(?:yes|right|or\s+not|or\s+no|correct|true|then|too|"
    rf"as\s+well|also))?"
    rf"\s*\?+\W*$"
)
# "pimple or mpox?", "mpox or just an allergy"
_LOOKALIKE_OR = re.compile(
    rf"\b{_LOOKALIKE}\s+or\s+(?:is\s+it\s+)?(?:an?\s+)?{_DISEASE}\b|"
    rf"\b{_DISEASE}\s+or\s+(?:is\s+it\s+)?(?:just\s+|only\s+|maybe\s+)?(?:an?\s+)?{_LOOKALIKE}"
)
# Own symptoms with alternatives at the end: "rash on my chest, chickenpox or mpox"
_ALTERNATIVES_END = re.compile(
    # s12-chat: or the asker's own doubt ("..., mpox or am i overthinking", "or is it just me")
    rf"(?:\b{_DISEASE}\s+or\s+(?:am\s+i|i\s+am|is\s+it\s+just|(?:it\s+is\s+)?just\s+me)\b"
    rf"(?:\s+{_WORD}){{0,3}}|"
    # (s12-chat: up to three words, "mpox or hand foot mouth")
    rf"\b{_DISEASE}\s+or\s+(?:just\s+)?(?:an?\s+)?{_WORD}(?:\s+{_WORD}){{0,2}}|"
    rf"\b{_WORD}\s+or\s+{_DISEASE})\s*[?.!]*\s*$"
)
# "swollen glands, is that an mpox thing?": asks whether a finding belongs to mpox; a verdict
# request only when the asker describes their own (or someone's) symptoms.
_MPOX_THING = re.compile(
    rf"\b(?:is|are)\s+(?:it|this|that|these|those|they)\s+(?:an?\s+|the\s+)?(?:usual\s+|typical\s+|"
    rf"common\s+)?{_DISEASE}\s+(?:things?|symptoms?|signs?)\b"
)
# "should I be worried about these bumps", "are these sores something to worry about":
# whether one's own findings are serious is a verdict too.
_WORRY_ABOUT = re.compile(
    r"\b(?:should|do|must|need)\s+(?:i|we)\s+(?:need\s+to\s+)?(?:be\s+)?(?:worr\w*|concerned|"
    r"scared|afraid|panic\w*|freak\w*\s+out)\b|\bsomething\s+to\s+worry\s+about\b|"
    r"\b(?:worth|cause\s+for)\s+(?:worrying|concern)\b"
)
# s12-chat: "as a dentist should I worry about catching mpox from patients with mouth sores":
# a worry about being infected by others is a question of risk, not of one's own findings.
_WORRY_CATCHING = re.compile(
    r"\bworr\w*\s+(?:about\s+)?(?:catching|getting|contracting|picking\s+up|being\s+infected)\b"
    r"(?:\s+[\w-]+){0,3}?\s+(?:from|at|through|via|off)\b"
)
# s12-chat: fear about one's own finding, told without a question ("im freaking out, red spots on
# my dick after a hookup"), and "..., (kindly) confirm monkeypox" after a description.
_FEAR = re.compile(
    r"\b(?:freak\w*\s+out|scared|terrified|petrified|worried|panick\w*|anxious|nervous|"
    r"paranoid|stressing)\b"
)
_CONFIRM_END = re.compile(
    # ("..., can you confirm")
    r"\b(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+)?(?:confirm|verify|check)"
    r"(?:\s+(?:it|this|that|please|for\s+me))?\s*[?.!]*\s*$|"
    rf"\b(?:confirm|verify|check)\s+(?:if\s+|whether\s+)?(?:it\s+is\s+|for\s+)?(?:an?\s+)?"
    rf"{_DISEASE}\s*[?.!]*\s*$"
)
# s12-chat: "these sores on my partner, can you identify them"
_IDENTIFY_IT = re.compile(
    r"\b(?:identify|diagnose|name|recogni[sz]e)\s+(?:them|it|this|these|those)\b"
)
# s12-chat: after one's findings, "how likely is mpox", "should i think mpox".
_HOW_LIKELY_END = re.compile(
    rf"\bhow\s+likely\s+(?:is\s+(?:it\s+)?(?:to\s+be\s+)?|(?:is\s+it\s+)?that\s+(?:it\s+is\s+)?)"
    rf"(?:an?\s+)?{_DISEASE}\s*[?.!]*\s*$"
)
# ("should I" is no question of what to do here)
_SHOULD_THINK_END = re.compile(
    rf"\bshould\s+(?:i|we)\s+(?:think|suspect|assume)\s+(?:it\s+is\s+|of\s+)?(?:an?\s+)?"
    rf"{_DISEASE}\s*[?.!]*\s*$"
)
_SHOWN_FINDING = re.compile(rf"\b(?:this|these|those|that)\s+(?:{_WORD}\s+)?{_SYMPTOM}\b")
# A known illness ("I have mpox, should I worry"): its course is answered, not judged.
_KNOWN_ILLNESS = re.compile(
    r"\b(?:i|he|she|we|they|(?:my|our)\s+[\w-]+)\s+(?:have|has|had|got)\s+mpox\b|"
    r"\b(?:diagnosed|tested\s+positive|positive\s+for)\b"
)
# "i have a sore on my penis, what is it": own symptoms, then what they are.
_WHAT_IS_IT_END = re.compile(
    r"\bwhat\s+(?:is|are|could|might|would|can)\s+(?:it|this|that|they|these|those)"
    r"(?:\s+be)?\s*[?.!]*\s*$|"
    # s12-chat: "..., what is it likely to be"
    r"\bwhat\s+(?:is|are)\s+(?:it|this|that|they|these|those)\s+(?:most\s+)?(?:likely|probably)"
    r"(?:\s+to\s+be)?\s*[?.!]*\s*$|"
    # "woke up with red bumps on my chest, what is happening"
    r"\bwhat\s+is\s+(?:happening|going\s+on)(?:\s+(?:to|with)\s+(?:me|it|them))?\s*[?.!]*\s*$"
)
# "these bumps on my legs mpox?": a finding, then the disease's name as the question.
_FINDING_THEN_NAME = re.compile(
    rf"\b{_SYMPTOM}\s+(?:(?:on|in|near|around|under|at|by)\s+(?:my|his|her|our|their|the)\s+"
    rf"(?:{_WORD}\s+)?)?(?:(?:is\s+it|maybe|prob(?:ably)?)\s+)?{_DISEASE}\s*\?+\W*$"
)
# "... can you tell me what it is": own findings, then what they are, asked indirectly.
_WHAT_IT_IS = re.compile(
    r"\b(?:tell|say|know|guess|work\s+out|figure\s+out|identify|see|explain)\s+"
    r"(?:me\s+|us\s+)?(?:what|which)\s+(?:(?:kind|type|sort)\s+of\s+(?:[\w-]+\s+)?)?"
    r"(?:it|this|that|they|these|those|he|she)(?:\s+[\w-]+){0,2}?\s+"
    r"(?:is|are|has|have|(?:could|might|may|would)\s+be)\b|"
    # "... what do you think it is"
    r"\bwhat\s+(?:do|would|did)\s+(?:you|u|ya)\s+(?:think|reckon|say|guess)\s+(?:it|this|that|they|"
    r"these|those)\s+(?:is|are|(?:could|might|may|would)\s+be)\b|"
    # s11-chat: "my body have rash since 3 days, which disease it is"
    r"\b(?:what|which)\s+(?:disease|illness|infection|condition|sickness|problem)\s+"
    r"(?:is\s+(?:it|this|that)|(?:it|this|that)\s+is|(?:could|might|can)\s+(?:it|this)\s+be)"
    r"\s*[?.!]*\s*$"
)
# s11-chat: the bot's opinion asked anywhere ("according to you its mpox or herpes on my lip").
_ASKS_OPINION = re.compile(
    r"\b(?:according\s+to\s+(?:you|u)|in\s+your\s+(?:honest\s+)?(?:opinion|view)|"
    r"your\s+(?:honest\s+)?opinion)\b"
)
_ON_OWN_BODY = re.compile(rf"\b(?:on|in)\s+(?:my|his|her|our|their)\s+{_BODY_PART}\b")
# "... what do you think?": own findings, then the bot's opinion.
_OPINION_END = re.compile(
    r"\b(?:what\s+(?:do|would)\s+(?:you|u|ya)\s+(?:think|reckon|say)|thoughts|any\s+ideas?|"
    r"what\s+(?:should|do|would)\s+(?:i|we)\s+(?:think|make\s+of\s+(?:it|this|that|them))|"
    r"(?:your\s+)?(?:opinion|verdict|take|diagnosis))\s*[?.!]*\s*$"
)
_VACCINE_WORDS = re.compile(r"\b(?:vaccin\w*|jabs?|shots?|boosters?|jynneos|imvanex)\b")
_NAMED_TOPIC_FIRST = re.compile(rf"^\s*{_DISEASE}\s+(?:symptoms?|signs?|rash\w*)\s*\?")
_SOMEONE = re.compile(
    r"\b(?:i|me|my|mine|we|our|he|she|his|her|him|son|daughter|baby|kid|child|partner|"
    r"boyfriend|girlfriend|husband|wife)\b"
)
_LEADING_NAME = re.compile(rf"^\s*(?:is\s+it\s+)?{_DISEASE}\s*\?+")
# s12-chat: "mpox symptoms? i have a sore throat": the name with "symptoms" first, then what
# someone has (not "mpox symptoms? what are they").
_LEADING_SYMPTOMS = re.compile(
    rf"^\s*(?:is\s+it\s+)?{_DISEASE}\s+(?:symptoms?|signs?|rash)\s*\?+.*"
    rf"\b(?:i|he|she|we|(?:my|our)\s+{_WORD})\s+(?:have|has|got|am|is|are)\b"
)
# "sores on my lip - mpox yes or no?": a verdict asked for outright.
_YES_OR_NO = re.compile(
    # ("y/n" reads "why/and" after the text-speak fix)
    rf"\b{_DISEASE}\b[\s,?!.-]*(?:yes\s+or\s+no|or\s+not|or\s+no|(?:y|why)\s*/\s*(?:n|and)|"
    # s12-chat: "mpox ou pas?", "mpox positive or negative?"
    rf"ou\s+pas|ou\s+non|o\s+no|oder\s+nicht|positive\s+or\s+negative)\b(?!\s+\w)|"
    # "just say yes or no, mpox?"
    rf"\b(?:yes\s+or\s+no|y\s*/\s*n)\b[\s,:;.-]*(?:is\s+(?:it|this)\s+|do\s+i\s+have\s+)?"
    rf"(?:an?\s+)?{_DISEASE}\s*\?*\W*$"
)
# s17-chat: the disease named as what something is for or against ("a cure for mpox or not",
# "does the vaccine work against mpox or not"): a general question however it ends.
_ABOUT_DISEASE = re.compile(
    rf"\b(?:cures?|treatments?|medicines?|vaccines?|jabs?|tests?|for|against|prevent|prevents|"
    rf"treat|treats|cure)\s+(?:the\s+)?{_DISEASE}\b[\s,?!.-]*(?:yes\s+or\s+no|or\s+not|or\s+no)\b|"
    # s20-chat: "do condoms protect me from mpox or not".
    rf"\bprotect\w*\s+(?:\w+\s+){{0,2}}?(?:from|against)\s+(?:the\s+)?{_DISEASE}\b"
    rf"[\s,?!.-]*(?:yes\s+or\s+no|or\s+not|or\s+no)\b"
)
# "bumps on my face. mpox?": own symptoms, then the disease name as the question.
_TRAILING_NAME = re.compile(
    rf"(?:^|[,.;:!?]|\s-|\bor)\s*(?:is\s+(?:it\s+|this\s+|that\s+)?(?:the\s+)?|maybe\s+|"
    rf"(?:it|this|that)\s+(?:is|be)\s+(?:the\s+|an?\s+)?|"
    rf"(?:could|might|may)\s+(?:it\s+|this\s+)?be\s+|"
    rf"prob(?:ably)?\s+)?{_DISEASE}"
    # s11-chat: "... on her back, mpox symptom?"
    # (s12-chat: a clinician's "..., mpox differential?")
    rf"(?:\s+(?:symptoms?|signs?|rash|sores?|spots?|blisters?|differential|diagnosis|dx))?\s*"
    # (s12-chat: "..., mpox likely?", "monkeypox perhaps?")
    rf"(?:,?\s*(?:right|then|maybe|yes|no|or what|or no|likely|perhaps|possibly|probably)\s*)?"
    # (s12-chat: a plea after it, "mpox??? help")
    rf"\?+\W*(?:(?:help|please|asap|urgent|thanks|thank\s+you)\W*)?$"
)
_DESCRIBES_OWN = re.compile(
    rf"\b{_PERSON}\b.*\b{_SYMPTOM}\b|\b{_SYMPTOM}\b.*\b{_PERSON}\b|^\s*(?:got|have|having)\b|"
    # "these spots itch like crazy, mpox?": a finding shown is one's own
    rf"^\s*(?:{_WORD}\s+)?(?:these|this|those)\s+(?:{_WORD}\s+)?{_SYMPTOM}\b"
)


# "I'm pregnant and think I caught it, is my baby in danger?": asks what mpox means for a
# pregnancy (answered: the pregnancy entry escalates to the maternity service), not for a verdict.
_PREGNANT = re.compile(r"\b(?:pregnan\w*|expecting|unborn|foetus|fetus)\b")
_PREGNANCY_RISK = re.compile(
    r"\b(?:is|will|would|could|can|might)\s+(?:my|the|our)\s+(?:baby|unborn|pregnancy|fetus|"
    r"foetus|child)\b|\b(?:hurt|harm|affect|damage|pass|passed|give|spread|transmit)\w*\s+"
    r"(?:it\s+|mpox\s+)?(?:on\s+)?(?:to\s+)?(?:my|the|our)\s+(?:baby|unborn|pregnancy|fetus|foetus)\b|"
    r"\b(?:baby|pregnancy|fetus|foetus)\s+(?:be\s+)?(?:ok|okay|safe|fine|in\s+danger|at\s+risk)\b"
)

# "in general", "hypothetically": the asker marks the question as a general one, so findings
# named beside it are an example, not a case to judge (unless a photo or an outright "do I
# have it" is asked about: :data:`_STRONG_RULES`).
_GENERALLY = re.compile(
    r"\b(?:in\s+general|generally(?:\s+speaking)?|in\s+theory|theoretically|hypothetically|"
    r"not\s+(?:asking\s+)?(?:about|for)\s+me|not\s+me\s+personally)\b"
)
_STRONG_RULES = frozenset(
    {"do_i_have", "am_i_infected", "check_my_rash", "photo_of_mine", "judge_from_photo"}
)

# "someone said ..., is that true": whether a claim heard is right, not a verdict on a finding.
_CLAIM_CHECK = re.compile(
    r"\b(?:said|says|told|tells|heard|read|claims?|claimed|saying)\b.*"
    r"\b(?:(?:is|are)\s+(?:that|this|it|they)\s+(?:really\s+)?(?:true|right|correct)|true\s+or\s+"
    r"(?:false|not)|a\s+myth)\b"
)
# s12-chat: a diagnosis told by a clinician or a test ("my doctor said my rash is mpox").
_TOLD_BY_CLINICIAN = re.compile(
    r"\b(?:doctors?|gp|nurses?|clinic|clinicians?|hospital|dermatologist|tests?|labs?|results?)\s+"
    r"(?:\w+\s+)?(?:said|says|told\s+(?:me|us|him|her)|confirmed|diagnosed|showed|came\s+back)\b"
    r"(?!.*\bnot\b)"
)
# "what should I think": asks for an opinion, not what to do.
_NOT_AN_ACTION = re.compile(r"\bwhat\s+should\s+(?:i|we)\s+(?:think|make\s+of)\b")


def _action_question(text: str) -> bool:
    if _PREGNANT.search(text) and _PREGNANCY_RISK.search(text):
        return True
    return bool(_ACTION_QUESTION.search(text)) and not _WORRY_QUESTION.search(text)


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
    # "its mpox" (no apostrophe) reads "it is mpox".
    text = _ITS.sub("it is", normalized_text)
    general = bool(_GENERALLY.search(text))
    for name, pattern in RULES:
        # "how do I check my rash for mpox" asks how to check, not for a verdict ("how can I
        # find out what this rash is": how to find out).
        if name in ("check_my_rash", "means_i_have", "what_this_finding_is") and _HOW_TO.search(
            text
        ):
            continue
        # "can this app diagnose me" asks what the tool can do (it answers: it cannot).
        if name == "what_do_i_have" and _TOOL_CAPABILITY.search(text):
            continue
        if name in (
            "tell_me_if",
            "sounds_like_to_bot",
            "tell_me_if_symptom",
            "symptom_is_mpox",
            "judge_from_photo",
        ) and _OTHER_TELLS.search(text):
            continue
        # "I have mpox, is my rash serious": the course of a known illness is answered.
        if name == "own_finding_serious" and _KNOWN_ILLNESS.search(text):
            continue
        # s12-chat: "my doctor said my rash is mpox, how long will it last": a known illness.
        if name in ("symptom_is_mpox", "is_the_symptom_mpox") and _TOLD_BY_CLINICIAN.search(text):
            continue
        # "my friend said spots on the palms are mpox, is that true": a claim checked.
        if name in ("symptom_is_mpox", "thing_on_body_is") and _CLAIM_CHECK.search(text):
            continue
        # "... could that be an mpox symptom in general": the asker says the question is general.
        if general and name not in _STRONG_RULES:
            continue
        if name == "confirm_it_is" and _HOW_CONFIRM.search(text) and not _OWN_THING.search(text):
            continue
        # "what should I do if my rash looks like mpox" asks what to do (seek care).
        if name in ("symptom_is_mpox", "looks_like_mpox") and _WHAT_TO_DO.search(text):
            continue
        if pattern.search(text):
            return name
    if general:
        return None
    action = _action_question(_NOT_AN_ACTION.sub(" ", text))
    if _SUSPICION.search(text) and not action:
        return "suspicion"
    if _WANTS_VERDICT.search(text) and not _HOW_TO.search(text) and not action:
        return "wants_verdict"
    if _STATEMENT_QUESTION.search(text):
        return "statement_question"
    # (s12-chat: "how do i know if i have mpox or not" asks how to find out; s17-chat: "is
    # there a cure for mpox or not" asks about the disease, not for a verdict)
    if _YES_OR_NO.search(text) and not _HOW_TO.search(text) and not _ABOUT_DISEASE.search(text):
        return "yes_or_no"
    if _LOOKALIKE_OR.search(text) and not _GENERAL.search(text):
        return "lookalike_or_mpox"
    own = _DESCRIBES_OWN.search(text)
    if own and (
        _TRAILING_NAME.search(text) or _LEADING_NAME.search(text) or _LEADING_SYMPTOMS.search(text)
    ):
        return "symptoms_then_name"
    if own and _ALTERNATIVES_END.search(text) and not _GENERAL.search(text):
        return "symptoms_then_alternatives"
    if own and (_MPOX_THING.search(text) or _FINDING_THEN_NAME.search(text)):
        return "symptoms_then_name"
    # (s12-chat: "mpox symptoms? what are they": "they" are the disease's symptoms, no one's)
    if (
        own
        and _WHAT_IS_IT_END.search(text)
        and not _GENERAL.search(text)
        and not (_NAMED_TOPIC_FIRST.search(text) and not _SOMEONE.search(text))
    ):
        return "symptoms_then_what"
    # Asked after a vaccine ("sore arm after the jab, thoughts?"), the finding is a reaction
    # to it, which the side-effects entry answers.
    vaccine = _VACCINE_WORDS.search(text)
    indirect = own and not action and not vaccine
    worry = (
        _WORRY_ABOUT.search(text)
        and not _KNOWN_ILLNESS.search(text)
        and not _WORRY_CATCHING.search(text)
    )
    if worry and (own or _SHOWN_FINDING.search(text)) and not vaccine:
        # ("should I worry" is not itself a question of what to do)
        if not _action_question(_WORRY_ABOUT.sub(" ", text)):
            return "worried_about_own"
    if (
        (indirect or (_SHOWN_FINDING.search(text) and not action))
        and _IDENTIFY_IT.search(text)
        and not _HOW_TO.search(text)
    ):
        return "symptoms_then_what"
    if (indirect and _HOW_LIKELY_END.search(text)) or (
        own and not vaccine and _SHOULD_THINK_END.search(text)
    ):
        return "symptoms_then_name"
    if indirect and _CONFIRM_END.search(text) and not _HOW_TO.search(text):
        return "symptoms_then_name"
    if (
        indirect
        and _FEAR.search(text)
        and _ON_OWN_BODY.search(text)
        and not _KNOWN_ILLNESS.search(text)
        and not _GENERAL.search(text)
    ):
        return "worried_about_own"
    if indirect and _WHAT_IT_IS.search(text) and not _HOW_TO.search(text):
        return "symptoms_then_what"
    if indirect and _OPINION_END.search(text):
        return "symptoms_then_opinion"
    if (
        (indirect or _ON_OWN_BODY.search(text))
        and _ASKS_OPINION.search(text)
        and not action
        and not vaccine
    ):
        return "symptoms_then_opinion"
    return None


def is_diagnosis_request(normalized_text: str) -> bool:
    """Whether the (normalised) text asks for a verdict on someone's symptoms."""
    return detect_diagnosis_request(normalized_text) is not None
