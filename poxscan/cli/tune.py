"""``poxscan tune``: an Optuna study over feature families, selection and classifiers.

One study per experiment, stored in SQLite at ``experiments/studies/<study>.db`` under the
current directory unless ``--storage`` names another SQLAlchemy URL; rerunning the same command
resumes the study (``load_if_exists``). The best config is printed and written as JSON to
``experiments/results/tune/<study>.best.json`` (or ``--out``), ready for ``poxscan train``.

Across machines: ``--budget N`` makes the study's trial budget shared: every process started
with the same ``--storage`` (e.g. ``postgresql://user@host/db``), ``--study-name`` and search
space adds trials until the study holds N finished trials, with heartbeats and retries of trials
whose worker died (see :mod:`poxscan.pipelines.distributed`). Every mode beats: a trial left
RUNNING by a killed run is failed and retried once ``--grace`` seconds passed without its beat,
and a run stops with an error after ``--max-failures`` failed trials in a row.
``--workers K`` starts K such processes here; run the same command on other machines to add
theirs. ``--train-out DIR`` trains the best pipeline once the budget is spent.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from poxscan.cli._common import add_data_args


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add_space_args(parser: argparse.ArgumentParser) -> None:
    """``--task``, ``--families``, ``--classifiers``, ``--selectors``, ``--backbone``."""
    from poxscan.pipelines.builder import FAMILY_NAMES, SELECTORS, TASKS
    from poxscan.pipelines.classifiers import CLASSIFIERS
    from poxscan.pipelines.search_space import DEFAULT_SELECTORS

    parser.add_argument("--task", choices=TASKS, default="binary", help="default: binary")
    parser.add_argument(
        "--families",
        type=_csv,
        default=list(FAMILY_NAMES),
        help="comma-separated feature families a trial may combine "
        f"(default: {','.join(FAMILY_NAMES)})",
    )
    parser.add_argument(
        "--classifiers",
        type=_csv,
        default=list(CLASSIFIERS),
        help=f"comma-separated classifiers to search (default: {','.join(CLASSIFIERS)})",
    )
    parser.add_argument(
        "--selectors",
        type=_csv,
        default=list(DEFAULT_SELECTORS),
        help=f"comma-separated feature selectors to search, of {','.join(SELECTORS)} "
        f"(default: {','.join(DEFAULT_SELECTORS)})",
    )
    parser.add_argument(
        "--backbone",
        default=None,
        help="deep-feature backbone (default: the extractor's, efficientnet-lite0)",
    )
    parser.add_argument("--cache", default=None, help="feature cache folder ($POXSCAN_CACHE)")
    parser.add_argument("--seed", type=int, default=0, help="folds and sampler seed (default 0)")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "tune",
        help="tune a pipeline with Optuna (grouped CV, resumable SQLite study)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_args(parser)
    add_space_args(parser)
    parser.add_argument("--n-trials", type=int, default=50, help="new trials to run (default 50)")
    parser.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--study-name", default=None, help="default: <datasets>-<task>-<families>")
    parser.add_argument(
        "--storage",
        default=None,
        help="SQLAlchemy URL (default: sqlite:///experiments/studies/<study>.db)",
    )
    parser.add_argument("--n-splits", type=int, default=4, help="grouped CV folds (default 4)")
    parser.add_argument(
        "--metric",
        choices=("roc_auc", "balanced_accuracy"),
        default="roc_auc",
        help="score maximised (default roc_auc; see poxscan.pipelines.tuning)",
    )
    parser.add_argument("--worker", type=int, default=0, help="worker number (sampler seed)")
    parser.add_argument(
        "--budget",
        type=int,
        default=None,
        help="finished trials the study should end with, shared by every worker on every "
        "machine (distributed mode; default with --workers > 1: --n-trials)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="local worker processes (distributed mode)"
    )
    parser.add_argument(
        "--heartbeat", type=int, default=10, help="seconds between a trial's heartbeats"
    )
    parser.add_argument(
        "--grace",
        type=int,
        default=None,
        help="seconds without a heartbeat before a trial is retried (default: 2 x heartbeat)",
    )
    parser.add_argument(
        "--max-failures",
        type=int,
        default=10,
        help="stop after this many failed trials in a row (default 10)",
    )
    parser.add_argument(
        "--train-out", default=None, help="train the best pipeline into this model directory"
    )
    parser.add_argument("--out", default=None, help="best-config JSON path")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=_tune)


def _tune(args: argparse.Namespace) -> int:
    from poxscan.pipelines.search_space import SearchSpace
    from poxscan.pipelines.tuning import (
        ObjectiveSpec,
        default_storage,
        run_study,
        study_summary,
        write_best,
    )

    datasets = args.dataset or ["msld_v1"]
    space = SearchSpace(
        task=args.task,
        families=args.families,
        classifiers=args.classifiers,
        selectors=args.selectors,
        seed=args.seed,
    )
    family_params = {"deep": {"backbone": args.backbone}} if args.backbone else {}
    spec = ObjectiveSpec(
        datasets=datasets,
        space=space,
        n_splits=args.n_splits,
        seed=args.seed,
        metric=args.metric,
        family_params=family_params,
        data_root=args.data_root,
        cache=args.cache,
    )
    name = args.study_name or "-".join(["+".join(datasets), args.task, "+".join(space.families)])
    storage = args.storage or default_storage(name)
    budget = args.budget or (args.n_trials if args.workers > 1 else None)
    if budget is not None:
        study = _tune_distributed(args, name, storage, spec, budget)
    else:
        study = run_study(
            name,
            storage,
            spec,
            n_trials=args.n_trials,
            timeout=args.timeout,
            worker=args.worker,
            show_progress_bar=not args.no_progress,
            heartbeat_interval=args.heartbeat,
            grace_period=args.grace,
            max_failures=args.max_failures,
        )
    summary = study_summary(study)
    out = Path(args.out or Path("experiments") / "results" / "tune" / f"{name}.best.json")
    write_best(study, out, extra={"storage": storage})
    print(f"study {name!r} in {storage}: {summary['n_trials']} trials {summary['states']}")
    if "best_value" in summary:
        print(
            f"best {spec.metric} {summary['best_value']:.4f} (trial {summary['best_trial']}, "
            f"folds {[round(s, 3) for s in summary['best_fold_scores']]})"
        )
        print(json.dumps(summary["best_config"], indent=2))
    print(f"wrote {out}")
    print(f"dashboard: optuna-dashboard {storage}")
    if args.train_out:
        from poxscan.cli import main as poxscan_main

        train_args = ["train", "--config", str(out), "--out", args.train_out, "--force"]
        for dataset in datasets:
            train_args += ["--dataset", dataset]
        if args.data_root:
            train_args += ["--data-root", args.data_root]
        if args.cache:
            train_args += ["--cache-dir", args.cache]
        return poxscan_main(train_args)
    return 0


def _tune_distributed(args: argparse.Namespace, name: str, storage: str, spec, budget: int):
    """Workers on a shared study until it holds ``budget`` finished trials."""
    from poxscan.pipelines.distributed import audit_study, run_worker, tune_parallel

    if args.workers > 1:
        study = tune_parallel(
            name,
            storage,
            spec,
            budget,
            workers=args.workers,
            first_worker=args.worker,
            heartbeat_interval=args.heartbeat,
            grace_period=args.grace,
            max_failures=args.max_failures,
        )
    else:
        import optuna

        run_worker(
            name,
            storage,
            spec,
            budget,
            worker=args.worker,
            heartbeat_interval=args.heartbeat,
            grace_period=args.grace,
            max_failures=args.max_failures,
        )
        study = optuna.load_study(study_name=name, storage=storage)
    audit = audit_study(study)
    print(
        f"budget {budget}: {audit.finished} finished ({audit.complete} complete, "
        f"{audit.pruned} pruned), {audit.failed} failed, {audit.retried} retried"
    )
    return study
