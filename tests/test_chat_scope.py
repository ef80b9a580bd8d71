"""Scope rules of the s6-chat and s7-chat work: topics no entry covers even about mpox (costs,
alcohol, catching it twice, giving blood, other vaccines given with it), comparisons with
look-alike diseases no entry describes, another disease named only as what mpox spreads like,
and questions about chickenpox or measles alone. Phrasings written for this test, as people type;
none copied from an evaluation set."""

from __future__ import annotations

import pytest

from poxscan.chat.bot import MpoxChatbot
from poxscan.chat.scope import mentions_other_topic, not_covered_topic, uncovered_comparison
from poxscan.chat.text import normalize


@pytest.fixture(scope="module")
def bot() -> MpoxChatbot:
    return MpoxChatbot()


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("do i have to pay for the mpox jab", "costs"),
        ("are the mpox jabs free in the uk", "costs"),
        ("how much does tecovirimat cost", "costs"),
        ("will insurance cover an mpox test", "costs"),
        ("is it ok to have a beer while i have mpox", "alcohol"),
        ("can you catch mpox a second time", "catching mpox again"),
        ("will my mpox come back", "catching mpox again"),
        ("can i give blood after mpox", "giving blood"),
        ("how much is the mpox jab", "costs"),
        ("can i drink while on tpoxx", "alcohol"),
        ("once you have had mpox are you immune", "catching mpox again"),
        # s10-chat: travel advice for a place, protective equipment for health or care staff,
        # telling an employer or a school.
        ("is it risky to travel to nigeria with all the mpox cases", "travel advice"),
        ("we might postpone our holiday to uganda, mpox is there", "travel advice"),
        ("are there any travel restrictions because of monkeypox", "travel advice"),
        (
            "what should hospital staff wear around mpox patients",
            "protective equipment for health workers",
        ),
        (
            "do i need an n95 mask to look after an mpox patient",
            "protective equipment for health workers",
        ),
        ("does my employer have to be told about my mpox", "telling an employer or school"),
        ("must i inform the school that my son has mpox", "telling an employer or school"),
        ("a boy has mpox, do we tell the rest of the school", "telling an employer or school"),
        (
            "does a paramedic on a monkeypox call need goggles",
            "protective equipment for health workers",
        ),
        ("does the daycare need to be told my son has mpox", "telling an employer or school"),
        # s17-chat: legal rights, investing, exact figures, naming a provider, programs,
        # religious rulings.
        ("could my employer sack me over mpox", "legal and employment rights"),
        ("im thinking of suing my ex for giving me monkeypox", "legal and employment rights"),
        ("will the airline refund my ticket if i have mpox", "legal and employment rights"),
        ("is it legal to make me stay home with mpox", "legal and employment rights"),
        ("should i invest in mpox vaccine companies", "investing"),
        ("how many mpox deaths were there in uganda this year", "exact figures and statistics"),
        ("give me the exact mpox fatality rate for 2024", "exact figures and statistics"),
        ("what ct value counts as a positive mpox pcr", "exact figures and statistics"),
        ("what is the best clinic in nairobi for mpox", "recommending a provider"),
        ("can you write code that plots mpox cases", "programming"),
        ("is the mpox vaccine haram", "religious rulings"),
        # s18-chat: expulsion, eviction and sick notes; R0 and APOBEC3; funding; privacy.
        ("will the college expel my son over mpox", "legal and employment rights"),
        ("do i need a fit note from the doctor for mpox", "legal and employment rights"),
        ("what is the r0 of mpox clade ii", "exact figures and statistics"),
        ("are there grants for mpox vaccine research", "research funding"),
        ("are my chats with you kept private", "privacy of messages and photos"),
        ("does poxscan store my photos", "privacy of messages and photos"),
        # s19-chat: a place and a year, doses bought, genes, revenue.
        ("how many mpox deaths were there in peru in 2022", "exact figures and statistics"),
        ("how many vaccine doses did canada buy for mpox", "exact figures and statistics"),
        ("what does the f13l gene of mpox code for", "the virus's genetics"),
        ("what was the mpox vaccine maker's profit last year", "investing"),
        # s20-chat: a country's laws, a hotline's number, the virus's proteins.
        ("what are the mpox laws in kenya", "legal and employment rights"),
        ("mpox helpline number for ghana", "recommending a provider"),
        ("the amino acid sequence of the mpox virus", "the virus's genetics"),
        # s21-chat: rates per population, vaccines in stock; songs and jokes, even about mpox.
        (
            "what is the prevalence of mpox per 100000 people in kenya",
            "exact figures and statistics",
        ),
        ("how many mpox vaccines are in stock in peru", "exact figures and statistics"),
        ("compose a poem about mpox", "songs, jokes and posts"),
        ("tell me a joke about mpox", "songs, jokes and posts"),
    ],
)
def test_topics_no_entry_covers_get_i_dont_know(bot, question, topic):
    assert not_covered_topic(normalize(question)) == topic
    reply = bot.reply(question)
    assert (reply.kind, reply.reason) == ("unknown", f"not_covered:{topic}")
    assert "does not cover" in reply.text and reply.entry_id is None


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        # Words of those topics in questions the knowledge base answers.
        ("when can i hug people again after mpox", "contagious_period"),
        ("should i use an alcohol-based sanitizer for mpox", "hygiene_cleaning"),
        ("is mpox symptom free at first", "symptoms_overview"),
        ("when can i come back to work after mpox", "isolation"),
        ("how much is the vaccine going to hurt", "vaccine_side_effects"),
        ("am i immune after the vaccine", "vaccine_effectiveness"),
        # s10-chat: travelling while ill, a health worker's vaccine, telling partners, going
        # back to school.
        ("is it ok to fly when i have monkeypox", "isolation"),
        ("im a nurse, can i get the mpox vaccine", "vaccine_eligibility"),
        ("when can my daughter go back to school after mpox", "isolation"),
        # s17-chat: counts that are not surveillance data, care that is not a named provider.
        ("how many doses of the mpox vaccine do i need", "vaccine_doses"),
        ("when should i see a doctor about mpox", "seek_care"),
        ("can i get an mpox test confidentially", "testing"),
        ("how many people caught mpox in 2022", "outbreak_2022"),
    ],
)
def test_those_words_elsewhere_are_still_answered(bot, question, entry_id):
    assert not_covered_topic(normalize(question)) is None
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id) == ("answer", entry_id), (question, reply.reason)


