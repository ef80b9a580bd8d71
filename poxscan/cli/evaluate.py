"""``poxscan evaluate``: nested CV of the tuning procedure, family ablations, transfer tests.

By default on every dataset of the manifest, pooled (``--dataset`` narrows it). With two or
more datasets it also reports transfer (:mod:`poxscan.pipelines.transfer`): both
leave-one-dataset-out directions (shared audit groups removed from the test set), metrics per
source dataset inside the pooled CV, and the screening operating point (sensitivity 0.90). With
one dataset (``--dataset msld_v1``, for comparison with papers) it runs the cross-dataset test
against the other set instead.

Writes ``<out-dir>/<name>.json`` and ``.md`` (metrics with 95 % intervals) and PNG figures
(ROC curves, calibration curves, confusion matrices), all atomically; the protocol is in
:mod:`poxscan.pipelines.evaluation`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from poxscan.cli._common import command_line, selected_datasets, subcommand
from poxscan.cli.tune import add_space_args
from poxscan.pipelines.builder import REFERENCE_CONFIG

log = logging.getLogger(__name__)

#: Family subsets of the ablations (those whose families are all available).
ABLATIONS = {
    "all": ["color", "texture", "hog", "deep"],
    "handcrafted": ["color", "texture", "hog"],
    "deep": ["deep"],
    "color": ["color"],
    "texture": ["texture"],
    "hog": ["hog"],
    "deep+color": ["color", "deep"],
}
PARTS = ("nested", "ablations", "transfer", "cross")


def _json_arg(value: str) -> dict[str, Any]:
    path = Path(value)
    text = path.read_text(encoding="utf-8") if path.is_file() else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not a JSON object or JSON file: {value}") from exc
    # A best-config file from `poxscan tune` holds the config under "best_config".
    return data.get("best_config", data) if isinstance(data, dict) else data


def register(sub: argparse._SubParsersAction) -> None:
    parser = subcommand(
        sub,
        "evaluate",
        "nested grouped CV with confidence intervals, ablations, cross-dataset tests",
        __doc__,
        "data", "cache", "seed", "metric", "progress",
    )  # fmt: skip
    add_space_args(parser)
    parser.add_argument("--outer-splits", type=int, default=5, help="outer folds (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="outer CV repeats (default 3)")
    parser.add_argument("--inner-splits", type=int, default=3, help="inner folds (default 3)")
    parser.add_argument("--n-trials", type=int, default=25, help="trials per inner study")
    parser.add_argument(
        "--inner-timeout", type=float, default=60.0, help="seconds per inner study (default 60)"
    )
    parser.add_argument(
        "--reference-config",
        type=_json_arg,
        default=None,
        help="JSON object or file: the fixed pipeline of ablations and cross-dataset tests",
    )
    parser.add_argument(
        "--cross-dataset",
        default="auto",
        help="the other dataset for cross-dataset tests ('auto': the other of msld_v1 and "
        "ahsan2022; 'none' to skip)",
    )
    parser.add_argument(
        "--skip",
        type=lambda v: [p for p in v.split(",") if p],
        default=[],
        help=f"comma-separated parts to skip: {','.join(PARTS)}",
    )
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap draws (default 1000)")
    parser.add_argument(
        "--out-dir", default="experiments/results/evaluation", help="where results go"
    )
    parser.add_argument("--name", default=None, help="file name stem (default <dataset>-<task>)")
    parser.set_defaults(func=_evaluate)


def _chosen(folds: list[Any]) -> list[tuple[str, int]]:
    keys = [
        f"{f.config['classifier']} | {f.config['selector']}"
        + (f" k={f.config['k']}" if f.config["selector"] != "none" else "")
        + f" | {'+'.join(f.config['families'])}"
        for f in folds
    ]
    return Counter(keys).most_common()


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from poxscan.core.data import groups_source
    from poxscan.pipelines import evaluation as ev
    from poxscan.pipelines import plots
    from poxscan.pipelines.builder import normalize_config
    from poxscan.pipelines.experiment_data import load_experiment
    from poxscan.pipelines.family_selector import column_family
    from poxscan.pipelines.report import PUBLISHED_MSLD
    from poxscan.pipelines.search_space import SearchSpace

    bad = set(args.skip) - set(PARTS)
    if bad:
        raise ValueError(f"unknown parts to skip {sorted(bad)}; use {PARTS}")
    started = time.perf_counter()
    datasets = selected_datasets(args)
    if args.task == "multiclass":
        return _evaluate_differential(args, datasets)
    space = SearchSpace(
        task=args.task,
        families=args.families,
        classifiers=args.classifiers,
        selectors=args.selectors,
        seed=args.seed,
    )
    reference = normalize_config(
        {**REFERENCE_CONFIG, **(args.reference_config or {}), "task": args.task}
    )
    other = args.cross_dataset
    if other == "auto":
        pair = {"msld_v1": "ahsan2022", "ahsan2022": "msld_v1"}
        other = pair.get(datasets[0]) if len(datasets) == 1 else None
    if other in (None, "none") or "cross" in args.skip or args.task != "binary":
        other = None
    families = sorted(
        set(space.families) | set(reference["families"]) | set().union(*ABLATIONS.values()),
        key=["color", "texture", "hog", "deep"].index,
    )
    fam_arg = {
        f: ({"backbone": args.backbone} if f == "deep" and args.backbone else {}) for f in families
    }
    family_params = {f: p for f, p in fam_arg.items() if p}

    def with_params(cfg: dict[str, Any]) -> dict[str, Any]:
        # Configs name the extractor parameters (e.g. the backbone) so they rebuild the features.
        fams = list(cfg["families"])
        if any(f in family_params for f in fams):
            return {**cfg, "families": {f: family_params.get(f, {}) for f in fams}}
        return cfg

    reference = with_params(reference)
    names = datasets + ([other] if other else [])
    data_all = load_experiment(
        names,
        fam_arg,
        task=args.task,
        data_root=args.data_root,
        cache=args.cache,
        progress=not args.no_progress,
    )
    in_primary = data_all.records["dataset"].isin(datasets).to_numpy()
    data = data_all.subset(in_primary)
    name = args.name or f"{'+'.join(datasets)}-{args.task}"
    out_dir = Path(args.out_dir)
    pos = data.class_names.index("mpox")
    report: dict[str, Any] = {
        "name": name,
        "title": f"{'+'.join(datasets)}, {args.task}",
        "commands": [command_line()] if sys.argv[1:] else [],
        "protocol": ev.__doc__.split("Metrics and intervals")[0].strip().split("\n", 1)[1].strip()
        if ev.__doc__
        else "",
        "datasets": datasets,
        "task": args.task,
        "class_names": data.class_names,
        "search_space": space.to_dict(),
        "configs": {"reference": reference},
        "figures": [],
        "notes": [],
    }
    groups = groups_source(data.groups)
    report["notes"] += [
        f"Split groups: {groups['n_groups']} groups over {len(data.y)} images, from "
        + (
            f"the leakage audit's {groups['file']} (patients merged with near-duplicates)"
            if groups["file"]
            else "patient ids only (no audit groups file found: near-duplicates may leak)"
        )
        + ".",
        "Binary decisions at mpox probability 0.5 (no threshold tuning); ROC-AUC and Brier "
        "score use the probabilities.",
        "Intervals: 't' = mean over outer folds x repeats +/- t quantile x Nadeau-Bengio "
        "corrected standard error; 'group bootstrap' = percentiles of 1000 resamples of whole "
        "groups of the pooled out-of-fold predictions (averaged over repeats).",
    ]
    if datasets == ["msld_v1"] and args.task == "binary":
        report["notes"].append(
            "Published reference: Ali et al. 2022 (arXiv 2207.03342), fine-tuned ResNet50, "
            "patient-aware 3-fold CV on MSLD v1, accuracy 82.96 +/- 4.57 % (a different "
            "protocol: fine-tuned CNN, 3 folds, patient ids only)."
        )
        report["published"] = PUBLISHED_MSLD
    progress = not args.no_progress
    roc_curves: dict[str, tuple[Any, Any]] = {}
    cal_curves: dict[str, tuple[Any, Any]] = {}

    def add_curves(label: str, result: ev.CVResult, calib: bool = False) -> None:
        ys = (result.y == result.positive).astype(int)
        ps = [o[:, result.positive] for o in result.oof]
        roc_curves[label] = (ys, ps)
        if calib:
            cal_curves[label] = (ys, ps)

    cv_results: dict[str, ev.CVResult] = {}
    if "nested" not in args.skip:
        log.info("nested CV: %d repeats x %d folds", args.repeats, args.outer_splits)
        result = ev.nested_cv(
            data,
            space,
            n_splits=args.outer_splits,
            repeats=args.repeats,
            inner_splits=args.inner_splits,
            n_trials=args.n_trials,
            inner_timeout=args.inner_timeout,
            seed=args.seed,
            metric=args.metric,
            family_params=family_params,
            name="nested",
            progress=progress,
        )
        cv_results["nested CV (tuned)"] = result
        summary = ev.summarize(result, n_boot=args.n_boot, seed=args.seed)
        report["nested"] = {
            "summary": summary,
            "inner": f"inner: {args.inner_splits}-fold grouped CV, up to {args.n_trials} TPE "
            f"trials or {args.inner_timeout:.0f} s per outer fold, median pruning, maximising "
            f"{args.metric}",
            "chosen": _chosen(result.folds),
            "folds": [
                {
                    "repeat": f.repeat,
                    "fold": f.fold,
                    "n_train": f.n_train,
                    "n_test": f.n_test,
                    "metrics": f.metrics,
                    "config": f.config,
                    "inner": f.inner,
                    "seconds": f.seconds,
                }
                for f in result.folds
            ],
        }
        add_curves("nested CV (tuned)", result, calib=True)
        pooled_y = np.concatenate([result.y] * len(result.oof))
        pooled_p = np.concatenate(result.oof)
        pred = (
            (pooled_p[:, pos] >= 0.5).astype(int) * pos
            + (pooled_p[:, pos] < 0.5).astype(int) * (1 - pos)
            if pooled_p.shape[1] == 2
            else pooled_p.argmax(axis=1)
        )
        path = plots.plot_confusion(
            pooled_y,
            pred,
            data.class_names,
            out_dir / f"{name}_nested_confusion.png",
            title=f"Nested CV, {len(result.oof)} repeats pooled",
        )
        report["figures"].append(str(path))
        _write(report, out_dir, name)

    if "ablations" not in args.skip:
        results = {}
        available = {column_family(c) for c in data.X.columns}
        for label, fams in ABLATIONS.items():
            if not set(fams) <= available:
                continue
            cfg = with_params({**reference, "families": fams})
            res = ev.cross_validate_config(
                data,
                cfg,
                n_splits=args.outer_splits,
                repeats=args.repeats,
                seed=args.seed,
                name=label,
                progress=progress,
            )
            results[label] = ev.summarize(res, n_boot=args.n_boot, seed=args.seed)
            if label in ("all", "deep") or fams == list(reference["families"]):
                cv_results[
                    f"reference, {'+'.join(fams) if label not in ('all', 'deep') else label}"
                ] = res
            if label in ("all", "handcrafted", "deep"):
                add_curves(f"reference, {label}", res, calib=label == "all")
        report["ablations"] = {
            "description": "Fixed reference pipeline (no tuning; config 'reference' below) on "
            f"each family subset; same {args.repeats} x {args.outer_splits} grouped folds as "
            "the nested CV. Cells: mean over folds, 95 % corrected t interval.",
            "results": results,
        }
        _write(report, out_dir, name)

    if roc_curves:
        report["figures"].append(
            str(plots.plot_roc(roc_curves, out_dir / f"{name}_roc.png", title=f"{name}: ROC"))
        )
        report["figures"].append(
            str(
                plots.plot_calibration(
                    cal_curves, out_dir / f"{name}_calibration.png", title=f"{name}: calibration"
                )
            )
        )

    many = data.records["dataset"].nunique() > 1
    if many and args.task == "binary" and "transfer" not in args.skip:
        report["transfer"] = _transfer(args, data, space, reference, family_params, cv_results)
        _write(report, out_dir, name)

    if other:
        source_mask = data_all.records["dataset"].isin(datasets).to_numpy()
        primary_name = "+".join(datasets)
        sides = {
            primary_name: data_all.subset(source_mask),
            other: data_all.subset(~source_mask),
        }
        cross, cross_roc = [], {}
        for src, dst in ((primary_name, other), (other, primary_name)):
            train, test = sides[src], sides[dst]
            log.info("cross-dataset %s -> %s: tuning on %s", src, dst, src)
            tuned = _tune(args, train, space, family_params)
            report["configs"][f"tuned on {src}"] = tuned
            for cfg_name, cfg in ((f"tuned on {src}", tuned), ("reference", reference)):
                r = ev.cross_dataset(train, test, cfg, n_boot=args.n_boot, seed=args.seed)
                r.update(direction=f"{src} -> {dst}", config_name=cfg_name)
                cross_roc[f"{src} -> {dst}, {cfg_name}"] = (r["y"], r["proba"][:, 1])
                path = plots.plot_confusion(
                    r["y"],
                    (r["proba"][:, 1] >= 0.5).astype(int),
                    ["not mpox", "mpox"],
                    out_dir / f"{name}_cross_{src}_to_{dst}_{cfg_name.split()[0]}_confusion.png",
                    title=f"{src} -> {dst} ({cfg_name})",
                )
                report["figures"].append(str(path))
                for key in ("y", "proba", "label"):
                    r.pop(key)
                cross.append(r)
        report["cross_dataset"] = cross
        report["figures"].append(
            str(
                plots.plot_roc(
                    cross_roc, out_dir / f"{name}_cross_roc.png", title="Cross-dataset ROC"
                )
            )
        )
        report["figures"].append(
            str(
                plots.plot_calibration(
                    cross_roc,
                    out_dir / f"{name}_cross_calibration.png",
                    title="Cross-dataset calibration",
                )
            )
        )
    report["seconds"] = time.perf_counter() - started
    json_path, md_path = _write(report, out_dir, name)
    print(md_path.read_text(encoding="utf-8"))
    print(f"wrote {json_path} and {md_path} ({report['seconds'] / 60:.1f} min)")
    return 0


def _tune(
    args: argparse.Namespace, train: Any, space: Any, family_params: dict[str, Any]
) -> dict[str, Any]:
    """The best config of an inner study on ``train`` only (as the nested CV's inner loop)."""
    from poxscan.pipelines.tuning import tune_in_memory

    tuned, _ = tune_in_memory(
        train.X,
        train.y,
        train.groups,
        space,
        n_trials=args.n_trials,
        n_splits=args.inner_splits,
        seed=args.seed,
        timeout=args.inner_timeout,
        metric=args.metric,
        family_params=family_params,
    )
    return tuned


def _transfer(
    args: argparse.Namespace,
    data: Any,
    space: Any,
    reference: dict[str, Any],
    family_params: dict[str, Any],
    cv_results: dict[str, Any],
) -> dict[str, Any]:
    """Leave-one-dataset-out, per-dataset rows and the screening operating point."""
    from poxscan.pipelines import transfer as tr

    out: dict[str, Any] = {"lodo": [], "per_dataset": {}, "operating_point": {}, "configs": {}}
    for label, result in cv_results.items():
        scores = [o[:, result.positive] for o in result.oof]
        folds = tr.pooled_folds(data, args.outer_splits, len(scores), args.seed)
        out["per_dataset"][label] = tr.per_dataset_metrics(data, scores, args.n_boot, args.seed)
        out["operating_point"][label] = tr.operating_point(
            data, scores, folds, n_boot=args.n_boot, seed=args.seed
        )
    for held_out in sorted(set(data.records["dataset"])):
        train_idx, test_idx, _, _ = tr.lodo_split(data, held_out)
        train, test_X = data.subset(train_idx), data.X.iloc[test_idx]
        log.info("leave %s out: tuning on the other datasets", held_out)
        tuned = _tune(args, train, space, family_params)
        out["configs"][f"tuned without {held_out}"] = tuned
        for cfg_name, cfg in (
            ("tuned (study on the training sets)", tuned),
            ("reference", reference),
        ):
            row = tr.lodo_row(
                data, held_out, tr.fit_scores(cfg, train, test_X), args.n_boot, args.seed
            )
            row["config_name"] = cfg_name
            out["lodo"].append(row)
    return out


def _write(report: dict[str, Any], out_dir: Path, name: str) -> tuple[Path, Path]:
    from poxscan.pipelines.report import write_report

    return write_report(report, out_dir, name)


def _evaluate_differential(args: argparse.Namespace, datasets: list[str]) -> int:
    """``--task multiclass``: the differential's grouped out-of-fold report.

    A fixed pipeline (``--reference-config`` over
    :data:`~poxscan.pipelines.differential.DEFAULT_DIFFERENTIAL_CONFIG`), no tuning: per-class
    recall with its fold spread, the confusion matrix and recall per source dataset.
    """
    import numpy as np

    from poxscan.core.atomic import atomic_write_text
    from poxscan.pipelines import plots
    from poxscan.pipelines.differential import (
        DEFAULT_DIFFERENTIAL_CONFIG,
        differential_evidence,
        markdown,
    )
    from poxscan.pipelines.report import jsonable

    config = {**DEFAULT_DIFFERENTIAL_CONFIG, **(args.reference_config or {}), "task": "multiclass"}
    data, report = differential_evidence(
        datasets,
        config,
        n_splits=args.outer_splits,
        seed=args.seed,
        data_root=args.data_root,
        cache=args.cache,
        progress=not args.no_progress,
    )
    proba = report.pop("oof_proba")
    report["command"] = command_line()
    report["datasets"] = datasets
    report["ids"] = [str(i) for i in data.X.index]
    report["oof_proba"] = np.round(proba, 6)
    name = args.name or f"{'+'.join(datasets)}-multiclass"
    out_dir = Path(args.out_dir)
    atomic_write_text(out_dir / f"{name}.json", json.dumps(jsonable(report), indent=2) + "\n")
    atomic_write_text(out_dir / f"{name}.md", markdown(report))
    plots.plot_confusion(
        data.y,
        proba.argmax(1),
        data.class_names,
        out_dir / f"{name}_confusion.png",
        title="Differential, grouped out-of-fold",
    )
    print(markdown(report))
    return 0
