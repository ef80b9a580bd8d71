"""Evaluate the mpox chatbot on ``experiments/chat_eval.yaml``.

Design:

- ``questions`` (the main set) is scored by **5-fold cross-validation**: folds are assigned
  round-robin within each kind (answer, refusal, unknown) in file order; in each fold the
  retrieval weights and the two confidence thresholds are tuned (grid search on accuracy) on
  the other four folds only and the held-out fold is predicted. Pooled out-of-fold predictions
  give the headline figures, per-fold figures give the spread. The settings shipped in
  :mod:`poxscan.chat.bot` are tuned on the whole main set (their in-sample figures are shown
  too, and are optimistic).
- ``holdout`` and ``holdout_final`` are extra questions written after the bot was frozen (the
  first and the final freeze); they are never used for tuning. ``first_runs`` in the YAML
  records how each held-out part scored the first time it was seen (see the report).
- The diagnosis rules, the out-of-scope topic list and the lay-term lexicon are hand-written, not
  tuned here, by the author of the evaluation set. Because the knowledge base and the questions
  share that author, the report counts near-duplicates (an evaluation question whose closest
  knowledge-base variant has a ``difflib`` ratio >= 0.8) and scores the main set without them.

Metrics (:func:`compute_metrics`): top-1 accuracy on answerable questions (answered from the
expected entry); refusal precision and recall; unknown precision and recall; overall accuracy;
the list of misses.

Writes ``experiments/results/chat_eval.json`` and ``.md``.

Usage::

    python experiments/chat_eval.py [--eval experiments/chat_eval.yaml] [--out experiments/results]
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from poxscan.chat import bot as bot_module
from poxscan.chat.bot import DEFAULT_RETRIEVER_PARAMS, DEFAULT_THRESHOLDS, MpoxChatbot
from poxscan.chat.knowledge import load_knowledge_base
from poxscan.chat.scope import mentions_mpox
from poxscan.chat.text import normalize
from poxscan.core.atomic import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
SPECIAL = ("refusal", "unknown")
NEAR_DUPLICATE_RATIO = 0.8
N_FOLDS = 5
#: Extra question lists written after a freeze; scored, never tuned on.
HOLDOUT_KEYS = ("holdout", "holdout_final")

# Tuning grid: kept small (2-core box); thresholds are swept exactly on cached scores.
CHAR_WEIGHTS = (0.5, 0.6, 0.7, 0.8)
ANSWER_WEIGHTS = (0.1, 0.2, 0.3)
CENTROID_WEIGHTS = (0.2, 0.4, 0.6)
NAMED_THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.05, 0.51, 0.01))
UNNAMED_THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.10, 0.71, 0.01))


# ---------------------------------------------------------------------------- data
def kind_of(label: str) -> str:
    """``"refusal"``, ``"unknown"`` or ``"answer"`` (for an entry id)."""
    return label if label in SPECIAL else "answer"


def load_eval(path: str | Path, kb_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Read the evaluation set; assign main-set items a fold and holdout items their part.

    Parameters
    ----------
    path
        YAML file with a ``questions`` list of ``{q, expect, style}`` and optional ``holdout``
        and ``holdout_final`` lists.
    kb_ids
        Valid entry ids; an ``expect`` that is neither one of them nor refusal/unknown raises.

    Returns
    -------
    list of dict
        Items with keys ``q``, ``expect``, ``style``, ``kind``, ``split`` (``main`` or the
        holdout list's name) and ``fold`` (0 to ``N_FOLDS - 1`` for main items, else ``None``).
    """
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    main = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(main, list) or not main:
        raise ValueError(f"{path}: expected a non-empty 'questions' list")
    parts = [("main", main)] + [(key, data.get(key) or []) for key in HOLDOUT_KEYS]
    seen: dict[str, int] = {}
    out = []
    for split, raws in parts:
        for i, raw in enumerate(raws):
            if not isinstance(raw, dict) or not raw.get("q") or not raw.get("expect"):
                raise ValueError(f"{path}: {split} item {i} needs 'q' and 'expect', got {raw!r}")
            expect = str(raw["expect"])
            if kb_ids is not None and expect not in SPECIAL and expect not in kb_ids:
                raise ValueError(f"{path}: {split} item {i} expects unknown entry id {expect!r}")
            kind = kind_of(expect)
            fold = None
            if split == "main":
                fold = seen.get(kind, 0) % N_FOLDS
                seen[kind] = seen.get(kind, 0) + 1
            out.append(
                {
                    "q": str(raw["q"]),
                    "expect": expect,
                    "style": str(raw.get("style", "")),
                    "kind": kind,
                    "split": split,
                    "fold": fold,
                }
            )
    return out


