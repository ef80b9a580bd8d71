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

    audit = data_sub.add_parser(
        "audit",
        help="find near-duplicates within and across datasets; write groups.csv for splits",
    )
    add_data_args(audit)
    audit.add_argument(
        "--out",
        default=None,
        help="output folder (default: ./audit; the repository's committed run is "
        "experiments/results/audit). Use its groups.csv with --groups or $POXSCAN_GROUPS",
    )
    audit.add_argument(
        "--embedding",
        default=None,
        choices=("deep", "color", "texture"),
        help="also verify each image's nearest neighbours in this feature family",
    )
    audit.add_argument("--no-sheets", action="store_true", help="skip the contact sheets")
    audit.add_argument("--quiet", action="store_true", help="no progress bar")
    audit.set_defaults(func=_audit)


def _verify(args: argparse.Namespace) -> int:
    from poxscan.core.data import load_manifest, resolve_data_root, verify_dataset

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

    from poxscan.core.data import _list_images, content_checksum, file_sha256

    folder = Path(args.folder)
    files = {rel: file_sha256(folder / rel) for rel in _list_images(folder)}
    yaml.safe_dump(
        {"checksum": content_checksum(files), "files": files}, sys.stdout, sort_keys=False
    )
    return 0


def _audit(args: argparse.Namespace) -> int:
    from functools import partial

    from tqdm import tqdm

    from poxscan.core.audit import DEFAULT_OUT, run_audit, write_audit
    from poxscan.core.data import load_manifest, load_records

    manifest = load_manifest()
    names = args.dataset or list(manifest)
    records = load_records(names, args.data_root, manifest=manifest)
    progress = None if args.quiet else partial(tqdm, leave=False, file=sys.stderr)
    embed = None
    if args.embedding:
        from poxscan.features import make_extractor

        embed = make_extractor(args.embedding).fit_transform
    result = run_audit(
        records=records, manifest=manifest, progress=progress, embedding=args.embedding,
        embed=embed,
    )  # fmt: skip
    out = args.out or DEFAULT_OUT
    written = write_audit(
        result, out, dict(zip(records["id"], records["path"], strict=True)),
        sheets=not args.no_sheets,
    )  # fmt: skip
    print(result.summary_text())
    print(f"timings (s): {result.timings}")
    print(f"wrote {', '.join(str(path) for path in written.values())}")
    return 0
