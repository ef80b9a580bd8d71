"""Variants of the frozen deep features under one fixed protocol, declared before any was run.

Question: do a larger EfficientNet-Lite, multi-level pooling or test-time augmentation (TTA)
of the embedding make the frozen features generalise better than today's default (Lite0,
global-average-pooled head)? Everything below was fixed before the first run and is the same
for every variant; every variant is reported, not only the best.

Protocol
--------
- **Variants** (:data:`VARIANTS`): :class:`~poxscan.features.deep.DeepFeatures` parameters.
- **Pipelines** (:data:`PIPELINES`): the evaluation's reference pipeline (standard scaler,
  ANOVA top-256, logistic regression C=0.01) plus logistic regression C=0.1 and an RBF SVM
  (C=1, gamma="scale", Platt-scaled), all on the deep family only.
- **Grouped CV** on msld_v1 (binary): :func:`~poxscan.pipelines.evaluation
  .cross_validate_config`, 3 repeats x 5 outer folds of
  :func:`~poxscan.pipelines.splits.grouped_folds` (seed 0, groups from
  :func:`~poxscan.core.data.load_groups`): the folds of the main evaluation. Every scaler, selector
  and model is fitted inside the training fold.
- **Paired comparison** with the default: per fold, variant minus default (same folds), mean
  with the Nadeau-Bengio corrected 95 % t interval.
- **Ranking** of the non-default variants by their ROC-AUC averaged over the three pipelines
  (grouped CV only). The **cross-dataset** check (fit on all of msld_v1, test on ahsan2022
  minus images whose group also occurs in msld_v1; :func:`~poxscan.pipelines.evaluation
  .cross_dataset`) runs for the top two and the default, with all three pipelines; the
  difference to the default is a paired group bootstrap on the same test images.
- **Decision rule** (:data:`DECISION_RULE`): a variant replaces the default only if it is
  better in grouped CV (corrected paired interval of the reference pipeline's AUC gain above
  0, and a higher mean AUC with each of the three pipelines) *and* across datasets (higher AUC
  with each of the three pipelines). The script reports the verdict; it changes no setting.
- **Extraction time**: ms per image of ``transform`` on the same decoded msld_v1 images, batch
  32, after a warm-up, in interleaved rounds (minimum and median over rounds). The machine is
  shared, so the load average is recorded next to the figures.

Writes ``experiments/results/deep_variants.json`` and ``.md``.

Usage: ``python experiments/deep_variants.py [--data-root DIR] [--groups FILE] [--cache DIR]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
SEED = 0
N_SPLITS, REPEATS = 5, 3
TRAIN, EXTERNAL = "msld_v1", "ahsan2022"

#: (name, DeepFeatures parameters, why it is worth trying); the first is today's default.
VARIANTS: list[tuple[str, dict[str, Any], str]] = [
    ("lite0 (default)", {"backbone": "efficientnet-lite0"}, "today's default"),
    ("lite1", {"backbone": "efficientnet-lite1"}, "deeper backbone, 240 px"),
    ("lite2", {"backbone": "efficientnet-lite2"}, "wider and deeper backbone, 260 px"),
    ("lite0 tta1", {"backbone": "efficientnet-lite0", "tta": 1}, "mean with horizontal mirror"),
    (
        "lite0 tta2",
        {"backbone": "efficientnet-lite0", "tta": 2},
        "mean with horizontal and vertical mirrors (lesions have no up or down)",
    ),
    (
        "lite0 multi",
        {"backbone": "efficientnet-lite0", "layers": "multi"},
        "stages 4-7 + head, average-pooled: mid-level texture features",
    ),
    (
        "lite0 multi avgmax",
        {"backbone": "efficientnet-lite0", "layers": "multi", "pooling": "avgmax"},
        "as multi, plus max pooling (small lesions in large images)",
    ),
    (
        "lite0 multi tta1",
        {"backbone": "efficientnet-lite0", "layers": "multi", "tta": 1},
        "multi-level and horizontal-mirror TTA together",
    ),
    (
        "lite2 multi tta1",
        {"backbone": "efficientnet-lite2", "layers": "multi", "tta": 1},
        "all three changes together",
    ),
]

_BASE = {"task": "binary", "scaler": "standard", "selector": "anova", "k": 256, "seed": SEED}
#: (name, pipeline config over the deep features); the first is the evaluation's reference.
PIPELINES: list[tuple[str, dict[str, Any]]] = [
    ("logreg C=0.01 (reference)", {**_BASE, "classifier": "logreg", "params": {"C": 0.01}}),
    ("logreg C=0.1", {**_BASE, "classifier": "logreg", "params": {"C": 0.1}}),
    (
        "svm rbf C=1",
        {**_BASE, "classifier": "svm", "params": {"kernel": "rbf", "C": 1.0, "gamma": "scale"}},
    ),
]

DECISION_RULE = (
    "A variant replaces the default only if (1) grouped CV: the Nadeau-Bengio corrected 95 % "
    "interval of its paired per-fold ROC-AUC gain over the default with the reference pipeline "
    "lies above 0, and its mean ROC-AUC is higher with each of the three pipelines; and (2) "
    "cross-dataset (msld_v1 -> ahsan2022): its ROC-AUC is higher with each of the three "
    "pipelines. Only the two variants ranked best by grouped CV (mean AUC over the three "
    "pipelines) get the cross-dataset check."
)

log = logging.getLogger("deep_variants")


def _load(dataset: str, params: dict[str, Any], args: argparse.Namespace):
    from poxscan.pipelines.experiment_data import load_experiment

    t0 = time.perf_counter()
    data = load_experiment(
        dataset,
        {"deep": params},
        task="binary",
        data_root=args.data_root,
        cache=args.cache,
        progress=not args.no_progress,
    )
    return data, time.perf_counter() - t0


def _fold_values(result, metric: str) -> np.ndarray:
    return np.asarray([f.metrics[metric] for f in result.folds], dtype=np.float64)


def _paired(result, base, metric: str) -> dict[str, float]:
    from poxscan.pipelines.intervals import t_interval

    # Same data, groups and seeds: fold i of both results holds the same test images.
    assert [(f.repeat, f.fold, f.n_test) for f in result.folds] == [
        (f.repeat, f.fold, f.n_test) for f in base.folds
    ]
    diff = _fold_values(result, metric) - _fold_values(base, metric)
    ratio = np.mean([f.n_test for f in result.folds]) / np.mean([f.n_train for f in result.folds])
    mean, low, high = t_interval(diff, 0.95, test_train_ratio=ratio)
    return {"mean": mean, "t_low": low, "t_high": high, "folds_better": int((diff > 0).sum())}


def _auc_gain(y, p_variant, p_default, groups, n_boot: int) -> dict[str, float]:
    """Paired group bootstrap of ROC-AUC(variant) - ROC-AUC(default) on the same test images."""
    from sklearn.metrics import roc_auc_score

    from poxscan.pipelines.intervals import group_bootstrap_ci

    both = np.column_stack([p_variant[:, 1], p_default[:, 1]])

    def gain(yy: np.ndarray, pp: np.ndarray) -> float:
        if len(np.unique(yy)) < 2:
            return float("nan")
        return float(roc_auc_score(yy, pp[:, 0]) - roc_auc_score(yy, pp[:, 1]))

    est, low, high = group_bootstrap_ci(gain, y, both, groups, n_boot=n_boot, seed=SEED)
    return {"value": est, "boot_low": low, "boot_high": high}


def _timing(args: argparse.Namespace) -> dict[str, Any]:
    """ms/image of each variant's transform, interleaved rounds on the same decoded images."""
    from poxscan.core.data import load_records
    from poxscan.core.imageio import load_image
    from poxscan.core.latency import latency_stats
    from poxscan.features.deep import DeepFeatures

    records = load_records(TRAIN, root=args.data_root)
    picks = np.sort(
        np.random.default_rng(SEED).choice(len(records), size=args.timing_images, replace=False)
    )
    images = [load_image(p) for p in records["path"].iloc[picks]]
    extractors = {}
    for name, params, _why in VARIANTS:
        fx = DeepFeatures(**params, batch_size=32).fit(images)
        fx.transform(images)  # warm-up: builds the model and traces the batch shapes
        extractors[name] = fx
    times: dict[str, list[float]] = {name: [] for name in extractors}
    load_before = os.getloadavg()
    for _ in range(args.timing_rounds):
        for name, fx in extractors.items():
            t0 = time.perf_counter()
            fx.transform(images)
            times[name].append((time.perf_counter() - t0) / len(images) * 1000)
    load_after = os.getloadavg()
    return {
        "n_images": len(images),
        "image_size": sorted({tuple(int(s) for s in im.shape[:2]) for im in images}),
        "rounds": args.timing_rounds,
        "batch_size": 32,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "cpu_count": os.cpu_count(),
        "ms_per_image": {name: {**latency_stats(t), "all_ms": t} for name, t in times.items()},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from poxscan.core.data import GROUPS_ENV, groups_file
    from poxscan.core.hashing import file_sha256
    from poxscan.pipelines import evaluation as ev

    groups_path = groups_file(args.groups)
    if not groups_path.is_file():
        raise SystemExit(
            f"{groups_path}: no audit groups file; run `poxscan data audit` or pass --groups "
            "(splitting by patient id alone may leak near-duplicates across folds)"
        )
    os.environ[GROUPS_ENV] = str(groups_path)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "name": "deep_variants",
        "protocol": __doc__.split("Protocol\n--------\n", 1)[1].split("\nWrites", 1)[0].strip(),
        "decision_rule": DECISION_RULE,
        "groups_file": str(groups_path),
        "groups_sha256": file_sha256(groups_path),
        "n_splits": N_SPLITS,
        "repeats": REPEATS,
        "seed": SEED,
        "pipelines": {name: cfg for name, cfg in PIPELINES},
        "variants": [],
    }

    # -- grouped CV of every variant x pipeline ------------------------------------------------
    cv: dict[str, dict[str, Any]] = {}
    train_data: dict[str, Any] = {}
    for vname, params, why in VARIANTS:
        log.info("variant %s: features", vname)
        data, load_s = _load(TRAIN, params, args)
        train_data[vname] = data
        entry: dict[str, Any] = {
            "name": vname,
            "params": params,
            "why": why,
            "n_features": int(data.X.shape[1]),
            "n_images": len(data.y),
            "n_groups": len(np.unique(data.groups)),
            "feature_table_seconds": load_s,
            "cv": {},
        }
        cv[vname] = {}
        for pname, cfg in PIPELINES:
            log.info("variant %s: CV %s", vname, pname)
            config = {**cfg, "families": {"deep": params}}
            result = ev.cross_validate_config(
                data, config, n_splits=N_SPLITS, repeats=REPEATS, seed=SEED, name=vname
            )
            cv[vname][pname] = result
            summary = ev.summarize(result, n_boot=args.n_boot, seed=SEED)
            entry["cv"][pname] = {
                "metrics": summary["metrics"],
                "fold_roc_auc": _fold_values(result, "roc_auc").tolist(),
                "fold_accuracy": _fold_values(result, "accuracy").tolist(),
                "seconds": result.seconds,
            }
        report["variants"].append(entry)

    # -- paired differences to the default -----------------------------------------------------
    default = VARIANTS[0][0]
    for entry in report["variants"]:
        entry["vs_default"] = {
            pname: {
                metric: _paired(cv[entry["name"]][pname], cv[default][pname], metric)
                for metric in ("roc_auc", "accuracy")
            }
            for pname, _cfg in PIPELINES
        }
        entry["mean_auc_over_pipelines"] = float(
            np.mean([entry["cv"][p]["metrics"]["roc_auc"]["mean"] for p, _ in PIPELINES])
        )
    ranked = sorted(
        (e for e in report["variants"] if e["name"] != default),
        key=lambda e: -e["mean_auc_over_pipelines"],
    )
    chosen = [default] + [e["name"] for e in ranked[:2]]
    report["ranking_by_cv"] = [e["name"] for e in ranked]
    report["cross_dataset_variants"] = chosen

    # -- cross-dataset: default and the two best by CV -----------------------------------------
    by_name = {e["name"]: e for e in report["variants"]}
    params_of = {name: params for name, params, _ in VARIANTS}
    probas: dict[str, dict[str, Any]] = {}
    for vname in chosen:
        log.info("variant %s: cross-dataset", vname)
        test, _ = _load(EXTERNAL, params_of[vname], args)
        by_name[vname]["cross_dataset"] = {}
        probas[vname] = {}
        for pname, cfg in PIPELINES:
            config = {**cfg, "families": {"deep": params_of[vname]}}
            r = ev.cross_dataset(train_data[vname], test, config, n_boot=args.n_boot, seed=SEED)
            probas[vname][pname] = (r.pop("y"), r.pop("proba"), r.pop("label"), test)
            by_name[vname]["cross_dataset"][pname] = r
    for vname in chosen[1:]:
        for pname, _cfg in PIPELINES:
            y, p, _label, test = probas[vname][pname]
            y0, p0, _l0, _t0 = probas[default][pname]
            assert np.array_equal(y, y0)
            shared = set(train_data[vname].groups) & set(test.groups)
            kept_groups = test.groups[~np.isin(test.groups, list(shared))]
            by_name[vname]["cross_dataset"][pname]["auc_gain_vs_default"] = _auc_gain(
                y, p, p0, kept_groups, args.n_boot
            )

    # -- verdict --------------------------------------------------------------------------------
    verdicts = {}
    for entry in report["variants"]:
        if entry["name"] == default:
            continue
        ref = PIPELINES[0][0]
        cv_gain = entry["vs_default"][ref]["roc_auc"]["t_low"] > 0
        cv_all = all(entry["vs_default"][p]["roc_auc"]["mean"] > 0 for p, _ in PIPELINES)
        cross = entry.get("cross_dataset")
        cross_all = None
        if cross is not None:
            cross_all = all(
                cross[p]["metrics"]["roc_auc"]["value"]
                > by_name[default]["cross_dataset"][p]["metrics"]["roc_auc"]["value"]
                for p, _ in PIPELINES
            )
        verdicts[entry["name"]] = {
            "cv_reference_gain_interval_above_0": bool(cv_gain),
            "cv_higher_with_every_pipeline": bool(cv_all),
            "cross_dataset_higher_with_every_pipeline": cross_all,
            "replaces_default": bool(cv_gain and cv_all and cross_all),
        }
    report["verdicts"] = verdicts
    winners = [n for n, v in verdicts.items() if v["replaces_default"]]
    report["recommended_default"] = (
        max(winners, key=lambda n: by_name[n]["mean_auc_over_pipelines"]) if winners else default
    )

    # -- extraction time ------------------------------------------------------------------------
    if args.timing_rounds > 0:
        log.info("timing extraction")
        report["timing"] = _timing(args)
        for entry in report["variants"]:
            entry["ms_per_image"] = report["timing"]["ms_per_image"][entry["name"]]
    report["seconds"] = time.perf_counter() - started
    return report