def load_first_runs(path: str | Path) -> dict[str, Any]:
    """The recorded first scorings of the held-out parts (``test``, ``holdout``), if any."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return (data.get("first_runs") or {}) if isinstance(data, dict) else {}


def variant_overlap(items: Sequence[dict], kb) -> list[str]:
    """Evaluation questions identical (after normalisation) to a knowledge-base variant."""
    variants = {normalize(q).strip(" ?.!") for e in kb.entries for q in e.questions}
    return [it["q"] for it in items if normalize(it["q"]).strip(" ?.!") in variants]


def nearest_variant_ratio(items: Sequence[dict], kb) -> list[float]:
    """Per item: ``difflib`` ratio between the normalised question and its closest variant."""
    variants = [normalize(q).strip(" ?.!") for e in kb.entries for q in e.questions]
    out = []
    for it in items:
        text = normalize(it["q"]).strip(" ?.!")
        out.append(max(difflib.SequenceMatcher(None, text, v).ratio() for v in variants))
    return out


# ------------------------------------------------------------------------- metrics
def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """95 % Wilson score interval of a proportion (``None`` when ``n == 0``)."""
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def compute_metrics(
    expected: Sequence[str], predicted: Sequence[str], questions: Sequence[str] | None = None
) -> dict[str, Any]:
    """Chatbot metrics from expected and predicted labels.

    A label is an entry id (an answer from that entry), ``"refusal"`` or ``"unknown"``.

    Parameters
    ----------
    expected, predicted
        Labels per item, same length.
    questions
        Optional texts, copied into the misses list.

    Returns
    -------
    dict
        ``n``, ``accuracy``; ``answerable`` (n, top1_accuracy with a Wilson interval); for
        ``refusal`` and ``unknown``: tp, fp, fn, precision, recall; ``misses``: list of
        ``{question, expected, predicted}``. A ratio with a zero denominator is ``None``.
    """
    if len(expected) != len(predicted):
        raise ValueError(f"{len(expected)} expected labels but {len(predicted)} predictions")
    exp = list(map(str, expected))
    pred = list(map(str, predicted))
    n = len(exp)
    correct = sum(e == p for e, p in zip(exp, pred, strict=True))
    answerable = [i for i, e in enumerate(exp) if e not in SPECIAL]
    top1 = sum(exp[i] == pred[i] for i in answerable)
    result: dict[str, Any] = {
        "n": n,
        "accuracy": _ratio(correct, n),
        "answerable": {
            "n": len(answerable),
            "top1_accuracy": _ratio(top1, len(answerable)),
            "top1_ci95": wilson_interval(top1, len(answerable)),
        },
    }
    for label in SPECIAL:
        tp = sum(e == label and p == label for e, p in zip(exp, pred, strict=True))
        fp = sum(e != label and p == label for e, p in zip(exp, pred, strict=True))
        fn = sum(e == label and p != label for e, p in zip(exp, pred, strict=True))
        result[label] = {
            "n": tp + fn,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
        }
    result["misses"] = [
        {
            "question": questions[i] if questions is not None else None,
            "expected": exp[i],
            "predicted": pred[i],
        }
        for i in range(n)
        if exp[i] != pred[i]
    ]
    return result


# -------------------------------------------------------------------------- tuning
def _raw_decisions(items: Sequence[dict], params: dict[str, float]) -> list[tuple[str, float]]:
    """Per item: (label the bot gives with zero thresholds, best score)."""
    bot = MpoxChatbot(thresholds={"named": 0.0, "unnamed": 0.0}, retriever_params=params)
    replies = bot.reply_many([it["q"] for it in items])
    return [(r.entry_id if r.kind == "answer" else r.kind, r.score) for r in replies]


def kb_items(kb) -> list[dict[str, Any]]:
    """The knowledge base's own question variants as answerable items (self-retrieval)."""
    return [
        {"q": q, "expect": e.id, "kind": "answer", "style": "kb_variant"}
        for e in kb.entries
        for q in e.questions
    ]


