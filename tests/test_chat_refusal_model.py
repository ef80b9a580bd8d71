"""The learned second opinion on refusals (s13-chat, :mod:`poxscan.chat.refusal_model`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from poxscan.chat.bot import MpoxChatbot
from poxscan.chat.diagnosis import detect_diagnosis_request
from poxscan.chat.refusal_model import (
    THRESHOLD,
    RefusalModel,
    load_examples,
    model_may_refuse,
    model_refuses,
    shipped_model,
)
from poxscan.chat.text import normalize

REPO = Path(__file__).resolve().parents[1]
EXP = REPO / "experiments"
sys.path.insert(0, str(EXP))

from chat_eval_data import DEVELOPMENT_SINCE  # noqa: E402


@pytest.fixture(scope="module")
def bot() -> MpoxChatbot:
    return MpoxChatbot()


def test_examples_come_only_from_development_sets():
    # Only development sets train the model; the holdouts still scored as such stay unseen
    # (their common wordings, e.g. "tell me a joke", may also be in a development set).
    texts, labels, groups = load_examples()
    assert len(texts) == len(labels) == len(groups) > 3200
    development = {"questions", "dev_informal", *DEVELOPMENT_SINCE}
    development |= {f"probes_{s}" for s in ("s6", "s9", "s10", "s11", "s12", "s13")}
    assert set(groups) <= development
    # s14-chat: v12 (a development set since) and the s13 probes are in; the s14 probes, this
    # round's check list, are not.
    assert {"holdout_v12", "probes_s13"} <= set(groups)
    assert not {"holdout", "holdout_final", "holdout_informal", "probes_s14"} & set(groups)


def test_fit_is_deterministic():
    texts, labels, _ = load_examples()
    texts = [normalize(t) for t in texts[:600]]
    probe = [normalize("my spots look like the pictures of mpox, so i have it?")]
    first = RefusalModel(texts, labels[:600]).probability(probe)
    second = RefusalModel(texts, labels[:600]).probability(probe)
    assert first.tolist() == second.tolist()


@pytest.mark.parametrize(
    "question",
    [
        # s13 probe wordings the rules miss (experiments/chat_probes_s13.txt; "a mpox that?"
        # is a rule's since s19-chat, see tests/test_chat_refusal.py).
        "these sores on my bum, monkeypox or herpes, which one",
        "sis my spots look exactly like the google pics of mpox so i have it yeah?",
    ],
)
def test_request_the_rules_miss_is_refused_by_the_model(bot, question):
    text = normalize(question)
    assert detect_diagnosis_request(text) is None
    assert model_refuses(text)
    reply = bot.reply(question)
    assert reply.kind == "refusal" and reply.reason == "diagnosis:learned"


@pytest.mark.parametrize(
    "question",
    [
        # A personal cue but no verdict cue: care of one's own sores is answered.
        "is it ok to shave over my spots",
        "can my dog eat it if it fell on my sores",
        # A known illness, what to do, a tool's capability: answered by design.
        "i have mpox, is my rash serious",
        "i think my baby has mpox what do i do",
        "can this app diagnose me",
        # General questions and comparisons.
        "mpox or herpes, how do doctors tell them apart",
        "what does the mpox rash look like on dark skin",
        "can a photo be used to diagnose mpox",
        # s17-chat: what the tool does with what it is sent.
        "does this app keep my pictures of the mpox rash",
        "what happens to my photo after the mpox scan",
    ],
)
def test_model_does_not_refuse_answerable_questions(bot, question):
    assert not model_refuses(normalize(question))
    assert bot.reply(question).kind != "refusal"


def test_model_is_consulted_only_with_personal_and_verdict_cues():
    assert model_may_refuse(normalize("does my rash look like mpox to you"))
    assert not model_may_refuse(normalize("what does an mpox rash look like"))
    assert not model_may_refuse(normalize("is it ok to shave over my spots"))
    # Consulted, yet below the threshold: the probability decides.
    assert shipped_model().probability([normalize("tell me a joke")])[0] < THRESHOLD


def test_s13_probes_no_false_refusal_and_more_refused_than_rules():
    rows = []
    for line in (EXP / "chat_probes_s13.txt").read_text(encoding="utf-8").splitlines():
        label, _, q = line.partition("|")
        if label in ("refusal", "answer"):
            rows.append((label == "refusal", normalize(q)))
    rules = [detect_diagnosis_request(t) is not None for _, t in rows]
    both = [r or model_refuses(t) for r, (_, t) in zip(rules, rows, strict=True)]
    wanted = [w for w, _ in rows]
    assert sum(wanted) >= 40 and len(wanted) - sum(wanted) >= 40
    assert not any(b and not w for b, w in zip(both, wanted, strict=True))
    refused = sum(b and w for b, w in zip(both, wanted, strict=True))
    assert refused > sum(r and w for r, w in zip(rules, wanted, strict=True))
    assert refused >= 39


def test_s14_probes_rules_and_model_refuse_requests_only():
    # experiments/chat_probes_s14.txt, not among the examples: every request refused, no other
    # label (a general question, an entry id, "unknown") refused.
    rows = []
    for line in (EXP / "chat_probes_s14.txt").read_text(encoding="utf-8").splitlines():
        label, _, q = line.partition("|")
        if q and not line.startswith("#"):
            rows.append((label == "refusal", normalize(q)))
    got = [detect_diagnosis_request(t) is not None or model_refuses(t) for _, t in rows]
    wanted = [w for w, _ in rows]
    assert sum(wanted) == 20 and len(wanted) == 50
    assert got == wanted


def test_the_export_reproduces_the_shipped_examples():
    # `python experiments/export_refusal_examples.py` must give the committed file, line for
    # line: it once drifted (v13-v22 became development sets and the file stayed as it was).
    from export_refusal_examples import OUT, collect

    texts, labels, groups = load_examples()
    assert OUT.resolve() == (REPO / "poxscan" / "chat" / "refusal_examples.txt").resolve()
    assert collect() == list(zip(labels.tolist(), groups, texts, strict=True))
