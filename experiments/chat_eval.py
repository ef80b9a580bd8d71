"""Evaluate the mpox chatbot: one command writes ``experiments/results/chat_eval.{json,md}``.

- The development set (``questions`` of ``experiments/chat_eval.yaml`` plus the informal
  development set ``experiments/chat_dev_informal.yaml``) is scored by 5-fold cross-validation,
  every setting tuned inside the training folds (``experiments/chat_eval_tuning.py``); the
  shipped settings are tuned on all of it.
- The held-out sets are only scored with the shipped settings: the second informal holdout
  (``experiments/chat_holdout_v2.yaml``, written before the generalisation work), the informal
  holdout (``experiments/chat_holdout_informal.yaml``, written before issue 14's changes) and
  the older ``holdout`` and ``holdout_final`` lists.
- Further holdouts: every ``experiments/chat_holdout_v<N>.yaml`` other than v2 (e.g.
  ``chat_holdout_v3.yaml`` with its ``holdout_v3`` list) is found and scored only, with the
  shipped settings; ``--no-discover`` leaves out every such file except the former holdouts
  that are development sets now (``DEVELOPMENT_SINCE``: v3 to v22), so a new holdout is never
  scored by accident; ``--holdout PATH`` adds a file by name.
- Since the s4-chat work the v2 set is a development set (its misses guided general fixes; its
  first score stays the honest holdout figure); it is still scored apart, not tuned on. The
  same holds for v3 since the s5-chat work (``DEVELOPMENT_SINCE`` in ``chat_eval_data.py``;
  its first score is ``first_runs.holdout_v3_first_score``): it is labelled development, and
  so is v4 since the s6-chat work (``first_runs.holdout_v4_first_score``), v5 since the
  s7-chat work (``first_runs.holdout_v5_first_score``), v6 since the s8-chat work
  (``first_runs.holdout_v6_first_score``) v7 since the s9-chat work
  (``first_runs.holdout_v7_first_score``), v8 since the s10-chat work
  (``first_runs.holdout_v8_first_score``), v9 since the s11-chat work
  (``first_runs.holdout_v9_first_score``), v10 since the s12-chat work
  (``first_runs.holdout_v10_first_score``), v11 since the s13-chat work
  (``first_runs.holdout_v11_first_score``), v12 since the s14-chat work
  (``first_runs.holdout_v12_first_score``), v13 since the s15-chat work
  (``first_runs.holdout_v13_first_score``), v14 since the s16-chat work
  (``first_runs.holdout_v14_first_score``), v15 since the s17-chat work
  (``first_runs.holdout_v15_first_score``) and v16 since the s18-chat work
  (``first_runs.holdout_v16_first_score``), v17 since the s19-chat work
  (``first_runs.holdout_v17_first_score``), v18 since the s20-chat work
  (``first_runs.holdout_v18_first_score``), v19 since the s21-chat work
  (``first_runs.holdout_v19_first_score``), v20 since the s22-chat work
  (``first_runs.holdout_v20_first_score``), v21 since the s23-chat work
  (``first_runs.holdout_v21_first_score``) and v22 since the s24-chat work
  (``first_runs.holdout_v22_first_score``).
- ``--quick`` scores every set with the shipped settings only (no cross-validation, no tuning,
  nothing written): for a quick look, or to score a new holdout alone.
- ``--dev-only`` scores the development sets alone (cross-validated and in-sample, with their
  misses) and writes nothing: the command used while tuning, so that no holdout result is seen.
- ``first_runs`` and ``change_log`` in ``chat_eval.yaml`` record history that a rerun cannot
  recompute (the first scoring of each holdout; the development figure of each issue-14 step).

Metrics (``experiments/chat_eval_metrics.py``): top-1 accuracy on answerable questions, false
refusals, refusal and unknown precision/recall, overall accuracy, the list of misses.

Usage::

    python experiments/chat_eval.py [--eval experiments/chat_eval.yaml]
        [--informal experiments/chat_holdout_informal.yaml]
        [--dev experiments/chat_dev_informal.yaml] [--v2 experiments/chat_holdout_v2.yaml]
        [--out experiments/results] [--dev-only] [--quick] [--holdout PATH ...]
        [--no-discover]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chat_eval_tuning
import yaml
from chat_eval_data import (
    DEV_KEY,
    DEVELOPMENT_SINCE,
    HOLDOUT_KEYS,
    INFORMAL_KEY,
    N_FOLDS,
    SPECIAL,
    V2_KEY,
    discover_holdouts,
    holdout_key,
    kb_items,
    load_eval,
    load_first_runs,
    nearest_variant_ratio,
    variant_overlap,
)
from chat_eval_metrics import compute_metrics, wilson_interval
from chat_eval_report import _pct, to_markdown
from chat_eval_tuning import Scored, cross_validate, evaluate, tune

from poxscan.chat import bot as bot_module
from poxscan.chat.bot import (
    DEFAULT_FUSION,
    DEFAULT_RETRIEVER_PARAMS,
    DEFAULT_THRESHOLDS,
    MpoxChatbot,
)
from poxscan.chat.knowledge import load_knowledge_base
from poxscan.core.atomic import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
NEAR_DUPLICATE_RATIO = 0.8

__all__ = ["compute_metrics", "load_eval", "run", "wilson_interval"]


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def _subset_metrics(items: Sequence[dict], predicted: Sequence[str]) -> dict[str, Any]:
    metrics = compute_metrics(
        [it["expect"] for it in items],
        predicted,
        [it["q"] for it in items],
        accept=[it["accept"] for it in items],
    )
    styles: dict[str, list[bool]] = {}
    for it, label in zip(items, predicted, strict=True):
        styles.setdefault(it["style"], []).append(label in it["accept"])
    metrics["by_style"] = {k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in styles.items()}
    return metrics


def _shipped_labels(items: Sequence[dict]) -> list[str]:
    return [
        r.entry_id if r.kind == "answer" else r.kind
        for r in MpoxChatbot().reply_many([it["q"] for it in items])
    ]


def run(
    eval_path: Path,
    informal_path: Path | None,
    out_dir: Path | None,
    dev_path: Path | None = None,
    v2_path: Path | None = None,
    dev_only: bool = False,
    extra_paths: dict[str, Path] | None = None,
) -> dict[str, Any]:
    """Cross-validate, tune on the whole development set, score the holdouts, write reports.

    With ``dev_only`` the holdouts are neither loaded nor scored and nothing is written.
    ``extra_paths`` (``{key: path}``) are further holdouts, scored with the shipped settings.
    """
    extra_paths = {} if dev_only else dict(extra_paths or {})
    load_before = os.getloadavg()
    kb = load_knowledge_base()
    items = load_eval(
        eval_path,
        kb.ids,
        None if dev_only else informal_path,
        dev_path,
        None if dev_only else v2_path,
        extra_paths,
    )
    if dev_only:
        items = [it for it in items if it["split"] == "main"]
    for it, ratio in zip(items, nearest_variant_ratio(items, kb), strict=True):
        it["near_duplicate"] = ratio >= NEAR_DUPLICATE_RATIO
    main_items = [it for it in items if it["split"] == "main"]
    keys = [] if dev_only else [*HOLDOUT_KEYS]
    if informal_path is not None and not dev_only:
        keys.append(INFORMAL_KEY)
    if v2_path is not None and not dev_only:
        keys.append(V2_KEY)
    keys += list(extra_paths)
    holdouts = {k: [it for it in items if it["split"] == k] for k in keys}

    self_items = kb_items(kb)
    scored, self_scored = Scored(main_items), Scored(self_items)
    cv = cross_validate(scored, self_scored, N_FOLDS)
    distinct = [(i, it) for i, it in enumerate(main_items) if not it["near_duplicate"]]
    cv_distinct = _subset_metrics(
        [it for _, it in distinct], [cv["predicted"][i] for i, _ in distinct]
    )
    dev_idx = [i for i, it in enumerate(main_items) if it["source"] == DEV_KEY]
    cv_dev = (
        _subset_metrics([main_items[i] for i in dev_idx], [cv["predicted"][i] for i in dev_idx])
        if dev_idx
        else None
    )
    tuning = tune(scored, self_scored)

    params, fusion, thr = (
        dict(DEFAULT_RETRIEVER_PARAMS),
        dict(DEFAULT_FUSION),
        dict(DEFAULT_THRESHOLDS),
    )
    shipped: dict[str, Any] = {
        "retriever_params": params,
        "fusion": fusion,
        "thresholds": thr,
        "matches_tuned": tuning["thresholds"] == thr
        and tuning["retriever_params"] == params
        and tuning["fusion"] == fusion,
        "main": evaluate(main_items, thr, params, fusion),
        "kb_self_retrieval": evaluate(self_items, thr, params, fusion)["accuracy"],
    }
    if dev_idx:
        shipped[DEV_KEY] = evaluate([main_items[i] for i in dev_idx], thr, params, fusion)
    for key, part in holdouts.items():
        if part:
            shipped[key] = evaluate(part, thr, params, fusion)
    # The informal holdouts without their near-duplicates of knowledge-base variants.
    without_near_dup = {}
    for key in (INFORMAL_KEY, V2_KEY, *extra_paths):
        part = holdouts.get(key)
        if part:
            keep = [it for it in part if not it["near_duplicate"]]
            without_near_dup[key] = _subset_metrics(keep, _shipped_labels(keep))

    bot_module._fitted_retriever.cache_clear()  # time a cold fit
    bot_module._fitted_bm25.cache_clear()
    bot_module._fitted_learned.cache_clear()
    start = time.perf_counter()
    bot = MpoxChatbot()
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for it in items:
        bot.reply(it["q"])
    latency_ms = 1000 * (time.perf_counter() - start) / len(items)
    load_after = os.getloadavg()

    with open(eval_path, encoding="utf-8") as handle:
        eval_yaml = yaml.safe_load(handle) or {}
    report = {
        "eval_file": _rel(eval_path),
        "informal_file": _rel(informal_path) if informal_path is not None else None,
        "dev_file": _rel(dev_path) if dev_path is not None else None,
        "v2_file": _rel(v2_path) if v2_path is not None else None,
        "extra_files": {k: _rel(Path(v).resolve()) for k, v in extra_paths.items()},
        "sizes": {
            "main": len(main_items),
            DEV_KEY: len(dev_idx),
            **{k: len(v) for k, v in holdouts.items()},
        },
        "counts": {k: sum(it["kind"] == k for it in main_items) for k in ("answer", *SPECIAL)},
        "kb_entries": len(kb),
        "kb_variants": sum(len(e.questions) for e in kb.entries),
        "kb_as_of": kb.as_of,
        "variant_overlap": variant_overlap(items, kb),
        "near_duplicates": {
            "ratio": NEAR_DUPLICATE_RATIO,
            "main": sum(it["near_duplicate"] for it in main_items),
            DEV_KEY: sum(main_items[i]["near_duplicate"] for i in dev_idx),
            **{k: sum(it["near_duplicate"] for it in v) for k, v in holdouts.items()},
        },
        "cross_validation": cv,
        "cross_validation_without_near_duplicates": cv_distinct,
        "cross_validation_dev_informal": cv_dev,
        "without_near_dup": without_near_dup,
        "tuning": tuning,
        "shipped": shipped,
        "first_runs": load_first_runs(eval_path),
        "change_log": eval_yaml.get("change_log") or [],
        "change_log_v2": eval_yaml.get("change_log_v2") or [],
        "change_log_v3": eval_yaml.get("change_log_v3") or [],
        "change_log_s5": eval_yaml.get("change_log_s5") or [],
        "change_log_s6": eval_yaml.get("change_log_s6") or [],
        "change_log_s7": eval_yaml.get("change_log_s7") or [],
        "fit_seconds": fit_seconds,
        "latency_ms_per_question": latency_ms,
        "load_average": f"{load_before[0]:.1f} before, {load_after[0]:.1f} after",
    }
    if not dev_only and out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_dir / "chat_eval.json", json.dumps(report, indent=2) + "\n")
        atomic_write_text(out_dir / "chat_eval.md", to_markdown(report))
    return report


def quick(
    eval_path: Path,
    informal_path: Path | None,
    dev_path: Path | None,
    v2_path: Path | None,
    extra_paths: dict[str, Path] | None = None,
) -> dict[str, dict[str, Any]]:
    """Metrics of the shipped bot on every set (no cross-validation, no tuning, no files)."""
    kb = load_knowledge_base()
    items = load_eval(eval_path, kb.ids, informal_path, dev_path, v2_path, extra_paths)
    groups: dict[str, list[dict]] = {}
    for it in items:
        groups.setdefault("development" if it["split"] == "main" else it["split"], []).append(it)
        if it["source"] == DEV_KEY:
            groups.setdefault(DEV_KEY, []).append(it)
    out = {}
    for key, part in groups.items():
        replies = MpoxChatbot().reply_many([it["q"] for it in part])
        labels = [r.entry_id if r.kind == "answer" else r.kind for r in replies]
        metrics = _subset_metrics(part, labels)
        for miss, r in zip(
            metrics["misses"],
            [
                r
                for r, it, lab in zip(replies, part, labels, strict=True)
                if lab not in it["accept"]
            ],
            strict=True,
        ):
            miss["score"], miss["reason"] = round(r.score, 3), r.reason
        out[key] = metrics
    return out


def _label(key: str) -> str:
    """A set's name in printed summaries: former holdouts say they are development sets."""
    since = DEVELOPMENT_SINCE.get(key)
    return key if since is None else f"{key} (development since {since})"


