"""Time of the picture explanations per photo, beside the forward pass and LIME.

One command regenerates ``experiments/results/gate/bench_explain.{json,md}``::

    POXSCAN_DATA=../shared/datasets python experiments/bench_explain.py

Two models trained on cached MSLD v1 features (standard scaling + logistic regression, the
project's linear reference head): colour + EfficientNet-Lite0 (its map: gradient CAM, one
forward pass of the feature map plus one batched pipeline call) and colour only (its map:
occlusion, 17 copies in one batch); and the model ``poxscan train`` ships
(:data:`~poxscan.pipelines.builder.SCREENING_CONFIG`: Lite2 on the canonical pose, shrinkage
LDA) trained on the cached features of both shared sets (its map: gradient CAM). Per photo,
on ``--n`` real photos, each step timed once warm: the prediction's forward pass (features +
pipeline), the map, and LIME with the web page's 300 samples on the first ``--lime`` photos.
The load average is recorded before and after: on a shared machine the times are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "gate"


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=8, help="photos timed (default: 8)")
    parser.add_argument("--lime", type=int, default=2, help="photos LIME is timed on")
    args = parser.parse_args(argv)

    from poxscan.core.atomic import atomic_write_text
    from poxscan.core.imageio import load_image
    from poxscan.core.latency import latency_stats
    from poxscan.pipelines.experiment_data import load_experiment
    from poxscan.pipelines.lime_explain import explain_model
    from poxscan.pipelines.saliency import deep_gradient_cam, occlusion_map
    from poxscan.pipelines.training import train_model

    before = _load()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_experiment("msld_v1", ["color", "deep"], progress=False)
    models = {}
    for name, families in (("colour + Lite0", ["color", "deep"]), ("colour", ["color"])):
        cols = [c for c in data.X.columns if c.split("__")[0] in families]
        models[name] = train_model(
            data.X[cols], data.y, data.groups, families=families, n_boot=50
        ).model
    from poxscan.pipelines.builder import SCREENING_CONFIG, config_families

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pooled = load_experiment(
            ["msld_v1", "ahsan2022"], config_families(SCREENING_CONFIG), progress=False
        )
    models["shipped: Lite2 canonical pose + LDA"] = train_model(
        pooled.X, pooled.y, pooled.groups, SCREENING_CONFIG, n_boot=50
    ).model
    rng = np.random.default_rng(0)
    picks = rng.choice(len(data.records), size=args.n, replace=False)
    images = [load_image(data.records["path"].iloc[int(i)]) for i in picks]
    rows: dict[str, dict[str, list[float]]] = {}
    for name, model in models.items():
        # Warm up: build networks, import what is imported lazily.
        model.predict_proba(images[:1])
        deep_gradient_cam(model, images[0])
        occlusion_map(model, images[0])
        times: dict[str, list[float]] = {"forward pass": [], "map": [], "occlusion": [], "LIME": []}
        method = ""
        for k, image in enumerate(images):
            times["forward pass"].append(_timed(lambda m=model, im=image: m.predict_proba([im]))[0])
            if "Lite" in name:
                t, smap = _timed(lambda m=model, im=image: deep_gradient_cam(m, im))
                times["map"].append(t)
                method = smap.method
            times["occlusion"].append(_timed(lambda m=model, im=image: occlusion_map(m, im))[0])
            if k < args.lime:
                # Through a Predictor-like holder, as the web page calls it (its threshold_).
                holder = SimpleNamespace(model=model, threshold=model.threshold_)
                t, _ = _timed(lambda m=holder, im=image: explain_model(m, im, num_samples=300))
                times["LIME"].append(t)
        rows[name] = {"method": method or "occlusion", **times}
    result = {
        "command": f"python experiments/bench_explain.py --n {args.n} --lime {args.lime}",
        "load_before": before,
        "load_after": _load(),
        "n_photos": args.n,
        "models": {
            name: {
                k: (
                    v
                    if isinstance(v, str)
                    else {**latency_stats(v, unit="s"), "all_s": v}
                    if v
                    else None
                )
                for k, v in r.items()
            }
            for name, r in rows.items()
        },
    }
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_text(OUT / "bench_explain.json", json.dumps(result, indent=2) + "\n")
    lines = [
        "# Picture explanations: seconds per photo (median)",
        "",
        f"`{result['command']}`; load average before {before}, after {result['load_after']} "
        "(2 shared cores: upper bounds).",
        "",
        "| model | forward pass | gradient CAM | occlusion (4x4, one batch) | LIME (300 samples) |",
        "|---|---|---|---|---|",
    ]
    for name, r in result["models"].items():

        def cell(key: str, r=r) -> str:
            return f"{r[key]['median_s']:.2f}" if r.get(key) else "—"

        lines.append(
            f"| {name} | {cell('forward pass')} | {cell('map')} | {cell('occlusion')} | "
            f"{cell('LIME')} |"
        )
    lines += ["", "Gradient CAM does not apply to a model without deep features.", ""]
    atomic_write_text(OUT / "bench_explain.md", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
