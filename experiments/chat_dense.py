"""Would sentence embeddings (all-MiniLM-L6-v2) help the chatbot's ranking?

A fourth list in the reciprocal rank fusion: each entry scored by the cosine similarity of the
question's MiniLM embedding (``experiments/minilm.py``) to its nearest neighbour among

- ``kb``: the entry's knowledge-base variants, or
- ``knn``: those plus the labelled user questions of ``poxscan/chat/ranker_examples.txt``
  (the examples the learned SVM trains on).

Every development set is ranked by models that never saw it: for a set the ranker examples
come from, the SVM and the ``knn`` index are refitted without that set's questions (and
without their exact duplicates elsewhere), as in ``experiments/chat_learned_ranker.py``; the
other sets (``chat_eval.yaml``'s questions, ``chat_dev_informal.yaml``,
``chat_holdout_informal.yaml``, v21, v22) are in no example file. Only answerable questions
that reach retrieval (no rule decides them) are scored: the ranking changes nothing else, and
the confidence of an answer stays the TF-IDF score.

Rule, declared before the first run of this script (s25-chat): the baseline is the shipped
fusion (TF-IDF, BM25 0.5, SVM C 1 0.5), left out as above. A dense variant is a candidate only
if the mean of its per-set top-1 over all sets beats the baseline's by at least one point and
the mean over the five sets in no example file does not fall; of several, the highest mean
over all sets. The candidate then has to keep every chat regression test passing and is judged
once on the sealed blind holdout v23 (``experiments/sealed/``): kept only if it answers more
of v23's questions right than the bot without it, with no more false refusals and no lower
refusal recall.

Second round (declared after the first run, before the second, s25b-chat): the first run found
no candidate (best fused variant +0.6 points). The embeddings may serve better as features of
the learned SVM than as a list of their own: ``svm+emb`` variants fit the SVM on the TF-IDF
vector of each question beside its embedding times ``lambda`` (1 or 2), and use that SVM in
place of the shipped one in the fusion, at the shipped weight 0.5 and at weight 1. The same rule
decides, against the same baseline; the first run's rows are kept as they were.

Usage::

    python experiments/chat_dense.py

writes ``experiments/results/chat_dense.{md,json}`` (128 s at load 0.4: every question is
embedded once).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_eval_data import DEV_KEY, DEVELOPMENT_SINCE, INFORMAL_KEY, _load_list, discover_holdouts
from export_ranker_examples import _key
from minilm import load_encoder
from results_io import results_main

from poxscan.chat import MpoxChatbot
from poxscan.chat.bm25 import reciprocal_rank_fusion
from poxscan.chat.learned_ranker import load_examples
from poxscan.chat.text import normalize

HERE = Path(__file__).resolve().parent
#: (name, index or None for no dense list, weight of the dense list or None for it alone,
#: lambda of the embedding among the SVM's features (0: the shipped SVM), weight of the SVM)
VARIANTS = (
    ("shipped fusion (TF-IDF, BM25, SVM), left out", None, 0.0, 0.0, 0.5),
    ("dense kb alone", "kb", None, 0.0, 0.5),
    ("dense knn alone", "knn", None, 0.0, 0.5),
    ("fusion + dense kb, weight 0.5", "kb", 0.5, 0.0, 0.5),
    ("fusion + dense kb, weight 1", "kb", 1.0, 0.0, 0.5),
    ("fusion + dense kb, weight 2", "kb", 2.0, 0.0, 0.5),
    ("fusion + dense knn, weight 0.5", "knn", 0.5, 0.0, 0.5),
    ("fusion + dense knn, weight 1", "knn", 1.0, 0.0, 0.5),
    ("fusion + dense knn, weight 2", "knn", 2.0, 0.0, 0.5),
    ("fusion with svm+emb lambda 1, weight 0.5", None, 0.0, 1.0, 0.5),
    ("fusion with svm+emb lambda 1, weight 1", None, 0.0, 1.0, 1.0),
    ("fusion with svm+emb lambda 2, weight 0.5", None, 0.0, 2.0, 0.5),
    ("fusion with svm+emb lambda 2, weight 1", None, 0.0, 2.0, 1.0),
)
#: Sets no example file holds: what every version of the bot meets as new.
OUTSIDE = ("questions", DEV_KEY, INFORMAL_KEY)


def _items(bot: MpoxChatbot) -> list[dict]:
    """Answerable questions that reach retrieval, each tagged with its set."""
    paths = discover_holdouts(HERE)
    out = []
    for item in _load_list(HERE / "chat_eval.yaml", "questions", bot.kb.ids, "main"):
        out.append(dict(item, set="questions"))
    for key, path in (
        (DEV_KEY, "chat_dev_informal.yaml"),
        (INFORMAL_KEY, "chat_holdout_informal.yaml"),
    ):
        out += [dict(it, set=key) for it in _load_list(HERE / path, key, bot.kb.ids, key)]
    for key in (k for k in paths if k in DEVELOPMENT_SINCE):  # in version order
        out += [dict(it, set=key) for it in _load_list(paths[key], key, bot.kb.ids, key)]
    return [
        it for it in out if it["kind"] == "answer" and bot.fixed_route(normalize(it["q"])) is None
    ]


def _nearest(query: np.ndarray, index: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """Per entry, the best cosine of each query to that entry's rows of the index."""
    sims = query @ index.T
    best = np.full((len(query), n), -1.0)
    np.maximum.at(best.T, owners, sims.T)
    return best


