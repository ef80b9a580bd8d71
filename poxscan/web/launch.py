"""Start ``poxscan serve`` in a child process, and the body a client uploads a photo with.

The browser tests, the API tests with worker processes and the serving benchmarks all need a
real server on a free port and a multipart upload; this is their one way to get both.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike

__all__ = ["ServeProcess", "multipart_photo", "start_serve"]

#: The line ``poxscan serve`` prints once it listens (see :mod:`poxscan.cli.serve`).
SERVING = re.compile(r"serving on (http://127\.0\.0\.1:(\d+)/)")


@dataclass
class ServeProcess:
    """A running ``poxscan serve``: its process, base URL and the output read so far."""

    proc: subprocess.Popen
    url: str
    lines: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(SERVING.search(f"serving on {self.url}").group(2))

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit status."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode


def start_serve(
    model_dir: str | PathLike,
    *args: str,
    command: Sequence[str] | None = None,
    timeout: float = 240,
    env: dict[str, str] | None = None,
) -> ServeProcess:
    """Run ``poxscan serve --model MODEL_DIR ARGS`` on a free port until it says it serves.

    Parameters
    ----------
    model_dir : path-like
        The model directory to serve.
    *args : str
        More ``serve`` options (``"--port", "0"`` is added unless a port is given).
    command : sequence of str, optional
        How to run poxscan (default: this interpreter's ``-m poxscan``; e.g. another
        virtual environment's ``bin/poxscan``).
    timeout : float
        Seconds to wait for the "serving on" line.
    env : dict, optional
        The child's environment (default: this one's).

    Returns
    -------
    ServeProcess
        Its output keeps being read in a thread, so a chatty server never blocks on a full pipe.

    Raises
    ------
    RuntimeError
        The server exited or did not say it serves in time; the message holds its output.
    """
    argv = [*(command or [sys.executable, "-m", "poxscan"]), "serve", "--model", str(model_dir)]
    argv += [*args] if "--port" in args else [*args, "--port", "0"]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if match := SERVING.search(line):
            threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
            return ServeProcess(proc, match.group(1), lines)
    proc.kill()
    proc.wait()
    raise RuntimeError("poxscan serve did not start:\n" + "".join(lines))


def multipart_photo(
    data: bytes, filename: str = "photo.jpg", content_type: str = "application/octet-stream"
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with ``data`` in the ``file`` field, and its header value.

    Written by hand so that clients need nothing beyond the standard library.
    """
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), (
        f"multipart/form-data; boundary={boundary}"
    )
