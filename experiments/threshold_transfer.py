"""Does the screening threshold transfer to photos from another collection?

A threshold chosen on a model's own out-of-fold scores reached its target sensitivity there and
missed it on external photos (issue 9: sensitivity 0.61 where 0.90 was asked). This script
measures that failure on the data we have, in both leave-one-dataset-out directions: the
threshold and its calibrator are set on the *training* set alone (grouped 5-fold out-of-fold
scores of the candidate, sigmoid calibration, then the rule), the candidate refitted on the
whole training set scores the held-out set (images whose audit group is on the training side
removed, :func:`poxscan.pipelines.transfer.lodo_split`), and the held-out sensitivity and
specificity at that threshold are reported with 95 % group-bootstrap intervals.

Threshold rules compared (declared here before the run):

- ``sensitivity:0.90`` -- what ``poxscan train`` ships today;
- ``sensitivity:0.95`` -- a fixed margin above the target;
- ``sensitivity:0.90, lower CI`` -- the lower end of the threshold's 95 % group-bootstrap
  interval (:func:`poxscan.pipelines.screening.threshold_interval`): the threshold that still
  reaches the target on the unluckiest resamples of the training photos;
- ``youden`` -- for reference.

Pre-declared choice: the rule whose worse held-out sensitivity (of the two directions) is at
least 0.85 with the highest mean held-out specificity; if none reaches 0.85, the rule with the
highest worse held-out sensitivity. Held-out sensitivity is what a screen promises; 0.85
allows 0.05 below the 0.90 target for the noise of 9 and 59 held-out mpox photos.

Writes ``experiments/results/candidates/threshold_transfer.json`` and ``.md``. Usage::

    python experiments/threshold_transfer.py
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results" / "candidates"
DATASETS = ["msld_v1", "ahsan2022"]
RULES = ("sensitivity:0.90", "sensitivity:0.95", "sensitivity:0.90, lower CI", "youden")
MIN_WORST_SENSITIVITY = 0.85


def _threshold(rule: str, y: np.ndarray, proba: np.ndarray, groups: np.ndarray) -> float:
    from poxscan.pipelines.calibration import choose_threshold
    from poxscan.pipelines.screening import threshold_interval

    if rule.endswith(", lower CI"):
        _, low, _ = threshold_interval(y, proba, groups, rule.split(",")[0], n_boot=500)
        return low
    return choose_threshold(y, proba, rule)


def _sens_spec(y: np.ndarray, d: np.ndarray) -> dict[str, float]:
    pos, neg = y == 1, y == 0
    return {
        "sensitivity": float(d[pos].mean()) if pos.any() else math.nan,
        "specificity": float(1 - d[neg].mean()) if neg.any() else math.nan,
    }


def direction(config: dict, data: Any, held_out: str, n_boot: int) -> dict[str, Any]:
    """Train-side threshold of every rule, applied to the held-out set of one direction."""
    from poxscan.pipelines.calibration import ScoreCalibrator
    from poxscan.pipelines.intervals import group_bootstrap
    from poxscan.pipelines.splits import grouped_folds
    from poxscan.pipelines.transfer import fit_scores, lodo_split

    train_idx, test_idx, n_removed, _ = lodo_split(data, held_out)
    mask = np.zeros(len(data.y), dtype=bool)
    mask[train_idx] = True
    train = data.subset(mask)
    oof = np.full(len(train.y), np.nan)
    for tr, te in grouped_folds(train.y, train.groups, 5, seed=0):
        mtr = np.zeros(len(train.y), dtype=bool)
        mtr[tr] = True
        oof[te] = fit_scores(config, train.subset(mtr), train.X.iloc[te])
    cal = ScoreCalibrator("sigmoid").fit(oof, train.y)
    train_proba = cal.predict(oof)
    test_proba = cal.predict(fit_scores(config, train, data.X.iloc[test_idx]))
    y_test, g_test = data.y[test_idx], data.groups[test_idx]
    rows = {}
    for rule in RULES:
        thr = _threshold(rule, train.y, train_proba, train.groups)
        d_train = (train_proba >= thr).astype(float)
        d_test = (test_proba >= thr).astype(float)
        boot = group_bootstrap(_sens_spec, y_test, d_test, g_test, n_boot, seed=0)
        rows[rule] = {
            "threshold": thr,
            "train_oof": _sens_spec(train.y, d_train),
            "held_out": {m: dict(zip(("value", "low", "high"), v)) for m, v in boot.items()},
        }
    return {
        "direction": f"{'+'.join(sorted(set(train.records['dataset'])))} -> {held_out}",
        "n_train": int(len(train.y)),
        "n_test": int(len(test_idx)),
        "n_test_positive": int(y_test.sum()),
        "n_removed_shared_groups": int(n_removed),
        "rules": rows,
    }


def choose(directions: list[dict]) -> tuple[str, dict[str, dict[str, float]]]:
    """The pre-declared choice (module docstring) and each rule's summary."""
    summary = {}
    for rule in RULES:
        sens = [d["rules"][rule]["held_out"]["sensitivity"]["value"] for d in directions]
        spec = [d["rules"][rule]["held_out"]["specificity"]["value"] for d in directions]
        summary[rule] = {"worst_sensitivity": min(sens), "mean_specificity": float(np.mean(spec))}
    ok = [r for r in RULES if summary[r]["worst_sensitivity"] >= MIN_WORST_SENSITIVITY]
    if ok:
        return max(ok, key=lambda r: summary[r]["mean_specificity"]), summary
    return max(RULES, key=lambda r: summary[r]["worst_sensitivity"]), summary


