"""Benchmark feature extraction and the feature cache on 200 real images.

Measures, on this machine:

- decoding (:func:`poxscan.core.imageio.load_image` +
  :func:`~poxscan.core.imageio.image_hash`) and each family's milliseconds per image
  (``transform`` in batches of 32 on decoded images, after a warm-up): color, texture, hog,
  and deep with EfficientNet-Lite0 and -Lite2;
- backbone throughput (images/s) at batch sizes 1 and 32;
- the feature cache: a cold first run of ``load_feature_table`` with every family into an empty
  cache, then a second run, each in a fresh process (so the first includes importing
  TensorFlow and building the model, as a user's first run does).

Writes ``experiments/results/bench_features.json`` and ``.md``. The machine is shared by other
jobs, so the load average is recorded next to the figures.

Usage: ``python experiments/bench_features.py [--n 200] [--data-root DIR] [--no-deep]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
DEEP_BACKBONES = ("efficientnet-lite0", "efficientnet-lite2")
SEED = 0


def _records(n: int, data_root: str | None):
    from poxscan.core.data import load_records

    records = load_records("msld_v1", root=data_root)
    picks = np.sort(np.random.default_rng(SEED).choice(len(records), size=n, replace=False))
    return records.iloc[picks].reset_index(drop=True)


def _versions() -> dict[str, str]:
    from poxscan.core.machine import versions

    return versions(
        (
            "poxscan",
            "numpy",
            "opencv-python-headless",
            "scikit-image",
            "scikit-learn",
            "tensorflow",
            "keras",
        )
    )


def _time_transform(extractor, images, batch_size: int = 32, repeats: int = 1) -> float:
    """Seconds per image of ``extractor.transform`` over ``images`` in batches (best repeat)."""
    extractor.fit(images[:1])
    extractor.transform(images[:2])  # warm-up: lazy tables, model build
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(images), batch_size):
            extractor.transform(images[i : i + batch_size])
        best = min(best, time.perf_counter() - start)
    return best / len(images)


def _cache_run(cache_dir: str, n: int, data_root: str | None, families: list[str]) -> dict:
    """One ``load_feature_table`` call with every family (run in a fresh process)."""
    start = time.perf_counter()
    from poxscan.features import DEFAULT_PARAMS, make_extractor
    from poxscan.features.cache import FeatureCache, extract_many

    import_s = time.perf_counter() - start
    records = _records(n, data_root)
    extractors = [make_extractor(f, **DEFAULT_PARAMS.get(f, {})) for f in families]
    start = time.perf_counter()
    results = extract_many(records, extractors, cache=FeatureCache(cache_dir), progress=False)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "import_seconds": import_s,
        "computed": {f: r.n_computed for f, r in zip(families, results, strict=True)},
        "cached": {f: r.n_cached for f, r in zip(families, results, strict=True)},
        "failures": len(results[0].failures),
        "n_columns": sum(r.table.shape[1] for r in results),
        "tensorflow_imported": "tensorflow" in sys.modules,
    }


def _subprocess_cache_run(cache_dir: str, n: int, data_root: str | None, families) -> dict:
    cmd = [sys.executable, __file__, "--cache-run", cache_dir, "--n", str(n)]
    cmd += ["--families", ",".join(families)]
    if data_root:
        cmd += ["--data-root", data_root]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_seconds"] = wall
    return result


def _deep_available() -> bool:
    try:
        from poxscan.features import make_extractor

        make_extractor("deep")
    except (ImportError, ModuleNotFoundError):
        return False
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


def run(n: int, data_root: str | None, deep: bool) -> dict:
    from poxscan.core.imageio import image_hash, load_image
    from poxscan.core.machine import cpu_model
    from poxscan.features import make_extractor

    records = _records(n, data_root)
    load_before = os.getloadavg()

    start = time.perf_counter()
    images = [load_image(p) for p in records["path"]]
    hashes = [image_hash(img) for img in images]
    decode_ms = (time.perf_counter() - start) / n * 1000
    assert len(hashes) == n

    per_image_ms: dict[str, float] = {}
    n_features: dict[str, int] = {}
    for family in ("color", "texture", "hog"):
        ext = make_extractor(family)
        per_image_ms[family] = _time_transform(ext, images) * 1000
        n_features[family] = ext.n_features_out_
        print(f"{family}: {per_image_ms[family]:.1f} ms/image", flush=True)

    throughput: dict[str, dict[str, float]] = {}
    if deep:
        for backbone in DEEP_BACKBONES:
            name = f"deep[{backbone}]"
            ext = make_extractor("deep", backbone=backbone, batch_size=32)
            per_image_ms[name] = _time_transform(ext, images) * 1000
            n_features[name] = ext.n_features_out_
            sub = images[:64]
            throughput[backbone] = {}
            for bs in (1, 32):
                ext = make_extractor("deep", backbone=backbone, batch_size=bs)
                # One transform call over all 64 images: the extractor batches them by bs.
                ext.fit(sub[:1])
                ext.transform(sub[:bs])  # warm-up at this batch shape
                start = time.perf_counter()
                ext.transform(sub)
                throughput[backbone][f"batch_{bs}"] = len(sub) / (time.perf_counter() - start)
            print(f"{name}: {per_image_ms[name]:.1f} ms/image, {throughput[backbone]}", flush=True)

    families = ["color", "texture", "hog"] + (["deep"] if deep else [])
    with tempfile.TemporaryDirectory(prefix="poxscan-bench-cache-") as cache_dir:
        cold = _subprocess_cache_run(cache_dir, n, data_root, families)
        print(f"cache cold: {cold['seconds']:.1f} s", flush=True)
        warm = _subprocess_cache_run(cache_dir, n, data_root, families)
        print(f"cache warm: {warm['seconds']:.3f} s", flush=True)

    return {
        "n_images": n,
        "images": f"msld_v1, {n} of 228 images (seeded sample, seed {SEED}), 224x224 JPEG",
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(),
        },
        "versions": _versions(),
        "decode_and_hash_ms_per_image": decode_ms,
        "ms_per_image": per_image_ms,
        "n_features": n_features,
        "backbone_throughput_images_per_s": throughput,
        "deep_included": deep,
        "cache": {"families": families, "cold_first_run": cold, "second_run": warm},
    }


def _markdown(res: dict) -> str:
    m = res["machine"]
    lines = [
        "# Feature extraction benchmark",
        "",
        f"{res['images']}. Machine: {m['cpu']}, {m['cores']} cores (shared with other jobs; "
        f"load average {m['load_average_before'][0]} before, {m['load_average_after'][0]} after). "
        + ", ".join(f"{k} {v}" for k, v in res["versions"].items())
        + ".",
        "",
        "Generated by `experiments/bench_features.py`.",
        "",
        "## Milliseconds per image",
        "",
        "`transform` on decoded images in batches of 32, after a warm-up "
        f"(decoding + hashing: {res['decode_and_hash_ms_per_image']:.1f} ms/image).",
        "",
        "| family | features | ms / image |",
        "|---|---:|---:|",
    ]
    for family, ms in res["ms_per_image"].items():
        lines.append(f"| {family} | {res['n_features'][family]} | {ms:.1f} |")
    if res["backbone_throughput_images_per_s"]:
        lines += [
            "",
            "## Backbone throughput (images/s, 64 images)",
            "",
            "| backbone | batch 1 | batch 32 |",
            "|---|---:|---:|",
        ]
        for backbone, t in res["backbone_throughput_images_per_s"].items():
            lines.append(f"| {backbone} | {t['batch_1']:.1f} | {t['batch_32']:.1f} |")
    else:
        lines += ["", "Deep features were not measured (features/deep.py or TensorFlow missing)."]
    cache = res["cache"]
    cold, warm = cache["cold_first_run"], cache["second_run"]
    lines += [
        "",
        f"## Feature cache ({', '.join(cache['families'])}; each run in a fresh process)",
        "",
        "| run | seconds | computed | from cache | TensorFlow imported |",
        "|---|---:|---|---|---|",
    ]
    for name, run_ in (("cold first run", cold), ("second run", warm)):
        lines.append(
            f"| {name} | {run_['seconds']:.3f} | {sum(run_['computed'].values())} | "
            f"{sum(run_['cached'].values())} | {run_['tensorflow_imported']} |"
        )
    lines += [
        "",
        f"Seconds are the `extract_many` call (the first run includes importing TensorFlow and "
        f"building the backbone); process wall time {cold['process_wall_seconds']:.1f} s and "
        f"{warm['process_wall_seconds']:.1f} s. The second run decodes no image (path index). "
        "Counts are image x family; images of the cold run counted as from cache hold the same "
        "pixels as another image of the sample (computed once).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--no-deep", action="store_true")
    parser.add_argument("--cache-run", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--families", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cache_run:
        result = _cache_run(args.cache_run, args.n, args.data_root, args.families.split(","))
        print(json.dumps(result))
        return 0

    from poxscan.core.atomic import atomic_write_text

    deep = not args.no_deep and _deep_available()
    res = run(args.n, args.data_root, deep)
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "bench_features.json", json.dumps(res, indent=2) + "\n")
    atomic_write_text(RESULTS / "bench_features.md", _markdown(res))
    print(_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
