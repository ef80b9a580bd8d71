"""Safety answers on informal wording (s4-chat): keep taking HIV treatment / PrEP; no doses,
ask a clinician or pharmacist; unproven remedies are not mpox treatments; children, pregnancy
and eye symptoms escalate to urgent care; every answer states the date its facts are valid for.

Phrasings written for this test, as people type; none copied from an evaluation set.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from poxscan.chat.bot import MpoxChatbot
from poxscan.chat.safety import DOSE_ENTRY, safety_entry
from poxscan.chat.text import normalize


@pytest.fixture(scope="module")
def bot():
    return MpoxChatbot()


def _answer(bot, question, entry_ids):
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id in entry_ids) == ("answer", True), (
        question,
        reply.kind,
        reply.entry_id,
        reply.reason,
    )
    # The knowledge base's validity date is stated in the answer, sources are CDC/WHO links.
    assert reply.as_of == "October 2023" and "Information as of October 2023" in reply.text
    assert reply.sources
    assert all(urlparse(s.url).hostname.endswith(("cdc.gov", "who.int")) for s in reply.sources)
    return reply


@pytest.mark.parametrize(
    "question",
    [
        "do i stop my hiv meds if i get mpox",
        "got mpox, can i keep taking biktarvy",
        "should i quit prep now",
        "on arvs and caught monkeypox, carry on taking them?",
    ],
)
def test_keep_taking_hiv_treatment_and_prep(bot, question):
    text = _answer(bot, question, {"hiv_treatment_prep"}).text.lower()
    assert "keep taking your hiv treatment" in text and "do not stop" in text
    assert "prep" in text and "clinician" in text


@pytest.mark.parametrize(
    "question",
    [
        "how much ibuprofen for mpox pain",
        "how many tpoxx a day",
        "whats the dose of tecovirimat for a kid",
        "how many paracetamol can i have with mpox sores",
        "can i double up on painkillers for the mpox pain",
        "how often can i take advil for mpox",
        # s22-chat: the most one may take in a day.
        "what is the maximum paracetamol a day for mpox pain",
        "whats the max ibuprofen in 24 hours with mpox",
    ],
)
def test_no_doses_clinician_or_pharmacist(bot, question):
    reply = _answer(bot, question, {DOSE_ENTRY})
    assert "does not give doses" in reply.text and "pharmacist" in reply.text
    assert not re.search(r"\d+\s*(?:mg|milligram|tablet|pill)", reply.text.lower())
    assert reply.also == ()  # a safety answer offers no other entries


def test_the_dose_route_needs_a_medicine_and_leaves_vaccines_and_prices_alone():
    assert safety_entry(normalize("how much tecovirimat should I take")) == DOSE_ENTRY
    assert safety_entry(normalize("how many doses of the mpox vaccine do i need")) is None
    assert safety_entry(normalize("how much does tpoxx cost")) is None
    assert safety_entry(normalize("how much time does mpox take to heal")) is None
    # Drug names come from the lexicon (a brand name only it lists, and a misspelling).
    assert safety_entry(normalize("how many augmentin can i take for the sores")) == DOSE_ENTRY
    assert safety_entry(normalize("how much tecovir should i have")) == DOSE_ENTRY
    assert safety_entry(normalize("how many jynneos doses")) is None
    # "the right amount of" asks for a dose too.
    assert (
        safety_entry(normalize("whats the right amount of tecovirimat for an adult")) == DOSE_ENTRY
    )
    assert safety_entry(normalize("what amount of the mpox vaccine is given")) is None
    # s9-chat: the medicine's name between "how many" and the pills.
    assert safety_entry(normalize("how many ibuprofen tablets can i have for mpox")) == DOSE_ENTRY
    assert safety_entry(normalize("how many tpoxx capsules a day")) == DOSE_ENTRY
    assert safety_entry(normalize("how many jynneos shot doses do i need")) is None


@pytest.mark.parametrize(
    "question",
    [
        "ivermectin for mpox does it work",
        "will amoxicillin get rid of monkeypox",
        "tea tree oil on mpox sores, will it cure it",
        "colloidal silver for monkeypox?",
    ],
)
def test_unproven_remedies_are_not_treatments(bot, question):
    text = _answer(bot, question, {"unproven_remedies"}).text.lower()
    assert "not treatments for mpox" in text


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("my baby has mpox what do i do", "children"),
        ("can my 3 year old get really sick from mpox", "children"),
        ("im pregnant and think i was around someone with mpox", "pregnancy_newborns"),
        ("preggo and exposed to monkeypox", "pregnancy_newborns"),
        ("mpox spot on my eyelid and my eye hurts", "eye_symptoms"),
        ("eyes gone blurry since the mpox started", "eye_symptoms"),
    ],
)
def test_children_pregnancy_and_eyes_escalate(bot, question, entry_id):
    text = _answer(bot, question, {entry_id}).text.lower()
    assert "urgent" in text


def test_refusals_state_the_date_too(bot):
    reply = bot.reply("is this rash on my arm mpox")
    assert reply.kind == "refusal" and reply.as_of == "October 2023"
    assert "Information as of October 2023" in reply.text


@pytest.mark.parametrize(
    ("question", "words", "entry_id"),
    [
        (
            "im pregnant and i think i have mpox",
            "maternity service the same day",
            "pregnancy_newborns",
        ),
        ("is my daughters rash mpox", "child who may have mpox should see a doctor", "children"),
    ],
)
def test_refusals_escalate_for_pregnancy_and_children(bot, question, words, entry_id):
    reply = bot.reply(question)
    assert reply.kind == "refusal" and words in reply.text
    # The added advice cites its entry's sources too.
    assert set(bot.kb.get(entry_id).sources) <= set(reply.sources)
    # A refusal about an adult says neither.
    plain = bot.reply("is this rash on my arm mpox").text
    assert "maternity" not in plain and "child who may" not in plain


@pytest.mark.parametrize(
    "question",
    [
        "pregnant and scared i have mpox, will it affect the baby",
        "expecting a baby and i might have caught mpox, is the baby at risk",
    ],
)
def test_a_pregnancy_question_after_a_suspicion_is_answered(bot, question):
    text = _answer(bot, question, {"pregnancy_newborns"}).text.lower()
    assert "same day" in text and "urgent" in text


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("i have mpox and cant breathe properly", "seek_care"),
        ("my mpox spots are spreading and i feel faint", "seek_care"),
        ("my toddler has mpox spots and is really drowsy and won't drink", "children"),
        ("36 weeks pregnant, mpox sores and chest pain", "pregnancy_newborns"),
        # s15-chat: barely or hardly breathing, out of breath.
        ("got mpox and can hardly breathe tonight", "seek_care"),
        ("my husband has mpox sores and he is out of breath", "seek_care"),
        # s16-chat: not able to pee.
        ("i have mpox and i cant pee", "seek_care"),
        ("mpox sores and hard to wee since yesterday", "seek_care"),
        ("my son has mpox and cant pee", "children"),
    ],
)
def test_warning_signs_with_mpox_escalate_to_urgent_care(bot, question, entry_id):
    reply = _answer(bot, question, {entry_id})
    assert reply.reason == f"safety:{entry_id}" and "urgent" in reply.text.lower()
    assert "trouble breathing" in reply.text


def test_warning_sign_words_elsewhere_take_no_safety_route():
    # No mpox context, or "confused about" a question.
    assert safety_entry(normalize("what causes chest pain")) is None
    assert safety_entry(normalize("im confused about how many mpox doses i need")) is None
    assert safety_entry(normalize("can mpox damage your eyesight")) is None
    # s7-chat: puzzled by a question ("im confused, does mpox ..."), not delirious.
    assert safety_entry(normalize("read a lot and im confused, does mpox spread by sex")) is None
    assert safety_entry(normalize("so confused. how does mpox spread")) is None
    # Peeling a scab or weeks of mpox are not "can't pee" / "can't wee".
    assert safety_entry(normalize("is it hard to peel off the mpox scabs")) is None
    assert safety_entry(normalize("can not peel the scab off my mpox sore")) is None
    assert safety_entry(normalize("i have mpox and cant weed the garden")) is None
    # Still a warning sign when nothing of the kind follows.
    assert safety_entry(normalize("i have mpox and feel very confused, what now")) == "seek_care"


@pytest.mark.parametrize(
    "question",
    [
        "can i take three advil at once for the sores",
        "is it ok to double my paracetamol with mpox",
        "is it safe to give ibuprofen to my 4 year old with mpox",
        "can i give my daughter calpol for her mpox spots",
        # s11-chat: how often, as a dose; antihistamines by generic or brand name.
        "i take one nurofen every 3 hours for mpox, is that fine",
        "how much zyrtec is ok for the mpox itch",
        "how many cetirizine can i have in a day with monkeypox",
    ],
)
def test_several_tablets_at_once_or_a_medicine_for_a_child_get_no_dose(bot, question):
    # s7-chat: taking more at once, doubling, or a medicine to give a child is a
    # pharmacist's or clinician's question.
    reply = _answer(bot, question, {DOSE_ENTRY})
    assert reply.reason == f"safety:{DOSE_ENTRY}" and "pharmacist" in reply.text


@pytest.mark.parametrize(
    "question",
    [
        "should i dab bleach on my mpox blisters",
        "would drinking a bit of disinfectant kill mpox",
        "can i soak in a bath of bleach to get rid of the spots",
        "is it ok to clean my sores with dettol",
        "someone told me bleach baths get rid of mpox, true?",
    ],
)
def test_household_chemicals_on_the_skin_or_swallowed_get_the_unproven_remedies_entry(
    bot, question
):
    reply = _answer(bot, question, {"unproven_remedies"})
    assert reply.reason == "safety:unproven_remedies" and "cause harm" in reply.text


def test_cleaning_the_home_with_bleach_is_still_the_cleaning_entry(bot):
    for question in ("can i use bleach on the bedsheets", "is bleach ok for the bathroom floor"):
        assert safety_entry(normalize(question)) is None, question
    assert safety_entry(normalize("can i use hand sanitiser against mpox")) is None


def test_sores_that_look_infected_get_urgent_care(bot):
    reply = _answer(bot, "my mpox sores look infected and are oozing", {"seek_care"})
    assert reply.reason == "safety:seek_care" and "skin infection" in reply.text
    assert safety_entry(normalize("how do people get infected with mpox")) is None