@pytest.mark.parametrize(
    "question",
    [
        "how do you tell a syphilis sore from mpox",
        "herpes vs mpox blisters",
        "mpox or hand foot and mouth, how do i know which",
        "do cold sores look like mpox",
        # s9-chat: how alike or different the two are, asked without naming the skin.
        "is mpox similar to herpes",
        "is monkeypox anything like syphilis",
        "how does mpox differ from hand foot and mouth",
        "herpes versus mpox",
        # Hand, foot and mouth typed without "and" or with hyphens.
        "is hand foot mouth disease like monkeypox",
        "mpox or hand-foot-mouth, how can you tell",
        # s10-chat: common look-alike skin findings.
        "could mpox spots be mistaken for insect bites",
        "how do i tell acne apart from monkeypox",
        # s11-chat: an allergic rash and other everyday rashes.
        "does an mpox rash look different to an allergic rash",
        "hives or monkeypox, how would i know",
        "mpox vs heat rash",
        # s12-chat: an eczema flare told apart from mpox.
        "how can you tell mpox apart from a bad eczema flare",
        "is it easy to confuse eczema with monkeypox",
        # s17-chat and s19-chat: warts, boils, childhood rashes.
        "mpox and warts, how do you tell them apart",
        "do mpox sores look like boils",
        "how is the mpox rash different from scarlet fever",
        # s20-chat: plant rashes.
        "how do you tell mpox from poison oak",
        # s21-chat: an allergic reaction rash.
        "how is an mpox rash different from an allergic reaction rash",
    ],
)
def test_telling_mpox_from_a_lookalike_rash_gets_the_testing_entry(bot, question):
    assert uncovered_comparison(normalize(question)) == ("answer", "testing")
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id, reply.reason) == ("answer", "testing", "comparison:testing")
    assert "lab" in reply.text.lower() and reply.also == ()


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        # s11-chat: an allergy alone (to the vaccine) or eczema (a risk of severe mpox) is no
        # look-alike rash.
        ("is the mpox vaccine safe if i have allergies or asthma", "vaccine_side_effects"),
        ("i have eczema, does that make mpox worse", "severe_disease_risk"),
        # (s12-chat: nor with "how do i know" beside it)
        ("how do i know if my eczema puts me at risk of severe mpox", "severe_disease_risk"),
    ],
)
def test_an_allergy_or_eczema_beside_mpox_is_no_comparison(bot, question, entry_id):
    assert uncovered_comparison(normalize(question)) is None
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id) == ("answer", entry_id), (question, reply.reason)


