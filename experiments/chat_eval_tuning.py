"""Tuning and cross-validation of the chatbot's retrieval settings and confidence thresholds.

Every question's rule decision (empty, diagnosis request, other topic) and its TF-IDF components
and BM25 scores are computed once (:class:`Scored`); each setting of the grid then only
recombines arrays. The grid covers the TF-IDF weights, the BM25 weight in the rank fusion
(0 = without BM25, so the search itself decides whether BM25 is kept) and the fusion constant,
with the learned ranking (:mod:`poxscan.chat.learned_ranker`) a fixed third list at the shipped
weight;
for each, the two thresholds (text naming mpox / not) are optimised separately, which is exact
because a question is either named or not.

Objective: the mean of the accuracy on the tuning questions and the self-retrieval accuracy on
the knowledge base's own variants (so that no setting wins by misrouting the bot's own
questions). Ties: the weights with the largest plateau of tied thresholds, then the median
threshold of each plateau.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from chat_eval_data import SPECIAL
from chat_eval_metrics import _ratio, compute_metrics

from poxscan.chat.bm25 import reciprocal_rank_fusion
from poxscan.chat.bot import LEARNED_WEIGHT, MpoxChatbot
from poxscan.chat.scope import mentions_mpox
from poxscan.chat.text import normalize

# Small grid (2-core shared box); thresholds are swept exactly on cached scores.
CHAR_WEIGHTS = (0.6, 0.7, 0.8)
ANSWER_WEIGHTS = (0.1, 0.2, 0.3)
CENTROID_WEIGHTS = (0.2, 0.4)
BM25_WEIGHTS = (0.0, 0.5, 1.0, 2.0)
RRF_KS = (5.0, 20.0, 60.0)
NAMED_THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.05, 0.51, 0.01))
UNNAMED_THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.10, 0.71, 0.01))


class Scored:
    """Rule decisions and retrieval scores of a list of questions, for every grid setting."""

    def __init__(self, items: Sequence[dict]) -> None:
        texts = [it["q"] for it in items]
        self.items = list(items)
        probe = MpoxChatbot()
        self.entry_ids = np.array(probe.kb.ids)
        normalized = [normalize(t) for t in texts]
        routes = [probe.fixed_route(n) for n in normalized]
        # A safety route ("answer", "safety:<entry>") predicts its entry whatever the setting.
        self.fixed = np.array(
            [(r[1].split(":", 1)[1] if r[0] == "answer" else r[0]) if r else "" for r in routes]
        )
        self.fixed_reason = [r[1] if r else "" for r in routes]
        self.named = np.array([mentions_mpox(n) for n in normalized])
        # Entries whose ``requires`` the text does not match rank last (as in the bot).
        self.allowed = (
            np.array([probe.allowed(n) for n in normalized])
            if normalized
            else np.ones((0, len(self.entry_ids)), dtype=bool)
        )
        self.expected = np.array([it["expect"] for it in items])
        self.accept = [set(it.get("accept", (it["expect"],))) for it in items]
        self.components = {}
        for cw in CHAR_WEIGHTS:
            bot = MpoxChatbot(retriever_params={"char_weight": cw, **_fixed_tfidf()})
            contents = bot.retriever.contents(texts)
            self.components[cw] = bot.retriever.components(contents)
        contents = probe.retriever.contents(texts)
        self.bm25 = probe.bm25.score_contents(contents)
        # The learned ranking is a fixed third list (its weight is not tuned; its training
        # questions hold no development question, see experiments/export_ranker_examples.py).
        self.learned_weight = probe.learned_weight
        self.learned = (
            probe.learned.score_contents(contents)
            if probe.learned is not None
            else np.zeros((len(texts), len(self.entry_ids)))
        )

    def subset(self, idx: Sequence[int]) -> Scored:
        """The same scores for a subset of the questions (no recomputation)."""
        out = object.__new__(Scored)
        idx = np.asarray(idx, dtype=int)
        out.items = [self.items[i] for i in idx]
        out.entry_ids = self.entry_ids
        out.fixed = self.fixed[idx]
        out.fixed_reason = [self.fixed_reason[i] for i in idx]
        out.named = self.named[idx]
        out.allowed = self.allowed[idx]
        out.expected = self.expected[idx]
        out.accept = [self.accept[i] for i in idx]
        out.components = {k: tuple(c[idx] for c in v) for k, v in self.components.items()}
        out.bm25 = self.bm25[idx]
        out.learned_weight = self.learned_weight
        out.learned = self.learned[idx]
        return out

    def ranked(self, setting: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Best entry label and its TF-IDF confidence per question, thresholds aside."""
        from poxscan.chat.retrieval import TfidfRetriever

        parts = self.components[setting["char_weight"]]
        tfidf = TfidfRetriever.combine(parts, setting["answer_weight"], setting["centroid_weight"])
        lists, weights = [tfidf], [1.0]
        if setting["bm25_weight"]:
            lists.append(self.bm25)
            weights.append(setting["bm25_weight"])
        if self.learned_weight:
            lists.append(self.learned)
            weights.append(self.learned_weight)
        if len(lists) == 1:
            fused = tfidf
        else:
            fused = reciprocal_rank_fusion(lists, weights, setting["rrf_k"])
            fused = fused + 1e-9 * tfidf
        fused = np.where(self.allowed, fused, -np.inf)
        best = np.argmax(fused, axis=1) if len(fused) else np.zeros(0, dtype=int)
        conf = tfidf[np.arange(len(best)), best] if len(best) else np.zeros(0)
        return self.entry_ids[best] if len(best) else np.zeros(0, dtype=str), conf

    def labels(self, setting: dict[str, float], thresholds: dict[str, float]) -> list[str]:
        """Predicted labels (entry id, refusal, unknown) of a bot with these settings."""
        entry, conf = self.ranked(setting)
        limit = np.where(self.named, thresholds["named"], thresholds["unnamed"])
        answered = np.where(conf >= limit, entry, "unknown")
        return [f if f else a for f, a in zip(self.fixed, answered, strict=True)]


