"""A real PostgreSQL server for the distributed-tuning tests.

CI starts one with `.ci/start-postgres` and exports its URL as ``POXSCAN_TEST_POSTGRES_URL``;
elsewhere the fixture starts a throwaway server from Debian's binaries itself. Without either,
the tests fail (they are never skipped).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a live PostgreSQL database on loopback."""
    url = os.environ.get("POXSCAN_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    # Not under pytest's tmp_path: its parents are closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="poxscan-pg-"))
    script = REPO / ".ci" / "start-postgres"
    try:
        out = subprocess.run(
            ["bash", str(script), str(folder), str(_free_port())],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.fail(
            "no PostgreSQL server: install Debian's postgresql package or set "
            f"POXSCAN_TEST_POSTGRES_URL ({getattr(exc, 'stderr', exc)})"
        )
    yield out.stdout.strip().splitlines()[-1]
    pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
    stop = [str(pg_ctl), "-D", str(folder / "data"), "-m", "immediate", "stop"]
    if os.geteuid() == 0:
        stop = ["runuser", "-u", "postgres", "--", *stop]
    subprocess.run(stop, capture_output=True, check=False)
    shutil.rmtree(folder, ignore_errors=True)