def run() -> dict:
    """Top-1 of every variant on every development set, each ranked by models that never saw it."""
    bot = MpoxChatbot()
    items = _items(bot)
    encoder = load_encoder()
    index_of = {entry_id: i for i, entry_id in enumerate(bot.kb.ids)}
    n_entries = len(bot.kb)
    questions = [it["q"] for it in items]
    sets = np.array([it["set"] for it in items])
    contents = bot.retriever.contents(questions)
    tfidf = bot.retriever.score_contents(contents)
    bm25 = bot.bm25.score_contents(contents)
    vectors = bot.retriever.vectors(contents)
    allowed = np.array([bot.allowed(normalize(q)) for q in questions])
    query_emb = encoder.encode(questions)

    kb_texts = [q for e in bot.kb.entries for q in e.questions]
    kb_owner = np.array([i for i, e in enumerate(bot.kb.entries) for _ in e.questions])
    kb_emb = encoder.encode(kb_texts)
    kb_vectors = bot.retriever.vectors(bot.retriever.variant_contents_)
    kb_labels = np.asarray(bot.retriever.variant_owner_)
    examples = [row for row in load_examples() if row[0] in index_of]
    ex_group = np.array([row[1] for row in examples])
    ex_key = np.array([_key(row[2]) for row in examples])
    ex_label = np.array([index_of[row[0]] for row in examples])
    ex_emb = encoder.encode([row[2] for row in examples])
    ex_vectors = bot.retriever.vectors([row[3] for row in examples])
    dense_kb = _nearest(query_emb, kb_emb, kb_owner, n_entries)

    correct = {v[0]: np.zeros(len(items), dtype=bool) for v in VARIANTS}
    for key in dict.fromkeys(sets):
        test = sets == key
        keep = (ex_group != key) & ~np.isin(ex_key, [_key(q) for q in np.array(questions)[test]])
        learned = {}
        for lam in sorted({v[3] for v in VARIANTS}):
            blocks = [
                (kb_vectors, kb_emb),
                (ex_vectors[keep], ex_emb[keep]),
                (vectors[test], query_emb[test]),
            ]
            if lam:
                blocks = [(sparse.hstack([v, lam * e], format="csr"), e) for v, e in blocks]
            svm = LinearSVC(C=1.0, random_state=0).fit(
                sparse.vstack([blocks[0][0], blocks[1][0]]),
                np.concatenate([kb_labels, ex_label[keep]]),
            )
            learned[lam] = np.full((test.sum(), n_entries), -1e9)
            learned[lam][:, svm.classes_] = svm.decision_function(blocks[2][0])
        dense = {
            "kb": dense_kb[test],
            "knn": _nearest(
                query_emb[test],
                np.vstack([kb_emb, ex_emb[keep]]),
                np.concatenate([kb_owner, ex_label[keep]]),
                n_entries,
            ),
        }
        accepted = [items[i]["accept"] for i in np.flatnonzero(test)]
        for name, which, weight, lam, svm_weight in VARIANTS:
            lists = [tfidf[test], bm25[test], learned[lam]]
            weights = [1.0, bot.fusion["bm25_weight"], svm_weight]
            if which is None:
                scores = reciprocal_rank_fusion(lists, weights, bot.fusion["rrf_k"])
            elif weight is None:
                scores = dense[which]
            else:
                scores = reciprocal_rank_fusion(
                    [*lists, dense[which]], [*weights, weight], bot.fusion["rrf_k"]
                )
            scores = scores + 1e-9 * tfidf[test]
            best = np.argmax(np.where(allowed[test], scores, -np.inf), axis=1)
            correct[name][test] = [
                bot.kb.ids[b] in ok for b, ok in zip(best, accepted, strict=True)
            ]
    keys = list(dict.fromkeys(sets))
    outside = [k for k in keys if k in OUTSIDE or k not in set(ex_group)]
    rows = []
    for name, which, weight, lam, svm_weight in VARIANTS:
        ok = correct[name]
        per_set = {k: float(ok[sets == k].mean()) for k in keys}
        rows.append(
            {
                "variant": name,
                "index": which,
                "weight": weight,
                "svm_lambda": lam,
                "svm_weight": svm_weight,
                "all_questions": float(ok.mean()),
                "mean_of_sets": float(np.mean(list(per_set.values()))),
                "mean_outside": float(np.mean([per_set[k] for k in outside])),
                "per_set": per_set,
            }
        )
    base = rows[0]
    eligible = [
        r
        for r in rows[1:]
        if r["weight"] is not None
        and r["mean_of_sets"] - base["mean_of_sets"] >= 0.01
        and r["mean_outside"] >= base["mean_outside"]
    ]
    winner = max(eligible, key=lambda r: r["mean_of_sets"]) if eligible else None
    return {
        "sets": keys,
        "outside": outside,
        "n": len(items),
        "n_per_set": {k: int((sets == k).sum()) for k in keys},
        "rows": rows,
        "candidate": winner["variant"] if winner else None,
    }


