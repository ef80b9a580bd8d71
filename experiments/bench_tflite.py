"""Benchmark TensorFlow Lite exports: file size, latency per image, change in accuracy.

For each backbone (``--backbones``) and for the fine-tuned CNN cross-validated by
``experiments/finetune_cv.py`` (``--cnn``), in float32, float16 and full-integer int8
(:mod:`poxscan.pipelines.tflite`: float32 input/output, int8 inside):

- **size** of the ``.tflite`` file against the float32 one (and the Keras weights);
- **latency** per image on this CPU: batch 1, ``--warmup`` calls, then the median (and 10th /
  90th percentiles) of ``--runs`` calls; LiteRT interpreter with ``num_threads`` 1 and 2, the
  Keras model (``predict_on_batch``, what poxscan runs) with 2 intra-op threads. The 2-core
  machine is shared with other jobs, so the variants are timed interleaved (one call of each
  per round) and the load average is recorded with the figures;
- **accuracy** on the outer folds of the classical evaluation (``grouped_folds(y, groups, 5,
  seed=0)``): per fold, the int8 model is calibrated on **that fold's training images only**
  (up to 200, evenly spaced), then

  - backbone: a fixed classical pipeline (the evaluation's reference: ANOVA top-256 + L2
    logistic regression, C=0.01) fitted on the training rows' deep features from that
    runtime, scored on the test rows; against the same pipeline on the Keras float32
    features. Features come through :class:`~poxscan.features.deep.DeepFeatures` with
    ``runtime="tflite-..."`` (and the feature cache), names unchanged;
  - CNN: each fold's fine-tuned model exported and run on its test images; against its own
    Keras predictions.

  Metrics and 95 % intervals as everywhere (:func:`poxscan.pipelines.evaluation.summarize`);
  also the embedding cosine similarity (backbone) and decision agreement (CNN) with float32.

Writes ``experiments/results/tflite/bench_tflite.json`` and ``.md``; the ``.tflite`` files go
to ``--work-dir`` (not in git).

Usage::

    python experiments/bench_tflite.py --backbones efficientnet-lite0 \\
        --cnn experiments/results/finetune/msld_v1-efficientnet-lite0.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results" / "tflite"
#: The evaluation's fixed reference pipeline (poxscan.pipelines.builder.REFERENCE_CONFIG).
log = logging.getLogger("bench_tflite")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _data(dataset: str, data_root: str | None, cache: str | None):
    from poxscan.pipelines.experiment_data import load_experiment

    if data_root is None and not os.environ.get("POXSCAN_DATA"):
        shared = REPO.parent / "shared" / "datasets"
        data_root = str(shared) if shared.is_dir() else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_experiment(
            [dataset], {"deep": {}}, task="binary", data_root=data_root, cache=cache
        )
    return data, data_root, [str(w.message) for w in caught if "groups" in str(w.message)]


def _cv_result(name, y, groups, folds, probas, config, seconds=None):
    """A CVResult from per-fold test probabilities (for summarize)."""
    from poxscan.pipelines.evaluation import CVResult, FoldResult
    from poxscan.pipelines.metrics import compute_metrics

    oof = np.full((len(y), 2), np.nan)
    results = []
    for f, ((tr, te), p) in enumerate(zip(folds, probas, strict=True)):
        p = np.asarray(p, dtype=np.float64)
        if p.ndim == 1:
            p = np.column_stack([1 - p, p])
        oof[te] = p
        results.append(
            FoldResult(
                repeat=0,
                fold=f,
                n_train=len(tr),
                n_test=len(te),
                metrics=compute_metrics(y[te], p),
                config=config,
                seconds=0.0 if seconds is None else seconds[f],
            )
        )
    return CVResult(name, results, [oof], y, groups, ["not_mpox", "mpox"], 1)


def _summary(cv, n_boot: int, seed: int) -> dict[str, Any]:
    from poxscan.pipelines.evaluation import summarize

    s = summarize(cv, n_boot=n_boot, seed=seed)
    s["fold_metrics"] = [f.metrics for f in cv.folds]
    return s


def _fit_fixed(config: dict, X_train, y_train, X_test) -> np.ndarray:
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    from poxscan.pipelines.builder import build_pipeline

    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return build_pipeline(config).fit(X_train, y_train).predict_proba(X_test)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return num / np.maximum(den, 1e-12)


def _latencies(keras_model, tflite_files: dict[str, Path], x: np.ndarray, args) -> dict:
    """Keras float32 and each TFLite file with 1 and 2 threads, measured interleaved."""
    from poxscan.features.litert_runtime import LiteRTModel
    from poxscan.pipelines.tflite import latency_many

    xf = x.astype(np.float32)
    fns = {"keras-float32 (2 TF threads)": lambda: keras_model.predict_on_batch(xf)}
    for q, path in tflite_files.items():
        for threads in (1, 2):
            runner = LiteRTModel(path, num_threads=threads)
            label = f"tflite-{q} ({threads} thread{'s' if threads > 1 else ''})"
            fns[label] = lambda runner=runner: runner.run(x)
    load = _load()
    out = latency_many(fns, warmup=args.warmup, runs=args.runs)
    for stats in out.values():
        stats["load"] = f"{load} -> {_load()}"
    return out


# -- backbone ---------------------------------------------------------------------------------
def bench_backbone(backbone: str, data, folds, args, work: Path) -> dict[str, Any]:
    from poxscan.core.imageio import load_image, to_square
    from poxscan.features.backbones import efficientnet_lite, get_backbone
    from poxscan.pipelines.builder import REFERENCE_CONFIG, normalize_config
    from poxscan.pipelines.experiment_data import feature_table
    from poxscan.pipelines.tflite import backbone_model, export_backbone

    spec = get_backbone(backbone)
    size = spec.input_size
    records = data.records
    ids = records["id"].astype(str).tolist()
    images = [load_image(p) for p in records["path"]]
    y, groups = data.y, data.groups
    config = normalize_config({**REFERENCE_CONFIG, "families": ["deep"], "task": "binary"})
    out: dict[str, Any] = {"backbone": spec.name, "input_size": size, "config": config}
    stem = work / spec.name

    # Float exports need no calibration: one file each.
    log.info("%s: exporting float32 and float16", spec.name)
    manifests = export_backbone(spec.name, ["float32", "float16"], stem)
    files = {q: stem.parent / f"{stem.name}-{q}.tflite" for q in manifests}
    # int8: one per outer fold, calibrated on that fold's training images only.
    int8_files = []
    for f, (tr, _te) in enumerate(folds):
        log.info("%s: exporting int8 for fold %d (%d training images)", spec.name, f, len(tr))
        m = export_backbone(
            spec.name,
            "int8",
            work / f"{spec.name}-fold{f}",
            representative=[images[i] for i in tr],
            representative_ids=[ids[i] for i in tr],
            representative_source=f"{args.dataset} outer fold {f} training images",
        )["int8"]
        int8_files.append(work / f"{spec.name}-fold{f}-int8.tflite")
        manifests.setdefault("int8_folds", []).append(m)
    weights_mb = None
    if spec.name.startswith("efficientnet"):
        weights_mb = efficientnet_lite.default_weights_path(spec.name).stat().st_size / 1e6
    out["files"] = {
        "float32": manifests["float32"]["size_bytes"],
        "float16": manifests["float16"]["size_bytes"],
        "int8": int(np.mean([m["size_bytes"] for m in manifests["int8_folds"]])),
        "keras_weights_file_mb": weights_mb,
    }
    out["manifests"] = {
        "float32": manifests["float32"],
        "float16": manifests["float16"],
        "int8_fold0": manifests["int8_folds"][0],
    }

    # Latency: batch 1, a real image.
    x = to_square(images[0], size)[None]
    model = backbone_model(spec.name)
    out["latency"] = _latencies(
        model,
        {"float32": files["float32"], "float16": files["float16"], "int8": int8_files[0]},
        x,
        args,
    )

    # Accuracy of the fixed classical pipeline on each runtime's features.
    def table(params: dict) -> np.ndarray:
        t = feature_table(records, {"deep": params}, cache=args.cache, progress=False)
        return t.loc[ids]

    keras_X = table({"backbone": spec.name})
    variants = {
        "keras-float32": [keras_X] * len(folds),
        "tflite-float32": [
            table(
                {
                    "backbone": spec.name,
                    "runtime": "tflite-float32",
                    "tflite_model": str(files["float32"]),
                }
            )
        ]
        * len(folds),
        "tflite-float16": [
            table(
                {
                    "backbone": spec.name,
                    "runtime": "tflite-float16",
                    "tflite_model": str(files["float16"]),
                }
            )
        ]
        * len(folds),
        "tflite-int8": [
            table({"backbone": spec.name, "runtime": "tflite-int8", "tflite_model": str(p)})
            for p in int8_files
        ],
    }
    accuracy = {}
    for name, tables in variants.items():
        probas = []
        cos = []
        for (tr, te), X in zip(folds, tables, strict=True):
            probas.append(_fit_fixed(config, X.iloc[tr], y[tr], X.iloc[te]))
            cos.append(_cosine(X.iloc[te].to_numpy(), keras_X.iloc[te].to_numpy()))
        cv = _cv_result(f"{spec.name} {name}", y, groups, folds, probas, config)
        s = _summary(cv, args.n_boot, args.seed)
        cos = np.concatenate(cos)
        s["embedding_cosine_vs_keras"] = {
            "mean": float(cos.mean()),
            "min": float(cos.min()),
            "p05": float(np.percentile(cos, 5)),
        }
        accuracy[name] = s
    out["accuracy"] = accuracy
    return out


# -- fine-tuned CNN -------------------------------------------------------------------------
def bench_cnn(report_path: Path, data, folds, args, work: Path) -> dict[str, Any]:
    import keras

    from poxscan.core.atomic import atomic_write_bytes
    from poxscan.core.imageio import load_image, to_square
    from poxscan.pipelines.cnn_model import save_inference_model
    from poxscan.pipelines.persistence import _sha256
    from poxscan.pipelines.tflite import convert_keras_many, representative_images

    report = json.loads(report_path.read_text(encoding="utf-8"))
    if report.get("status") != "done":
        raise RuntimeError(f"{report_path}: the fine-tune CV has not finished")
    fold_dir = Path(report["work_dir"])
    size = int(report["config"]["image_size"])
    ids = data.records["id"].astype(str).tolist()
    if report["ids"] != ids:
        raise RuntimeError(f"{report_path}: its images differ from the records loaded now")
    squares = np.stack([to_square(load_image(p), size) for p in data.records["path"]])
    y, groups = data.y, data.groups
    out: dict[str, Any] = {
        "name": report["name"],
        "backbone": report["config"]["backbone"],
        "input_size": size,
    }
    probas: dict[str, list[np.ndarray]] = {
        "keras-float32": [],
        "tflite-float32": [],
        "tflite-float16": [],
        "tflite-int8": [],
    }
    agreement: dict[str, list[float]] = {k: [] for k in probas if k != "keras-float32"}
    max_dp: dict[str, float] = {k: 0.0 for k in agreement}
    sizes: dict[str, list[int]] = {"keras": [], "float32": [], "float16": [], "int8": []}
    from poxscan.features.litert_runtime import LiteRTModel

    for f, ((tr, te), rec) in enumerate(zip(folds, report["folds"], strict=True)):
        inner = rec["inner"]
        if inner["test_ids"] != [ids[i] for i in te]:
            raise RuntimeError(
                f"{report_path}: fold {f}'s test images differ from the folds computed now "
                "(were the groups changed since the CV ran?)"
            )
        path = fold_dir / inner["model_file"]
        if _sha256(path) != inner["model_sha256"]:
            raise RuntimeError(f"{path}: sha256 differs from the CV record; refusing to load it")
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
        keras_p = np.asarray(model.predict_on_batch(squares[te].astype(np.float32))).reshape(-1)
        probas["keras-float32"].append(keras_p)
        # The size to ship: the .keras file without the optimizer state the CV saved with it.
        with tempfile.TemporaryDirectory() as tmp:
            save_inference_model(model, Path(tmp) / "model.keras")
            sizes["keras"].append((Path(tmp) / "model.keras").stat().st_size)
        log.info("CNN fold %d: converting (%d representative training images)", f, len(tr))
        rep = representative_images([squares[i] for i in tr], size)
        contents = convert_keras_many(model, ("float32", "float16", "int8"), rep)
        for q, content in contents.items():
            file = work / f"{report['name']}-fold{f}-{q}.tflite"
            atomic_write_bytes(file, content)
            sizes[q].append(len(content))
            runner = LiteRTModel(content, num_threads=2)
            p = runner.run(squares[te]).reshape(-1)
            probas[f"tflite-{q}"].append(p)
            agreement[f"tflite-{q}"].append(float(np.mean((p >= 0.5) == (keras_p >= 0.5))))
            max_dp[f"tflite-{q}"] = max(max_dp[f"tflite-{q}"], float(np.abs(p - keras_p).max()))
        keras.backend.clear_session()
    out["files"] = {k: int(np.mean(v)) for k, v in sizes.items()}
    out["accuracy"] = {}
    for name, ps in probas.items():
        cv = _cv_result(f"{report['name']} {name}", y, groups, folds, ps, report["config"])
        s = _summary(cv, args.n_boot, args.seed)
        if name in agreement:
            s["decision_agreement_vs_keras"] = float(np.mean(agreement[name]))
            s["max_abs_probability_change"] = max_dp[name]
        out["accuracy"][name] = s
    # Keras CV predictions must be what the CV recorded (same files, same images).
    recorded = np.asarray(report["oof_proba"], dtype=np.float64)
    again = np.concatenate(probas["keras-float32"])
    order = np.concatenate([te for _tr, te in folds])
    out["keras_matches_cv_record_max_abs"] = float(np.abs(recorded[order] - again).max())

    x = squares[:1]
    model = keras.saving.load_model(
        fold_dir / report["folds"][0]["inner"]["model_file"], compile=False, safe_mode=True
    )
    out["latency"] = _latencies(
        model,
        {q: work / f"{report['name']}-fold0-{q}.tflite" for q in ("float32", "float16", "int8")},
        x,
        args,
    )
    return out


# -- report ------------------------------------------------------------------------------------
def _targets(b: dict[str, Any]) -> dict[str, Any]:
    lat = b["latency"]
    keras_ms = lat["keras-float32 (2 TF threads)"]["median_ms"]
    int8_ms = lat["tflite-int8 (2 threads)"]["median_ms"]
    acc = b["accuracy"]
    d_acc = (
        acc["tflite-int8"]["metrics"]["accuracy"]["mean"]
        - acc["keras-float32"]["metrics"]["accuracy"]["mean"]
    )
    ratio = b["files"]["int8"] / b["files"]["float32"]
    return {
        "speedup_int8_vs_keras_float32": keras_ms / int8_ms,
        "speedup_int8_vs_tflite_float32": lat["tflite-float32 (2 threads)"]["median_ms"] / int8_ms,
        "accuracy_change_points": 100 * d_acc,
        "size_ratio_int8_vs_float32": ratio,
        "met": {
            ">= 2x faster than Keras float32": keras_ms / int8_ms >= 2,
            "accuracy within 1 point": abs(100 * d_acc) <= 1,
            "file <= 30 % of float32": ratio <= 0.30,
        },
    }


def markdown(report: dict[str, Any]) -> str:
    """The Markdown report."""
    from poxscan.pipelines.report import format_ci, reproduce_lines

    out = [
        "# TensorFlow Lite exports: size, latency, accuracy",
        "",
        *reproduce_lines([*report.get("commands_before", []), report["command"]]),
        report["protocol"],
        "",
        f"Machine: {report['machine']}. Load average (1, 5, 15 min) at the start: "
        f"{report['load_start']}, at the end: {report['load_end']} (other jobs were running; "
        "latencies are medians of runs interleaved across the variants, so that load changes "
        "hit all alike; each row records the load before -> after its measurement).",
        "",
    ]

    def block(title: str, b: dict[str, Any], fidelity_key: str, fidelity_label: str) -> None:
        f32 = b["files"]["float32"]
        out.extend([f"## {title}", ""])
        out.extend(
            [
                "| variant | file MB (vs float32) | latency ms, median [p10, p90] | load | "
                f"accuracy [95 % t CI] | ROC-AUC [95 % t CI] | Δ accuracy (points) | "
                f"{fidelity_label} |",
                "|---|---|---|---|---|---|---|---|",
            ]
        )
        acc = b["accuracy"]
        base_acc = acc["keras-float32"]["metrics"]["accuracy"]["mean"]
        for lname, lat in b["latency"].items():
            variant = lname.split(" ")[0]
            q = variant.split("-")[1]
            is_keras = variant.startswith("keras")
            size = b["files"].get("keras") if is_keras else b["files"][q]
            if is_keras and size is None:
                size_txt = (
                    f"{b['files']['keras_weights_file_mb']:.2f} (.pth weights)"
                    if b["files"].get("keras_weights_file_mb")
                    else "n/a"
                )
            else:
                size_txt = f"{size / 1e6:.2f} ({100 * size / f32:.0f} %)"
                if is_keras:
                    size_txt = f"{size / 1e6:.2f} (.keras file)"
            s = acc[variant]["metrics"]
            fid = acc[variant].get(fidelity_key)
            fid_txt = (
                f"{fid['mean']:.4f} (min {fid['min']:.4f})"
                if isinstance(fid, dict)
                else (f"{100 * fid:.1f} %" if fid is not None else "—")
            )
            out.append(
                f"| {lname} | {size_txt} "
                f"| {lat['median_ms']:.1f} [{lat['p10_ms']:.1f}, {lat['p90_ms']:.1f}] "
                f"| {lat['load']} "
                f"| {format_ci(s['accuracy']['mean'], s['accuracy']['t_low'], s['accuracy']['t_high'], True)} "  # noqa: E501
                f"| {format_ci(s['roc_auc']['mean'], s['roc_auc']['t_low'], s['roc_auc']['t_high'], False)} "  # noqa: E501
                f"| {100 * (s['accuracy']['mean'] - base_acc):+.1f} | {fid_txt} |"
            )
        out.append("")

    for b in report.get("backbones", []):
        block(
            f"Backbone {b['backbone']} (pooled embedding) -> fixed classical pipeline",
            b,
            "embedding_cosine_vs_keras",
            "embedding cosine vs Keras",
        )
        t = b["targets"]
        out += [
            f"Targets for the int8 backbone: {t['speedup_int8_vs_keras_float32']:.1f}x faster "
            f"than the Keras float32 model ({t['speedup_int8_vs_tflite_float32']:.2f}x vs TFLite "
            f"float32); accuracy change {t['accuracy_change_points']:+.1f} points; file "
            f"{100 * t['size_ratio_int8_vs_float32']:.0f} % of float32. "
            + "; ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in t["met"].items())
            + ".",
            "",
        ]
    for c in report.get("cnns", []):
        block(
            f"Fine-tuned CNN {c['name']}",
            c,
            "decision_agreement_vs_keras",
            "decisions equal to Keras",
        )
        out += [
            "Max |P(mpox) change| vs Keras over all test images: "
            + ", ".join(
                f"{k}: {v['max_abs_probability_change']:.4f}"
                for k, v in c["accuracy"].items()
                if "max_abs_probability_change" in v
            )
            + f". Keras predictions reproduce the CV record to "
            f"{c['keras_matches_cv_record_max_abs']:.1e}.",
            "",
        ]
    if report.get("notes"):
        out += ["## Notes", "", *[f"- {n}" for n in report["notes"]], ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="msld_v1")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--cache", default=None, help="feature cache (default: the cache's own)")
    parser.add_argument("--backbones", nargs="*", default=["efficientnet-lite0"])
    parser.add_argument("--cnn", nargs="*", default=[], help="fine-tune CV result JSON(s)")
    parser.add_argument("--n-splits", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--work-dir", default=str(REPO / "models" / "tflite-bench"))
    parser.add_argument("--out-dir", default=str(RESULTS))
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the results already in the output JSON (same folds) for what is not run "
        "now (e.g. --backbones with no names, --cnn ...: re-run the CNNs only)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    from poxscan.core.atomic import atomic_write_text
    from poxscan.pipelines.finetune import configure_threads
    from poxscan.pipelines.report import jsonable
    from poxscan.pipelines.splits import grouped_folds

    configure_threads(2, 1)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    data, args.data_root, notes = _data(args.dataset, args.data_root, args.cache)
    folds = grouped_folds(data.y, data.groups, args.n_splits, seed=args.seed)
    report: dict[str, Any] = {
        "command": "python experiments/bench_tflite.py " + " ".join(sys.argv[1:]),
        "protocol": (__doc__ or "").split("\n\n", 1)[1].split("Writes ``")[0].strip(),
        "dataset": args.dataset,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, shared; "
        f"{platform.platform()}",
        "load_start": _load(),
        "n_splits": args.n_splits,
        "seed": args.seed,
        "fold_test_ids": [[str(data.records["id"].iloc[i]) for i in te] for _tr, te in folds],
        "notes": [
            *notes,
            "int8 = full-integer post-training quantisation with float32 input/output (one "
            "quantize op after the input, one dequantize before the output): the same "
            "interface as the float models, and the embedding is not re-quantised at the "
            "output.",
            "float16 = float16 weights, float32 compute on this CPU (smaller file, no speed-up "
            "expected).",
        ],
        "backbones": [],
        "cnns": [],
    }
    out_dir = Path(args.out_dir)
    previous = out_dir / "bench_tflite.json"
    if args.keep and previous.is_file():
        old = json.loads(previous.read_text(encoding="utf-8"))
        if old.get("fold_test_ids") != report["fold_test_ids"]:
            raise RuntimeError(f"{previous}: other folds; rerun everything")
        report["backbones"] = [
            b for b in old.get("backbones", []) if b["backbone"] not in args.backbones
        ]
        names = {json.loads(Path(c).read_text(encoding="utf-8"))["name"] for c in args.cnn}
        earlier = old.get("cnns", []) + ([old["cnn"]] if old.get("cnn") else [])
        report["cnns"] = [c for c in earlier if c["name"] not in names]
        report["commands_before"] = [old["command"], *old.get("commands_before", [])]
        report["load_start"] = old.get("load_start", report["load_start"])

    def write() -> None:
        clean = jsonable(report)
        atomic_write_text(out_dir / "bench_tflite.json", json.dumps(clean, indent=2) + "\n")
        atomic_write_text(out_dir / "bench_tflite.md", markdown(clean))

    for backbone in args.backbones:
        t0 = time.perf_counter()
        b = bench_backbone(backbone, data, folds, args, work)
        b["targets"] = _targets(b)
        b["seconds"] = time.perf_counter() - t0
        report["backbones"].append(b)
        report["load_end"] = _load()
        write()
    for cnn_json in args.cnn:
        t0 = time.perf_counter()
        c = bench_cnn(Path(cnn_json), data, folds, args, work)
        c["seconds"] = time.perf_counter() - t0
        report["cnns"].append(c)
        report["load_end"] = _load()
        write()
    report["load_end"] = _load()
    write()
    print(markdown(jsonable(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