@pytest.mark.parametrize(
    ("question", "disease"),
    [
        ("is mpox worse than syphilis", "syphilis"),
        # Having both at once is not a comparison the testing entry answers.
        ("can you have mpox and herpes at the same time", "herpes"),
    ],
)
def test_other_comparisons_with_an_undescribed_disease_say_so(bot, question, disease):
    reply = bot.reply(question)
    assert (reply.kind, reply.reason) == ("unknown", f"comparison:{disease}")
    assert "does not describe" in reply.text and disease in reply.text


@pytest.mark.parametrize(
    "question",
    [
        "mpox and impetigo, same thing?",
        "is mpox a kind of herpes",
        "is scabies the same disease as mpox",
        "is mpox related to syphilis",
    ],
)
def test_asking_whether_mpox_is_a_lookalike_disease_gets_what_mpox_is(bot, question):
    # s7-chat: whether the two are one disease (or one a kind of the other) is answered by
    # what mpox is and which virus causes it; how alike they are is still "I don't know".
    assert uncovered_comparison(normalize(question)) == ("answer", "what_is_mpox")
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id) == ("answer", "what_is_mpox"), reply.reason
    assert "orthopoxvirus" in reply.text


def test_a_question_naming_both_without_comparing_is_left_to_retrieval():
    assert uncovered_comparison(normalize("can mpox give you herpes")) is None
    # Chickenpox and measles have comparison entries of their own.
    assert uncovered_comparison(normalize("mpox vs chickenpox spots")) is None


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how long is chickenpox contagious", "chickenpox"),
        ("measles symptoms in adults", "measles"),
        ("is it like measles", None),
        ("chickenpox and mpox, how are they different", None),
    ],
)
def test_chickenpox_or_measles_alone_is_another_topic(question, expected):
    assert mentions_other_topic(normalize(question)) == expected


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("does it spread in the air like covid does", "respiratory"),
        ("is it as easy to catch as a cold", "respiratory"),
        ("does it start like the flu", "fever_flu_like"),
    ],
)
def test_another_disease_named_only_as_what_mpox_spreads_like_is_answered(bot, question, entry_id):
    # s7-chat: "it" is mpox; the other disease is only compared with.
    assert mentions_other_topic(normalize(question)) is None
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id) == ("answer", entry_id), reply.reason


def test_another_disease_compared_in_how_bad_it_is_or_as_the_subject_is_still_out_of_scope():
    assert mentions_other_topic(normalize("is it worse than covid")) == "covid"
    assert mentions_other_topic(normalize("does covid spread like the flu")) == "covid"
    assert mentions_other_topic(normalize("is the flu as catchy as a cold")) == "flu"


