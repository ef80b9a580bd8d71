"""Cross-validate fine-tuned CNNs on the classical pipelines' grouped folds; save a final model.

For each backbone: :func:`poxscan.pipelines.finetune.cross_validate_cnn` on the outer folds
``grouped_folds(y, groups, 5, seed=0)`` of the records as ``poxscan evaluate`` loads them (same
records, same order, same groups, hence the same folds as the first repeat of the classical
evaluation), metrics and 95 % intervals by :func:`poxscan.pipelines.evaluation.summarize`, and
training time per fold. Each fold's model is kept under ``--work-dir`` (not in git) for the
TFLite benchmark; a run that stops resumes from the folds already done. Each finished fold's
test probabilities are also written into the results file, so a run on a fresh clone resumes
from the folds a committed partial record holds (a Lite2 fold took 6 to 45 minutes here).

With ``--final``, the same procedure is then run once on every image (its early stopping on a
grouped 20 % of them) and saved as a :class:`~poxscan.pipelines.cnn_model.FineTunedCNN`
directory under ``--models-dir`` (Keras file + sha256 manifest, the CV summary inside).

Writes ``experiments/results/finetune/<dataset>-<backbone>.json`` and ``.md``.

Usage::

    python experiments/finetune_cv.py --backbone efficientnet-lite0 --final
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results" / "finetune"


def load_data(dataset: str | list[str], data_root: str | None):
    """Records, labels, groups as the classical evaluation sees them (one or several sets)."""
    from poxscan.core.data import load_groups, load_records
    from poxscan.pipelines.targets import make_target

    if data_root is None and not os.environ.get("POXSCAN_DATA"):
        shared = REPO.parent / "shared" / "datasets"
        data_root = str(shared) if shared.is_dir() else None
    records = load_records(dataset, root=data_root)
    y, _ = make_target(records, "binary")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        groups = load_groups(records).to_numpy(dtype=str)
    notes = [str(w.message) for w in caught]
    return records, y, groups, notes


def per_dataset_metrics(datasets, y, proba) -> dict:
    """Metrics of the pooled out-of-fold probabilities inside each source dataset."""
    import numpy as np

    from poxscan.pipelines.metrics import compute_metrics

    out = {}
    for d in dict.fromkeys(datasets):
        m = np.asarray(datasets) == d
        out[str(d)] = {"n": int(m.sum()), **compute_metrics(y[m], proba[m], positive=1)}
    return out


def lodo_direction(images, y, groups, records, ids, cfg, train_set, test_set, work) -> dict:
    """Fit on ``train_set`` without the groups it shares with ``test_set``; test on all of it.

    The fitted model and its test probabilities are kept under ``work`` (``model.keras``,
    ``result.json``) and reused when the config and test ids match (a stopped run resumes).
    """
    import numpy as np

    from poxscan.core.atomic import atomic_write_text
    from poxscan.pipelines.finetune import fit_finetuned
    from poxscan.pipelines.metrics import compute_metrics
    from poxscan.pipelines.report import jsonable

    sets = records["dataset"].to_numpy()
    te = np.flatnonzero(sets == test_set)
    shared = set(groups[te])
    tr = np.flatnonzero((sets == train_set) & ~np.isin(groups, list(shared)))
    test_ids = [ids[i] for i in te]
    work = Path(work)
    record = work / "result.json"
    cached = None
    if record.is_file():
        data = json.loads(record.read_text(encoding="utf-8"))
        if data.get("config") == jsonable(cfg.to_dict()) and data.get("test_ids") == test_ids:
            cached = data
    if cached is None:
        import keras

        keras.backend.clear_session()
        cnn = fit_finetuned(images[tr], y[tr], groups[tr], cfg)
        proba = cnn.predict_proba_prepared(images[te])[:, 1]
        work.mkdir(parents=True, exist_ok=True)
        cached = jsonable(
            {
                "config": cfg.to_dict(),
                "test_ids": test_ids,
                "proba": proba,
                "seconds": cnn.info["seconds"],
            }
        )
        atomic_write_text(record, json.dumps(cached))
    proba = np.asarray(cached["proba"], dtype=float)
    return {
        "train": train_set,
        "test": test_set,
        "n_train": len(tr),
        "n_removed_shared": int(((sets == train_set) & np.isin(groups, list(shared))).sum()),
        "n_test": len(te),
        "seconds": float(cached["seconds"]),
        "metrics": compute_metrics(y[te], proba, positive=1),
        "ids": test_ids,
        "proba": proba,
    }


def seed_fold_records(previous: Path, work: Path, config: dict) -> list[int]:
    """Write ``work/fold<k>.json`` from a previous results file's folds; return the folds seeded.

    Only folds recorded with their test probabilities under the same config are used, and a
    record already in ``work`` is left alone. ``cross_validate_cnn`` then reuses a seeded fold
    only if its test ids still match (same records, same groups, same folds).
    """
    from poxscan.core.atomic import atomic_write_text

    if not previous.is_file():
        return []
    try:
        data = json.loads(previous.read_text(encoding="utf-8"))
    except ValueError:
        return []
    if data.get("config") != config:
        return []
    seeded = []
    for fold in data.get("folds", []):
        target = work / f"fold{fold['fold']}.json"
        if "proba" not in fold or target.exists():
            continue
        work.mkdir(parents=True, exist_ok=True)
        record = {"inner": fold["inner"], "seconds": fold["seconds"], "proba": fold["proba"]}
        atomic_write_text(target, json.dumps(record))
        seeded.append(int(fold["fold"]))
    return seeded


def markdown(report: dict) -> str:
    """The Markdown version of the report."""
    from poxscan.pipelines.metrics import METRICS
    from poxscan.pipelines.report import format_ci, reproduce_lines

    s = report["summary"]
    cfg = report["config"]
    out = [
        f"# Fine-tuned {cfg['backbone']} on {report['dataset']} (binary, grouped CV)",
        "",
        *reproduce_lines([report["command"]]),
        f"{s['n_images']} images, {s['n_groups']} groups; {s['n_folds']} outer folds x "
        f"{s['n_repeats']} repeat (seed {report['seed']}), the classical pipelines' folds "
        f"(groups: {report['groups_source']['file'] or 'patient ids'}, sha256 "
        f"{str(report['groups_source']['sha256'])[:12]}); "
        f"about {s['n_train_mean']:.0f} train / {s['n_test_mean']:.0f} test images per fold. "
        f"Fine-tuning time {sum(f['seconds'] for f in report['folds']) / 60:.1f} min over "
        f"the folds on {report['machine']}.",
        "",
        "| metric | mean over folds [95 % t CI] | fold SD | pooled OOF [95 % group bootstrap] |",
        "|---|---|---|---|",
    ]
    for m in METRICS:
        v = s["metrics"][m]
        pct = m not in ("roc_auc", "brier")
        out.append(
            f"| {m} | {format_ci(v['mean'], v['t_low'], v['t_high'], pct)} "
            f"| {(100 if pct else 1) * v['sd']:.{1 if pct else 3}f} "
            f"| {format_ci(v['pooled'], v['boot_low'], v['boot_high'], pct)} |"
        )
    out += [
        "",
        "## Folds",
        "",
        "| fold | train / test | inner train / val | head epochs (best) | fine-tune epochs "
        "(best) | training s | accuracy | ROC-AUC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in report["folds"]:
        inner = f["inner"]
        head, ft = inner.get("head", {}), inner.get("finetune", {})
        out.append(
            f"| {f['fold']} | {f['n_train']} / {f['n_test']} "
            f"| {inner.get('n_train')} / {inner.get('n_val')} "
            f"| {head.get('epochs_run')} ({head.get('best_epoch', -1) + 1}) "
            f"| {ft.get('epochs_run', 0)} ({ft.get('best_epoch', -1) + 1}) "
            f"| {f['seconds']:.0f} | {100 * f['metrics']['accuracy']:.1f} "
            f"| {f['metrics']['roc_auc']:.3f} |"
        )
    out += [
        "",
        "Best epoch 0 in the fine-tune column: no fine-tuning epoch beat the head's best "
        "validation loss, so the head-only weights were kept.",
        "",
        "## Config",
        "",
        f"`{json.dumps(cfg, sort_keys=True)}`",
        "",
        f"Intervals: {s['interval_method']}.",
        "",
    ]
    if report.get("per_dataset"):
        out += [
            "## Per source dataset (pooled out-of-fold probabilities, threshold 0.5)",
            "",
            "| dataset | n | accuracy | ROC-AUC | sensitivity | specificity |",
            "|---|---|---|---|---|---|",
        ]
        for d, m in report["per_dataset"].items():
            out.append(
                f"| {d} | {m['n']} | {100 * m['accuracy']:.1f} | {m['roc_auc']:.3f} "
                f"| {100 * m['sensitivity']:.1f} | {100 * m['specificity']:.1f} |"
            )
        out.append("")
    if report.get("lodo"):
        out += [
            "## Leave one dataset out (fit on one set, test on the other)",
            "",
            "Training images whose audit group also occurs in the test set are removed.",
            "",
            "| train -> test | train (removed) / test | ROC-AUC | accuracy | sensitivity "
            "| specificity | training s |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in report["lodo"]:
            m = r["metrics"]
            out.append(
                f"| {r['train']} -> {r['test']} | {r['n_train']} ({r['n_removed_shared']}) / "
                f"{r['n_test']} | {m['roc_auc']:.3f} | {100 * m['accuracy']:.1f} "
                f"| {100 * m['sensitivity']:.1f} | {100 * m['specificity']:.1f} "
                f"| {r['seconds']:.0f} |"
            )
        out.append("")
    if report.get("final_model"):
        fm = report["final_model"]
        out += [
            "## Final model",
            "",
            f"Trained on all {fm['n_images']} images (early stopping on a grouped "
            f"{fm['n_val']}-image validation part) in {fm['seconds']:.0f} s; saved to "
            f"`{fm['path']}` (manifest sha256 `{fm['manifest_sha256']}`).",
            "",
        ]
    if report.get("notes"):
        out += ["## Notes", "", *[f"- {n}" for n in report["notes"]], ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset",
        action="append",
        default=None,
        help="repeat to pool several sets (the audit's cross-set groups split them); "
        "default msld_v1",
    )
    parser.add_argument(
        "--data-root", default=None, help="default: $POXSCAN_DATA, else ../shared/datasets"
    )
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument("--n-splits", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--head-epochs", type=int, default=None)
    parser.add_argument("--finetune-epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--work-dir", default=str(REPO / "models" / "finetune-cv"))
    parser.add_argument("--models-dir", default=str(REPO / "models"))
    parser.add_argument("--final", action="store_true", help="also train and save a final model")
    parser.add_argument(
        "--lodo",
        action="store_true",
        help="with several sets: also fit on each set and test on each other one (groups "
        "shared with the test set removed from training)",
    )
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args(argv)
    args.dataset = args.dataset or ["msld_v1"]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    from poxscan.core.atomic import atomic_write_text
    from poxscan.core.data import groups_source, load_manifest
    from poxscan.core.imageio import load_image
    from poxscan.pipelines.evaluation import summarize
    from poxscan.pipelines.finetune import (
        FineTuneConfig,
        configure_threads,
        cross_validate_cnn,
        fit_finetuned,
        prepare_images,
    )
    from poxscan.pipelines.report import jsonable

    configure_threads(args.threads, 1)
    overrides = {
        k: v
        for k, v in (("head_epochs", args.head_epochs), ("finetune_epochs", args.finetune_epochs))
        if v is not None
    }
    cfg = FineTuneConfig(backbone=args.backbone, seed=args.seed, **overrides)
    records, y, groups, notes = load_data(args.dataset, args.data_root)
    images = prepare_images([load_image(p) for p in records["path"]], cfg.size())
    ids = records["id"].astype(str).tolist()
    tag = "+".join(args.dataset)
    name = f"{tag}-{cfg.to_dict()['backbone']}"
    out_dir = Path(args.out_dir)
    report: dict = {
        "name": name,
        "dataset": tag,
        "datasets": args.dataset,
        "task": "binary",
        "seed": args.seed,
        "config": cfg.to_dict(),
        "command": "python experiments/finetune_cv.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()} CPU, {args.threads} TensorFlow threads, shared",
        "notes": notes,
        "groups_source": groups_source(groups),  # same helper as `poxscan compare`
    }

    def write(partial: dict) -> None:
        clean = jsonable(partial)
        atomic_write_text(out_dir / f"{name}.json", json.dumps(clean, indent=2) + "\n")
        if "summary" in clean:
            atomic_write_text(out_dir / f"{name}.md", markdown(clean))

    work = Path(args.work_dir) / name
    plain_config = json.loads(json.dumps(jsonable(cfg.to_dict())))
    seeded = seed_fold_records(out_dir / f"{name}.json", work, plain_config)
    if seeded:
        logging.info("folds %s seeded from %s", seeded, out_dir / f"{name}.json")

    def fold_dict(f) -> dict:
        # The fold's test probabilities (from its record) let a fresh clone resume.
        record = json.loads((work / f"fold{f.fold}.json").read_text(encoding="utf-8"))
        return {
            "fold": f.fold,
            "repeat": f.repeat,
            "n_train": f.n_train,
            "n_test": f.n_test,
            "metrics": f.metrics,
            "seconds": f.seconds,
            "inner": f.inner,
            "proba": record["proba"],
        }

    partial_folds: list = []

    def on_fold(fold) -> None:
        partial_folds.append(fold_dict(fold))
        write({**report, "folds": partial_folds, "status": "running"})

    result = cross_validate_cnn(
        images,
        y,
        groups,
        cfg,
        n_splits=args.n_splits,
        seed=args.seed,
        ids=ids,
        work_dir=work,
        name=name,
        on_fold=on_fold,
    )
    summary = summarize(result, n_boot=args.n_boot, seed=args.seed)
    report.update(
        status="done",
        summary=summary,
        folds=partial_folds,  # every fold, reused or new, went through on_fold
        training_seconds_per_fold=[f.seconds for f in result.folds],
        oof_proba=result.oof[0][:, 1],
        ids=ids,
        y=y,
        group_ids=groups,
        work_dir=str(Path(args.work_dir) / name),
    )
    report["per_dataset"] = per_dataset_metrics(
        records["dataset"].to_numpy(), y, result.oof[0][:, 1]
    )
    write(report)

    if args.lodo and len(args.dataset) > 1:
        report["lodo"] = []
        for train_set in args.dataset:
            for test_set in args.dataset:
                if train_set == test_set:
                    continue
                report["lodo"].append(
                    lodo_direction(
                        images,
                        y,
                        groups,
                        records,
                        ids,
                        cfg,
                        train_set,
                        test_set,
                        Path(args.work_dir) / name / f"lodo-{train_set}-to-{test_set}",
                    )
                )
                write(report)

    if args.final:
        from poxscan.pipelines.persistence import manifest_sha256

        t0 = time.perf_counter()
        cnn = fit_finetuned(images, y, groups, cfg)
        seconds = time.perf_counter() - t0
        manifest = load_manifest()
        target = Path(args.models_dir) / f"cnn-{cfg.to_dict()['backbone']}-{tag}"
        cnn.save(
            target,
            training_data={
                "datasets": {
                    d: {
                        "n_images": int((records["dataset"] == d).sum()),
                        "checksum": manifest[d].checksum,
                    }
                    for d in args.dataset
                },
                "n_images": len(y),
                "class_counts": {"not_mpox": int((y == 0).sum()), "mpox": int((y == 1).sum())},
                "ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
            },
            evaluation={
                "protocol": f"{args.n_splits}-fold grouped CV (seed {args.seed}) of the same "
                "training procedure",
                "metrics": summary["metrics"],
            },
            overwrite=True,
        )
        report["final_model"] = {
            "path": str(target.relative_to(REPO) if target.is_relative_to(REPO) else target),
            "n_images": len(y),
            "n_val": cnn.info["n_val"],
            "seconds": seconds,
            "manifest_sha256": manifest_sha256(target),
        }
        write(report)
    print(markdown(jsonable(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
