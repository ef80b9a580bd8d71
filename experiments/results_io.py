"""Writing an experiment's results: ``<stem>.json`` and ``<stem>.md`` side by side, atomically."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from poxscan.core.atomic import atomic_write_text


def write_results(
    out_dir: Path, stem: str, result: dict[str, Any], markdown: Callable[[dict], str]
) -> str:
    """Write ``result`` as JSON and ``markdown(result)`` under ``out_dir``; return the Markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(result)
    atomic_write_text(out_dir / f"{stem}.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(out_dir / f"{stem}.md", text)
    return text


def results_main(
    argv: list[str] | None,
    doc: str,
    stem: str,
    run: Callable[[], dict[str, Any]],
    markdown: Callable[[dict], str],
    default_out: Path,
) -> int:
    """The command line of an experiment with no options but ``--out``: run, write, print."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)
    print(write_results(args.out, stem, run(), markdown))
    return 0