@pytest.mark.parametrize(
    "question",
    [
        "is it ok to get the mpox jab the same day as a flu shot",
        "is it ok to get my covid booster and jynneos together",
        "does the hpv vaccine clash with the mpox vaccine",
    ],
)
def test_giving_the_mpox_vaccine_with_other_vaccines_is_not_covered(bot, question):
    topic = "other vaccines with the mpox vaccine"
    assert not_covered_topic(normalize(question)) == topic
    reply = bot.reply(question)
    assert (reply.kind, reply.reason) == ("unknown", f"not_covered:{topic}")


def test_hives_alone_is_another_topic_but_a_comparison_with_mpox_is_answered(bot):
    assert bot.reply("what brings on hives").reason == "other_topic:hives"
    assert bot.reply("can mpox look like hives").kind == "answer"


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("is it ok for my puppy to eat cheese", "pet food"),
        ("can cats drink cows milk", "pet food"),
        ("how do you bake bread at home", "cooking"),
        ("what sunblock is best for a beach holiday", "sunblock"),
        # s10-chat: daily amounts in general.
        ("how many hours of sleep does an adult need", "daily needs"),
        ("how much water is enough in hot weather", "daily needs"),
        # s12-chat: opening hours, sport results and events, products to recommend.
        ("what time does the health centre close today", "opening hours"),
        ("is the walk in centre open over christmas", "opening hours"),
        ("who won the tennis at wimbledon", "sport"),
        ("what were the rugby scores on saturday", "sport"),
        ("could you suggest some nice soaps for sensitive skin", "product advice"),
        # s14-chat: eating out, supplements, a child's sleep, driving hours, tattoo removal,
        # vaccines for a trip (mpox not named).
        ("any good restaurants near the station", "eating out"),
        ("best pubs in leeds for a quiet pint", "eating out"),
        ("how much vitamin c should an adult take", "supplements"),
        ("which protein shake tastes best", "supplements"),
        ("my baby won't sleep through the night, any tips", "child sleep"),
        ("how many hours can a bus driver work without a break", "driving rules"),
        ("does laser tattoo removal hurt", "tattoo removal"),
        ("which jabs do we need for a holiday in kenya", "other vaccines"),
        # s15-chat: a human medicine for a pet, travel prices, a tattoo or piercing healing,
        # flying while pregnant (mpox not named).
        ("is it ok to give our puppy some calpol", "medicines for pets"),
        ("can aspirin be given to a cat", "medicines for pets"),
        ("how much are return flights to accra in june", "travel prices"),
        ("whats the cost of a taxi to the airport", "travel prices"),
        ("my nose piercing is taking ages to heal", "tattoo and piercing aftercare"),
        ("can i take a flight at 30 weeks pregnant", "flying while pregnant"),
    ],
)
def test_everyday_topics_beside_health_are_out_of_scope(bot, question, topic):
    # s9-chat: what a pet may eat, cooking and sun cream name no mpox topic.
    assert mentions_other_topic(normalize(question)) == topic
    reply = bot.reply(question)
    assert (reply.kind, reply.reason) == ("unknown", f"other_topic:{topic}")


@pytest.mark.parametrize(
    "question",
    ["can dogs have it too", "can my dog eat it if it fell on my sores", "can cats get monkeypox"],
)
def test_pets_and_mpox_are_still_answered(bot, question):
    assert mentions_other_topic(normalize(question)) is None
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id) == ("answer", "animal_to_human"), reply.reason


def test_water_with_mpox_is_not_alcohol():
    # s10-chat: "drink when I have mpox" with water named is no question about alcohol.
    assert not_covered_topic(normalize("should i drink lots of fluids when i have mpox")) is None
    assert not_covered_topic(normalize("can i drink beer or water while on tpoxx")) == "alcohol"


