"""Candidate-table rows for the feature options: Shades of Gray colour constancy and flip TTA.

Scores, with :func:`poxscan.pipelines.transfer.transfer_scores` (pooled grouped CV 5 folds x 2
repeats, the sensitivity-0.90 operating point, both leave-one-dataset-out directions, the
pre-declared rule value), the reference head (ANOVA-256 + L2 logistic regression, C = 0.01) on
Lite0 deep features plain, with ``color_constancy="shades_of_gray"`` and with ``tta=1``, on the
same folds as ``experiments/candidates.py``. The rows (with ``folds_sha256``) can be added to
the candidate table with ``python experiments/candidates.py --extra-rows
experiments/results/candidates/options.json``.

Writes ``experiments/results/candidates/options.json`` and ``.md``. Usage::

    python experiments/candidate_options.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "experiments"))

OPTIONS = {
    "deep Lite0, reference (plain)": {},
    "deep Lite0 + Shades of Gray (p=6), reference": {"color_constancy": "shades_of_gray"},
    "deep Lite0 + flip TTA, reference": {"tta": 1},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--out-dir", default=str(REPO / "experiments" / "results" / "candidates"))
    args = parser.parse_args(argv)

    from candidates import DATASETS, folds_sha256

    from poxscan.core.atomic import atomic_write_text
    from poxscan.pipelines import transfer
    from poxscan.pipelines.builder import REFERENCE_CONFIG
    from poxscan.pipelines.experiment_data import load_experiment
    from poxscan.pipelines.report import jsonable

    load_before = os.getloadavg()
    rows = []
    for name, extra in OPTIONS.items():
        t0 = time.time()
        fams = {"deep": {"backbone": "efficientnet-lite0", **extra}}
        data = load_experiment(DATASETS, fams, progress=False)
        config = {**REFERENCE_CONFIG, "families": fams}
        row = transfer.transfer_scores(config, data, name=name, n_boot=args.n_boot)
        row.update(config=config, seconds=time.time() - t0)
        row["folds_sha256"] = folds_sha256(data, 5, 2, 0)
        rows.append(row)
    report = {
        "command": "python experiments/candidate_options.py",
        "rule": transfer.RULE_TEXT,
        "rows": rows,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    out = Path(args.out_dir)
    atomic_write_text(out / "options.json", json.dumps(jsonable(rows), indent=2) + "\n")
    lines = [
        "# Feature options judged by the transfer rule (reference head on Lite0)",
        "",
        f"Reproduce with `{report['command']}`. Same folds as experiments/candidates.py "
        f"(folds sha256 {rows[0]['folds_sha256'][:12]}). Rule: {report['rule']}",
        "",
        "| candidate | pooled ROC-AUC (mean of folds) | LODO ROC-AUC | rule value |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lodo = ", ".join(
            f"-> {x['test']} {x['metrics']['roc_auc']['value']:.3f}" for x in r["lodo"]
        )
        lines.append(
            f"| {r['name']} | {r['pooled']['roc_auc']['mean']:.3f} | {lodo} "
            f"| {r['rule_value']:.3f} |"
        )
    lb, la = report["load_average_before"], report["load_average_after"]
    lines += ["", f"Load average {lb[0]:.2f} before, {la[0]:.2f} after.", ""]
    atomic_write_text(out / "options.md", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