def _pct(c: dict[str, float]) -> str:
    return f"{100 * c['value']:.1f} [{100 * c['low']:.1f}, {100 * c['high']:.1f}]"


def markdown(report: dict) -> str:
    out = [
        "# Does the screening threshold transfer to another collection?",
        "",
        f"Regenerate: `{report['command']}`. Candidate: {report['candidate_name']} "
        f"(`{json.dumps(report['config'])}`). Load average before {report['load'][0]}.",
        "",
        "Threshold and sigmoid calibrator set on the training set's own grouped 5-fold "
        "out-of-fold scores; the model refitted on the whole training set; decisions on the "
        "held-out set (audit groups shared with the training set removed). Intervals: 95 % "
        "group bootstrap over the held-out images.",
        "",
        "| direction | held-out images (mpox) | rule | threshold | train OOF sensitivity | "
        "held-out sensitivity | held-out specificity |",
        "|---|---|---|---:|---:|---|---|",
    ]
    for d in report["directions"]:
        for rule, r in d["rules"].items():
            out.append(
                f"| {d['direction']} | {d['n_test']} ({d['n_test_positive']}) | {rule} | "
                f"{r['threshold']:.3g} | {100 * r['train_oof']['sensitivity']:.1f} | "
                f"{_pct(r['held_out']['sensitivity'])} | {_pct(r['held_out']['specificity'])} |"
            )
    out += [
        "",
        "| rule | worse held-out sensitivity | mean held-out specificity |",
        "|---|---:|---:|",
    ]
    for rule, s in report["summary"].items():
        out.append(
            f"| {rule} | {100 * s['worst_sensitivity']:.1f} | {100 * s['mean_specificity']:.1f} |"
        )
    out += [
        "",
        f"Pre-declared choice (worse held-out sensitivity >= {MIN_WORST_SENSITIVITY:.2f}, then "
        f"best mean specificity): **{report['chosen']}**.",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args(argv)

    from poxscan.core.atomic import atomic_write_text
    from poxscan.pipelines.builder import SCREENING_CONFIG, config_families
    from poxscan.pipelines.experiment_data import load_experiment
    from poxscan.pipelines.report import jsonable

    config = dict(SCREENING_CONFIG)
    data = load_experiment(
        DATASETS, config_families(config), data_root=args.data_root, progress=False
    )
    load = [round(x, 2) for x in os.getloadavg()]
    directions = [direction(config, data, held_out, args.n_boot) for held_out in DATASETS]
    chosen, summary = choose(directions)
    report = {
        "command": "python experiments/threshold_transfer.py " + " ".join(sys.argv[1:]),
        "candidate_name": "shipped (SCREENING_CONFIG)",
        "config": config,
        "rules": list(RULES),
        "directions": directions,
        "summary": summary,
        "chosen": chosen,
        "load": load,
        "machine": platform.platform(),
    }
    out_dir = Path(args.out_dir)
    clean = jsonable(report)
    atomic_write_text(out_dir / "threshold_transfer.json", json.dumps(clean, indent=2) + "\n")
    atomic_write_text(out_dir / "threshold_transfer.md", markdown(clean))
    print(markdown(clean))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
