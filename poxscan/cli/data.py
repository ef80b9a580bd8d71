"""``poxscan data``: verify local copies of the datasets, audit them for leakage."""

from __future__ import annotations

import argparse
import sys

from poxscan.cli._common import add_data_args


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="verify and audit the datasets")
    data_sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    verify = data_sub.add_parser("verify", help="check local copies against data_manifest.yaml")
    add_data_args(verify)
    verify.set_defaults(func=_verify)

    checksum = data_sub.add_parser(
        "checksum", help="print file hashes and the content checksum of a folder (YAML)"
    )
    checksum.add_argument("folder")
    checksum.set_defaults(func=_checksum)


def _verify(args: argparse.Namespace) -> int:
    from poxscan.data import load_manifest, resolve_data_root, verify_dataset

    manifest = load_manifest()
    root = resolve_data_root(args.data_root)
    names = args.dataset or list(manifest)
    failed = 0
    for name in names:
        if name not in manifest:
            raise KeyError(f"unknown dataset {name!r}; the manifest has {sorted(manifest)}")
        report = verify_dataset(manifest[name], root)
        print(report.summary())
        failed += not report.ok
    return 1 if failed else 0


def _checksum(args: argparse.Namespace) -> int:
    from pathlib import Path

    import yaml

    from poxscan.data import _list_images, content_checksum, file_sha256

    folder = Path(args.folder)
    files = {rel: file_sha256(folder / rel) for rel in _list_images(folder)}
    yaml.safe_dump(
        {"checksum": content_checksum(files), "files": files}, sys.stdout, sort_keys=False
    )
    return 0
