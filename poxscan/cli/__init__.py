"""The ``poxscan`` command. Each subcommand lives in its own module under :mod:`poxscan.cli`.

A subcommand module defines ``register(subparsers)``, which adds its parser and sets
``func`` to a callable taking the parsed arguments and returning an exit code. Modules import
heavy libraries (TensorFlow, SHAP, Flask) inside ``func``, never at the top, so that
``poxscan --help`` and handcrafted-only commands stay fast and TensorFlow-free.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from poxscan import __version__
from poxscan.cli.quiet import quiet_tensorflow

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = (
    "data",
    "features",
    "train",
    "predict",
    "tune",
    "evaluate",
    "chat",
    "serve",
    "compare",
    "export_tflite",
    "export_lite",
    "export_web",
    "explain",
    "backbones",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser, with every subcommand registered (or only the command ``only``).

    Registering a command imports its module, and some modules need the pipelines' option
    lists (scikit-learn, Optuna, pandas) just to build their parser: ``poxscan predict`` or
    ``serve`` of a lite model must not pay seconds for ``tune``'s choices.
    """
    parser = argparse.ArgumentParser(
        prog="poxscan",
        description="Mpox screening from skin-lesion photos: features, tuned classical "
        "pipelines, fine-tuned CNNs, explanations. A screening aid, not a diagnosis.",
    )
    parser.add_argument("--version", action="version", version=f"poxscan {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log debug messages, and let TensorFlow print its start-up lines",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"poxscan.cli.{name}").register(sub)
    return parser


def _command_module(argv: Sequence[str]) -> str | None:
    """The module of the command ``argv`` names (its first non-option word), if any."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            module = word.replace("-", "_")
            return module if module in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``poxscan`` program; returns the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    # Only the command asked for is registered (its module imported); --help, a typo or no
    # command at all get the full parser with every command listed.
    parser = build_parser(_command_module(words))
    args = parser.parse_args(words)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # No TensorFlow/absl/CUDA start-up lines on the terminal (see poxscan.cli.quiet).
        quiet_tensorflow()
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        # Expected user errors: one clear line, no traceback.
        print(f"poxscan {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
