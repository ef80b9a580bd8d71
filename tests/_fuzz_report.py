"""Lines the fuzzing tests want in pytest's final summary (CI's log shows the case counts)."""

from __future__ import annotations

LINES: list[str] = []
