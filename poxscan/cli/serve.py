"""``poxscan serve``: the web app (upload page, chatbot, JSON API) on a production WSGI server."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys

from poxscan.cli.predict import DEFAULT_MODEL, MODEL_ENV

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve",
        help="serve the web app and its JSON API",
        description="Serve the upload page, the result page with its explanations, the model "
        "card, the mpox chatbot and the JSON API (OpenAPI at /api/openapi.json) with waitress. "
        "--debug uses Flask's development server instead (never expose it). A screening aid, "
        "not a diagnosis.",
    )
    parser.add_argument(
        "--model",
        default=None,
        help=f"model directory from `poxscan train` (default: ${MODEL_ENV}, else {DEFAULT_MODEL})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any free)")
    parser.add_argument(
        "--threads", type=int, default=4, help="waitress threads per worker (default: 4)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port, each loading and checking the model (default: "
        "1); one per core runs the model's Python code on every core, each costs the model's "
        "memory",
    )
    parser.add_argument(
        "--batch-max",
        type=int,
        default=8,
        help="most concurrent uploads screened in one pass through the model (default: 8; "
        "1: each request alone)",
    )
    parser.add_argument(
        "--batch-wait-ms",
        type=float,
        default=5.0,
        help="how long a pass waits for more concurrent uploads (default: 5 ms)",
    )
    parser.add_argument(
        "--max-upload-mb", type=float, default=10.0, help="largest upload in MB (default: 10)"
    )
    parser.add_argument(
        "--keep-uploads",
        default=None,
        metavar="DIR",
        help="keep each upload in DIR as a metadata-free PNG named by its pixel hash "
        "(default: keep nothing)",
    )
    parser.add_argument(
        "--manifest-sha256", default=None, help="refuse the model unless its manifest has this hash"
    )
    parser.add_argument("--no-lime", action="store_true", help="hide the optional LIME overlays")
    parser.add_argument(
        "--differential",
        default=None,
        metavar="DIR",
        help="a multi-class model from `poxscan train --task multiclass`: its differential "
        "(mpox, chickenpox, measles, normal) is shown beside the screening decision",
    )
    parser.add_argument(
        "--lime-samples",
        type=int,
        default=300,
        help="perturbed copies LIME predicts per photo (default: 300; fewer is faster, noisier)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="Flask's development server with the debugger"
    )
    parser.set_defaults(func=_serve)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _serve(args: argparse.Namespace) -> int:
    if args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.workers > 1 and args.debug:
        raise ValueError("--debug runs one development server: leave --workers out")
    if args.batch_max < 1:
        raise ValueError(f"--batch-max must be at least 1, got {args.batch_max}")
    if args.batch_wait_ms < 0:
        raise ValueError(f"--batch-wait-ms must be at least 0, got {args.batch_wait_ms}")
    if args.lime_samples < 10:
        raise ValueError(f"--lime-samples must be at least 10, got {args.lime_samples}")
    if args.max_upload_mb <= 0:
        raise ValueError(f"--max-upload-mb must be positive, got {args.max_upload_mb}")
    if args.debug and not _is_loopback(args.host):
        raise ValueError("--debug runs Flask's debugger, which executes code: loopback only")
    from poxscan.web import create_app

    max_bytes = int(args.max_upload_mb * 1024 * 1024)
    config = {
        "MAX_CONTENT_LENGTH": max_bytes,
        "KEEP_UPLOADS_DIR": args.keep_uploads,
        "MANIFEST_SHA256": args.manifest_sha256,
        "LIME_NUM_SAMPLES": args.lime_samples,
        "DIFFERENTIAL_MODEL": args.differential,
        "BATCH_MAX": args.batch_max,
        "BATCH_WAIT_MS": args.batch_wait_ms,
    }
    if args.no_lime:
        config["LIME"] = False
    model_dir = args.model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    if args.workers > 1:
        return _serve_workers(args, model_dir, config, max_bytes)
    from poxscan.pipelines.persistence import IncompatibleModelError, ModelIntegrityError

    try:
        app = create_app(model_dir, config)
    except (ModelIntegrityError, IncompatibleModelError) as exc:
        print(f"poxscan serve: error: {exc}", file=sys.stderr)
        return 2
    if args.debug:
        app.run(host=args.host, port=args.port, debug=True, use_reloader=False)
        return 0
    if not _is_loopback(args.host):
        log.warning("listening on %s: anyone who can reach it can upload photos", args.host)
    from poxscan.web.server import make_server

    # waitress buffers a request body before the app sees it and caps it a little above the
    # app's own limit; its own 413 (and 400, 431) are JSON like the app's (see server.py).
    server = make_server(
        app,
        max_upload_bytes=max_bytes,
        host=args.host,
        port=args.port,
        threads=args.threads,
        ident="poxscan",
    )
    print(
        f"poxscan serving on http://{server.effective_host}:{server.effective_port}/ "
        f"({args.threads} threads); Ctrl+C stops it",
        flush=True,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _serve_workers(args: argparse.Namespace, model_dir: str, config: dict, max_bytes: int) -> int:
    """``--workers N``: N processes, each with the model, on one listening socket."""
    from poxscan.cli.serve_workers import bind_socket, serve_workers

    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    if not _is_loopback(args.host):
        log.warning("listening on %s: anyone who can reach it can upload photos", args.host)

    def ready() -> None:
        print(
            f"poxscan serving on http://{host}:{port}/ ({args.workers} workers x "
            f"{args.threads} threads); Ctrl+C stops it",
            flush=True,
        )

    server_kwargs = {"max_upload_bytes": max_bytes, "threads": args.threads, "ident": "poxscan"}
    return serve_workers(
        args.workers, sock, model_dir, config, server_kwargs, verbose=args.verbose, on_ready=ready
    )
