"""Scope rules of the s6-chat work: topics no entry covers even about mpox (costs, alcohol,
catching it twice, giving blood), comparisons with look-alike diseases no entry describes, and
questions about chickenpox or measles alone. Phrasings written for this test, as people type;
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
    ],
)
def test_telling_mpox_from_a_lookalike_rash_gets_the_testing_entry(bot, question):
    assert uncovered_comparison(normalize(question)) == ("answer", "testing")
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id, reply.reason) == ("answer", "testing", "comparison:testing")
    assert "lab" in reply.text.lower() and reply.also == ()


@pytest.mark.parametrize(
    ("question", "disease"),
    [
        ("is mpox worse than syphilis", "syphilis"),
        ("mpox and impetigo, same thing?", "impetigo"),
        ("is mpox similar to herpes", "herpes"),
    ],
)
def test_other_comparisons_with_an_undescribed_disease_say_so(bot, question, disease):
    reply = bot.reply(question)
    assert (reply.kind, reply.reason) == ("unknown", f"comparison:{disease}")
    assert "does not describe" in reply.text and disease in reply.text


def test_a_question_naming_both_without_comparing_is_left_to_retrieval():
    assert uncovered_comparison(normalize("is mpox a type of herpes")) is None
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


def test_hives_alone_is_another_topic_but_a_comparison_with_mpox_is_answered(bot):
    assert bot.reply("what brings on hives").reason == "other_topic:hives"
    assert bot.reply("can mpox look like hives").kind == "answer"
