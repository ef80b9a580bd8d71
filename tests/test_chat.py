"""The mpox chatbot: knowledge base, routing, refusals, out-of-scope, evaluation metrics, CLI."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from poxscan.chat import ChatReply, MpoxChatbot, load_knowledge_base
from poxscan.chat.diagnosis import detect_diagnosis_request
from poxscan.chat.text import normalize
from poxscan.cli import main

REPO = Path(__file__).resolve().parents[1]


def _load_eval_module():
    spec = importlib.util.spec_from_file_location(
        "chat_eval", REPO / "experiments" / "chat_eval.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bot() -> MpoxChatbot:
    return MpoxChatbot()


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base()


# ----------------------------------------------------------------- knowledge base
def test_kb_size_and_fields(kb):
    assert 30 <= len(kb) <= 50
    assert kb.as_of == "October 2023"
    for entry in kb.entries:
        assert len(entry.questions) >= 3, entry.id
        sentences = re.findall(r"[.!?](?:\s|$)", entry.answer)
        assert 2 <= len(sentences) <= 5, (entry.id, len(sentences))


def test_every_entry_cites_a_cdc_or_who_page(kb):
    for entry in kb.entries:
        assert entry.sources, entry.id
        hosts = [urlparse(s.url).hostname or "" for s in entry.sources]
        assert any(h.endswith(("cdc.gov", "who.int")) for h in hosts), (entry.id, hosts)
        assert all(s.title and s.url.startswith("https://") for s in entry.sources)


def test_kb_covers_the_required_facts(kb):
    text = " ".join(e.answer for e in kb.entries).lower()
    for fact in (
        "jynneos",
        "lc16",
        "acam2000",
        "4 days",
        "14 days",
        "tecovirimat",
        "ea-ind",
        "pcr",
        "23 july 2022",
        "11 may 2023",
        "clade ib",
        "1 to 21 days",
    ):
        assert fact in text, fact


def test_kb_rejects_a_source_outside_cdc_and_who(tmp_path):
    bad = tmp_path / "kb.yaml"
    bad.write_text(
        "as_of: October 2023\ntopics: {symptoms: Symptoms}\nentries:\n"
        "  - id: x\n    topic: symptoms\n    questions: ['a?', 'b?']\n    answer: A. B.\n"
        "    sources: [{title: Blog, url: 'https://example.com/mpox'}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"kb\.yaml.*example\.com"):
        load_knowledge_base(bad)


def test_kb_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        load_knowledge_base(tmp_path / "nope.yaml")


# -------------------------------------------------------------------- routing
@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("What are the symptoms of mpox?", "symptoms_overview"),
        ("How is monkeypox transmitted?", "transmission_overview"),
        ("What is the incubation period of mpox?", "incubation_period"),
        ("How many doses of the mpox vaccine do I need?", "vaccine_doses"),
        ("What is tecovirimat?", "tecovirimat"),
        ("When was the mpox PHEIC declared and when did it end?", "outbreak_2022"),
        ("how would I tell mpox apart from chickenpox", "mpox_vs_chickenpox"),
        ("can my cat get monkeypox from me", "animal_to_human"),
    ],
)
def test_known_questions_route_to_their_entries(bot, question, entry_id):
    reply = bot.reply(question)
    assert reply.kind == "answer", reply
    assert reply.entry_id == entry_id
    assert reply.sources == bot.kb.get(entry_id).sources
    assert reply.sources[0].url in reply.text
    assert "October 2023" in reply.text


def test_every_entry_is_found_by_its_own_first_variant(bot, kb):
    replies = bot.reply_many([e.questions[0] for e in kb.entries])
    assert [r.entry_id for r in replies] == list(kb.ids)


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("wat r the symtoms of monkey pox", "symptoms_overview"),
        ("how long is the incubaton period for monkeypocks", "incubation_period"),
        ("is tecovirmat aproved for mpox", "tecovirimat"),
    ],
)
def test_misspelled_questions_still_route(bot, question, entry_id):
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id) == ("answer", entry_id)


# -------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    "question",
    [
        "I have spots on my arm, is it mpox?",
        "do I have monkeypox",
        "my son has blisters on his hands, could it be monkey pox?",
        "got bumps on my face and a fever. mpox?",
        "diagnose my rash",
    ],
)
def test_diagnosis_requests_are_refused(bot, question):
    reply = bot.reply(question)
    assert reply.kind == "refusal"
    assert reply.entry_id is None
    text = reply.text.lower()
    assert "clinician" in text
    assert "poxscan predict" in text and "image screening tool" in text
    assert "not a diagnosis" in text
    assert any("cdc.gov" in s.url for s in reply.sources)


@pytest.mark.parametrize(
    ("question", "entry_ids"),
    [
        ("I was exposed to mpox, how soon should I get the vaccine?", {"after_exposure"}),
        # Both entries answer it (the severe-disease one names advanced HIV).
        (
            "I have HIV, am I at higher risk of severe mpox?",
            {"hiv_and_mpox", "severe_disease_risk"},
        ),
        ("my arm is red after the mpox shot, is that normal", {"vaccine_side_effects"}),
        ("I think I have mpox, what should I do?", {"isolation", "seek_care"}),
    ],
)
def test_first_person_questions_that_ask_no_verdict_are_answered(bot, question, entry_ids):
    reply = bot.reply(question)
    assert reply.kind == "answer", reply.reason
    assert reply.entry_id in entry_ids


def test_no_knowledge_base_question_looks_like_a_diagnosis_request(kb):
    flagged = [q for e in kb.entries for q in e.questions if detect_diagnosis_request(normalize(q))]
    assert flagged == []


# ---------------------------------------------------------------- out of scope
@pytest.mark.parametrize(
    "question",
    [
        "what are the symptoms of covid",
        "how do I bake sourdough bread",
        "should I buy tesla stock",
        "how is the flu treated",
        "",
    ],
)
def test_out_of_scope_questions_get_unknown(bot, question):
    reply = bot.reply(question)
    assert reply.kind == "unknown"
    assert reply.entry_id is None
    assert reply.sources == ()


def test_unknown_reply_suggests_topics(bot):
    reply = bot.reply("how do I bake sourdough bread")
    assert reply.suggestions
    assert "symptoms" in reply.text.lower()


def test_reply_is_json_serialisable(bot):
    data = json.loads(json.dumps(bot.reply("is mpox airborne?").to_dict()))
    assert data["kind"] == "answer" and data["entry_id"] == "respiratory"
    assert 0.0 < data["score"] <= 1.0
    assert all(set(s) == {"title", "url"} for s in data["sources"])


def test_bots_share_one_fitted_index():
    assert MpoxChatbot().retriever is MpoxChatbot().retriever


def test_thresholds_decide_between_answer_and_unknown():
    question = "how long does mpox last"
    strict = MpoxChatbot(thresholds={"named": 0.99, "unnamed": 0.99}).reply(question)
    lenient = MpoxChatbot(thresholds={"named": 0.0, "unnamed": 0.0}).reply(question)
    assert isinstance(strict, ChatReply)
    assert strict.kind == "unknown" and strict.reason == "low_confidence"
    assert lenient.kind == "answer" and lenient.entry_id == "illness_duration"
    assert strict.score == pytest.approx(lenient.score)


# ------------------------------------------------------------------ evaluation
def test_eval_metrics_on_a_hand_made_case():
    chat_eval = _load_eval_module()
    expected = ["a", "b", "c", "refusal", "refusal", "unknown", "unknown"]
    predicted = ["a", "c", "unknown", "refusal", "unknown", "refusal", "unknown"]
    m = chat_eval.compute_metrics(expected, predicted, [f"q{i}" for i in range(7)])
    assert m["n"] == 7
    assert m["accuracy"] == pytest.approx(3 / 7)
    assert m["answerable"]["n"] == 3
    assert m["answerable"]["top1_accuracy"] == pytest.approx(1 / 3)
    assert (m["refusal"]["tp"], m["refusal"]["fp"], m["refusal"]["fn"]) == (1, 1, 1)
    assert m["refusal"]["precision"] == pytest.approx(0.5)
    assert m["refusal"]["recall"] == pytest.approx(0.5)
    # unknown: predicted for q2 (wrong), q4 (wrong), q6 (right); expected for q5, q6.
    assert m["unknown"]["precision"] == pytest.approx(1 / 3)
    assert m["unknown"]["recall"] == pytest.approx(0.5)
    assert [x["question"] for x in m["misses"]] == ["q1", "q2", "q4", "q5"]
    assert chat_eval.compute_metrics([], [])["accuracy"] is None
    with pytest.raises(ValueError, match="2 expected labels but 1"):
        chat_eval.compute_metrics(["a", "b"], ["a"])


def test_eval_set_is_large_enough_and_not_copied_from_the_kb(kb):
    chat_eval = _load_eval_module()
    items = chat_eval.load_eval(REPO / "experiments" / "chat_eval.yaml", kb.ids)
    main_items = [it for it in items if it["split"] == "main"]
    assert len(main_items) >= 120
    assert sum(it["expect"] == "refusal" for it in main_items) >= 20
    assert sum(it["expect"] == "unknown" for it in main_items) >= 10
    variants = {re.sub(r"\W+", " ", q.lower()).strip() for e in kb.entries for q in e.questions}
    copied = [it["q"] for it in items if re.sub(r"\W+", " ", it["q"].lower()).strip() in variants]
    assert copied == []


# ------------------------------------------------------------------------- CLI
def test_cli_ask_json(capsys):
    assert main(["chat", "--ask", "How does mpox spread?", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "answer"
    assert data["entry_id"] == "transmission_overview"
    assert any("cdc.gov" in s["url"] for s in data["sources"])


def test_cli_interactive_loop_stops_at_quit(capsys, monkeypatch):
    session = "is mpox deadly?\n\ndo I have mpox\nquit\nwhat is mpox\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(session))
    assert main(["chat", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    kinds = [json.loads(line)["kind"] for line in lines]
    assert kinds == ["answer", "refusal"]


def test_cli_interactive_loop_ends_at_eof(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("how is mpox treated?\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "supportive care" in out and "Sources:" in out


def test_cli_missing_kb_is_a_clear_error(capsys, tmp_path):
    assert main(["chat", "--kb", str(tmp_path / "missing.yaml"), "--ask", "hi"]) == 2
    assert "missing.yaml" in capsys.readouterr().err
