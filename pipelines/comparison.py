"""Classical pipelines against fine-tuned CNNs, like with like: one table, one set of folds.

Rows
----
- **Classical, fixed**: the evaluation's reference pipeline (``poxscan evaluate``'s
  ``REFERENCE_CONFIG``: ANOVA top-256 + L2 logistic regression) on handcrafted, deep and all
  features, cross-validated here by :func:`~poxscan.pipelines.evaluation.cross_validate_config`
  on ``grouped_folds(y, groups, n_splits, seed)`` (one repeat);
- **Classical, tuned**: the nested CV of ``poxscan evaluate`` read from its results JSON when
  there is one (its repeats x folds; its first repeat has the same folds);
- **Fine-tuned CNNs**: read from ``experiments/finetune_cv.py``'s results (same folds, checked
  image by image);
- **TensorFlow Lite**: the int8/float16 CNNs and the classical pipeline on the int8 backbone,
  read from ``experiments/bench_tflite.py``'s results (same folds).

Every row's metrics come from :func:`~poxscan.pipelines.metrics.compute_metrics` and its 95 %
intervals from :func:`~poxscan.pipelines.evaluation.summarize` (Nadeau-Bengio corrected t over
folds; group bootstrap of pooled out-of-fold predictions). Rows on the same folds are also
compared pairwise, fold by fold (difference of the fold metrics, corrected t interval).

Costs are measured here, on this machine: training time per fold (classical: fitting on cached
features, plus extracting the fold's training features at the measured batch throughput; CNN:
the recorded fine-tuning time), prediction latency per image (batch 1, decoded image in,
probability out, after a warm-up: median of N), and model size (what must be shipped: the
pickled pipeline plus the backbone's weights file for deep features; the ``.keras`` or
``.tflite`` file for CNNs).

The figures are drawn by :mod:`~poxscan.pipelines.comparison_plots` and the Markdown by
:mod:`~poxscan.pipelines.comparison_report`; their names are importable from here too.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
import warnings
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from poxscan.core.data import groups_source
from poxscan.pipelines.comparison_plots import plot_latency_accuracy, plot_metric_bars, short_name
from poxscan.pipelines.comparison_report import markdown
from poxscan.pipelines.family_selector import column_family
from poxscan.pipelines.intervals import t_interval

__all__ = [
    "CLASSICAL_SETS",
    "classical_rows",
    "cnn_rows",
    "groups_source",
    "markdown",
    "measure_latencies",
    "nested_row",
    "paired_differences",
    "plot_latency_accuracy",
    "plot_metric_bars",
    "short_name",
    "tflite_rows",
]

log = logging.getLogger(__name__)

#: Family subsets of the classical rows (the evaluation's reference pipeline on each).
CLASSICAL_SETS = {
    "handcrafted": ["color", "texture", "hog"],
    "deep": ["deep"],
    "all": ["color", "texture", "hog", "deep"],
}


def _load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _fold_ids(records: Any, folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[list[str]]:
    ids = records["id"].astype(str).to_numpy()
    return [[str(i) for i in ids[te]] for _tr, te in folds]


# -- classical ------------------------------------------------------------------------------
def _extractors(families: dict[str, dict[str, Any]], sample: np.ndarray) -> list[Any]:
    from poxscan.features import make_extractor

    return [make_extractor(fam, **params).fit([sample]) for fam, params in families.items()]


def classical_rows(
    data: Any,
    images: Sequence[np.ndarray],
    *,
    sets: dict[str, list[str]] | None = None,
    family_params: dict[str, dict[str, Any]] | None = None,
    n_splits: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
) -> list[dict[str, Any]]:
    """Cross-validate the reference pipeline on each family set; measure its costs.

    Parameters
    ----------
    data : ExperimentData
        Features of every family in ``sets`` (from the cache), labels, groups, records.
    images : sequence of ndarray
        A few decoded images of the dataset (latency and throughput are measured on them).
    sets : dict, optional
        Row name -> families; default :data:`CLASSICAL_SETS`.
    family_params : dict, optional
        Extractor parameters per family (as the cache computed them).
    n_splits, seed, n_boot : int

    Returns
    -------
    list of dict
        One row per family set; ``predict_one`` (one image in, P(mpox) out) is timed later by
        :func:`measure_latencies`, with every other row's.
    """
    import joblib
    import pandas as pd
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    from poxscan.features import DEFAULT_PARAMS
    from poxscan.features.backbones import efficientnet_lite, get_backbone
    from poxscan.pipelines.builder import REFERENCE_CONFIG, build_pipeline, normalize_config
    from poxscan.pipelines.evaluation import cross_validate_config, summarize

    sets = sets or CLASSICAL_SETS
    family_params = family_params or {}
    rows = []
    throughput: dict[str, float] = {}  # family -> seconds per image, batched
    for label, families in sets.items():
        present = {column_family(c) for c in data.X.columns}
        if not set(families) <= present:
            log.warning("skipping %s: families %s not in the feature table", label, families)
            continue
        config = normalize_config({**REFERENCE_CONFIG, "families": families, "task": "binary"})
        log.info("classical %s: %d-fold CV", label, n_splits)
        result = cross_validate_config(
            data, config, n_splits=n_splits, repeats=1, seed=seed, name=label
        )
        summary = summarize(result, n_boot=n_boot, seed=seed)
        params = {f: {**DEFAULT_PARAMS.get(f, {}), **family_params.get(f, {})} for f in families}
        extractors = _extractors(params, images[0])
        for fam, ext in zip(params, extractors, strict=True):
            if fam not in throughput:
                ext.transform(list(images[:2]))  # warm-up (builds the backbone)
                t0 = time.perf_counter()
                ext.transform(list(images))
                throughput[fam] = (time.perf_counter() - t0) / len(images)
        names = [str(n) for ext in extractors for n in ext.get_feature_names_out()]
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipe = build_pipeline(config).fit(data.X, data.y)
        blob = io.BytesIO()
        joblib.dump(pipe, blob, compress=3)
        counter = iter(range(1 << 30))

        def predict_one(pipe=pipe, extractors=extractors, names=names, counter=counter) -> float:
            img = images[next(counter) % len(images)]
            row = np.hstack([ext.transform([img]) for ext in extractors])
            return float(pipe.predict_proba(pd.DataFrame(row, columns=names))[0, 1])

        weights_mb = 0.0
        if "deep" in families:
            backbone = get_backbone(params["deep"].get("backbone", "efficientnet-lite0"))
            if backbone.name.startswith("efficientnet"):
                path = efficientnet_lite.default_weights_path(backbone.name)
                weights_mb = path.stat().st_size / 1e6
        n_train = summary["n_train_mean"]
        rows.append(
            {
                "name": f"classical, {label}"
                + (f" ({'+'.join(families)})" if "+".join(families) != label else "")
                + ", reference pipeline",
                "kind": "classical",
                "folds": f"{n_splits} x 1 (seed {seed})",
                "same_folds": True,
                "summary": summary,
                "fold_metrics": [f.metrics for f in result.folds],
                "oof": result.oof[0][:, 1],
                "train_seconds_per_fold": float(np.mean([f.seconds for f in result.folds])),
                "feature_seconds_per_fold": float(n_train * sum(throughput[f] for f in families)),
                "latency": None,
                "predict_one": predict_one,
                "size_mb": len(blob.getvalue()) / 1e6 + weights_mb,
                "size_note": f"pipeline {len(blob.getvalue()) / 1e3:.0f} KB"
                + (f" + backbone weights {weights_mb:.1f} MB" if weights_mb else ""),
                "config": config,
            }
        )
    return rows


def nested_row(evaluation_json: str | PathLike, fold_ids: list[list[str]]) -> dict | None:
    """The tuned pipeline's nested CV from ``poxscan evaluate``'s JSON, if it is there."""
    path = Path(evaluation_json)
    if not path.is_file():
        return None
    report = json.loads(path.read_text(encoding="utf-8"))
    nested = report.get("nested")
    if not nested:
        return None
    s = nested["summary"]
    first = [f for f in nested.get("folds", []) if f.get("repeat") == 0]
    return {
        "name": "classical, tuned (nested CV of `poxscan evaluate`)",
        "kind": "nested",
        "folds": f"{s['n_folds'] // max(1, s['n_repeats'])} x {s['n_repeats']}",
        # Its first repeat uses grouped_folds(seed) too; per-fold ids are not recorded there,
        # so the pairing relies on equal seeds and groups (the fold sizes are checked).
        "same_folds": len(first) == len(fold_ids)
        and [f["n_test"] for f in first] == [len(t) for t in fold_ids],
        "summary": s,
        "fold_metrics": [f["metrics"] for f in first],
        "train_seconds_per_fold": float(np.mean([f["seconds"] for f in nested["folds"]])),
        "latency": None,
        "size_mb": None,
        "size_note": "not measured (tuned config differs per fold)",
        "source": str(path),
    }


# -- CNN ------------------------------------------------------------------------------------
def cnn_rows(
    finetune_dir: str | PathLike,
    dataset: str,
    fold_ids: list[list[str]],
    images: Sequence[np.ndarray],
    models_dir: str | PathLike,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of the finished fine-tune CVs of ``dataset``; notes on anything left out."""
    from poxscan.pipelines.cnn_model import FineTunedCNN

    rows, notes = [], []
    for path in sorted(Path(finetune_dir).glob(f"{dataset}-*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        if report.get("status") != "done":
            notes.append(f"{path}: fine-tune CV not finished; left out")
            continue
        recorded = [f["inner"]["test_ids"] for f in report["folds"]]
        same = recorded == fold_ids
        if not same:
            notes.append(
                f"{path}: its folds differ from the classical folds computed now (groups "
                "changed since it ran?); shown, but not paired, and rerun it to compare"
            )
        backbone = report["config"]["backbone"]
        final = Path(models_dir) / f"cnn-{backbone}-{dataset}"
        predict_one, size_mb, size_note = None, None, ""
        if final.is_dir():
            cnn = FineTunedCNN.load(final)
            counter = iter(range(1 << 30))

            def predict_one(cnn=cnn, counter=counter) -> float:
                img = images[next(counter) % len(images)]
                return float(cnn.predict_proba([img])[0, 1])

            size_mb = (final / "model.keras").stat().st_size / 1e6
            size_note = f".keras file of {final.name}"
        else:
            notes.append(f"{final}: no final model; latency and size of {backbone} not measured")
        s = report["summary"]
        rows.append(
            {
                "name": f"fine-tuned CNN, {backbone} ({report['config']['image_size']} px)",
                "kind": "cnn",
                "folds": f"{s['n_folds']} x {s['n_repeats']} (seed {report['seed']})",
                "same_folds": same,
                "summary": s,
                "fold_metrics": [f["metrics"] for f in report["folds"]],
                "oof": np.asarray(report["oof_proba"], dtype=np.float64),
                "train_seconds_per_fold": float(np.mean(report["training_seconds_per_fold"])),
                "feature_seconds_per_fold": 0.0,
                "latency": None,
                "predict_one": predict_one,
                "size_mb": size_mb,
                "size_note": size_note,
                "config": report["config"],
                "source": str(path),
            }
        )
    return rows, notes


def _tflite_predictor(path: Path, images: Sequence[np.ndarray]) -> Any:
    """``predict_one`` for a CNN ``.tflite`` file: decoded image in, P(mpox) out."""
    from poxscan.core.imageio import to_square
    from poxscan.features.litert_runtime import LiteRTModel

    runner = LiteRTModel(path, num_threads=2)
    counter = iter(range(1 << 30))

    def predict_one() -> float:
        img = images[next(counter) % len(images)]
        return float(runner.run(to_square(img, runner.image_size)[None])[0, 0])

    return predict_one


def _int8_pipeline_predictor(
    path: Path, data: Any, images: Sequence[np.ndarray], config: dict[str, Any]
) -> Any:
    """``predict_one`` for the reference pipeline on features of an int8 backbone file.

    For timing only, the pipeline is fitted on the float features (same columns): its cost
    is the same, and the backbone's forward pass dominates anyway.
    """
    import pandas as pd
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    from poxscan.features.deep import DeepFeatures
    from poxscan.pipelines.builder import build_pipeline

    fx = DeepFeatures(runtime="tflite-int8", tflite_model=str(path), num_threads=2)
    fx.fit(images[:1])
    names = [str(n) for n in fx.get_feature_names_out()]
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = build_pipeline(config).fit(data.X[names], data.y)
    counter = iter(range(1 << 30))

    def predict_one() -> float:
        img = images[next(counter) % len(images)]
        row = pd.DataFrame(fx.transform([img]), columns=names)
        return float(pipe.predict_proba(row)[0, 1])

    return predict_one


def tflite_rows(
    bench_json: str | PathLike,
    fold_ids: list[list[str]],
    *,
    data: Any = None,
    images: Sequence[np.ndarray] = (),
    tflite_dir: str | PathLike | None = None,
) -> list[dict[str, Any]]:
    """Rows of the TFLite benchmark: int8/float16 CNNs and the int8-backbone pipeline.

    Metrics and sizes come from the benchmark's JSON. Where its fold-0 ``.tflite`` files are
    still in ``tflite_dir`` (and ``images`` are given), the row gets a ``predict_one`` so its
    latency is timed here, interleaved with the other rows; otherwise the benchmark's own
    latency is shown.
    """
    from poxscan.pipelines.builder import REFERENCE_CONFIG, normalize_config

    path = Path(bench_json)
    if not path.is_file():
        return []
    bench = json.loads(path.read_text(encoding="utf-8"))
    same = bench.get("fold_test_ids") == fold_ids
    folder = Path(tflite_dir) if tflite_dir is not None else None
    rows = []
    for cnn in bench.get("cnns", []) + ([bench["cnn"]] if bench.get("cnn") else []):
        for q in ("int8", "float16"):
            s = cnn["accuracy"][f"tflite-{q}"]
            file = folder / f"{cnn['name']}-fold0-{q}.tflite" if folder else None
            here = file is not None and file.is_file() and len(images) > 0
            rows.append(
                {
                    "name": f"fine-tuned CNN, {cnn['backbone']}, TFLite {q}",
                    "kind": "tflite",
                    "folds": f"{s['n_folds']} x 1",
                    "same_folds": same,
                    "summary": s,
                    "fold_metrics": s["fold_metrics"],
                    "train_seconds_per_fold": None,
                    "latency": None if here else cnn["latency"][f"tflite-{q} (2 threads)"],
                    "predict_one": _tflite_predictor(file, images) if here else None,
                    "latency_source": "timed here" if here else f"{path} (file not found here)",
                    "size_mb": cnn["files"][q] / 1e6,
                    "size_note": f".tflite ({q}); latency of fold 0's file, 2 threads",
                    "source": str(path),
                }
            )
    for b in bench.get("backbones", []):
        s = b["accuracy"]["tflite-int8"]
        file = folder / f"{b['backbone']}-fold0-int8.tflite" if folder else None
        here = file is not None and file.is_file() and data is not None and len(images) > 0
        config = normalize_config({**REFERENCE_CONFIG, "families": ["deep"], "task": "binary"})
        rows.append(
            {
                "name": f"classical, deep from TFLite int8 {b['backbone']}, reference pipeline",
                "kind": "tflite",
                "folds": f"{s['n_folds']} x 1",
                "same_folds": same,
                "summary": s,
                "fold_metrics": s["fold_metrics"],
                "train_seconds_per_fold": None,
                "latency": None if here else b["latency"]["tflite-int8 (2 threads)"],
                "predict_one": _int8_pipeline_predictor(file, data, images, config)
                if here
                else None,
                "latency_source": "timed here" if here else f"{path} (file not found here)",
                "size_mb": b["files"]["int8"] / 1e6,
                "size_note": "int8 .tflite backbone (+ a pipeline of ~100 KB); latency: int8 "
                "features (LiteRT, 2 threads) + pipeline",
                "source": str(path),
            }
        )
    return rows


def measure_latencies(rows: list[dict[str, Any]], warmup: int = 3, runs: int = 20) -> None:
    """Time every row's ``predict_one`` **interleaved** (fair on a shared CPU); fill
    ``latency`` and drop the callable."""
    from poxscan.pipelines.tflite import latency_many

    fns = {r["name"]: r["predict_one"] for r in rows if r.get("predict_one") is not None}
    load = _load_avg()
    stats = latency_many(fns, warmup=warmup, runs=runs) if fns else {}
    for row in rows:
        row.pop("predict_one", None)
        if row["name"] in stats:
            row["latency"] = {**stats[row["name"]], "load": f"{load} -> {_load_avg()}"}


# -- comparison -----------------------------------------------------------------------------
def paired_differences(
    rows: list[dict[str, Any]], reference: str, metrics: Sequence[str] = ("accuracy", "roc_auc")
) -> list[dict[str, Any]]:
    """Fold-by-fold differences ``row - reference`` for rows on the same folds.

    The interval is the Nadeau-Bengio corrected t interval of the per-fold differences (both
    rows were trained and tested on the same splits).
    """
    ref = next((r for r in rows if r["name"] == reference), None)
    if ref is None or not ref.get("same_folds"):
        return []
    ratio = ref["summary"]["n_test_mean"] / ref["summary"]["n_train_mean"]
    out = []
    for row in rows:
        if row is ref or not row.get("same_folds") or not row.get("fold_metrics"):
            continue
        if len(row["fold_metrics"]) != len(ref["fold_metrics"]):
            continue
        entry = {"row": row["name"], "reference": reference}
        for m in metrics:
            diff = [
                a[m] - b[m] for a, b in zip(row["fold_metrics"], ref["fold_metrics"], strict=True)
            ]
            mean, low, high = t_interval(diff, test_train_ratio=ratio)
            entry[m] = {"mean": mean, "low": low, "high": high}
        out.append(entry)
    return out
