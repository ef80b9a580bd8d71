"""Benchmark prediction: latency per image and peak memory of a saved model's predict path.

Three models are trained with ``poxscan train`` (cached features). Two on MSLD v1, the same
configuration except for the families:

- **handcrafted**: colour + texture + HOG, ANOVA top-200, logistic regression;
- **deep+handcrafted**: the same plus frozen EfficientNet-Lite0 embeddings;

and **shipped**: what the README's first command trains (``poxscan train`` with no config:
the shipped screening model on every dataset pooled, EfficientNet-Lite2 on the canonical pose,
with its input gate on the same embedding).

Each is then measured in a **fresh Python process** (so imports, TensorFlow included, and the
model's lazy initialisation count as they would for a user):

- load time: ``Predictor.load`` (sha256 verification, unpickling, warm-up) and the process's
  start-up imports;
- latency per image of ``Predictor.predict_image`` on decoded images (batch of one, as the web
  app calls it), with the top-5 SHAP explanation and without (``top_k=0``), and without the
  input gate (``gate=False``, to show what the gate costs), after one warm-up call; and
  ``predict_paths`` per image on files, decoding included;
- peak memory: the process's maximum resident set size (``ru_maxrss``) after all of that.

Beside them, the bare forward pass of each backbone (Keras ``predict_on_batch`` of one
prepared image, the model already built) in its own fresh process, so the share of the deep
models' latency that is the network itself is visible.

Writes ``experiments/results/bench_predict.json`` and ``.md``. The machine (2 cores) is shared
with other jobs: the load average is recorded next to the figures.

Usage: ``python experiments/bench_predict.py [--n 24] [--data-root DIR] [--cache DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
SEED = 0
HANDCRAFTED = ["color", "texture", "hog"]
BACKBONES = ("efficientnet-lite0", "efficientnet-lite2")


def _max_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, items: list, passes: int) -> dict[str, float]:
    """Time ``fn(item)`` for every item, ``passes`` times; stats of all calls, plus the
    median over items of each item's best pass (the figure least disturbed by other jobs)."""
    from poxscan.core.latency import latency_stats

    per_item = np.zeros((len(items), passes))
    for p in range(passes):
        for i, item in enumerate(items):
            start = time.perf_counter()
            fn(item)
            per_item[i, p] = time.perf_counter() - start
    out = latency_stats(per_item.ravel() * 1000, percentiles=(90,))
    out["best_of_passes_median_ms"] = float(np.median(per_item.min(axis=1)) * 1000)
    out["passes"] = passes
    return out


