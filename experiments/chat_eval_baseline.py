"""Score an older revision's chatbot on today's question sets (aggregate figures only).

The "before" figures of a change are the chatbot of an earlier commit on question sets written
after it. This script takes the ``poxscan/`` package of a git revision (``git archive``, into a
temporary directory), runs that revision's ``MpoxChatbot`` in a subprocess on the questions of
the named sets, and prints the metrics of ``chat_eval_metrics.compute_metrics``. Per-question
results are printed only for development sets (``--misses``): a holdout's misses stay unread.

Usage::

    python experiments/chat_eval_baseline.py --rev 6be3ccf [--sets dev_informal holdout_v2]
        [--misses]

The figures it prints are recorded by hand in ``first_runs`` of ``experiments/chat_eval.yaml``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_eval_data import DEV_KEY, V2_KEY, load_eval
from chat_eval_metrics import compute_metrics

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "experiments"
#: Sets whose per-question results may be printed (tuned on anyway).
DEVELOPMENT_SETS = ("main", DEV_KEY)

_CHILD = """
import json, sys
import poxscan.chat.bot as b
from poxscan.chat import MpoxChatbot
assert b.__file__.startswith(sys.argv[1]), b.__file__
texts = json.load(sys.stdin)
replies = MpoxChatbot().reply_many(texts)
json.dump([r.entry_id if r.kind == "answer" else r.kind for r in replies], sys.stdout)
"""


def predict_at_revision(rev: str, texts: Sequence[str]) -> list[str]:
    """Labels (entry id, ``refusal``, ``unknown``) of revision ``rev``'s chatbot."""
    with tempfile.TemporaryDirectory(prefix="chat-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev, "poxscan"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": tmp}
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, tmp],
            input=json.dumps(list(texts)),
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=tmp,
        ).stdout
    return json.loads(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rev", required=True, help="git revision whose chatbot is scored")
    parser.add_argument("--sets", nargs="+", default=[DEV_KEY, V2_KEY])
    parser.add_argument("--misses", action="store_true", help="also print development sets' misses")
    args = parser.parse_args(argv)
    items = load_eval(
        EXPERIMENTS / "chat_eval.yaml",
        None,
        EXPERIMENTS / "chat_holdout_informal.yaml",
        EXPERIMENTS / "chat_dev_informal.yaml",
        EXPERIMENTS / "chat_holdout_v2.yaml",
    )
    for name in args.sets:
        part = [it for it in items if it["source"] == name]
        if not part:
            raise SystemExit(f"no questions in set {name!r}")
        predicted = predict_at_revision(args.rev, [it["q"] for it in part])
        m = compute_metrics(
            [it["expect"] for it in part],
            predicted,
            [it["q"] for it in part],
            [it["accept"] for it in part],
        )
        ans = m["answerable"]
        right = round(ans["top1_accuracy"] * ans["n"])
        print(
            f"{name} @ {args.rev}: n {m['n']}, accuracy {m['accuracy']:.3f}, top-1 "
            f"{ans['top1_accuracy']:.3f} ({right}/{ans['n']}), false refusals "
            f"{m['false_refusals']['n']}, refusal P/R {m['refusal']['precision']}/"
            f"{m['refusal']['recall']} ({m['refusal']['tp']}/{m['refusal']['n']}), unknown "
            f"P/R {m['unknown']['precision']}/{m['unknown']['recall']}"
        )
        if args.misses and name in DEVELOPMENT_SETS:
            for miss in m["misses"]:
                print(
                    f"  miss: {miss['question']!r} expected {miss['expected']}, got "
                    f"{miss['predicted']}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