def tune(items: Sequence[dict], self_items: Sequence[dict] = ()) -> dict[str, Any]:
    """Grid-search retrieval weights and thresholds on ``items`` (and ``self_items``).

    The objective is accuracy on ``items``; when ``self_items`` (the knowledge base's own
    question variants) are given, it is the mean of that accuracy and the self-retrieval
    accuracy, so that no setting wins by making the bot misroute its own questions. Among the
    best settings, the weights with the most tied threshold pairs are chosen, then the median
    pair.
    """
    all_items = [*items, *self_items]
    weight = np.array(
        [0.5 / len(items) if self_items else 1.0 / len(items)] * len(items)
        + [0.5 / max(len(self_items), 1)] * len(self_items)
    )
    expected = np.array([it["expect"] for it in all_items])
    is_named = np.array([mentions_mpox(normalize(it["q"])) for it in all_items])
    best: list[tuple[tuple[float, ...], float, float]] = []
    best_obj = -1.0
    for cw, aw, ew in itertools.product(CHAR_WEIGHTS, ANSWER_WEIGHTS, CENTROID_WEIGHTS):
        weights = (cw, aw, ew)
        raw = _raw_decisions(
            all_items, {"char_weight": cw, "answer_weight": aw, "centroid_weight": ew}
        )
        labels = np.array([lab for lab, _ in raw])
        scores = np.array([s for _, s in raw])
        answered = ~np.isin(labels, SPECIAL)
        fixed_ok = (~answered) & (labels == expected)
        for tn, tu in itertools.product(NAMED_THRESHOLDS, UNNAMED_THRESHOLDS):
            limit = np.where(is_named, tn, tu)
            keep = answered & (scores >= limit)
            ok = (
                fixed_ok
                | (keep & (labels == expected))
                | (answered & ~keep & (expected == "unknown"))
            )
            obj = float(weight @ ok)
            if obj > best_obj + 1e-12:
                best_obj, best = obj, [(weights, tn, tu)]
            elif abs(obj - best_obj) <= 1e-12:
                best.append((weights, tn, tu))
    by_weights: dict[tuple[float, ...], list[tuple[float, float]]] = {}
    for weights, tn, tu in best:
        by_weights.setdefault(weights, []).append((tn, tu))
    (cw, aw, ew), plateau = max(by_weights.items(), key=lambda kv: len(kv[1]))
    tn = float(np.median([p[0] for p in plateau]))
    tu = float(np.median([p[1] for p in plateau]))
    params = {"char_weight": cw, "answer_weight": aw, "centroid_weight": ew}
    thresholds = {"named": round(tn, 2), "unnamed": round(tu, 2)}
    result = {
        "objective": best_obj,
        "retriever_params": params,
        "thresholds": thresholds,
        "plateau_size": len(plateau),
        "n_optimal_settings": len(best),
    }
    result["accuracy"] = compute_metrics(
        [it["expect"] for it in items], [p[0] for p in predict(items, thresholds, params)]
    )["accuracy"]
    if self_items:
        result["self_retrieval"] = compute_metrics(
            [it["expect"] for it in self_items],
            [p[0] for p in predict(self_items, thresholds, params)],
        )["accuracy"]
    return result