# -- measurements, each run in a fresh process ----------------------------------------------
def worker_predict(model_dir: str, paths: list[str], big_paths: list[str], passes: int) -> dict:
    """Load a model and time its predictions; report peak memory and heavy imports."""
    t0 = time.perf_counter()
    from poxscan.core.imageio import load_image
    from poxscan.predict import Predictor, Refusal

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    predictor = Predictor.load(model_dir)
    t_load = time.perf_counter() - t0
    images = [load_image(p) for p in paths]
    predictor.predict_image(images[0])  # one more warm-up, outside the timings
    out: dict = {"import_s": t_import, "load_s": t_load}
    for top_k in (5, 0):
        out[f"predict_image_top{top_k}"] = _timed(
            lambda img, k=top_k: predictor.predict_image(img, top_k=k), images, passes
        )
    out["gate"] = predictor.gate is not None
    out["predict_image_top5_nogate"] = _timed(
        lambda img: predictor.predict_images([img], top_k=5, gate=False), images, passes
    )
    # Where one prediction's time goes: each family's extraction, the pipeline with the
    # calibrator, the explanation.
    model, explainer = predictor.model, predictor.explainer
    breakdown = {}
    for family, extractor in model.extractors_.items():
        breakdown[f"extract_{family}"] = _timed(
            lambda img, e=extractor: e.transform([img]), images, passes
        )["best_of_passes_median_ms"]
    tables = [model.extract([img]) for img in images]
    breakdown["pipeline_and_calibration"] = _timed(model.predict_proba_features, tables, passes)[
        "best_of_passes_median_ms"
    ]
    if explainer is not None:
        breakdown["shap_top5"] = _timed(
            lambda t: explainer.explain(t).top_features(5, raw=t), tables, passes
        )["best_of_passes_median_ms"]
    out["breakdown_ms"] = breakdown
    for label, files in (("predict_paths_msld", paths), ("predict_paths_phone", big_paths)):
        if not files:
            continue
        start = time.perf_counter()
        results = predictor.predict_paths(files, top_k=5)
        elapsed = time.perf_counter() - start
        # A refusal by the input gate is an answer (counted); anything else not ok is a bug.
        refused = [r for r in results if isinstance(r, Refusal)]
        assert all(r.ok or isinstance(r, Refusal) for r in results), results
        out[label] = {
            "n": len(files),
            "refused": len(refused),
            "per_image_ms": elapsed / len(files) * 1000,
        }
    out["max_rss_mib"] = _max_rss_mib()
    out["tensorflow_imported"] = "tensorflow" in sys.modules
    out["families"] = list(predictor.model.families_)
    out["n_features_in"] = len(predictor.model.feature_names_)
    out["explainer"] = predictor.explainer.method if predictor.explainer else None
    return out


def worker_backbone(backbone: str, path: str, repeats: int) -> dict:
    """Bare forward time of the backbone on one prepared image (model built beforehand)."""
    t0 = time.perf_counter()
    from poxscan.core.imageio import load_image
    from poxscan.core.latency import latency_stats
    from poxscan.features.deep import DeepFeatures

    extractor = DeepFeatures(backbone=backbone)
    spec = extractor._spec()
    model = extractor._model()  # builds the Keras model (imports TensorFlow)
    t_build = time.perf_counter() - t0
    x = spec.prepare([load_image(path)])
    model.predict_on_batch(x)  # warm-up: graph tracing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(x)
        times.append(time.perf_counter() - start)
    return {
        "backbone": backbone,
        "build_s": t_build,
        "forward_batch1": latency_stats(np.asarray(times) * 1000, percentiles=(90,)),
        "max_rss_mib": _max_rss_mib(),
    }


