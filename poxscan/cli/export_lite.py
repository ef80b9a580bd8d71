"""``poxscan export-lite``: turn a float model directory into a lite one (LiteRT int8, no TF).

The deep family's backbone is exported to int8, calibrated on the model's own training images
(its manifest names the datasets; ``--data-root`` says where they are), and stored in the new
directory with the unchanged pipeline; the manifest records how far the lite probabilities of
the training images move. To train the pipeline on the int8 features instead, use
``poxscan train --runtime litert-int8``. See :mod:`poxscan.pipelines.lite_model`.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export-lite",
        help="convert a model directory to a lite one (int8 backbone, runs without TensorFlow)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="float model directory")
    parser.add_argument("out", metavar="OUT", help="lite model directory to create")
    parser.add_argument("--data-root", default=None, help="folder holding the datasets")
    parser.add_argument("--cache-dir", default=None, help="feature cache folder")
    parser.add_argument("--force", action="store_true", help="replace an existing OUT")
    parser.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from poxscan.core.data import resolve_data_root
    from poxscan.pipelines.lite_model import export_lite
    from poxscan.pipelines.persistence import manifest_sha256

    manifest = export_lite(
        args.model_dir,
        args.out,
        data_root=resolve_data_root(args.data_root),
        cache=args.cache_dir,
        overwrite=args.force,
    )
    check = manifest["lite_check"]
    entry = manifest["runtime"]["backbones"]["deep"]
    print(f"saved {args.out}  (backbone {entry['file']}, {entry['size_bytes'] / 1e6:.2f} MB)")
    print(f"manifest sha256 {manifest_sha256(args.out)}")
    print(
        f"training images: |p_lite - p_float| mean {check['mean_abs_diff']:.4f}, max "
        f"{check['max_abs_diff']:.4f}; decisions unchanged {100 * check['decisions_equal']:.1f} %"
    )
    return 0
