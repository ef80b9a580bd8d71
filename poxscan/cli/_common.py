"""Arguments shared by several subcommands."""

from __future__ import annotations

import argparse
import shlex
import sys

from poxscan.core.data import DATA_ENV


def add_data_args(parser: argparse.ArgumentParser, datasets: bool = True) -> None:
    """``--data-root`` and, optionally, ``--dataset``."""
    parser.add_argument(
        "--data-root",
        default=None,
        help=f"folder holding the datasets (default: ${DATA_ENV}, else ./data)",
    )
    if datasets:
        parser.add_argument(
            "--dataset",
            action="append",
            default=None,
            help="dataset name from data_manifest.yaml (repeatable; default: every dataset "
            "in the manifest, pooled, each with its binary mapping and the audit's cross-set "
            "groups)",
        )


def _add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _add_cache(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache", default=None, help="feature cache folder (default: $POXSCAN_CACHE)"
    )


def _add_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="folds and sampler seed (default 0)")


def _add_metric(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metric",
        choices=("roc_auc", "balanced_accuracy"),
        default="roc_auc",
        help="score maximised (default roc_auc; see poxscan.pipelines.tuning)",
    )


_PARENTS = {
    "data": lambda p: add_data_args(p, datasets=True),
    "data-root": lambda p: add_data_args(p, datasets=False),
    "progress": _add_progress,
    "cache": _add_cache,
    "seed": _add_seed,
    "metric": _add_metric,
}


def parents(*names: str) -> list[argparse.ArgumentParser]:
    """Argparse parent parsers for the options several subcommands share.

    Parameters
    ----------
    *names : str
        Any of ``"data"`` (``--data-root`` and ``--dataset``), ``"data-root"``,
        ``"progress"`` (``--no-progress``), ``"cache"``, ``"seed"`` and ``"metric"``.

    Returns
    -------
    list of ArgumentParser
        For ``parents=`` of :meth:`argparse._SubParsersAction.add_parser`.
    """
    out = []
    for name in names:
        parent = argparse.ArgumentParser(add_help=False)
        _PARENTS[name](parent)
        out.append(parent)
    return out


def subcommand(
    sub: argparse._SubParsersAction, name: str, help: str, doc: str | None, *shared: str
) -> argparse.ArgumentParser:
    """A subcommand whose description is its module docstring, with shared option groups."""
    return sub.add_parser(
        name,
        help=help,
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=parents(*shared),
    )


def selected_datasets(args: argparse.Namespace) -> list[str]:
    """``--dataset`` values, or every dataset of the manifest (in manifest order)."""
    from poxscan.core.data import load_manifest

    chosen = getattr(args, "dataset", None)
    if chosen:
        return list(dict.fromkeys(chosen))
    return list(load_manifest())


def command_line() -> str:
    """This run's ``poxscan`` command, quoted for a shell (recorded in every report)."""
    return "poxscan " + shlex.join(sys.argv[1:])
