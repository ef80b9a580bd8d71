"""Screenshots of the front door, made by the real-browser test, kept for checking by eye.

One command regenerates ``experiments/results/gate/screens/`` (the refusal page, the result page
with its explanation map, the downloaded clinician report)::

    POXSCAN_DATA=../shared/datasets python experiments/gate_screenshots.py

It runs ``tests/test_browser_gate.py`` (headless Chromium, ``poxscan serve`` on 127.0.0.1) with
``$POXSCAN_SCREENSHOTS`` pointing there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "experiments" / "results" / "gate" / "screens"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "POXSCAN_SCREENSHOTS": str(OUT)}
    cmd = [sys.executable, "-m", "pytest", "-q", "tests/test_browser_gate.py"]
    return subprocess.call(cmd, cwd=REPO, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
