"""``poxscan chat``: ask the mpox chatbot, once (``--ask``) or interactively on stdin."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

_QUIT_WORDS = frozenset({"quit", "exit", "bye", ":q"})


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "chat",
        help="answer general questions about mpox (offline; never diagnoses)",
        description="Answers general questions about mpox from a knowledge base written from "
        "CDC and WHO pages (facts as of October 2023). It does not diagnose: for a screen of a "
        "photo use `poxscan predict`, and see a clinician. Without --ask it reads questions "
        "from stdin until quit, exit or end of input.",
    )
    parser.add_argument("--ask", metavar="QUESTION", help="answer one question and exit")
    parser.add_argument(
        "--json", action="store_true", help="print the structured reply(ies) as JSON"
    )
    parser.add_argument(
        "--kb", default=None, help="knowledge base YAML (default: the one shipped with poxscan)"
    )
    parser.set_defaults(func=_run)


def _print_reply(reply, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(reply.to_dict(), ensure_ascii=False) + "\n")
    else:
        out.write(reply.text + "\n\n")
    out.flush()


def _run(args: argparse.Namespace) -> int:
    from poxscan.chat import MpoxChatbot

    bot = MpoxChatbot(kb_path=args.kb)
    out = sys.stdout
    if args.ask is not None:
        _print_reply(bot.reply(args.ask), args.json, out)
        return 0
    interactive = sys.stdin.isatty()
    if interactive and not args.json:
        out.write(
            "poxscan mpox chatbot: general information only, not a diagnosis. "
            "Type a question, or quit to leave.\n"
        )
    while True:
        if interactive and not args.json:
            out.write("> ")
            out.flush()
        line = sys.stdin.readline()
        if not line:  # end of input
            break
        text = line.strip()
        if text.lower() in _QUIT_WORDS:
            break
        if not text:
            continue
        _print_reply(bot.reply(text), args.json, out)
    return 0
