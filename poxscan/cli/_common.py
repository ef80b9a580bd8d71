"""Arguments shared by several subcommands."""

from __future__ import annotations

import argparse

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


def selected_datasets(args: argparse.Namespace) -> list[str]:
    """``--dataset`` values, or every dataset of the manifest (in manifest order)."""
    from poxscan.core.data import load_manifest

    chosen = getattr(args, "dataset", None)
    if chosen:
        return list(dict.fromkeys(chosen))
    return list(load_manifest())