def _fixed_tfidf() -> dict[str, float]:
    # Components do not depend on these two weights; any valid values do.
    return {"answer_weight": 0.2, "centroid_weight": 0.2}


def settings() -> list[dict[str, float]]:
    """Every setting of the grid (with neither BM25 nor the learned list, TF-IDF ranks alone and
    one fusion constant stands for all: it is unused)."""
    out = []
    for cw, aw, ew, bw in itertools.product(
        CHAR_WEIGHTS, ANSWER_WEIGHTS, CENTROID_WEIGHTS, BM25_WEIGHTS
    ):
        for k in RRF_KS if bw or LEARNED_WEIGHT else RRF_KS[:1]:
            out.append(
                {
                    "char_weight": cw,
                    "answer_weight": aw,
                    "centroid_weight": ew,
                    "bm25_weight": bw,
                    "rrf_k": k,
                }
            )
    return out


def split_setting(setting: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """``(retriever_params, fusion)`` of a grid setting, as :class:`MpoxChatbot` takes them."""
    retriever = {k: setting[k] for k in ("char_weight", "answer_weight", "centroid_weight")}
    return retriever, {"bm25_weight": setting["bm25_weight"], "rrf_k": setting["rrf_k"]}


def _threshold_curve(ok_answer, ok_unknown, conf, weights, grid) -> np.ndarray:
    """Weighted count of right items per threshold (answered iff conf >= threshold)."""
    keep = conf[None, :] >= np.asarray(grid)[:, None]
    return (np.where(keep, ok_answer[None, :], ok_unknown[None, :]) * weights[None, :]).sum(1)


def tune(scored: Scored, self_scored: Scored | None = None) -> dict[str, Any]:
    """Grid-search settings and thresholds (see the module docstring)."""
    parts = [scored] + ([self_scored] if self_scored is not None else [])
    n_main = len(scored.items)
    n_self = len(self_scored.items) if self_scored is not None else 0
    weights = np.concatenate(
        [np.full(n_main, (0.5 if n_self else 1.0) / n_main), np.full(n_self, 0.5 / max(n_self, 1))]
    )
    fixed = np.concatenate([p.fixed for p in parts])
    named = np.concatenate([p.named for p in parts])
    accept = [a for p in parts for a in p.accept]
    expect_unknown = np.array([("unknown" in a) for a in accept])
    fixed_ok = np.array([f in a for f, a in zip(fixed, accept, strict=True)]) & (fixed != "")
    free = fixed == ""
    best_obj, best = -1.0, []
    for setting in settings():
        ranked = [p.ranked(setting) for p in parts]
        entry = np.concatenate([r[0] for r in ranked])
        conf = np.concatenate([r[1] for r in ranked])
        ok_answer = np.array([e in a for e, a in zip(entry, accept, strict=True)]) & free
        ok_unknown = expect_unknown & free
        base = float(weights @ fixed_ok)
        curves = {}
        for name, mask, grid in (
            ("named", named, NAMED_THRESHOLDS),
            ("unnamed", ~named, UNNAMED_THRESHOLDS),
        ):
            curve = _threshold_curve(
                ok_answer[mask], ok_unknown[mask], conf[mask], weights[mask], grid
            )
            top = curve.max()
            curves[name] = (top, [t for t, v in zip(grid, curve, strict=True) if v >= top - 1e-12])
        obj = base + curves["named"][0] + curves["unnamed"][0]
        entry_ = (setting, curves["named"][1], curves["unnamed"][1])
        if obj > best_obj + 1e-12:
            best_obj, best = obj, [entry_]
        elif abs(obj - best_obj) <= 1e-12:
            best.append(entry_)
    setting, tn, tu = max(best, key=lambda b: len(b[1]) * len(b[2]))
    thresholds = {
        "named": round(float(np.median(tn)), 2),
        "unnamed": round(float(np.median(tu)), 2),
    }
    retriever, fusion = split_setting(setting)
    result = {
        "objective": best_obj,
        "retriever_params": retriever,
        "fusion": fusion,
        "thresholds": thresholds,
        "plateau_size": len(tn) * len(tu),
        "n_optimal_settings": len(best),
    }
    result["accuracy"] = _accuracy(scored, setting, thresholds)
    if self_scored is not None:
        result["self_retrieval"] = _accuracy(self_scored, setting, thresholds)
    return result


def _accuracy(scored: Scored, setting: dict[str, float], thresholds: dict[str, float]) -> float:
    labels = scored.labels(setting, thresholds)
    return float(np.mean([lab in a for lab, a in zip(labels, scored.accept, strict=True)]))


def predict(
    items: Sequence[dict],
    thresholds: dict[str, float],
    params: dict[str, float],
    fusion: dict[str, float],
) -> list[tuple[str, float, str, str]]:
    """Per item: (label, score, reason, confidence) from a real :class:`MpoxChatbot`."""
    bot = MpoxChatbot(thresholds=thresholds, retriever_params=params, fusion=fusion)
    replies = bot.reply_many([it["q"] for it in items])
    return [
        (r.entry_id if r.kind == "answer" else r.kind, r.score, r.reason, r.confidence)
        for r in replies
    ]


def metrics_from(items: Sequence[dict], preds: Sequence[tuple]) -> dict[str, Any]:
    """:func:`compute_metrics` plus score/reason on misses and accuracy per question style."""
    metrics = compute_metrics(
        [it["expect"] for it in items],
        [p[0] for p in preds],
        [it["q"] for it in items],
        [it.get("accept", (it["expect"],)) for it in items],
    )
    wrong = [p for it, p in zip(items, preds, strict=True) if p[0] not in it["accept"]]
    for miss, pred in zip(metrics["misses"], wrong, strict=True):
        miss["score"] = round(float(pred[1]), 3)
        miss["reason"] = pred[2]
    styles: dict[str, list[bool]] = {}
    for it, p in zip(items, preds, strict=True):
        styles.setdefault(it["style"], []).append(p[0] in it["accept"])
    metrics["by_style"] = {k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in styles.items()}
    medium = [p for p in preds if len(p) > 3 and p[3] == "medium"]
    metrics["medium_confidence_answers"] = len(medium)
    return metrics


def evaluate(
    items: Sequence[dict],
    thresholds: dict[str, float],
    params: dict[str, float],
    fusion: dict[str, float],
) -> dict[str, Any]:
    """Metrics of a bot with the given settings on ``items``."""
    metrics = metrics_from(items, predict(items, thresholds, params, fusion))
    # Was an accepted entry the top-ranked one, thresholds aside?
    scored = Scored(items)
    entry, _ = scored.ranked({**params, **fusion})
    ans = [
        e in it["accept"]
        for it, e, f in zip(items, entry, scored.fixed, strict=True)
        if it["kind"] == "answer" and not f
    ]
    metrics["answerable"]["top1_retrieval_ignoring_threshold"] = _ratio(sum(ans), len(ans))
    return metrics


def cross_validate(scored: Scored, self_scored: Scored | None, n_folds: int) -> dict[str, Any]:
    """Out-of-fold metrics: settings tuned on the other folds, the held-out fold predicted."""
    items = scored.items
    preds: list[tuple | None] = [None] * len(items)
    folds = []
    for fold in range(n_folds):
        train = [i for i, it in enumerate(items) if it["fold"] != fold]
        held = [i for i, it in enumerate(items) if it["fold"] == fold]
        tuning = tune(scored.subset(train), self_scored)
        held_items = [items[i] for i in held]
        fold_preds = predict(
            held_items, tuning["thresholds"], tuning["retriever_params"], tuning["fusion"]
        )
        for i, p in zip(held, fold_preds, strict=True):
            preds[i] = p
        m = compute_metrics(
            [it["expect"] for it in held_items],
            [p[0] for p in fold_preds],
            accept=[it["accept"] for it in held_items],
        )
        folds.append(
            {
                "fold": fold,
                "n": len(held),
                "retriever_params": tuning["retriever_params"],
                "fusion": tuning["fusion"],
                "thresholds": tuning["thresholds"],
                "train_accuracy": tuning["accuracy"],
                "accuracy": m["accuracy"],
                "top1_accuracy": m["answerable"]["top1_accuracy"],
            }
        )
    pooled = metrics_from(items, preds)
    pooled["predicted"] = [p[0] for p in preds]
    pooled["folds"] = folds
    pooled["fold_spread"] = {
        key: {
            "mean": float(np.mean([f[key] for f in folds])),
            "sd": float(np.std([f[key] for f in folds], ddof=1)),
        }
        for key in ("accuracy", "top1_accuracy")
    }
    return pooled


__all__ = [
    "SPECIAL",
    "Scored",
    "cross_validate",
    "evaluate",
    "metrics_from",
    "predict",
    "settings",
    "split_setting",
    "tune",
]
