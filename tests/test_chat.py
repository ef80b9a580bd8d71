"""The mpox chatbot: knowledge base, routing, refusals, out-of-scope, evaluation metrics, CLI."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from _experiments import load_experiment

from poxscan.chat import ChatReply, MpoxChatbot, load_knowledge_base
from poxscan.chat.diagnosis import detect_diagnosis_request
from poxscan.chat.text import normalize
from poxscan.cli import main

REPO = Path(__file__).resolve().parents[1]


def _load_eval_module():
    return load_experiment("chat_eval")


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


def _one_entry_kb(path, fields: str):
    """A knowledge base file of one entry, its last lines ``fields``."""
    path.write_text(
        "as_of: October 2023\ntopics: {symptoms: Symptoms}\nentries:\n"
        "  - id: x\n    topic: symptoms\n    questions: ['a?', 'b?']\n    answer: A. B.\n" + fields,
        encoding="utf-8",
    )
    return path


def test_kb_rejects_a_source_outside_cdc_and_who(tmp_path):
    bad = _one_entry_kb(
        tmp_path / "kb.yaml", "    sources: [{title: Blog, url: 'https://example.com/mpox'}]\n"
    )
    with pytest.raises(ValueError, match=r"kb\.yaml.*example\.com"):
        load_knowledge_base(bad)


def test_kb_rejects_a_requires_that_is_not_a_regular_expression(tmp_path):
    bad = _one_entry_kb(
        tmp_path / "kb.yaml",
        "    requires: '(smallpox'\n    sources: [{title: CDC, url: 'https://www.cdc.gov/mpox'}]\n",
    )
    with pytest.raises(ValueError, match=r"kb\.yaml: entry 0 \(x\): requires is not a regular"):
        load_knowledge_base(bad)


def test_entries_that_need_their_subject_named_match_every_own_variant(kb):
    # s7-chat: an entry with `requires` answers only questions naming its subject, so each of
    # its own variants must name it (else self-retrieval would lose them).
    needing = [e for e in kb.entries if e.requires]
    assert {e.id for e in needing} >= {"smallpox_vaccine_past", "mpox_vs_chickenpox"}
    for entry in needing:
        for q in entry.questions:
            assert re.search(entry.requires, normalize(q)), (entry.id, q)


@pytest.mark.parametrize(
    ("question", "not_entry"),
    [
        # A vaccine question that names no old smallpox jab is not about it.
        ("does a single jab protect you", "smallpox_vaccine_past"),
        ("got my shot 10 days ago, am i covered yet", "smallpox_vaccine_past"),
        # "chicken" alone is not chickenpox.
        ("best way to cook chicken", "mpox_vs_chickenpox"),
    ],
)
def test_an_entry_needing_its_subject_is_not_given_without_it(bot, question, not_entry):
    assert bot.reply(question).entry_id != not_entry
    assert not bot.allowed(normalize(question))[bot.kb.ids.index(not_entry)]


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


# ------------------------------------------------------------- safety answers (issue 14)
def _answer(bot, question):
    reply = bot.reply(question)
    assert reply.kind == "answer", (question, reply.kind, reply.reason)
    assert "October 2023" in reply.text and reply.as_of == "October 2023"
    assert all(urlparse(s.url).hostname.endswith(("cdc.gov", "who.int")) for s in reply.sources)
    return reply


@pytest.mark.parametrize(
    "question",
    [
        "Should I stop taking my HIV medication because of mpox?",
        "i have mpox, can i carry on with my PrEP",
    ],
)
def test_hiv_treatment_and_prep_are_kept(bot, question):
    reply = _answer(bot, question)
    assert reply.entry_id == "hiv_treatment_prep"
    text = reply.text.lower()
    assert "keep taking your hiv treatment" in text and "prep" in text
    assert "do not stop" in text and "clinician" in text


@pytest.mark.parametrize(
    "question",
    [
        "how much TPOXX do I take",
        "how many mg of ibuprofen for mpox sores",
        # s13-chat: herpes antivirals named, "milligrams" misspelt.
        "how many mg of valaciclovir should i take for mpox",
        "how many miligrams of tecovirimat for an adult",
    ],
)
def test_no_doses_are_given(bot, question):
    reply = _answer(bot, question)
    assert reply.entry_id == "medicine_doses"
    assert "does not give doses" in reply.text and "pharmacist" in reply.text
    assert not re.search(r"\d+\s*(?:mg|milligram|tablet|pill)", reply.text.lower())


@pytest.mark.parametrize(
    "question",
    [
        "does ivermectin cure mpox",
        "should I take antibiotics for monkeypox",
        "herbal cure for mpox?",
    ],
)
def test_unproven_remedies_are_not_mpox_treatments(bot, question):
    reply = _answer(bot, question)
    assert reply.entry_id == "unproven_remedies"
    text = reply.text.lower()
    assert "ivermectin, antibiotics" in text and "not treatments for mpox" in text


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("what should I do if my child gets mpox", "children"),
        ("I'm pregnant and was exposed to mpox", "pregnancy_newborns"),
        ("mpox sore right next to my eye, what now", "eye_symptoms"),
    ],
)
def test_children_pregnancy_and_eyes_escalate_to_urgent_care(bot, question, entry_id):
    reply = _answer(bot, question)
    assert reply.entry_id == entry_id
    assert "urgent" in reply.text.lower()


# ---------------------------------------------------- refusal rule and comparisons (issue 14)
@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("is mpox worse than chickenpox?", "mpox_vs_chickenpox"),
        ("do measles spots look the same?", "mpox_vs_measles"),
        ("is it like chicken pox", "mpox_vs_chickenpox"),
        ("is monkeypox as bad as chickenpox", "mpox_vs_chickenpox"),
        ("does an mpox rash look like measles", "mpox_vs_measles"),
        ("how do I check my rash for mpox signs", None),
        # Asking what is normal for mpox, or where to go, is not a verdict request.
        ("is it normal for mpox sores to have a dip in the middle", None),
        ("blisters with a dent, is that typical for monkeypox", None),
        ("where to go if i think i have mpox", None),
        ("is the rash from mpox itchy", None),
    ],
)
def test_comparisons_and_general_questions_are_not_refused(bot, question, entry_id):
    assert detect_diagnosis_request(normalize(question)) is None
    reply = bot.reply(question)
    assert reply.kind != "refusal"
    if entry_id is not None:
        assert (reply.kind, reply.entry_id) == ("answer", entry_id)


@pytest.mark.parametrize(
    "question",
    [
        "sores on my lip - mpox yes or no?",
        "pls check my spots",
        "tell me if the bumps on my arm are mpox",
        "is this rash chickenpox or mpox",
        "my son has blisters, is it mpox or chicken pox",
        "do u think i hav monkeypox",
        "could these spots on my back be mpox",
        # Rules added in the generalisation work.
        "has she caught monkeypox",
        "my daughter is all spotty, has she got mpox?",
        "red lump on my thigh or mpox??",
        "tell me what my son has",
        "are these bumps on my leg caused by mpox?",
        "is this rash from monkeypox or an allergy",
    ],
)
def test_every_request_to_judge_a_rash_is_refused(bot, question):
    assert bot.reply(question).kind == "refusal"


# ------------------------------------------------------- confidence bands (issue 14)
def test_medium_confidence_answers_offer_other_entries(bot):
    reply = bot.reply("can it spread")
    assert (reply.kind, reply.confidence) == ("answer", "medium")
    assert len(reply.also) == 2
    assert reply.entry_id not in {a.entry_id for a in reply.also}
    for link in reply.also:
        assert link.question == bot.kb.get(link.entry_id).questions[0]
        assert link.question in reply.text
    assert "Did you also mean" in reply.text
    data = reply.to_dict()
    assert data["also"][0] == {
        "entry_id": reply.also[0].entry_id,
        "question": reply.also[0].question,
    }
    assert "Sources:" not in data["body"] and "Sources:" in data["text"]
    assert "Did you also mean" not in data["body"]


def test_high_confidence_answers_have_no_links_and_low_says_it_does_not_know(bot):
    high = bot.reply("What is the incubation period of mpox?")
    assert (high.kind, high.confidence, high.also) == ("answer", "high", ())
    low = bot.reply("what is the best way to learn the violin")
    assert low.kind == "unknown" and "don't know" in low.text
    assert "how mpox spreads" in low.text.lower()  # the topic list


# ------------------------------------------------------------ lexicon and fusion (issue 14)
def test_lexicon_reads_chat_speak_drugs_and_misspellings():
    from poxscan.chat.text import content_text

    assert normalize("wat r the symtoms b4 the rash") == "what are the symptoms before the rash"
    assert "tecovirimat" in content_text(normalize("how much tpoxx shd i take"))
    assert "antibiotic" in content_text(normalize("is amoxicillin ok"))
    assert "hiv treatment" in content_text(normalize("should i stop my arvs"))


def test_lexicon_words_of_the_generalisation_work():
    from poxscan.chat.text import content_text

    assert normalize("spread thru kissing til the 2nd week") == (
        "spread through kissing until the second week"
    )
    assert normalize("im poz") == "i am hiv positive"
    assert "semen" in content_text(normalize("is it in sperm"))
    assert "travel" in content_text(normalize("can i get on a flight"))
    assert "weaken immune system" in content_text(normalize("i had a transplant"))
    # Both names fold to "mpox"; asking whether they are the same disease is about the name.
    assert "renam" in content_text(normalize("is monkeypox the same thing as mpox"))
    assert "renam" not in content_text(normalize("is mpox the same as chickenpox"))


def test_stemmer_undoes_a_doubled_consonant_only_where_the_suffix_made_it():
    from poxscan.chat.text import stem

    assert [stem(w) for w in ("getting", "stopped", "hugging", "scabbing")] == [
        "get",
        "stop",
        "hug",
        "scab",
    ]
    # Words whose stem really ends in a double letter keep it.
    assert [stem(w) for w in ("kissing", "spilled", "swelling", "buzzing")] == [
        "kiss",
        "spill",
        "swell",
        "buzz",
    ]


def test_lexicon_with_a_bad_pattern_is_a_clear_error(tmp_path):
    from poxscan.chat.text import load_lexicon

    bad = tmp_path / "lex.yaml"
    bad.write_text("expand:\n  slang:\n    fever: ['(unclosed']\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lex\.yaml.*slang\.fever"):
        load_lexicon(bad)


def test_reciprocal_rank_fusion_by_hand():
    import numpy as np

    from poxscan.chat.bm25 import reciprocal_rank_fusion

    a = np.array([[0.9, 0.5, 0.1]])  # ranks 1, 2, 3
    b = np.array([[1.0, 3.0, 2.0]])  # ranks 3, 1, 2
    fused = reciprocal_rank_fusion([a, b], [1.0, 0.5], k=1)
    assert fused[0] == pytest.approx([1 / 2 + 0.5 / 4, 1 / 3 + 0.5 / 2, 1 / 4 + 0.5 / 3])
    with pytest.raises(ValueError, match="2 score matrices but 1 weights"):
        reciprocal_rank_fusion([a, b], [1.0])


def test_bm25_ranks_the_entry_sharing_a_rare_word_first(kb):
    import numpy as np

    from poxscan.chat.bm25 import Bm25Retriever
    from poxscan.chat.text import content_text

    bm25 = Bm25Retriever().fit(kb.entries)
    scores = bm25.score_contents([content_text(normalize("stromectol")), "zzzz"])
    assert kb.ids[int(np.argmax(scores[0]))] == "unproven_remedies"
    assert not scores[1].any()


# --------------------------------------------------------------- evaluation (issue 14)
def test_eval_metrics_count_accepted_labels_and_false_refusals():
    chat_eval = _load_eval_module()
    expected = ["a", "b", "unknown", "refusal"]
    predicted = ["c", "refusal", "refusal", "refusal"]
    m = chat_eval.compute_metrics(
        expected, predicted, accept=[("a", "c"), ("b",), ("unknown",), ("refusal",)]
    )
    assert m["answerable"]["top1_accuracy"] == pytest.approx(1 / 2)  # "c" is accepted for "a"
    assert m["false_refusals"] == {"n": 2, "answerable": 1}
    assert m["refusal"]["recall"] == 1.0 and m["refusal"]["precision"] == pytest.approx(1 / 3)


def test_informal_holdout_is_large_covers_every_topic_and_is_not_copied(kb):
    chat_eval = _load_eval_module()
    items = chat_eval.load_eval(
        REPO / "experiments" / "chat_eval.yaml",
        kb.ids,
        REPO / "experiments" / "chat_holdout_informal.yaml",
    )
    informal = [it for it in items if it["split"] == "holdout_informal"]
    assert len(informal) >= 80
    assert {kb.get(it["expect"]).topic for it in informal if it["kind"] == "answer"} == set(
        kb.topics
    )
    styles = {it["style"] for it in informal}
    assert {"safety", "comparison", "diagnosis", "out_of_scope"} <= styles
    assert sum(it["expect"] == "refusal" for it in informal) >= 10
    variants = {re.sub(r"\W+", " ", q.lower()).strip() for e in kb.entries for q in e.questions}
    copied = [
        it["q"] for it in informal if re.sub(r"\W+", " ", it["q"].lower()).strip() in variants
    ]
    # One question equals a variant that predates the holdout ("Do condoms stop mpox?"); the
    # report counts it among the near-duplicates and scores the holdout without them too.
    assert copied == ["do condoms stop mpox"]


@pytest.mark.parametrize(
    ("question", "entry_ids"),
    [
        # The issue's own examples (issue 14), worded as the issue gives them.
        ("Should I stop my HIV meds?", {"hiv_treatment_prep"}),
        ("how much tecovirimat should I take", {"medicine_doses"}),
        ("im hiv positive is it worse for me", {"hiv_and_mpox", "severe_disease_risk"}),
        ("can u get it off a toilet seat", {"contaminated_materials"}),
        ("what can i take for the pain", {"pain_management"}),
    ],
)
def test_the_issue_examples_are_answered(bot, question, entry_ids):
    reply = bot.reply(question)
    assert reply.kind == "answer", (reply.kind, reply.reason)
    assert reply.entry_id in entry_ids


def test_other_hiv_questions_stay_out_of_scope(bot):
    for question in ("how is hiv transmitted", "what diet is good for people with hiv"):
        assert bot.reply(question).kind == "unknown", question


def _norm_q(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def test_new_dev_set_and_holdout_v2_are_large_separate_and_cover_the_topics(kb):
    chat_eval = _load_eval_module()
    items = chat_eval.load_eval(
        REPO / "experiments" / "chat_eval.yaml",
        kb.ids,
        REPO / "experiments" / "chat_holdout_informal.yaml",
        REPO / "experiments" / "chat_dev_informal.yaml",
        REPO / "experiments" / "chat_holdout_v2.yaml",
    )
    dev = [it for it in items if it["source"] == "dev_informal"]
    v2 = [it for it in items if it["source"] == "holdout_v2"]
    assert len(dev) >= 120 and len(v2) >= 80
    # The informal development set is tuned on (split "main", folds assigned); v2 is not.
    assert {it["split"] for it in dev} == {"main"}
    assert {it["fold"] for it in dev} == set(range(5))
    assert {it["split"] for it in v2} == {"holdout_v2"} and {it["fold"] for it in v2} == {None}
    for part in (dev, v2):
        assert {kb.get(it["expect"]).topic for it in part if it["kind"] == "answer"} == set(
            kb.topics
        )
        assert {"safety", "comparison", "diagnosis", "out_of_scope"} <= {it["style"] for it in part}
        assert sum(it["expect"] == "refusal" for it in part) >= 10
    # v2 shares no question with any other set or with a knowledge-base variant.
    others = {_norm_q(it["q"]) for it in items if it["source"] != "holdout_v2"}
    others |= {_norm_q(q) for e in kb.entries for q in e.questions}
    assert [it["q"] for it in v2 if _norm_q(it["q"]) in others] == []
    assert len({_norm_q(it["q"]) for it in v2}) == len(v2)


def test_no_knowledge_base_variant_copies_a_holdout_v2_question(kb):
    # Guards the holdout against leaking into the paraphrases written while tuning.
    import difflib

    chat_eval = _load_eval_module()
    v2 = chat_eval.load_eval(
        REPO / "experiments" / "chat_eval.yaml",
        kb.ids,
        v2_path=REPO / "experiments" / "chat_holdout_v2.yaml",
    )
    v2 = [_norm_q(it["q"]) for it in v2 if it["source"] == "holdout_v2"]
    close = []
    for entry in kb.entries:
        for variant in entry.questions:
            variant = _norm_q(variant)
            for q in v2:
                if difflib.SequenceMatcher(None, variant, q).ratio() >= 0.9:
                    close.append((variant, q))
    assert close == []
