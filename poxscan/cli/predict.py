"""``poxscan predict``: classify images with a saved model and say which features decided."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

MODEL_ENV = "POXSCAN_MODEL"
DEFAULT_MODEL = "models/default"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "predict",
        help="predict mpox for images with a saved model",
        description="Predict each image: label, calibrated probability of mpox, decision "
        "threshold and the features that pushed the decision most (SHAP). The input gate "
        "comes first: an image that is not a screenable photo of skin (too small, blank, too "
        "dark or bright, blurry, a collage or screenshot, not skin) gets the reason instead of "
        "a probability. A file that cannot be read is reported with its problem and the others "
        "go on; the exit code is 1 if any image failed or was refused. A screening aid, not a "
        "diagnosis.",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    parser.add_argument(
        "--model",
        default=None,
        help=f"model directory from `poxscan train` (default: ${MODEL_ENV}, else {DEFAULT_MODEL})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--top-k", type=int, default=5, help="features listed per image (default: 5; 0: none)"
    )
    parser.add_argument(
        "--manifest-sha256", default=None, help="refuse the model unless its manifest has this hash"
    )
    parser.add_argument(
        "--batch-size", type=int, default=16, help="images analysed together (default: 16)"
    )
    parser.add_argument(
        "--no-gate",
        action="store_true",
        help="switch the input gate off (research only: then any image gets a probability)",
    )
    parser.add_argument(
        "--report",
        default=None,
        metavar="DIR",
        help="also write a clinician report per image into DIR: printable HTML (with the photo "
        "as the model saw it and the explanation map) and the same as JSON",
    )
    parser.add_argument(
        "--differential",
        default=None,
        metavar="DIR",
        help="a multi-class model from `poxscan train --task multiclass`: its differential "
        "(mpox, chickenpox, measles, normal) is shown beside the screening decision",
    )
    parser.set_defaults(func=_predict)


def _text(result: Any) -> str:
    from poxscan.pipelines.feature_names import lay_features, readable_feature

    lines = [
        f"{result.file}: {result.label}  (probability of mpox {result.probability:.3f}, "
        f"threshold {result.threshold:.3f})"
    ]
    if result.differential:
        lines.append(
            "    differential: "
            + ", ".join(f"{c} {100 * p:.0f} %" for c, p in result.differential.items())
        )
    if result.families:
        kinds = ", ".join(
            f"{f['label']} {f['contribution']:+.2f}" for f in result.families if f["n_features"]
        )
        lines.append(f"    by kind of evidence ({result.explanation_output}): {kinds}")
    for f in lay_features(result.top_features, len(result.top_features)):
        raw = f" = {f['raw_value']:.4g}" if "raw_value" in f else ""
        lines.append(
            f"    {f['contribution']:+.3f} {result.explanation_output:<11} "
            f"{readable_feature(f['feature'])}  [{f['feature']}{raw}]  ({f['direction']})"
        )
    return "\n".join(lines)


def _predict(args: argparse.Namespace) -> int:
    # model_dir, not persistence: a lite directory's fast path imports no scikit-learn.
    from poxscan.pipelines.model_dir import IncompatibleModelError, ModelIntegrityError
    from poxscan.predict import DISCLAIMER, Predictor

    model_dir = args.model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    if args.top_k < 0:
        raise ValueError(f"--top-k must be at least 0, got {args.top_k}")
    try:
        predictor = Predictor.load(
            model_dir,
            manifest_sha256=args.manifest_sha256,
            explain=args.top_k > 0 or bool(args.report),
            # One batch of photos and exit: warming up on a dummy image would only cost time.
            warmup=False,
            gate=not args.no_gate,
            differential_dir=args.differential,
        )
    except (ModelIntegrityError, IncompatibleModelError) as exc:
        print(f"poxscan predict: error: {exc}", file=sys.stderr)
        return 2
    results = predictor.predict_paths(args.images, top_k=args.top_k, batch_size=args.batch_size)
    refused = [r for r in results if getattr(r, "refused", False)]
    failed = [r for r in results if not r.ok and not getattr(r, "refused", False)]
    if args.report:
        from poxscan.cli.report_files import write_reports

        for _result, written in write_reports(predictor, args.images, results, args.report):
            if written:
                print(f"report: {written}", file=sys.stderr)
    if args.json:
        payload = {
            "model": predictor.info(),
            "results": [r.to_dict() for r in results],
            "n_images": len(results),
            "n_failed": len(failed),
            "n_refused": len(refused),
        }
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    for result in results:
        if getattr(result, "refused", False):
            if not args.json:
                print(f"{result.file}: NOT SCREENED ({result.code}) {result.message}")
                print(f"    how to fix: {result.advice}")
        elif not result.ok:
            # Errors go to stderr, in both modes, naming the file and the problem.
            print(f"poxscan predict: error: {result.error}", file=sys.stderr)
        elif not args.json:
            print(_text(result))
    if not args.json:
        print(DISCLAIMER)
        if failed:
            print(f"{len(failed)} of {len(results)} images failed", file=sys.stderr)
        if refused:
            print(f"{len(refused)} of {len(results)} images were not screened", file=sys.stderr)
    return 1 if failed or refused else 0