# -- Markdown ------------------------------------------------------------------------------------


def _pct(m: dict[str, float], lo: str = "t_low", hi: str = "t_high", key: str = "mean") -> str:
    return f"{100 * m[key]:.1f} [{100 * m[lo]:.1f}, {100 * m[hi]:.1f}]"


def _auc(m: dict[str, float], lo: str = "t_low", hi: str = "t_high", key: str = "mean") -> str:
    return f"{m[key]:.3f} [{m[lo]:.3f}, {m[hi]:.3f}]"


def _gain(d: dict[str, float], lo: str = "t_low", hi: str = "t_high", key: str = "mean") -> str:
    return f"{d[key]:+.3f} [{d[lo]:+.3f}, {d[hi]:+.3f}]"


def to_markdown(report: dict[str, Any]) -> str:
    ref = next(iter(report["pipelines"]))
    pipes = list(report["pipelines"])
    default = report["variants"][0]["name"]
    lines = [
        "# Frozen deep-feature variants: grouped CV and cross-dataset",
        "",
        "Reproduce with `python experiments/deep_variants.py` "
        f"(groups: `{report['groups_file']}`, sha256 {report['groups_sha256'][:12]}...).",
        "",
        "## Protocol (declared before the first run)",
        "",
        report["protocol"],
        "",
        f"**Decision rule.** {report['decision_rule']}",
        "",
        "## Results",
        "",
        f"Grouped CV on {TRAIN} ({report['variants'][0]['n_images']} images, "
        f"{report['variants'][0]['n_groups']} groups; {report['repeats']} repeats x "
        f"{report['n_splits']} folds). Accuracy and ROC-AUC of the reference pipeline ({ref}): "
        "mean over folds [95 % corrected t CI]; gain = paired per-fold difference to the default "
        "[corrected t CI]; mean AUC = ROC-AUC averaged over the three pipelines; cross-dataset = "
        f"{TRAIN} -> {EXTERNAL}, reference pipeline, ROC-AUC [95 % group bootstrap]; ms/image = "
        "minimum over rounds (median in brackets).",
        "",
        "| variant | features | accuracy % | ROC-AUC | AUC gain vs default | mean AUC (3 pipelines)"
        " | cross-dataset AUC | ms/image |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in report["variants"]:
        m = e["cv"][ref]["metrics"]
        gain = "-" if e["name"] == default else _gain(e["vs_default"][ref]["roc_auc"])
        cross = e.get("cross_dataset")
        cross_s = (
            _auc(cross[ref]["metrics"]["roc_auc"], "boot_low", "boot_high", "value")
            if cross
            else "not run"
        )
        ms = e.get("ms_per_image")
        ms_s = f"{ms['min_ms']:.0f} ({ms['median_ms']:.0f})" if ms else "-"
        lines.append(
            f"| {e['name']} | {e['n_features']} | {_pct(m['accuracy'])} | {_auc(m['roc_auc'])} "
            f"| {gain} | {e['mean_auc_over_pipelines']:.3f} | {cross_s} | {ms_s} |"
        )
    lines += [
        "",
        "### ROC-AUC and accuracy with each pipeline (grouped CV)",
        "",
        "Cells: ROC-AUC [corrected t CI] / accuracy %; below, the paired AUC gain over the "
        "default [corrected t CI] and the number of the 15 folds where the variant is better.",
        "",
        "| variant | " + " | ".join(pipes) + " |",
        "|---|" + "---|" * len(pipes),
    ]
    for e in report["variants"]:
        cells = []
        for p in pipes:
            m = e["cv"][p]["metrics"]
            cell = f"{_auc(m['roc_auc'])} / {100 * m['accuracy']['mean']:.1f}"
            if e["name"] != default:
                g = e["vs_default"][p]["roc_auc"]
                cell += f"<br>gain {_gain(g)}, {g['folds_better']}/15 folds"
            cells.append(cell)
        lines.append(f"| {e['name']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Cross-dataset (fit on all of msld_v1, test on ahsan2022)",
        "",
    ]
    first = next(e for e in report["variants"] if "cross_dataset" in e)
    c0 = first["cross_dataset"][ref]
    lines += [
        f"Test images: {c0['n_test']} of {c0['n_test_total']} ({c0['n_removed_shared_groups']} "
        f"removed: their group also occurs in msld_v1); mpox share "
        f"{100 * c0['test_positive_rate']:.0f} %. Cells: ROC-AUC [95 % group bootstrap] / "
        "accuracy %; AUC without the healthy-skin "
        "('normal') images; AUC gain over the default on the same images [paired group "
        "bootstrap].",
        "",
        "| variant | pipeline | ROC-AUC / accuracy | AUC without normal | AUC gain vs default |",
        "|---|---|---|---|---|",
    ]
    for e in report["variants"]:
        if "cross_dataset" not in e:
            continue
        for p in pipes:
            c = e["cross_dataset"][p]
            m = c["metrics"]
            wn = c.get("metrics_without_normal", {}).get("roc_auc")
            wn_s = _auc(wn, "boot_low", "boot_high", "value") if wn else "-"
            g = c.get("auc_gain_vs_default")
            g_s = _gain(g, "boot_low", "boot_high", "value") if g else "-"
            lines.append(
                f"| {e['name']} | {p} | {_auc(m['roc_auc'], 'boot_low', 'boot_high', 'value')} / "
                f"{100 * m['accuracy']['value']:.1f} | {wn_s} | {g_s} |"
            )
    lines += ["", "## Verdict", ""]
    for name, v in report["verdicts"].items():
        cross = v["cross_dataset_higher_with_every_pipeline"]
        cross_s = "not run" if cross is None else ("yes" if cross else "no")
        lines.append(
            f"- **{name}**: CV reference gain interval above 0: "
            f"{'yes' if v['cv_reference_gain_interval_above_0'] else 'no'}; CV higher with every "
            f"pipeline: {'yes' if v['cv_higher_with_every_pipeline'] else 'no'}; cross-dataset "
            f"higher with every pipeline: {cross_s}"
            f" -> {'REPLACES the default' if v['replaces_default'] else 'keep the default'}."
        )
    lines += [
        "",
        f"Recommended default: **{report['recommended_default']}**.",
        "",
        "## Variants",
        "",
    ]
    for e in report["variants"]:
        lines.append(f"- **{e['name']}**: `{json.dumps(e['params'])}`: {e['why']}.")
    t = report.get("timing")
    if t:
        lines += [
            "",
            "## Extraction time",
            "",
            f"`DeepFeatures.transform` on {t['n_images']} decoded {TRAIN} images "
            f"({', '.join(f'{h}x{w}' for h, w in t['image_size'])} px), batch {t['batch_size']}, "
            f"after a warm-up; {t['rounds']} interleaved rounds; {t['cpu_count']} CPUs shared "
            f"with other jobs (load average {t['loadavg_before'][0]:.1f} before, "
            f"{t['loadavg_after'][0]:.1f} after), so compare variants, not absolute values.",
        ]
    lines += [
        "",
        "## Pipelines",
        "",
        *[
            f"- **{p}**: `{json.dumps(cfg, sort_keys=True)}`"
            for p, cfg in report["pipelines"].items()
        ],
        "",
        f"Wall time: {report['seconds'] / 60:.1f} min.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every variant, write the JSON and Markdown reports."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-root",
        default=os.environ.get("POXSCAN_DATA") or str(REPO.parent / "shared" / "datasets"),
    )
    parser.add_argument("--groups", help="audit groups.csv (default: $POXSCAN_GROUPS or repo's)")
    parser.add_argument("--cache", help="feature cache folder (default: the cache's default)")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--timing-images", type=int, default=64)
    parser.add_argument("--timing-rounds", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "deep_variants"))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    warnings.filterwarnings("ignore", category=FutureWarning)

    from poxscan.core.atomic import atomic_write_text

    report = run(args)
    out = Path(args.out)
    atomic_write_text(out.with_suffix(".json"), json.dumps(report, indent=2, default=float) + "\n")
    atomic_write_text(out.with_suffix(".md"), to_markdown(report))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
