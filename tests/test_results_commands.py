"""Every committed result names a command that exists and inputs that are committed.

The registry is ``experiments/regenerate.md`` (one table row per group of results files).
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REGISTRY = REPO / "experiments" / "regenerate.md"
GROUPS = REPO / "poxscan" / "core" / "resources" / "groups.csv"


def _tracked(prefix: str = "") -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", prefix or "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in out.stdout.splitlines() if (REPO / line).is_file()]


def _rows() -> list[dict]:
    rows = []
    for line in REGISTRY.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        files, command, inputs = cells[0], cells[1], cells[2]
        patterns = re.findall(r"`([^`]+)`", files)
        # Later names in a cell may be bare file names in the folder of the first.
        folder = patterns[0].rsplit("/", 1)[0]
        globs = [p if "/" in p else f"{folder}/{p}" for p in patterns]
        rows.append(
            {
                "globs": globs,
                "command": command.strip("`"),
                "inputs": re.findall(r"`([^`]+)`", inputs),
            }
        )
    return rows


ROWS = _rows()


def test_registry_is_read():
    assert len(ROWS) >= 15
    assert any(r["command"].startswith("python experiments/candidates.py") for r in ROWS)


def test_every_results_file_has_a_command():
    files = _tracked("experiments/results")
    assert files, "no results files found"
    missing = [f for f in files if not any(fnmatch.fnmatch(f, g) for r in ROWS for g in r["globs"])]
    assert not missing, f"results files without a command in {REGISTRY.name}: {missing}"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["command"][:60])
def test_command_exists_and_inputs_are_committed(row):
    argv = shlex.split(row["command"])
    if argv[0] == "poxscan":
        from poxscan.cli import build_parser

        # argparse exits on an unknown subcommand or flag: the command must parse as written.
        args = build_parser().parse_args(argv[1:])
        assert callable(args.func)
    else:
        assert argv[0] == "python", row["command"]
        script = REPO / argv[1]
        assert script.is_file(), f"{argv[1]} does not exist"
        text = script.read_text(encoding="utf-8")
        for flag in (a.split("=")[0] for a in argv[2:] if a.startswith("--")):
            assert f'"{flag}"' in text, f"{argv[1]} has no option {flag}"
    tracked = set(_tracked())
    # A row whose results are not committed yet (a run still going) only needs its command;
    # every committed result needs its inputs committed.
    produced = any(fnmatch.fnmatch(t, g) for t in tracked for g in row["globs"])
    for item in row["inputs"] if produced else []:
        assert not item.startswith("/"), f"absolute input {item}"
        path = REPO / item
        if path.is_dir():
            assert any(t.startswith(item.rstrip("/") + "/") for t in tracked), item
        else:
            assert item in tracked, f"input {item} is not committed"


def test_results_name_no_tmp_inputs_and_only_the_committed_groups():
    import hashlib

    committed = hashlib.sha256(GROUPS.read_bytes()).hexdigest()
    bad = []
    for rel in _tracked("experiments/results"):
        if not rel.endswith((".md", ".json")):
            continue
        text = (REPO / rel).read_text(encoding="utf-8", errors="replace")
        if "/tmp/" in text:
            bad.append(f"{rel}: names a /tmp path")
        # A groups file's sha256 quoted next to the word "groups" must be the committed one.
        for m in re.finditer(r"groups[^\n]{0,160}?\b([0-9a-f]{12,64})\b", text):
            if not committed.startswith(m.group(1)):
                bad.append(f"{rel}: groups sha256 {m.group(1)[:12]} is not the committed file's")
    assert not bad, "\n".join(bad)