def _run_worker(args: list[str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args[:2]} failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    return result


# -- orchestration ---------------------------------------------------------------------------
def _train(out: Path, families: list[str] | None, data_root: str | None, cache: str | None) -> dict:
    """``poxscan train`` into ``out``: the MSLD v1 reference head on ``families``, or the
    shipped screening model (no config, every dataset) when ``families`` is ``None``."""
    from poxscan.cli import main

    argv = ["train", "--out", str(out), "--no-progress", "--background", "50"]
    if families is not None:
        argv += ["--dataset", "msld_v1", "--classifier", "logreg", "--selector", "anova"]
        argv += ["--k", "200", "--cv", "5"]
        for family in families:
            argv += ["--family", family]
    if data_root:
        argv += ["--data-root", data_root]
    if cache:
        argv += ["--cache-dir", cache]
    start = time.perf_counter()
    rc = main(argv)
    if rc != 0:
        raise RuntimeError(f"poxscan train failed for {families}")
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = manifest["evaluation"]["metrics"]
    return {
        "families": families if families is not None else sorted(manifest["model"]["fingerprints"]),
        "train_s": time.perf_counter() - start,
        "model_bytes": (out / "model.joblib").stat().st_size,
        "roc_auc_oof": metrics["roc_auc"]["value"],
        "roc_auc_ci95": metrics["roc_auc"]["ci95"],
    }


def _versions() -> dict[str, str]:
    from poxscan.core.machine import versions

    return versions(
        ("numpy", "scikit-learn", "shap", "opencv-python-headless", "tensorflow", "keras")
    )


def _triple(stats: dict) -> str:
    best = stats.get("best_of_passes_median_ms", stats["min_ms"])
    return f"{best:.1f} / {stats['median_ms']:.1f} / {stats['p90_ms']:.1f}"


def _markdown(report: dict) -> str:
    lines = [
        "# Prediction benchmark",
        "",
        f"{report['images']}. Machine: {report['machine']['cpu']}, "
        f"{report['machine']['cores']} cores (shared; load average "
        f"{report['machine']['load_before']:.2f} before, {report['machine']['load_after']:.2f} "
        f"after). {', '.join(f'{k} {v}' for k, v in report['versions'].items())}.",
        "",
        "Generated by `experiments/bench_predict.py`; every column below comes from a fresh "
        "Python process per model.",
        "",
        "## Latency per image (milliseconds, decoded 224x224 image, batch of one)",
        "",
        "| model | features | input gate | predict + top-5 SHAP: best / median / p90 "
        "| the same, gate off | predict only: best / median / p90 | predict_paths, MSLD files "
        "| predict_paths, phone photos |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    refusals: list[str] = []
    for name, r in report["predict"].items():
        a, b = r["predict_image_top5"], r["predict_image_top0"]
        nogate = r.get("predict_image_top5_nogate")
        paths = r.get("predict_paths_msld", {}).get("per_image_ms", float("nan"))
        phone_run = r.get("predict_paths_phone", {})
        phone = phone_run.get("per_image_ms", float("nan"))
        if phone_run.get("refused"):
            refusals.append(f"{name}: {phone_run['refused']} of {phone_run['n']} phone photos")
        lines.append(
            f"| {name} | {r['n_features_in']} | {'on' if r.get('gate') else 'none'} | "
            f"{_triple(a)} | {_triple(nogate) if nogate else '—'} | {_triple(b)} | "
            f"{paths:.1f} | {phone:.1f} |"
        )
    for bb in report["backbones"]:
        f = dict(bb["forward_batch1"], best_of_passes_median_ms=bb["forward_batch1"]["min_ms"])
        dash = "| — " * 4
        lines.append(f"| bare {bb['backbone']} forward pass {dash}| {_triple(f)} | — | — |")
    lines += [
        "",
        "`predict_paths` (batches of 16, top-5 explanation) includes decoding the file "
        "(`load_image`); the phone photos are the large ahsan2022 Normal images (up to 4872 "
        "px), where decoding and resizing dominate. *best*: the median over images of each "
        "image's fastest of the passes, the figure least disturbed by other jobs on this shared "
        "machine; median and p90 are over all calls. The bare forward pass: *best* is the "
        "fastest of the repeats.",
        "",
        "Refused by the input gate in `predict_paths` (answered with a reason, no probability; "
        "timed like the others): " + ("; ".join(refusals) or "none") + ".",
        "",
        "## Where one prediction's time goes (ms per image, best of the passes)",
        "",
    ]
    keys: list[str] = []
    for r in report["predict"].values():
        keys += [k for k in r["breakdown_ms"] if k not in keys]
    lines += [
        "| model | " + " | ".join(k.replace("_", " ") for k in keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    for name, r in report["predict"].items():
        cells = [f"{r['breakdown_ms'][k]:.1f}" if k in r["breakdown_ms"] else "—" for k in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Load time and peak memory (fresh process each)",
        "",
        "| process | imports (s) | Predictor.load (s) | process wall (s) | max RSS (MiB) "
        "| TensorFlow imported |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in report["predict"].items():
        lines.append(
            f"| predict, {name} | {r['import_s']:.2f} | {r['load_s']:.2f} | "
            f"{r['process_wall_s']:.1f} | {r['max_rss_mib']:.0f} | {r['tensorflow_imported']} |"
        )
    for bb in report["backbones"]:
        lines.append(
            f"| bare backbone ({bb['backbone']}) | — | {bb['build_s']:.2f} (build) | "
            f"{bb['process_wall_s']:.1f} | {bb['max_rss_mib']:.0f} | True |"
        )
    lines += [
        "",
        "`Predictor.load` verifies every sha256, unpickles, prepares the SHAP explainer and "
        "runs one warm-up prediction (for the deep model: imports TensorFlow and builds the "
        "backbone). Max RSS is the whole process's peak.",
        "",
        "## Models",
        "",
        "| model | train (s) | model.joblib (bytes) | out-of-fold ROC AUC [95 % CI] |",
        "|---|---:|---:|---|",
    ]
    for name, m in report["models"].items():
        lo, hi = m["roc_auc_ci95"]
        lines.append(
            f"| {name} | {m['train_s']:.1f} | {m['model_bytes']} | "
            f"{m['roc_auc_oof']:.3f} [{lo:.3f}, {hi:.3f}] |"
        )
    lines += [
        "",
        "handcrafted and deep+handcrafted: MSLD v1 (228 images), ANOVA top-200 features, "
        "logistic regression, Platt calibration and the default threshold rule (sensitivity "
        "0.95) on grouped 5-fold out-of-fold scores. shipped: `poxscan train` with no config "
        "(the shipped screening model on both sets pooled, 409 images; its input gate shares "
        "the model's embedding, "
        "so the gate adds no forward pass). The AUCs are there to show the models are real, "
        "not to compare them (see `poxscan evaluate`).",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    from poxscan.core.machine import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=24, help="MSLD images timed (default 24)")
    parser.add_argument("--n-phone", type=int, default=4, help="large phone photos timed")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--cache", default=None, help="feature cache ($POXSCAN_CACHE)")
    parser.add_argument("--repeats", type=int, default=50, help="bare forward repeats")
    parser.add_argument("--passes", type=int, default=3, help="timing passes over the images")
    parser.add_argument("--worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, *rest = args.worker
        if kind == "predict":
            spec = json.loads(rest[0])
            result = worker_predict(spec["model"], spec["paths"], spec["big"], spec["passes"])
        else:
            result = worker_backbone(rest[0], rest[1], int(rest[2]))
        print(json.dumps(result))
        return 0

    from poxscan.core.data import load_records

    records = load_records("msld_v1", root=args.data_root)
    picks = np.sort(np.random.default_rng(SEED).choice(len(records), size=args.n, replace=False))
    paths = records["path"].iloc[picks].tolist()
    ahsan = load_records("ahsan2022", root=args.data_root)
    big = ahsan[ahsan["cls"] == "Normal"]["path"].tolist()[: args.n_phone]

    load_before = os.getloadavg()[0]
    report: dict = {
        "images": f"msld_v1, {args.n} of 228 images (seeded sample, seed {SEED}), 224x224 JPEG; "
        f"{len(big)} ahsan2022 Normal phone photos for predict_paths",
        "versions": _versions(),
        "models": {},
        "predict": {},
    }
    with tempfile.TemporaryDirectory(prefix="poxscan-bench-") as tmp:
        models = {
            "handcrafted": HANDCRAFTED,
            "deep+handcrafted": [*HANDCRAFTED, "deep"],
            "shipped": None,
        }
        for name, families in models.items():
            out = Path(tmp) / name.replace("+", "_")
            report["models"][name] = _train(out, families, args.data_root, args.cache)
            spec = {"model": str(out), "paths": paths, "big": big, "passes": args.passes}
            spec = json.dumps(spec)
            report["predict"][name] = _run_worker(["predict", spec])
            print(name, json.dumps(report["predict"][name]), flush=True)
        report["backbones"] = [
            _run_worker(["backbone", name, paths[0], str(args.repeats)]) for name in BACKBONES
        ]
    report["machine"] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "platform": platform.platform(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    from poxscan.core.atomic import atomic_write_text

    atomic_write_text(RESULTS / "bench_predict.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(RESULTS / "bench_predict.md", _markdown(report))
    print(_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