def to_markdown(result: dict) -> str:
    """The report as a Markdown table."""
    keys = result["sets"]
    short = [k.replace("holdout_", "") for k in keys]
    lines = [
        "# Sentence embeddings (all-MiniLM-L6-v2) as a fourth ranking list",
        "",
        "Reproduce with `python experiments/chat_dense.py`. Answerable questions of the "
        f"development sets that reach retrieval: {result['n']}. Top-1 per set (%), each set "
        "ranked by an SVM and a nearest-neighbour index that never saw it; sets in no example "
        f"file: {', '.join(result['outside'])}.",
        "",
        "| variant | mean of sets | mean outside | " + " | ".join(short) + " |",
        "|---|---|---|" + "---|" * len(keys),
    ]
    for row in result["rows"]:
        cells = [f"{100 * row['per_set'][k]:.0f}" for k in keys]
        lines.append(
            f"| {row['variant']} | {100 * row['mean_of_sets']:.1f} | "
            f"{100 * row['mean_outside']:.1f} | " + " | ".join(cells) + " |"
        )
    verdict = (
        f"candidate: **{result['candidate']}**"
        if result["candidate"]
        else "**no candidate** (no variant met the rule)"
    )
    lines += [
        "",
        "Rule (declared before the first run): a fused variant is a candidate only if its mean "
        "over all sets beats the shipped fusion's by at least one point and its mean over the "
        f"sets in no example file does not fall (the svm+emb rows were added, under the same "
        f"rule, after the first run had found no candidate among the others); {verdict}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return results_main(argv, __doc__, "chat_dense", run, to_markdown, HERE / "results")


if __name__ == "__main__":
    raise SystemExit(main())