def predict(
    items: Sequence[dict], thresholds: dict[str, float], params: dict[str, float]
) -> list[tuple[str, float, str]]:
    """Per item: (predicted label, score, reason) of a bot with the given settings."""
    bot = MpoxChatbot(thresholds=thresholds, retriever_params=params)
    replies = bot.reply_many([it["q"] for it in items])
    return [(r.entry_id if r.kind == "answer" else r.kind, r.score, r.reason) for r in replies]


def _metrics_from(items: Sequence[dict], preds: Sequence[tuple[str, float, str]]) -> dict:
    """:func:`compute_metrics` plus score/reason on misses and accuracy per question style."""
    metrics = compute_metrics(
        [it["expect"] for it in items], [p[0] for p in preds], [it["q"] for it in items]
    )
    wrong = [p for it, p in zip(items, preds, strict=True) if p[0] != it["expect"]]
    for miss, (_, score, reason) in zip(metrics["misses"], wrong, strict=True):
        miss["score"] = round(float(score), 3)
        miss["reason"] = reason
    styles: dict[str, list[bool]] = {}
    for it, p in zip(items, preds, strict=True):
        styles.setdefault(it["style"], []).append(p[0] == it["expect"])
    metrics["by_style"] = {k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in styles.items()}
    return metrics


def evaluate(
    items: Sequence[dict], thresholds: dict[str, float], params: dict[str, float]
) -> dict[str, Any]:
    """Metrics of a bot with the given settings on ``items``."""
    metrics = _metrics_from(items, predict(items, thresholds, params))
    # Was the right entry the top-scoring one, thresholds aside?
    raw = _raw_decisions(items, params)
    ans = [
        (it["expect"], lab)
        for it, (lab, _) in zip(items, raw, strict=True)
        if it["kind"] == "answer" and lab not in SPECIAL
    ]
    metrics["answerable"]["top1_retrieval_ignoring_threshold"] = _ratio(
        sum(e == p for e, p in ans), len(ans)
    )
    return metrics


def cross_validate(
    items: Sequence[dict], self_items: Sequence[dict] = (), n_folds: int = N_FOLDS
) -> dict[str, Any]:
    """Out-of-fold metrics: settings tuned on the other folds, the held-out fold predicted.

    Returns the metrics of the pooled out-of-fold predictions, plus ``folds`` (per fold: the
    settings chosen on its training folds and its own figures) and ``fold_spread`` (mean and
    standard deviation over folds).
    """
    preds: list[tuple[str, float, str] | None] = [None] * len(items)
    folds = []
    for fold in range(n_folds):
        train = [it for it in items if it["fold"] != fold]
        held_idx = [i for i, it in enumerate(items) if it["fold"] == fold]
        held = [items[i] for i in held_idx]
        tuning = tune(train, self_items)
        fold_preds = predict(held, tuning["thresholds"], tuning["retriever_params"])
        for i, p in zip(held_idx, fold_preds, strict=True):
            preds[i] = p
        m = compute_metrics([it["expect"] for it in held], [p[0] for p in fold_preds])
        folds.append(
            {
                "fold": fold,
                "n": len(held),
                "retriever_params": tuning["retriever_params"],
                "thresholds": tuning["thresholds"],
                "train_accuracy": tuning["accuracy"],
                "accuracy": m["accuracy"],
                "top1_accuracy": m["answerable"]["top1_accuracy"],
                "refusal_precision": m["refusal"]["precision"],
                "unknown_precision": m["unknown"]["precision"],
            }
        )
    pooled = _metrics_from(items, preds)
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


