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
        "--threads", type=int, default=4, help="waitress worker threads (default: 4)"
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
    }
    if args.no_lime:
        config["LIME"] = False
    from poxscan.pipelines.persistence import IncompatibleModelError, ModelIntegrityError

    try:
        app = create_app(args.model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL, config)
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
