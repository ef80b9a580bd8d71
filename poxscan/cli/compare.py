"""``poxscan compare``: classical pipelines and fine-tuned CNNs in one table, on the same folds.

Cross-validates the evaluation's fixed reference pipeline on handcrafted, deep and all
features (grouped folds, ``--seed``), and reads the fine-tuned CNNs of
``experiments/finetune_cv.py``, the TensorFlow Lite benchmark and, when present, the nested CV
of ``poxscan evaluate``. Metrics with 95 % intervals, training time, prediction latency per
image and model size; paired differences on the same folds; figures. Writes
``<out-dir>/<dataset>.json``, ``.md`` and PNGs, atomically (see
:mod:`poxscan.pipelines.comparison`).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from poxscan.cli._common import command_line, selected_datasets, subcommand


def register(sub: argparse._SubParsersAction) -> None:
    parser = subcommand(
        sub,
        "compare",
        "classical pipelines vs fine-tuned CNNs: metrics with CIs, time, latency, size",
        __doc__,
        "data", "cache", "seed",
    )  # fmt: skip
    parser.add_argument("--outer-splits", type=int, default=5, help="outer folds (default 5)")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap draws")
    parser.add_argument(
        "--latency-runs", type=int, default=20, help="timed calls per latency (default 20)"
    )
    parser.add_argument("--finetune-dir", default="experiments/results/finetune")
    parser.add_argument("--tflite-json", default="experiments/results/tflite/bench_tflite.json")
    parser.add_argument("--evaluation-dir", default="experiments/results/evaluation")
    parser.add_argument("--models-dir", default="models", help="where the final CNNs are")
    parser.add_argument("--out-dir", default="experiments/results/compare")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads (default 2)")
    parser.set_defaults(func=_compare)


def _compare(args: argparse.Namespace) -> int:
    import numpy as np

    from poxscan.core.atomic import atomic_write_text
    from poxscan.core.data import groups_source
    from poxscan.core.imageio import load_image
    from poxscan.pipelines import comparison as cmp
    from poxscan.pipelines import plots
    from poxscan.pipelines.experiment_data import load_experiment
    from poxscan.pipelines.finetune import configure_threads
    from poxscan.pipelines.report import jsonable
    from poxscan.pipelines.splits import grouped_folds

    configure_threads(args.threads, 1)
    datasets = selected_datasets(args)
    name = "+".join(datasets)  # results of other commands on these datasets use this stem
    families = {"color": {}, "texture": {}, "hog": {}, "deep": {}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_experiment(
            datasets, families, task="binary", data_root=args.data_root, cache=args.cache
        )
    notes = [str(w.message) for w in caught if "group" in str(w.message)]
    groups = groups_source(data.groups)
    notes.append(
        f"split groups: {groups['file'] or 'patient ids'} (sha256 {groups['sha256']}), "
        f"{groups['n_groups']} groups over {len(data.y)} images"
    )
    if len(data.class_names) != 2:
        raise ValueError("compare is binary (mpox against the rest)")
    folds = grouped_folds(data.y, data.groups, args.outer_splits, seed=args.seed)
    fold_ids = cmp._fold_ids(data.records, folds)
    # Latency images: a few real ones, both classes.
    picks = data.records.groupby("y", group_keys=False).head(5)["path"].tolist()
    images = [load_image(p) for p in picks]

    rows: list[dict[str, Any]] = cmp.classical_rows(
        data,
        images,
        n_splits=args.outer_splits,
        seed=args.seed,
        n_boot=args.n_boot,
    )
    nested = cmp.nested_row(Path(args.evaluation_dir) / f"{name}-binary.json", fold_ids)
    if nested is not None:
        rows.append(nested)
    else:
        notes.append(
            f"no nested CV results in {args.evaluation_dir}/{name}-binary.json "
            "(run `poxscan evaluate`); the tuned classical row is missing"
        )
    cnn, cnn_notes = cmp.cnn_rows(
        args.finetune_dir,
        name,
        fold_ids,
        images,
        args.models_dir,
    )
    rows += cnn
    notes += cnn_notes
    rows += cmp.tflite_rows(
        args.tflite_json,
        fold_ids,
        data=data,
        images=images,
        tflite_dir=Path(args.models_dir) / "tflite-bench",
    )
    cmp.measure_latencies(rows, warmup=3, runs=args.latency_runs)
    if not cnn:
        notes.append(f"no finished fine-tune CV under {args.finetune_dir}")

    out_dir = Path(args.out_dir)
    figures = [
        str(cmp.plot_metric_bars(rows, out_dir / f"{name}_metrics.png")),
        str(cmp.plot_latency_accuracy(rows, out_dir / f"{name}_latency_accuracy.png")),
    ]
    curves = {
        cmp.short_name(r["name"]): ((data.y == 1).astype(int), np.asarray(r["oof"]))
        for r in rows
        if r.get("oof") is not None and r.get("same_folds")
    }
    if curves:
        figures.append(
            str(plots.plot_roc(curves, out_dir / f"{name}_roc.png", title=f"{name}: ROC (OOF)"))
        )
    reference = cnn[0]["name"] if cnn else rows[0]["name"]
    report = {
        "dataset": name,
        "commands": [command_line()] if sys.argv[1:] else [],
        "protocol": (cmp.__doc__ or "").split("Rows\n----", 1)[-1].strip(),
        "n_images": len(data.y),
        "n_groups": len(set(data.groups)),
        "groups": groups,
        "fold_test_ids": fold_ids,
        "latency_runs": args.latency_runs,
        "rows": [{k: v for k, v in r.items() if k != "oof"} for r in rows],
        "paired_reference": reference,
        "paired": cmp.paired_differences(rows, reference),
        "figures": figures,
        "notes": notes,
    }
    clean = jsonable(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / f"{name}.json", json.dumps(clean, indent=2) + "\n")
    md = cmp.markdown(clean)
    atomic_write_text(out_dir / f"{name}.md", md)
    print(md)
    print(f"wrote {out_dir / name}.json and .md")
    return 0
