"""Score a probe list (``experiments/chat_probes_<name>.txt``) with the shipped chatbot.

One ``expected|question`` line each (``#`` lines are comments); ``expected`` is an entry id,
``refusal``, ``unknown`` or ``answer`` (any answer). Prints the count right, per batch, and the
misses. Probe lists are check lists of a round, not holdouts: their author wrote the fixes.

Usage::

    python experiments/score_probes.py [s16]
"""

from __future__ import annotations

import sys
from pathlib import Path

from poxscan.chat.bot import ChatReply, MpoxChatbot

EXP = Path(__file__).resolve().parent


def _ok(expected: str, reply: ChatReply) -> bool:
    """Whether ``reply`` is what the probe line expects (``expected``)."""
    if expected in ("refusal", "unknown"):
        return reply.kind == expected
    if expected == "answer":
        return reply.kind == "answer"
    return reply.kind == "answer" and reply.entry_id == expected


def main(name: str = "s16") -> None:
    """Print the score of the probe list ``name``."""
    items: list[tuple[str, str, str]] = []
    batch = ""
    for line in (EXP / f"chat_probes_{name}.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("# batch"):
            batch = line[2:].split(":")[0]
        elif line.strip() and not line.startswith("#"):
            expected, _, question = line.partition("|")
            items.append((batch, expected.strip(), question.strip()))
    replies = MpoxChatbot().reply_many([q for _, _, q in items])
    per: dict[str, list[int]] = {}
    right = 0
    for (batch, expected, question), reply in zip(items, replies, strict=True):
        ok = _ok(expected, reply)
        right += ok
        per.setdefault(batch, [0, 0])
        per[batch][0] += ok
        per[batch][1] += 1
        if not ok:
            got = reply.entry_id or reply.kind
            print(f"miss: {question!r} expected {expected}, got {got} ({reply.reason})")
    for batch, (ok, n) in per.items():
        print(f"{batch}: {ok} of {n}")
    print(f"probes {name}: {right} of {len(items)}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
