"""The learned third ranking of the chatbot (:mod:`poxscan.chat.learned_ranker`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from poxscan.chat.bot import DEFAULT_RETRIEVER_PARAMS, LEARNED_WEIGHT, MpoxChatbot
from poxscan.chat.learned_ranker import EXAMPLES, LearnedRanker, load_examples
from poxscan.chat.text import normalize

REPO = Path(__file__).resolve().parents[1]
EXP = REPO / "experiments"
sys.path.insert(0, str(EXP))

from chat_eval_data import DEVELOPMENT_SINCE, discover_holdouts  # noqa: E402
from chat_eval_tuning import Scored, settings  # noqa: E402
from export_ranker_examples import NOT_IN_RANKER  # noqa: E402


def _key(question: str) -> str:
    return re.sub(r"\W+", " ", question.lower()).strip()


@pytest.fixture(scope="module")
def bot() -> MpoxChatbot:
    return MpoxChatbot()


@pytest.fixture(scope="module")
def examples() -> list[tuple[str, str, str, str]]:
    return load_examples()


def test_examples_come_only_from_development_sets(examples):
    groups = {row[1] for row in examples}
    assert len(examples) > 2000
    assert groups <= set(DEVELOPMENT_SINCE)
    assert "holdout_v20" in groups
    # Sets whose examples belonged to a bot that was not kept stay out.
    assert not groups & set(NOT_IN_RANKER)
    assert set(NOT_IN_RANKER) <= set(DEVELOPMENT_SINCE)


def test_no_example_is_a_development_cv_question_or_a_question_still_held_out(examples):
    # The development CV must not find its test questions in the ranker's training data, and a
    # holdout still scored as one (not in DEVELOPMENT_SINCE) must stay unseen.
    stored = {_key(row[2]) for row in examples}
    with open(EXP / "chat_eval.yaml", encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    with open(EXP / "chat_dev_informal.yaml", encoding="utf-8") as handle:
        dev = yaml.safe_load(handle)["dev_informal"]
    held = [it["q"] for key in ("holdout", "holdout_final") for it in data.get(key, [])]
    with open(EXP / "chat_holdout_informal.yaml", encoding="utf-8") as handle:
        held += [it["q"] for it in yaml.safe_load(handle)["holdout_informal"]]
    for key, path in discover_holdouts(EXP).items():
        if key not in DEVELOPMENT_SINCE:
            with open(path, encoding="utf-8") as handle:
                held += [it["q"] for it in yaml.safe_load(handle)[key]]
    development = [it["q"] for it in data["questions"]] + [it["q"] for it in dev]
    assert not stored & {_key(q) for q in development}
    assert not stored & {_key(q) for q in held}


def test_stored_retrieval_views_are_current(bot, examples):
    # The file stores each question's retrieval view; a lexicon or knowledge-base change needs
    # `python experiments/export_ranker_examples.py` again.
    current = bot.retriever.contents([row[2] for row in examples])
    stale = [row[2] for row, now in zip(examples, current, strict=True) if row[3] != now]
    assert not stale, f"{len(stale)} stale views in {EXAMPLES.name}, e.g. {stale[:3]}"


def test_a_bad_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "examples.txt"
    path.write_text("# header\nsymptoms_overview\tg\twhat are the signs\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"examples\.txt:2: expected"):
        load_examples(path)


def test_an_unknown_entry_is_a_clear_error(bot):
    with pytest.raises(ValueError, match="no_such_entry"):
        LearnedRanker().fit(bot.kb, bot.retriever, [("no_such_entry", "g", "q", "q")])


def test_fit_is_deterministic(bot, examples):
    contents = [row[3] for row in examples[:50]]
    first = LearnedRanker().fit(bot.kb, bot.retriever, examples[:800]).score_contents(contents)
    second = LearnedRanker().fit(bot.kb, bot.retriever, examples[:800]).score_contents(contents)
    assert first.shape == (50, len(bot.kb))
    assert np.array_equal(first, second)


def test_the_ranker_learns_a_wording_the_knowledge_base_lacks(bot):
    # A made-up wording seen only in the examples: TF-IDF cannot place it, the SVM can.
    word = "zorblatt qwemphy"
    rows = [("vaccine_side_effects", "g", word, normalize(word))] * 5
    ranker = LearnedRanker().fit(bot.kb, bot.retriever, rows)
    scores = ranker.score_contents([normalize(word)])
    assert bot.kb.ids[int(np.argmax(scores[0]))] == "vaccine_side_effects"


def test_the_shipped_bot_fuses_the_learned_list(bot, examples):
    # In sample on its own training questions the fused ranking must beat the one without it
    # (it would not if the list were not wired into the fusion).
    plain = MpoxChatbot(learned_weight=0)
    texts = [row[2] for row in examples]
    truth = np.array([bot.kb.ids.index(row[0]) for row in examples])
    with_list = np.argmax(bot.scores(texts)[1], axis=1)
    without = np.argmax(plain.scores(texts)[1], axis=1)
    assert bot.learned_weight == LEARNED_WEIGHT > 0 and plain.learned is None
    assert (with_list == truth).mean() >= (without == truth).mean() + 0.01


def test_the_tuning_grid_scores_like_the_bot_it_describes(bot):
    # chat_eval's grid recombines cached lists; with the shipped setting it must pick the
    # entry the bot ranks first.
    questions = [
        "can u get it off a toilet seat",
        "wat can i take 4 the pain",
        "is the jab safe if im pregnant",
        "how long till the spots go away",
        "do i need 2 shots",
    ]
    items = [{"q": q, "expect": "unknown"} for q in questions]
    scored = Scored(items)
    setting = next(
        s
        for s in settings()
        if s["bm25_weight"] == bot.fusion["bm25_weight"]
        and s["rrf_k"] == bot.fusion["rrf_k"]
        and all(s[k] == v for k, v in DEFAULT_RETRIEVER_PARAMS.items())
    )
    entry, _ = scored.ranked(setting)
    fused = bot.scores(questions)[1]
    allowed = np.array([bot.allowed(normalize(q)) for q in questions])
    expected = [bot.kb.ids[i] for i in np.argmax(np.where(allowed, fused, -np.inf), axis=1)]
    assert list(entry) == expected