@pytest.mark.parametrize(
    "question",
    [
        # s12-chat: the same words beside mpox are still answered.
        "can i go and watch the football at the pub if i have mpox",
        "is the sexual health clinic open to everyone for the mpox jab",
        "what time does the sexual health clinic open for mpox testing",
    ],
)
def test_opening_hours_and_sport_beside_mpox_are_answered(bot, question):
    # (the opening hours are named in the last, but beside mpox)
    assert bot.reply(question).kind == "answer"


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        # s14-chat: the same everyday words beside mpox are still answered.
        ("can you catch mpox in restaurants in spain", None),
        ("does vitamin c cure mpox", "unproven_remedies"),
        ("can i get mpox from a tattoo parlour", None),
        ("what jabs do i need for a trip if there is mpox where i am going", None),
        # s15-chat: the same words beside mpox.
        ("can my dog catch mpox if i give him his tablets", "animal_to_human"),
        ("is flying while pregnant risky with mpox going around", None),
        ("can a new tattoo get infected with mpox while it heals", None),
    ],
)
def test_s14_everyday_words_beside_mpox_are_answered(bot, question, entry):
    reply = bot.reply(question)
    assert reply.kind == "answer", reply.reason
    if entry is not None:
        assert reply.entry_id == entry


@pytest.mark.parametrize(
    "question",
    [
        # s15-chat: another vaccine said to cause mpox is a claim about what mpox is.
        "does the coronavirus vaccine cause mpox",
        "my aunt thinks mpox came from the flu jab",
        "was monkeypox made by the covid-19 shots",
    ],
)
def test_another_vaccine_said_to_cause_mpox_gets_what_mpox_is(bot, question):
    assert not_covered_topic(normalize(question)) is None
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id) == ("answer", "what_is_mpox"), reply.reason


def test_giving_the_mpox_jab_beside_a_covid_jab_is_still_not_covered():
    # s15-chat: the cause pattern leaves the other-vaccines topic as it was.
    text = normalize("can i have my covid booster and the mpox vaccine together")
    assert not_covered_topic(text) == "other vaccines with the mpox vaccine"


def test_chit_chat_without_mpox_is_another_topic(bot):
    # s18-chat: stories and gadgets; a story of mpox's discovery is still answered.
    assert bot.reply("tell me a story before bed").reason == "other_topic:stories and shopping"
    assert bot.reply("which laptop should i buy").reason == "other_topic:stories and shopping"
    assert bot.reply("tell me the story of how mpox was discovered").kind == "answer"
    # s19-chat: the time, writing a text, a sports injury.
    for question in (
        "what time is it in lagos",
        "write me a toast for my sister's wedding",
        "my ankle hurts after football practice",
    ):
        assert bot.reply(question).reason == "other_topic:everyday requests", question
    # s20-chat: apps to pick; the tool's own app is still answered.
    assert bot.reply("which is the best fitness app").reason == "other_topic:stories and shopping"
    assert bot.reply("can this app tell me if i have mpox").kind != "unknown"
    # s21-chat: passports, other medicines, teeth, quantum computing, a misspelt mono.
    for question, topic in (
        ("how do i renew my passport", "passport"),
        ("side effects of statins", "statins"),
        ("my teeth hurt", "teeth"),
        ("what is quantum computing", "quantum"),
        ("is mononucleossis contagious", "mononucleosis"),
    ):
        assert bot.reply(question).reason == f"other_topic:{topic}", question


def test_a_topic_with_its_own_advisers_names_them(bot):
    # s17-chat: a legal question is sent to legal advice, not to a pharmacist.
    reply = bot.reply("can my landlord evict me for having mpox, is that legal")
    assert reply.reason == "not_covered:legal and employment rights"
    assert "lawyer" in reply.text and "pharmacist" not in reply.text


def test_every_adviser_is_for_a_topic_scope_names():
    # The advisers are looked up by topic name: a renamed topic would silently lose its own.
    from poxscan.chat.bot import _ASK_INSTEAD
    from poxscan.chat.scope import _NOT_COVERED

    assert set(_ASK_INSTEAD) <= {name for name, _ in _NOT_COVERED}
