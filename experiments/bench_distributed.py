"""Benchmark distributed tuning: one study on PostgreSQL, a fixed budget, 1 and 2 workers.

Starts a throwaway PostgreSQL server on loopback (Debian's package, `.ci/start-postgres`) unless
``--storage`` names one, computes the features once through the cache, then for each worker
count runs a fresh study of ``--budget`` trials with :func:`poxscan.pipelines.distributed.
tune_parallel` and records wall time and trials per minute. Writes
``experiments/results/bench_distributed.json`` and ``.md``.

Each worker process runs one thread per native pool (BLAS, OpenMP/XGBoost, TensorFlow; see
:func:`poxscan.pipelines.study_storage.single_thread`). Besides the wall time (start-up
included) it reports the steady-state rate: trials finished between the first trial's start
and the last one's end, per minute, which start-up cannot dilute. The load average is recorded
before and after each run: figures taken with a load above 1 were measured on a busy machine.

Both runs do the same work: ``--budget`` parameter sets are drawn once (seeded random
sampling of the search space) and enqueued in each study, so 1 and 2 workers fit the very same
pipelines and the comparison is not confounded by TPE wandering into slower classifiers.

Usage (the lead's idle-machine re-run): ``python experiments/bench_distributed.py --budget 60``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"


def _start_postgres() -> tuple[str, Path]:
    folder = Path(tempfile.mkdtemp(prefix="poxscan-pg-bench-"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = subprocess.run(
        ["bash", str(REPO / ".ci" / "start-postgres"), str(folder), str(port)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1], folder


def _stop_postgres(folder: Path) -> None:
    pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
    cmd = [str(pg_ctl), "-D", str(folder / "data"), "-m", "fast", "stop"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    subprocess.run(cmd, capture_output=True, check=False)
    shutil.rmtree(folder, ignore_errors=True)


def _workload(space, n: int, seed: int) -> list[dict]:
    """``n`` parameter sets of the search space, drawn by a seeded random sampler."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        space.suggest(trial)
        out.append(dict(trial.params))
        study.tell(trial, 0.0)
    return out


def _enqueue(name: str, url: str, spec, workload: list[dict]) -> None:
    """Create the study as tune_parallel would, and queue the fixed parameter sets in it."""
    from poxscan.pipelines.study_storage import make_storage
    from poxscan.pipelines.tuning import make_study

    study = make_study(name, make_storage(url), seed=spec.seed)
    study.set_user_attr("objective_spec", spec.identity())
    for params in workload:
        study.enqueue_trial(params, skip_if_exists=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--families", default="color,texture,hog")
    parser.add_argument("--classifiers", default="logreg,lda,svm,xgboost,adaboost,mlp")
    parser.add_argument("--dataset", default="msld_v1")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--storage", default=None, help="PostgreSQL URL (default: start one)")
    args = parser.parse_args()

    import optuna

    from poxscan.pipelines.distributed import audit_study, tune_parallel
    from poxscan.pipelines.experiment_data import load_experiment
    from poxscan.pipelines.search_space import SearchSpace
    from poxscan.pipelines.tuning import ObjectiveSpec

    families = args.families.split(",")
    space = SearchSpace(families=families, classifiers=args.classifiers.split(","))
    spec = ObjectiveSpec(datasets=[args.dataset], space=space, data_root=args.data_root)
    t0 = time.perf_counter()
    load_experiment([args.dataset], spec.families_arg(), data_root=args.data_root, progress=False)
    features_s = time.perf_counter() - t0

    workload = _workload(space, args.budget, seed=0)
    url, folder = (args.storage, None) if args.storage else _start_postgres()
    runs = []
    try:
        for workers in map(int, args.workers.split(",")):
            name = f"bench-{workers}w-{uuid.uuid4().hex[:6]}"
            _enqueue(name, url, spec, workload)
            load_before = os.getloadavg()
            start = time.perf_counter()
            study = tune_parallel(name, url, spec, budget=args.budget, workers=workers)
            wall = time.perf_counter() - start
            load_after = os.getloadavg()
            audit = audit_study(study)
            done = [t for t in study.trials if t.datetime_complete and t.datetime_start]
            span = (
                max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)
            ).total_seconds()
            per_worker = {}
            for t in study.trials:
                w = t.user_attrs.get("worker")
                per_worker[w] = per_worker.get(w, 0) + 1
            runs.append(
                {
                    "workers": workers,
                    "budget": args.budget,
                    "wall_s": round(wall, 1),
                    "trials_per_min": round(60 * audit.finished / wall, 1),
                    "steady_s": round(span, 1),
                    "steady_trials_per_min": round(60 * audit.finished / span, 1),
                    "startup_s": round(wall - span, 1),
                    "load_before": [round(x, 2) for x in load_before],
                    "load_after": [round(x, 2) for x in load_after],
                    "finished": audit.finished,
                    "complete": audit.complete,
                    "pruned": audit.pruned,
                    "failed": audit.failed,
                    "trials_per_worker": {str(k): v for k, v in sorted(per_worker.items())},
                    "best_value": round(study.best_value, 4),
                    "budget_kept": audit.complete_for(args.budget),
                }
            )
            print(json.dumps(runs[-1]), flush=True)
    finally:
        if folder is not None:
            _stop_postgres(folder)

    result = {
        "what": "fixed trial budget on one PostgreSQL study, 1 vs 2 worker processes",
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "optuna": optuna.__version__,
        "dataset": args.dataset,
        "families": families,
        "classifiers": args.classifiers.split(","),
        "feature_load_s": round(features_s, 1),
        "load_average_after": os.getloadavg(),
        "idle": all(r["load_before"][0] < 1 for r in runs),
        "runs": runs,
        "note": "Each worker process loads the cached features itself (as on another machine); "
        "that start-up cost is inside the wall time, not inside the steady-state rate. Both "
        "runs evaluate the same enqueued parameter sets.",
    }
    if len(runs) >= 2:
        result["speedup_2_vs_1"] = round(runs[0]["wall_s"] / runs[1]["wall_s"], 2)
        result["steady_speedup_2_vs_1"] = round(
            runs[1]["steady_trials_per_min"] / runs[0]["steady_trials_per_min"], 2
        )

    from poxscan.core.atomic import atomic_write_text

    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "bench_distributed.json", json.dumps(result, indent=2) + "\n")
    lines = [
        "# Distributed tuning benchmark",
        "",
        f"{args.budget} trials on one PostgreSQL study ({args.dataset}, families "
        f"{', '.join(families)}), on a {os.cpu_count()}-core machine.",
        "",
        "| workers | wall (s) | trials/min | steady trials/min | start-up (s) | complete | "
        "pruned | failed | per worker | budget | load before | load after |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['workers']} | {r['wall_s']} | {r['trials_per_min']} | "
            f"{r['steady_trials_per_min']} | {r['startup_s']} | {r['complete']} | "
            f"{r['pruned']} | {r['failed']} | {r['trials_per_worker']} | {r['budget_kept']} | "
            f"{r['load_before'][0]} | {r['load_after'][0]} |"
        )
    if "speedup_2_vs_1" in result:
        lines += [
            "",
            f"Speed-up with 2 workers: {result['speedup_2_vs_1']}x (wall), "
            f"{result['steady_speedup_2_vs_1']}x (steady state).",
        ]
        if not result["idle"]:
            lines += [
                "",
                "Measured on a busy machine (1-minute load above 1 before a run): other "
                "processes took cores from the workers; re-run on an idle machine.",
            ]
    atomic_write_text(RESULTS / "bench_distributed.md", "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