def _summary(name: str, m: dict[str, Any]) -> str:
    ans = m["answerable"]
    return (
        f"{name}: top-1 {_pct(ans['top1_accuracy'])} of {ans['n']}, overall "
        f"{_pct(m['accuracy'])}, false refusals {m['false_refusals']['n']}, refusal recall "
        f"{_pct(m['refusal']['recall'])}, unknown P/R {_pct(m['unknown']['precision'])}/"
        f"{_pct(m['unknown']['recall'])}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", type=Path, default=REPO / "experiments" / "chat_eval.yaml")
    parser.add_argument(
        "--informal", type=Path, default=REPO / "experiments" / "chat_holdout_informal.yaml"
    )
    parser.add_argument("--dev", type=Path, default=REPO / "experiments" / "chat_dev_informal.yaml")
    parser.add_argument("--v2", type=Path, default=REPO / "experiments" / "chat_holdout_v2.yaml")
    parser.add_argument("--out", type=Path, default=REPO / "experiments" / "results")
    parser.add_argument(
        "--dev-only",
        action="store_true",
        help="score the development sets only (with their misses); load no holdout, write nothing",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="score every set with the shipped settings only (no CV, no tuning), write nothing",
    )
    parser.add_argument(
        "--misses",
        nargs="*",
        default=(),
        help="with --quick: the sets whose misses to print (e.g. development holdout_v2)",
    )
    parser.add_argument(
        "--holdout",
        type=Path,
        action="append",
        default=[],
        help="a further holdout file chat_holdout_<name>.yaml holding a holdout_<name> list",
    )
    parser.add_argument(
        "--no-discover",
        action="store_true",
        help="score no experiments/chat_holdout_v<N>.yaml file found in the folder except the "
        "former holdouts that are development sets now (DEVELOPMENT_SINCE: v3 to v22); a new "
        "holdout is then scored only if named with --holdout",
    )
    parser.add_argument(
        "--bm25-weights",
        type=float,
        nargs="+",
        default=None,
        help="ablation: the BM25 weights the grid may choose (0 alone = TF-IDF only)",
    )
    parser.add_argument("--lexicon", type=Path, default=None, help="ablation: another lexicon YAML")
    parser.add_argument(
        "--kb", type=Path, default=None, help="ablation: another knowledge-base YAML"
    )
    args = parser.parse_args(argv)
    if args.kb is not None:
        from poxscan.chat import knowledge

        knowledge.default_kb_path = lambda: args.kb.resolve()
    if args.lexicon is not None:
        from poxscan.chat import text

        text.default_lexicon_path = lambda: args.lexicon.resolve()
    if args.bm25_weights is not None:
        chat_eval_tuning.BM25_WEIGHTS = tuple(args.bm25_weights)
    extra: dict[str, Path] = {}
    if not args.dev_only:
        found = discover_holdouts(args.v2.resolve().parent, exclude=[args.v2])
        if args.no_discover:
            # Former holdouts are development sets now: always scored. Unknown ones are not.
            found = {k: p for k, p in found.items() if k in DEVELOPMENT_SINCE}
        extra.update(found)
    for path in args.holdout:
        extra[holdout_key(path)] = path.resolve()
    if args.quick:
        sets = quick(
            args.eval.resolve(),
            args.informal.resolve(),
            args.dev.resolve(),
            args.v2.resolve(),
            extra,
        )
        lines = [_summary(_label(k), m) for k, m in sets.items()]
        for key in args.misses:
            for miss in sets[key]["misses"]:
                lines.append(
                    f"  {key} miss: {miss['question']!r} expected {miss['expected']}, got "
                    f"{miss['predicted']} ({miss['score']}, {miss['reason']})"
                )
        print("\n".join(lines))
        return 0
    report = run(
        args.eval.resolve(),
        args.informal.resolve(),
        args.out.resolve(),
        args.dev.resolve(),
        args.v2.resolve(),
        dev_only=args.dev_only,
        extra_paths=extra,
    )
    cv = report["cross_validation"]
    shipped = report["shipped"]
    lines = [_summary("development CV (both sets)", cv)]
    if report["cross_validation_dev_informal"] is not None:
        lines.append(
            _summary("informal development set, CV", report["cross_validation_dev_informal"])
        )
        lines.append(_summary("informal development set, shipped settings", shipped[DEV_KEY]))
    lines.append(_summary("development, shipped settings", shipped["main"]))
    for key in (*extra, V2_KEY, INFORMAL_KEY, *HOLDOUT_KEYS):
        if key in shipped:
            lines.append(_summary(_label(key), shipped[key]))
    lines.append(
        f"tuned on all: {report['tuning']['retriever_params']} {report['tuning']['fusion']} "
        f"{report['tuning']['thresholds']} (shipped "
        f"{'matches' if shipped['matches_tuned'] else 'DIFFERS'}); self-retrieval "
        f"{_pct(shipped['kb_self_retrieval'])}"
    )
    if args.dev_only:
        for title, m in (("CV", cv), ("shipped", shipped["main"])):
            for miss in m["misses"]:
                lines.append(
                    f"  {title} miss: {miss['question']!r} expected {miss['expected']}, got "
                    f"{miss['predicted']} ({miss['score']}, {miss['reason']})"
                )
    else:
        lines.append(f"wrote {args.out / 'chat_eval.md'}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