# -------------------------------------------------------------------------- report
def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def _ci(ci: Sequence[float] | None) -> str:
    return "" if ci is None else f" (95 % CI {100 * ci[0]:.0f}-{100 * ci[1]:.0f} %)"


def _row(name: str, m: dict[str, Any]) -> str:
    return (
        f"| {name} | {m['n']} | {_pct(m['accuracy'])} | "
        f"{_pct(m['answerable']['top1_accuracy'])}{_ci(m['answerable']['top1_ci95'])} | "
        f"{_pct(m['refusal']['precision'])} / {_pct(m['refusal']['recall'])} | "
        f"{_pct(m['unknown']['precision'])} / {_pct(m['unknown']['recall'])} |"
    )


def _first_run_row(label: str, first: dict[str, Any]) -> str:
    return (
        f"| {label} | {first['n']} | {_pct(first['accuracy'])} | "
        f"{_pct(first['answerable_top1'])} | {_pct(first['refusal_precision'])} / "
        f"{_pct(first['refusal_recall'])} | {_pct(first['unknown_precision'])} / "
        f"{_pct(first['unknown_recall'])} |"
    )


def to_markdown(report: dict[str, Any]) -> str:
    """The Markdown version of the report."""
    near = report["near_duplicates"]
    sizes = report["sizes"]
    cv = report["cross_validation"]
    shipped = report["shipped"]
    lines = [
        "# Mpox chatbot evaluation",
        "",
        f"Written by `experiments/chat_eval.py` from `{report['eval_file']}`. Main set: "
        f"{sizes['main']} questions ({report['counts']['answer']} answerable, "
        f"{report['counts']['refusal']} requests for a diagnosis, {report['counts']['unknown']} "
        f"out of scope); holdout questions written after a freeze: {sizes['holdout']} + "
        f"{sizes['holdout_final']}. Knowledge base: {report['kb_entries']} entries, facts as of "
        f"{report['kb_as_of']}.",
        "",
        "## How to read these figures",
        "",
        f"- **Cross-validation.** The main set is split into {N_FOLDS} folds (round-robin within "
        "each kind). In each fold the retrieval weights and both confidence thresholds are tuned "
        "on the other folds only - objective: the mean of the accuracy on those questions and "
        "the self-retrieval accuracy on the knowledge base's own question variants (so that no "
        "setting wins by misrouting the bot's own questions) - and the held-out fold is "
        "predicted; the headline row pools the out-of-fold predictions. The shipped settings "
        "are tuned the same way on the whole main set ('in-sample', optimistic).",
        "- **Same author.** One person wrote the knowledge base, all questions, the "
        "diagnosis-request rules, the out-of-scope topic list and the lay-term lexicon; the "
        "rules and lexicon were revised while looking at misses on the main set, so refusal and "
        "unknown figures on it are optimistic. Knowledge-base variants added after the main set "
        f"existed were kept only if their difflib ratio to every main question was below "
        f"{near['ratio']}. Near-duplicates (closest variant ratio >= {near['ratio']}): main "
        f"{near['main']}, holdout {near['holdout']}, holdout_final {near['holdout_final']}; "
        "'CV w/o near-dup.' leaves them out. Identical to a variant after the bot's "
        f"normalisation: {len(report['variant_overlap'])}"
        + (
            " (" + "; ".join(f"'{q}'" for q in report["variant_overlap"]) + ": typed "
            "differently, the normaliser maps them onto a variant's wording)"
            if report["variant_overlap"]
            else ""
        )
        + ".",
        "- **History (first runs).** The main set was first used as a dev/test split; test was "
        "scored once ('test, first run'). A unit test then showed a knowledge-base question "
        "routed to the wrong entry, the fix changed the tuned settings, and test got worse; "
        "having seen test, the evaluation moved to cross-validation. 'holdout' was written after "
        "the first freeze and scored once ('holdout, first run'); two refusal misses found there "
        "were then fixed. 'holdout_final' was written after the final freeze and scored once "
        "('holdout_final, first run'): **the least biased estimate of the shipped bot.**",
        "",
        "| questions | n | overall acc. | top-1 acc. (answerable) | refusal P / R | "
        "unknown P / R |",
        "|---|---|---|---|---|---|",
        _row("**main, 5-fold CV (out-of-fold)**", cv),
        _row("main, CV w/o near-dup.", report["cross_validation_without_near_duplicates"]),
        _row("main, in-sample (shipped settings)", shipped["main"]),
    ]
    for key in HOLDOUT_KEYS:
        if key in shipped:
            lines.append(_row(f"{key} (now)", shipped[key]))
    first_runs = report.get("first_runs", {})
    for key in ("holdout_final", "holdout", "test"):
        if key in first_runs:
            lines.append(_first_run_row(f"{key}, first run", first_runs[key]))
    spread = cv["fold_spread"]
    lines += [
        "",
        "P = precision, R = recall. Top-1 accuracy counts an answerable question as right only if "
        "the bot answered it from the expected entry (a wrong entry or an 'unknown' is a miss); "
        "the interval is a 95 % Wilson interval. Across folds: overall accuracy "
        f"{_pct(spread['accuracy']['mean'])} ± {100 * spread['accuracy']['sd']:.1f}, top-1 "
        f"{_pct(spread['top1_accuracy']['mean'])} ± {100 * spread['top1_accuracy']['sd']:.1f} "
        "(mean ± sd).",
        "",
        f"Shipped settings (tuned on the whole main set): retriever "
        f"{shipped['retriever_params']}, thresholds {shipped['thresholds']} "
        f"({'same as' if shipped['matches_tuned'] else 'DIFFERENT from'} what this run tuned: "
        f"{report['tuning']['retriever_params']}, {report['tuning']['thresholds']}; "
        f"{report['tuning']['plateau_size']} threshold pairs tie, the median pair is used). "
        "Self-retrieval (a knowledge-base question variant answered from its own entry): "
        f"{_pct(shipped['kb_self_retrieval'])}.",
        "",
        "## Folds",
        "",
        "| fold | n | tuned weights (char, answer, centroid) | thresholds (named, unnamed) | "
        "accuracy | top-1 |",
        "|---|---|---|---|---|---|",
    ]
    for f in cv["folds"]:
        w, t = f["retriever_params"], f["thresholds"]
        lines.append(
            f"| {f['fold']} | {f['n']} | {w['char_weight']}, {w['answer_weight']}, "
            f"{w['centroid_weight']} | {t['named']}, {t['unnamed']} | {_pct(f['accuracy'])} | "
            f"{_pct(f['top1_accuracy'])} |"
        )
    lines += ["", "## Accuracy by question style (CV)", "", "| style | n | accuracy |"]
    lines.append("|---|---|---|")
    for style, v in sorted(cv["by_style"].items()):
        lines.append(f"| {style} | {v['n']} | {_pct(v['accuracy'])} |")
    sections = [("main, CV", cv)] + [(k, shipped[k]) for k in HOLDOUT_KEYS if k in shipped]
    for name, m in sections:
        lines += ["", f"## Misses ({name})", ""]
        if not m["misses"]:
            lines.append("None.")
            continue
        lines += ["| question | expected | got | score | reason |", "|---|---|---|---|---|"]
        for miss in m["misses"]:
            q = miss["question"].replace("|", "\\|")
            lines.append(
                f"| {q} | {miss['expected']} | {miss['predicted']} | {miss['score']} | "
                f"{miss['reason']} |"
            )
    lines += [
        "",
        f"Latency: {report['latency_ms_per_question']:.1f} ms per `reply()` (one process, "
        f"2-core shared machine); knowledge-base load and fit {report['fit_seconds']:.2f} s, "
        "once per process.",
        "",
    ]
    return "\n".join(lines)


