"""Benchmark: wall time of 100 Optuna trials of ``poxscan tune`` on cached features.

msld_v1, binary, every feature family (colour, texture, HOG, EfficientNet-Lite0 deep), the
default search space and 4-fold grouped CV, a fresh SQLite study in a temporary folder (as
``poxscan tune`` stores it). Features are read from the feature cache (computed first if
missing, outside the timing). Writes ``experiments/results/bench_tuning.json`` and ``.md``.

Run from the repository root::

    python experiments/bench_tuning.py [--n-trials 100] [--data-root ../shared/datasets]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna
import sklearn
import xgboost

from poxscan.core.atomic import atomic_write_text
from poxscan.pipelines.experiment_data import load_experiment
from poxscan.pipelines.search_space import SearchSpace
from poxscan.pipelines.tuning import ObjectiveSpec, run_study

OUT = Path("experiments") / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-trials", type=int, default=100)
    parser.add_argument("--n-splits", type=int, default=4)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--cache", default=None)
    parser.add_argument("--out", default=str(OUT / "bench_tuning"))
    args = parser.parse_args(argv)

    space = SearchSpace()
    spec = ObjectiveSpec(
        datasets=["msld_v1"], space=space, n_splits=args.n_splits, seed=0,
        data_root=args.data_root, cache=args.cache,
    )  # fmt: skip
    t0 = time.perf_counter()
    data = load_experiment(
        spec.datasets, spec.families_arg(), data_root=args.data_root, cache=args.cache
    )
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        storage = f"sqlite:///{Path(tmp) / 'bench.db'}"
        t0 = time.perf_counter()
        study = run_study(
            "bench", storage, spec, n_trials=args.n_trials, data=data, show_progress_bar=True
        )
        wall = time.perf_counter() - t0
    trials = study.trials
    durations = [t.duration.total_seconds() for t in trials if t.duration is not None]
    states = [t.state.name.lower() for t in trials]
    by_clf: dict[str, list[float]] = {}
    for t in trials:
        if t.duration is not None:
            by_clf.setdefault(t.params.get("classifier", "?"), []).append(
                t.duration.total_seconds()
            )
    result = {
        "what": f"{args.n_trials} Optuna trials, msld_v1 binary, all families, "
        f"{args.n_splits}-fold grouped CV, default search space, SQLite storage",
        "n_trials": len(trials),
        "wall_s": wall,
        "feature_load_s": load_s,
        "trial_s_mean": statistics.fmean(durations),
        "trial_s_median": statistics.median(durations),
        "trial_s_max": max(durations),
        "states": {s: states.count(s) for s in sorted(set(states))},
        "by_classifier": {
            k: {"n": len(v), "mean_s": statistics.fmean(v)} for k, v in sorted(by_clf.items())
        },
        "best_value_roc_auc": study.best_value,
        "best_config": study.best_trial.user_attrs["config"],
        "n_images": len(data.y),
        "n_features": data.X.shape[1],
        "search_space": space.to_dict(),
        "environment": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
            "optuna": optuna.__version__,
            "scikit-learn": sklearn.__version__,
            "xgboost": xgboost.__version__,
            "blas_threads": 1,
        },
        "command": "python experiments/bench_tuning.py " + " ".join(argv or sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    out = Path(args.out)
    atomic_write_text(out.with_suffix(".json"), json.dumps(result, indent=2) + "\n")
    lines = [
        "# Benchmark: Optuna tuning on cached features",
        "",
        result["what"] + ".",
        f"{result['n_images']} images x {result['n_features']} features; "
        f"{result['environment']['cpus']} shared CPU cores, one BLAS thread; "
        f"load average at the end {result['environment']['load_average_at_end'][0]:.1f} "
        "(other jobs share the machine, so times are upper bounds).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| trials | {result['n_trials']} ({', '.join(f'{v} {k}' for k, v in result['states'].items())}) |",  # noqa: E501
        f"| wall time | {wall:.0f} s ({wall / 60:.1f} min) |",
        f"| per trial, mean / median / max | {result['trial_s_mean']:.2f} / "
        f"{result['trial_s_median']:.2f} / {result['trial_s_max']:.2f} s |",
        f"| reading cached features | {load_s:.1f} s |",
        f"| best CV ROC-AUC | {study.best_value:.4f} |",
        "",
        "| classifier | trials | mean s per trial |",
        "|---|---|---|",
        *[f"| {k} | {v['n']} | {v['mean_s']:.2f} |" for k, v in result["by_classifier"].items()],
        "",
        f"Command: `{result['command'].strip()}` ({result['date']}).",
        "",
    ]
    atomic_write_text(out.with_suffix(".md"), "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
