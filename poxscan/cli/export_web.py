"""``poxscan export-web``: the on-device screening page of a lite model, as static files.

Writes the page (built with npm from web/ondevice), the LiteRT.js runtime, the model's int8
backbone and its head into OUT; any static web server (HTTPS, or localhost) can serve the
folder, and the page screens photos inside the browser, offline once loaded.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export-web",
        help="write the on-device (in-browser) screening page of a lite model as static files",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="lite model directory")
    parser.add_argument("out", metavar="OUT", help="folder to write the page into")
    parser.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from poxscan.predict import Predictor
    from poxscan.web.ondevice_site import OnDeviceUnavailable, write_site

    predictor = Predictor.load(args.model_dir, explain=False, warmup=False)
    try:
        files = write_site(predictor, args.out)
    except OnDeviceUnavailable as exc:
        raise ValueError(str(exc)) from None
    print(f"wrote {len(files)} files to {args.out} (open index.html through a web server)")
    return 0
