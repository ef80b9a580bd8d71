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


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
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
    for name in COMMANDS:
        importlib.import_module(f"poxscan.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``poxscan`` program; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
