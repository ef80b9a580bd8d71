"""Would the refusal classifier catch more diagnosis requests, learning from every development set?

The classifier of :mod:`poxscan.chat.refusal_model` was fitted (s13/s14-chat) on the
development sets of its time: ``chat_eval.yaml``'s questions, ``chat_dev_informal.yaml``,
holdouts v2 to v12 and the probe lists of s6 to s13. Ten more former holdouts (v13 to v22) are
development sets now; it never learned from them, so its figures on them are out of set. The
s26-chat candidate re-exports the examples from every development set (``collect`` of
``experiments/export_refusal_examples.py`` given every ``DEVELOPMENT_SINCE`` set) and keeps the
threshold (0.85) and everything else.

Each of v13 to v22 is scored twice, with the bot's refusal decision (the rules of
:mod:`poxscan.chat.diagnosis`, then the classifier where :func:`model_may_refuse` consults it):
with the shipped classifier, and with the candidate's classifier refitted without that set (and
without any example worded exactly as one of its questions). The rules were written from
these sets' misses, so both figures are in sample for the rules; the difference between them is
the classifier's, out of set.

Rule, declared before the first run (s26-chat): the candidate is made only if, over v13 to v22
together, its classifier catches at least two more of the refusals than the shipped one with no
more false refusals. It must then keep every chat regression test passing, and is judged once on
the blind holdouts v23 and v24 together (sealed in ``experiments/sealed/``, each scored once
before, aggregates only, by the shipped bot): kept only if refusal recall rises, false refusals
do not rise and top-1 does not fall.

Usage::

    python experiments/chat_refusal_sets.py

writes ``experiments/results/chat_refusal_sets.{md,json}`` (12 s at load 0.5).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_eval_data import DEVELOPMENT_SINCE, _load_list, discover_holdouts
from export_refusal_examples import collect
from results_io import results_main

from poxscan.chat.diagnosis import detect_diagnosis_request
from poxscan.chat.knowledge import load_knowledge_base
from poxscan.chat.refusal_model import (
    THRESHOLD,
    RefusalModel,
    load_examples,
    model_may_refuse,
    shipped_model,
)
from poxscan.chat.text import normalize

HERE = Path(__file__).resolve().parent


def _refused(texts: list[str], model: RefusalModel) -> np.ndarray:
    """The bot's refusal decision: a rule fires, or the consulted classifier reaches 0.85."""
    rules = np.array([detect_diagnosis_request(t) is not None for t in texts])
    asked = np.array([model_may_refuse(t) for t in texts])
    p = np.zeros(len(texts))
    if asked.any():
        p[asked] = model.probability([t for t, a in zip(texts, asked, strict=True) if a])
    return rules | (asked & (p >= THRESHOLD))


def run() -> dict:
    """Refusal recall and false refusals on v13-v22, shipped classifier against the candidate's."""
    kb = load_knowledge_base()
    _, _, shipped_groups = load_examples()
    paths = discover_holdouts(HERE)
    # discover_holdouts keeps version order (v9 before v10).
    new_sets = [k for k in paths if k in DEVELOPMENT_SINCE and k not in set(shipped_groups)]
    rows = collect(tuple(DEVELOPMENT_SINCE))
    shipped = shipped_model()
    per_set = {}
    for key in new_sets:
        items = _load_list(paths[key], key, kb.ids, key)
        texts = [normalize(it["q"]) for it in items]
        y = np.array([it["expect"] == "refusal" for it in items])
        own = {" ".join(it["q"].lower().split()) for it in items}
        train = [(lab, q) for lab, group, q in rows if group != key and q.lower() not in own]
        candidate = RefusalModel([normalize(q) for _, q in train], [lab for lab, _ in train])
        figures = {}
        for name, model in (("shipped", shipped), ("candidate", candidate)):
            refused = _refused(texts, model)
            figures[name] = {
                "caught": int((refused & y).sum()),
                "false_refusals": int((refused & ~y).sum()),
            }
        per_set[key] = {"refusals": int(y.sum()), "questions": len(items), **figures}
    total = {
        name: {
            "caught": sum(s[name]["caught"] for s in per_set.values()),
            "false_refusals": sum(s[name]["false_refusals"] for s in per_set.values()),
        }
        for name in ("shipped", "candidate")
    }
    refusals = sum(s["refusals"] for s in per_set.values())
    made = (
        total["candidate"]["caught"] - total["shipped"]["caught"] >= 2
        and total["candidate"]["false_refusals"] <= total["shipped"]["false_refusals"]
    )
    return {
        "sets": new_sets,
        "per_set": per_set,
        "refusals": refusals,
        "total": total,
        "examples_shipped": len(shipped_groups),
        "examples_candidate": len(rows),
        "candidate_made": bool(made),
    }


def to_markdown(result: dict) -> str:
    """The report as a Markdown table."""
    lines = [
        "# The refusal classifier, learning from every development set (s26-chat)",
        "",
        "Reproduce with `python experiments/chat_refusal_sets.py`. The bot's refusal decision "
        "(rules, then the classifier at 0.85 where it is consulted) on each development set the "
        "shipped classifier never learned from; the candidate's classifier "
        f"({result['examples_candidate']} examples, against {result['examples_shipped']}) "
        "refitted without the set scored.",
        "",
        "| set | questions | refusals | caught, shipped | caught, candidate | false refusals, "
        "shipped | false refusals, candidate |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, s in result["per_set"].items():
        lines.append(
            f"| {key} | {s['questions']} | {s['refusals']} | {s['shipped']['caught']} | "
            f"{s['candidate']['caught']} | {s['shipped']['false_refusals']} | "
            f"{s['candidate']['false_refusals']} |"
        )
    t = result["total"]
    lines.append(
        f"| all | {sum(s['questions'] for s in result['per_set'].values())} | "
        f"{result['refusals']} | {t['shipped']['caught']} | {t['candidate']['caught']} | "
        f"{t['shipped']['false_refusals']} | {t['candidate']['false_refusals']} |"
    )
    verdict = "made a candidate" if result["candidate_made"] else "**not made a candidate**"
    lines += [
        "",
        "Rule (declared before the first run): a candidate only if it catches at least two more "
        f"refusals over these sets with no more false refusals: {verdict}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return results_main(argv, __doc__, "chat_refusal_sets", run, to_markdown, HERE / "results")


if __name__ == "__main__":
    raise SystemExit(main())
