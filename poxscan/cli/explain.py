"""``poxscan explain``: show which regions of a photo drove a model's answer (LIME).

LIME greys out random subsets of superpixels, asks the model about each copy and fits a local
linear model; the superpixels that supported the decision most are highlighted on the
photo (see :mod:`poxscan.pipelines.lime_explain`). Works for a fine-tuned CNN (``--cnn``) and
for a classical model (``--model``), the latter as a black box over images. The overlay PNG
is written atomically; the same ``--seed`` gives the same overlay.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "explain",
        help="explain one prediction with LIME superpixels (overlay PNG)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("image", metavar="IMAGE", help="image file")
    parser.add_argument(
        "--method",
        choices=("lime", "map"),
        default="lime",
        help="lime (default; slow, model-agnostic) or map (about a second: gradient CAM on "
        "deep features, occlusion otherwise, CAM on the fine-tuned CNN's last block)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--model",
        default=None,
        help="classical model directory from `poxscan train` (default: $POXSCAN_MODEL, "
        "else models/default)",
    )
    which.add_argument("--cnn", default=None, help="fine-tuned CNN model directory")
    which.add_argument(
        "--differential",
        default=None,
        help="multi-class model from `poxscan train --task multiclass`: explain its most "
        "probable condition",
    )
    parser.add_argument(
        "--out", default=None, help="overlay PNG (default: <IMAGE stem>_lime.png here)"
    )
    parser.add_argument(
        "--num-samples", type=int, default=300, help="perturbed copies (default 300)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--segmentation", choices=("slic", "quickshift"), default="slic", help="(default: slic)"
    )
    parser.add_argument("--n-segments", type=int, default=50, help="SLIC superpixels (default 50)")
    parser.add_argument(
        "--num-features", type=int, default=5, help="superpixels highlighted at most (default 5)"
    )
    parser.add_argument("--json", action="store_true", help="print the explanation as JSON")
    parser.set_defaults(func=_explain)


def _explain(args: argparse.Namespace) -> int:
    from poxscan.core.imageio import ImageLoadError, load_image
    from poxscan.pipelines.lime_explain import explain_model, write_overlay
    from poxscan.pipelines.persistence import IncompatibleModelError, ModelIntegrityError

    try:
        image = load_image(args.image)
    except ImageLoadError as exc:
        print(f"poxscan explain: error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.differential:
            from poxscan.pipelines.differential import load_differential

            model, _ = load_differential(args.differential)
        elif args.cnn:
            from poxscan.pipelines.cnn_model import FineTunedCNN

            model = FineTunedCNN.load(args.cnn)
        else:
            from poxscan.cli.predict import DEFAULT_MODEL, MODEL_ENV
            from poxscan.predict import Predictor

            model_dir = args.model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
            model = Predictor.load(model_dir, explain=False)
    except (ModelIntegrityError, IncompatibleModelError) as exc:
        print(f"poxscan explain: error: {exc}", file=sys.stderr)
        return 2
    if args.method == "map":
        return _map(args, model, image)
    if args.differential:
        from poxscan.pipelines.differential import explain_differential

        explain_model = explain_differential
    explanation = explain_model(
        model,
        image,
        num_samples=args.num_samples,
        seed=args.seed,
        segmentation=args.segmentation,
        n_segments=args.n_segments,
        num_features=args.num_features,
    )
    out = Path(args.out) if args.out else Path(f"{Path(args.image).stem}_lime.png")
    write_overlay(explanation, out)
    summary = {"image": args.image, "overlay": str(out), **explanation.to_dict()}
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
    else:
        if args.differential:
            what = f"most probable condition, P {explanation.probability:.3f}"
        else:
            what = f"P(mpox) {explanation.probability:.3f}, threshold {explanation.threshold:.2f}"
        print(
            f"{args.image}: {explanation.label} ({what}); "
            f"{len(summary['highlighted_superpixels'])} "
            f"superpixels ({100 * explanation.coverage:.0f} % of the image) supported it; "
            f"local R^2 {explanation.score:.2f}. Overlay: {out}"
        )
    return 0


def _map(args: argparse.Namespace, model: object, image: object) -> int:
    """``--method map``: the fast picture explanation, written as an overlay PNG."""
    from poxscan.core.atomic import atomic_write_bytes

    if args.cnn:
        from poxscan.pipelines.saliency import cnn_cam

        smap = cnn_cam(model, image)
    else:
        smap = model.explain_map(image)
    out = Path(args.out) if args.out else Path(f"{Path(args.image).stem}_map.png")
    atomic_write_bytes(out, smap.png())
    summary = {"image": args.image, "overlay": str(out), **smap.to_dict()}
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
    else:
        print(
            f"{args.image}: map of the answer {smap.target} ({smap.method}, "
            f"{smap.seconds:.2f} s). Overlay: {out}\n{smap.caption}"
        )
    return 0
