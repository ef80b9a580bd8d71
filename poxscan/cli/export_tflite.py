"""``poxscan export-tflite``: TensorFlow Lite files of a backbone or a fine-tuned CNN.

Writes ``<out>-<quantization>.tflite`` and a ``.json`` manifest (sha256, quantisation, input
and output, representative images) for each quantisation asked for; float32 input and output,
int8 inside for ``int8`` (see :mod:`poxscan.pipelines.tflite`).

int8 needs representative images, which must be **training images only**: for a CNN they are
the images it was trained on (its manifest names the dataset; ``--dataset`` overrides), for a
backbone the images of ``--dataset`` (say which are training images with ``--ids-file``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from poxscan.cli._common import add_data_args


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export-tflite",
        help="export a backbone or a fine-tuned CNN to TensorFlow Lite (float32/float16/int8)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--backbone", help="backbone name, e.g. efficientnet-lite0")
    what.add_argument("--cnn", help="fine-tuned CNN model directory")
    parser.add_argument(
        "--quantization",
        default="float32,float16,int8",
        help="comma-separated: float32, float16, int8 (default: all three)",
    )
    parser.add_argument(
        "--out", required=True, help="output stem: files are <out>-<quantization>.tflite/.json"
    )
    add_data_args(parser)
    parser.add_argument(
        "--ids-file",
        default=None,
        help="text file of record ids (one a line): the training images to calibrate int8 on",
    )
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads (default 2)")
    parser.set_defaults(func=_export)


def _representative(args: argparse.Namespace, default: list[str] | None):
    from poxscan.core.data import load_records
    from poxscan.core.imageio import ImageLoadError, load_image

    datasets = args.dataset or default
    if not datasets:
        raise ValueError("int8 needs representative training images: pass --dataset")
    records = load_records(datasets, root=args.data_root)
    if args.ids_file:
        wanted = {
            line.strip()
            for line in Path(args.ids_file).read_text(encoding="utf-8").splitlines()
            if line.strip()
        }
        unknown = wanted - set(records["id"])
        if unknown:
            raise ValueError(f"{args.ids_file}: unknown ids, e.g. {sorted(unknown)[:3]}")
        records = records[records["id"].isin(wanted)]
    images, ids = [], []
    for rid, path in zip(records["id"], records["path"], strict=True):
        try:
            images.append(load_image(path))
            ids.append(str(rid))
        except ImageLoadError as exc:
            print(f"skipping {exc}")
    source = "+".join(datasets) + (f" (ids from {args.ids_file})" if args.ids_file else "")
    return images, ids, source


def _export(args: argparse.Namespace) -> int:
    from poxscan.pipelines.finetune import configure_threads
    from poxscan.pipelines.tflite import QUANTIZATIONS, export_backbone, export_cnn

    qs = [q.strip() for q in args.quantization.split(",") if q.strip()]
    bad = [q for q in qs if q not in QUANTIZATIONS]
    if bad or not qs:
        raise ValueError(f"unknown quantization {bad}; use {', '.join(QUANTIZATIONS)}")
    configure_threads(args.threads, 1)
    rep = ids = None
    source = ""
    if args.cnn:
        from poxscan.pipelines.cnn_model import FineTunedCNN

        cnn = FineTunedCNN.load(args.cnn)
        trained_on = list(cnn.manifest.get("training_data", {}).get("datasets", {}))
        if "int8" in qs:
            rep, ids, source = _representative(args, trained_on)
        manifests = export_cnn(
            cnn,
            qs,
            args.out,
            representative=rep,
            representative_ids=ids,
            representative_source=source,
            source=str(args.cnn),
        )
    else:
        if "int8" in qs:
            rep, ids, source = _representative(args, None)
        manifests = export_backbone(
            args.backbone,
            qs,
            args.out,
            representative=rep,
            representative_ids=ids,
            representative_source=source,
        )
    for q, m in manifests.items():
        print(
            f"{q}: {Path(args.out).name}-{q}.tflite  {m['size_bytes'] / 1e6:.2f} MB  "
            f"sha256 {m['sha256']}"
        )
    print(json.dumps({q: m["io"] for q, m in manifests.items()}, indent=1))
    return 0
