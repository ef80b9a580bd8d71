"""Float (Keras) model vs lite (LiteRT int8) model: cold ``poxscan predict``, memory, accuracy.

Trains two model directories with the same fixed pipeline (the evaluation's reference: ANOVA
top-256 + L2 logistic regression, C=0.01) on msld_v1, with every family (deep + colour +
texture + HOG): ``models/bench-float`` (Keras EfficientNet-Lite0) and ``models/bench-lite``
(``--runtime litert-int8``: int8 backbone calibrated on the training images, pipeline trained
and cross-validated on the int8 features); and the shipped default as a lite model,
``models/bench-default-lite`` (``poxscan train --runtime litert-int8`` with no pipeline flags:
deep-only EfficientNet-Lite2 + shrinkage LDA, its int8 gate), which carries an affine head
(``head.npz``) and is predicted without scikit-learn, SciPy or pandas (row ``default-lite``),
and, for comparison, through its joblib pipeline (row ``default-lite-joblib``,
``POXSCAN_NO_FAST_HEAD=1``). Then, each figure from a fresh process:

- cold ``poxscan predict --model M`` of 1 photo and of 100 photos (``--repeats`` runs each;
  median and all runs): wall time and peak RSS (``/usr/bin/time -v``), and whether TensorFlow
  was imported (``-X importtime``);
- the out-of-fold metrics of both (their manifests: the same grouped 5-fold CV, same seed).

The out-of-fold figures of the lite model saw an int8 calibration on all its training images
(activation ranges, no labels); ``experiments/bench_tflite.py`` calibrates within each outer
fold instead (its table is quoted in the Markdown).

Writes ``experiments/results/bench_lite.json`` and ``.md``; load averages are recorded with
every figure (the machine has 2 cores shared with other jobs).

Usage: ``python experiments/bench_lite.py [--repeats 3] [--retrain]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from poxscan.core.atomic import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
MODELS = REPO / "models"
PIPELINE = ["--selector", "anova", "--k", "256", "--classifier", "logreg", "--param", "C=0.01"]
FAMILIES = ["--family", "deep", "--family", "color", "--family", "texture", "--family", "hog"]


def _poxscan() -> list[str]:
    return [sys.executable, "-m", "poxscan"]


#: Row name -> (model directory, trained with the reference pipeline on every family (else the
#: shipped default config), lite, extra environment of the timed process).
ROWS: dict[str, tuple[Path, bool, bool, dict[str, str]]] = {
    "float": (MODELS / "bench-float", True, False, {}),
    "lite": (MODELS / "bench-lite", True, True, {}),
    "default-lite": (MODELS / "bench-default-lite", False, True, {}),
    "default-lite-joblib": (
        MODELS / "bench-default-lite",
        False,
        True,
        {"POXSCAN_NO_FAST_HEAD": "1"},
    ),
}


def _train(out: Path, reference: bool, lite: bool, retrain: bool) -> None:
    if out.is_dir() and not retrain:
        return
    out.parent.mkdir(parents=True, exist_ok=True)  # the lite trainer stages beside the target
    cmd = [*_poxscan(), "train", "--dataset", "msld_v1"]
    if reference:
        cmd += [*FAMILIES, *PIPELINE]
    cmd += ["--out", str(out), "--force", "--no-progress"]
    if lite:
        cmd += ["--runtime", "litert-int8"]
    subprocess.run(cmd, check=True)


def _cold(model: Path, photos: list[str], env: dict[str, str] | None = None) -> dict:
    """One fresh ``poxscan predict`` process: wall seconds, peak RSS, TensorFlow imported."""
    load0 = os.getloadavg()
    cmd = ["/usr/bin/time", "-v", sys.executable, "-X", "importtime", "-m", "poxscan"]
    cmd += ["predict", "--model", str(model), "--json", *photos]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    err = proc.stderr
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", err).group(1)
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    imported = {
        m: bool(re.search(rf"\|\s+{m}$", err, re.M))
        for m in ("tensorflow", "shap", "sklearn", "scipy", "pandas", "skimage", "xgboost")
    }
    payload = json.loads(proc.stdout)
    n_ok = sum(r["ok"] for r in payload["results"])
    return {
        "wall_s": seconds,
        "peak_rss_mb": rss_kb / 1024,
        "imported": imported,
        "import_s": _import_seconds(err),
        "n_ok": n_ok,
        "n_refused": payload["n_refused"],
        "load_before": load0,
        "load_after": os.getloadavg(),
    }


def _import_seconds(importtime: str) -> dict[str, float]:
    """Seconds spent importing, per top-level package, from ``-X importtime`` output.

    Sums each package's self time over all its modules (nested imports are counted where
    they happen), so the figures add up to the whole import time (key ``"total"``).
    """
    by_package: dict[str, float] = {}
    for m in re.finditer(r"^import time:\s+(\d+) \|\s+\d+ \|(\s*)(\S+)$", importtime, re.M):
        package = m.group(3).split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + int(m.group(1)) / 1e6
    top = dict(sorted(by_package.items(), key=lambda kv: -kv[1])[:12])
    top["total"] = sum(by_package.values())
    return top


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--retrain", action="store_true", help="retrain the two models")
    parser.add_argument(
        "--models",
        default=",".join(ROWS),
        help=f"models to time (default: {','.join(ROWS)}); a subset replaces only its own "
        "rows of the existing results",
    )
    parser.add_argument("--sizes", default="1,100", help="photos per cold predict (default: 1,100)")
    args = parser.parse_args(argv)

    from poxscan.core.data import load_records

    every = {name: row[0] for name, row in ROWS.items()}
    models = {m: every[m] for m in args.models.split(",")}
    sizes = [int(n) for n in args.sizes.split(",")]
    trained: set[Path] = set()
    for name, path in models.items():
        if path not in trained:
            _train(path, ROWS[name][1], ROWS[name][2], args.retrain)
            trained.add(path)
    photos = [str(p) for p in load_records("msld_v1")["path"]][:100]
    out: dict = {"load_start": os.getloadavg(), "models": {}, "cold_predict": {}}
    previous = RESULTS / "bench_lite.json"
    if set(models) != set(every) or sizes != [1, 100]:
        # A partial run: keep the other rows of the last full run.
        if previous.is_file():
            old = json.loads(previous.read_text())
            out["models"], out["cold_predict"] = old["models"], old["cold_predict"]
    for name, path in models.items():
        manifest = json.loads((path / "manifest.json").read_text())
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        metrics = manifest["evaluation"]["metrics"]
        out["models"][name] = {
            "dir": str(path.relative_to(REPO)),
            "size_mb": size / 1e6,
            "backbone_mb": (
                manifest["runtime"]["backbones"]["deep"]["size_bytes"] / 1e6
                if ROWS[name][2]
                else None
            ),
            "affine_head": bool((manifest.get("head") or {}).get("file")),
            "oof": {
                k: metrics[k]
                for k in ("accuracy", "roc_auc", "sensitivity", "specificity")
                if k in metrics
            },
        }
    # Interleaved, so that load changes hit both models alike.
    for n in sizes:
        for name in models:
            out["cold_predict"].setdefault(name, {})[str(n)] = []
        for _ in range(args.repeats):
            for name, path in models.items():
                run = _cold(path, photos[:n], ROWS[name][3])
                out["cold_predict"][name][str(n)].append(run)
                print(name, n, f"{run['wall_s']:.2f} s {run['peak_rss_mb']:.0f} MB", flush=True)
    out["load_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "bench_lite.json", json.dumps(out, indent=2) + "\n")
    _markdown(out)
    return 0


def _fmt_metric(m: dict) -> str:
    ci = m.get("ci95") or [None, None]
    if ci[0] is None:
        return f"{m['value']:.3f}"
    return f"{m['value']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def _markdown(out: dict) -> None:
    load = " ".join(f"{x:.2f}" for x in out["load_start"])
    end = " ".join(f"{x:.2f}" for x in out["load_end"])
    lines = [
        "# Lite (LiteRT int8) vs float (Keras) model",
        "",
        "Regenerate: `python experiments/bench_lite.py` (trains `models/bench-float`, "
        "`models/bench-lite` and `models/bench-default-lite` first if absent). `float` and "
        "`lite`: the same pipeline (ANOVA-256 + L2 logistic regression, C=0.01) on every "
        "family (deep EfficientNet-Lite0 + colour + texture + HOG), msld_v1, grouped 5-fold "
        "CV. `default-lite`: the shipped default config (deep-only EfficientNet-Lite2 + "
        "shrinkage LDA) trained with `--runtime litert-int8`, predicted through its affine "
        "head (`head.npz`: no scikit-learn, SciPy or pandas imported); "
        "`default-lite-joblib`: the same directory through its joblib pipeline "
        "(`POXSCAN_NO_FAST_HEAD=1`). The photos are the first msld_v1 images; the gate is on, "
        "so refused photos are answered too.",
        "",
        f"Load average (1, 5, 15 min) at the start {load}, at the end {end}: a 2-core machine "
        "shared with other jobs; with a load above 2 every wall time is inflated.",
        "",
        "## Cold `poxscan predict` (fresh process each; median of runs, all runs in the JSON)",
        "",
        "| model | photos | wall s (median) | runs | peak RSS MB (median) | TensorFlow imported "
        "| SHAP imported | scikit-learn / SciPy / pandas imported | load before -> after (1 min) |",
        "|---|---:|---:|---|---:|---|---|---|---|",
    ]
    for name, per_n in out["cold_predict"].items():
        for n, runs in per_n.items():
            walls = [r["wall_s"] for r in runs]
            rss = [r["peak_rss_mb"] for r in runs]
            loads = ", ".join(f"{r['load_before'][0]:.1f}->{r['load_after'][0]:.1f}" for r in runs)
            imp0 = runs[0]["imported"]
            lines.append(
                f"| {name} | {n} | {statistics.median(walls):.2f} | "
                f"{', '.join(f'{w:.2f}' for w in walls)} | {statistics.median(rss):.0f} | "
                f"{imp0['tensorflow']} | {imp0['shap']} | "
                f"{imp0['sklearn']} / {imp0['scipy']} / {imp0['pandas']} | {loads} |"
            )
    for name, per_n in out["cold_predict"].items():
        runs = per_n.get("1") or []
        if runs and "import_s" in runs[0]:
            fastest = min(runs, key=lambda r: r["wall_s"])
            imp = fastest["import_s"]
            parts = ", ".join(f"{k} {v:.2f}" for k, v in imp.items() if k != "total")
            lines += [
                "",
                f"Imports of the fastest cold {name} predict of 1 photo "
                f"({fastest['wall_s']:.2f} s wall): {imp['total']:.2f} s in all (self time "
                f"per top-level package, `-X importtime`): {parts}.",
            ]
    lines += [
        "",
        "## Model size and out-of-fold metrics (95 % group-bootstrap CI)",
        "",
        "| model | directory MB | backbone MB | accuracy | ROC AUC | sensitivity | specificity |",
        "|---|---:|---:|---|---|---|---|",
    ]
    for name, m in out["models"].items():
        oof = m["oof"]
        cells = [_fmt_metric(oof[k]) if k in oof else "—" for k in
                 ("accuracy", "roc_auc", "sensitivity", "specificity")]  # fmt: skip
        backbone = f"{m['backbone_mb']:.2f}" if m["backbone_mb"] else "— (Keras, .pth weights)"
        lines.append(f"| {name} | {m['size_mb']:.2f} | {backbone} | {' | '.join(cells)} |")
    lines += [
        "",
        "The lite model's out-of-fold figures come from features of an int8 backbone "
        "calibrated on all its training images (activation ranges only). Calibrated within "
        "each outer fold instead (`experiments/results/tflite/bench_tflite.md`, deep family, "
        "same reference pipeline): accuracy 76.8 % int8 vs 76.8 % Keras, ROC AUC 0.850 vs "
        "0.849.",
    ]
    atomic_write_text(RESULTS / "bench_lite.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
