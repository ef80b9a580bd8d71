"""``poxscan serve --workers N``: several server processes on one listening socket.

One Python process runs the model's Python code (feature extraction, the pipeline, the
explanation) on one core at a time, whatever its threads. :func:`serve_workers` binds the
address once, then starts ``N`` worker processes (``spawn``: fresh interpreters, nothing
inherited but the socket). Each worker loads and hash-checks the model itself
(:func:`poxscan.web.create_app`), then serves the shared socket with waitress through
:func:`poxscan.web.server.make_server`, so every worker answers errors exactly as a single
server does (JSON 413, 400, 431). The kernel hands each new connection to whichever worker
accepts it first.

Each worker's thread pools (TensorFlow, BLAS, OpenCV) get its share of the cores.
The parent only supervises: it waits until every worker has loaded the model (a worker that
cannot load it stops them all, with its error), restarts a worker that dies later, and on
Ctrl+C or SIGTERM stops them all.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from multiprocessing.connection import wait
from typing import Any

__all__ = ["bind_socket", "serve_workers"]

log = logging.getLogger(__name__)

#: Thread-pool sizes a worker sets to its share of the cores (where not set already).
_THREAD_VARIABLES = (
    "TF_NUM_INTRAOP_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)
#: Seconds a worker may take to load the model before the start is abandoned.
READY_TIMEOUT_S = 600.0


def bind_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def _worker(
    index: int,
    sock: socket.socket,
    model_dir: str,
    config: Mapping[str, Any],
    server_kwargs: Mapping[str, Any],
    ready: Any,
    verbose: bool,
    parent: int,
    n_workers: int,
) -> None:
    """One worker process: load the model, report, serve the shared socket until stopped."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format=f"%(levelname)s %(name)s[worker {index}]: %(message)s",
    )
    if not verbose:
        from poxscan.cli.quiet import quiet_tensorflow

        quiet_tensorflow()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    # The cores are shared out: each worker's TensorFlow, BLAS and OpenCV pools get their part
    # (several pools of all the cores would fight over them), unless the user set them.
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    for var in (*_THREAD_VARIABLES, "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(var, str(threads) if var != "TF_NUM_INTEROP_THREADS" else "1")
    try:
        import cv2

        cv2.setNumThreads(threads)
        from poxscan.web import create_app
        from poxscan.web.server import make_server

        app = create_app(model_dir, dict(config))
        if app.config["MAX_PIXELS_IN_FLIGHT"] is None:
            # Memory is bounded per process: the pixels one server may hold at once (twice the
            # largest image) are shared out between the workers, at least one image each.
            most = int(app.config["MAX_IMAGE_PIXELS"])
            app.config["MAX_PIXELS_IN_FLIGHT"] = max(most, 2 * most // n_workers)
        server = make_server(app, sockets=[sock], **dict(server_kwargs))
    except Exception as exc:
        ready.put((index, f"{type(exc).__name__}: {exc}"))
        sys.exit(2)
    ready.put((index, None))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    try:
        server.run()
    finally:
        server.close()


def serve_workers(
    n_workers: int,
    sock: socket.socket,
    model_dir: str,
    config: Mapping[str, Any],
    server_kwargs: Mapping[str, Any],
    *,
    verbose: bool = False,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Run ``n_workers`` server processes on ``sock`` until interrupted.

    Parameters
    ----------
    n_workers : int
        Worker processes (each loads the model).
    sock : socket.socket
        From :func:`bind_socket`.
    model_dir, config
        For :func:`poxscan.web.create_app` in each worker.
    server_kwargs : mapping
        For :func:`poxscan.web.server.make_server` (``max_upload_bytes``, ``threads``, ...).
    on_ready : callable, optional
        Called once every worker serves.

    Returns
    -------
    int
        0 after a clean stop; 2 when a worker could not load the model (its error is
        printed).
    """
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    procs: dict[int, Any] = {}
    me = os.getpid()

    def start(i: int) -> None:
        args = (i, sock, str(model_dir), dict(config), dict(server_kwargs), ready, verbose)
        args += (me, int(n_workers))
        proc = ctx.Process(target=_worker, args=args, name=f"poxscan-worker-{i}", daemon=True)
        proc.start()
        procs[i] = proc

    def stop_all() -> None:
        for proc in procs.values():
            if proc.is_alive():
                proc.terminate()
        for proc in procs.values():
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        for i in range(int(n_workers)):
            start(i)
        for _ in range(int(n_workers)):
            index, error = ready.get(timeout=READY_TIMEOUT_S)
            if error is not None:
                print(f"poxscan serve: error: worker {index}: {error}", file=sys.stderr)
                return 2
        if on_ready is not None:
            on_ready()
        while True:
            sentinels = {proc.sentinel: i for i, proc in procs.items()}
            for sentinel in wait(list(sentinels)):
                i = sentinels[sentinel]
                log.warning("worker %d stopped (exit code %s); starting another", i,
                            procs[i].exitcode)  # fmt: skip
                start(i)
                index, error = ready.get(timeout=READY_TIMEOUT_S)
                if error is not None:
                    print(f"poxscan serve: error: worker {index}: {error}", file=sys.stderr)
                    return 2
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_all()
        sock.close()


def _exit_with_parent(parent: int) -> None:
    """A worker whose supervisor was killed (even with SIGKILL) stops serving."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _raise_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt
