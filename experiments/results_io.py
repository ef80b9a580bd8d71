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
    """The command line of an experiment with no options but ``--out``: run, write, print.

    The JSON also records the run time and the load average before and after the run.
    """
    import argparse
    import os
    import time

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)
    before, started = os.getloadavg(), time.perf_counter()
    result = run()
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_before"] = [round(v, 2) for v in before]
    result["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    print(write_results(args.out, stem, result, markdown))
    return 0
