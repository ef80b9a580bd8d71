"""Run one of the on-device page's JavaScript modules under Node, on a JSON job (stdin/stdout)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest


def run_module(harness: str, module: Path, job: dict, timeout: int = 300) -> object:
    """``harness`` (an ES module reading the job on stdin, importing ``process.argv[1]``) run by
    Node on ``module``; its JSON answer. Node builds the page (``npm ci``): without it the test
    fails, it never skips."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (it builds the on-device page: npm ci)", pytrace=False)
    proc = subprocess.run(
        [node, "--input-type=module", "-e", harness, module.as_uri()],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)