def run(eval_path: Path, out_dir: Path) -> dict[str, Any]:
    """Cross-validate, tune on the whole main set, score the holdouts, write the reports."""
    kb = load_knowledge_base()
    items = load_eval(eval_path, kb.ids)
    for it, ratio in zip(items, nearest_variant_ratio(items, kb), strict=True):
        it["near_duplicate"] = ratio >= NEAR_DUPLICATE_RATIO
    main_items = [it for it in items if it["split"] == "main"]
    holdouts = {k: [it for it in items if it["split"] == k] for k in HOLDOUT_KEYS}

    self_items = kb_items(kb)
    cv = cross_validate(main_items, self_items)
    distinct = [(i, it) for i, it in enumerate(main_items) if not it["near_duplicate"]]
    cv_distinct = compute_metrics(
        [it["expect"] for _, it in distinct], [cv["predicted"][i] for i, _ in distinct]
    )
    tuning = tune(main_items, self_items)

    shipped_params = dict(DEFAULT_RETRIEVER_PARAMS)
    shipped_thr = dict(DEFAULT_THRESHOLDS)
    shipped = {
        "retriever_params": shipped_params,
        "thresholds": shipped_thr,
        "matches_tuned": tuning["thresholds"] == shipped_thr
        and tuning["retriever_params"] == shipped_params,
        "main": evaluate(main_items, shipped_thr, shipped_params),
        "kb_self_retrieval": evaluate(self_items, shipped_thr, shipped_params)["accuracy"],
    }
    for key, part in holdouts.items():
        if part:
            shipped[key] = evaluate(part, shipped_thr, shipped_params)

    bot_module._fitted_retriever.cache_clear()  # time a cold fit
    start = time.perf_counter()
    bot = MpoxChatbot()
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for it in items:
        bot.reply(it["q"])
    latency_ms = 1000 * (time.perf_counter() - start) / len(items)

    report = {
        "eval_file": str(
            eval_path.relative_to(REPO) if eval_path.is_relative_to(REPO) else eval_path
        ),
        "sizes": {"main": len(main_items), **{k: len(v) for k, v in holdouts.items()}},
        "counts": {k: sum(it["kind"] == k for it in main_items) for k in ("answer", *SPECIAL)},
        "kb_entries": len(kb),
        "kb_as_of": kb.as_of,
        "variant_overlap": variant_overlap(items, kb),
        "near_duplicates": {
            "ratio": NEAR_DUPLICATE_RATIO,
            "main": sum(it["near_duplicate"] for it in main_items),
            **{k: sum(it["near_duplicate"] for it in v) for k, v in holdouts.items()},
        },
        "cross_validation": cv,
        "cross_validation_without_near_duplicates": cv_distinct,
        "tuning": tuning,
        "shipped": shipped,
        "first_runs": load_first_runs(eval_path),
        "fit_seconds": fit_seconds,
        "latency_ms_per_question": latency_ms,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "chat_eval.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(out_dir / "chat_eval.md", to_markdown(report))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", type=Path, default=REPO / "experiments" / "chat_eval.yaml")
    parser.add_argument("--out", type=Path, default=REPO / "experiments" / "results")
    args = parser.parse_args(argv)
    report = run(args.eval.resolve(), args.out.resolve())
    cv = report["cross_validation"]
    print(
        f"CV (out-of-fold): top-1 {_pct(cv['answerable']['top1_accuracy'])}, refusal P/R "
        f"{_pct(cv['refusal']['precision'])}/{_pct(cv['refusal']['recall'])}, unknown P/R "
        f"{_pct(cv['unknown']['precision'])}/{_pct(cv['unknown']['recall'])}\n"
        f"tuned on all: {report['tuning']['retriever_params']} {report['tuning']['thresholds']}"
        f" (shipped {'matches' if report['shipped']['matches_tuned'] else 'DIFFERS'})\n"
        f"wrote {args.out / 'chat_eval.md'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
