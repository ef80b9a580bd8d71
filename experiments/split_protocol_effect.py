"""How much the split protocol moves the figures: image, patient and audit-group splits.

The fixed reference pipeline (``poxscan.pipelines.builder.REFERENCE_CONFIG``) on one feature set,
3 x 5-fold stratified CV on msld_v1, with three definitions of the group a fold must not split:

- ``image``: every image its own group (what most published image-level splits do);
- ``patient``: MSLD's patient ids from the file names;
- ``audit``: patient ids merged with the leakage audit's near-duplicate links
  (:func:`poxscan.core.data.load_groups`), the protocol of every poxscan evaluation.

Writes ``experiments/results/evaluation/split_protocol.json`` and ``.md``. Run from the
repository root::

    python experiments/split_protocol_effect.py [--families deep] [--data-root ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from poxscan.core.atomic import atomic_write_text
from poxscan.core.data import load_groups
from poxscan.pipelines.builder import REFERENCE_CONFIG
from poxscan.pipelines.evaluation import cross_validate_config, summarize
from poxscan.pipelines.experiment_data import load_experiment

OUT = Path("experiments") / "results" / "evaluation" / "split_protocol"
SHOWN = ("accuracy", "balanced_accuracy", "sensitivity", "specificity", "roc_auc", "brier")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", default="deep", help="comma-separated (default deep)")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--cache", default=None)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    data = load_experiment(
        "msld_v1", families, data_root=args.data_root, cache=args.cache, progress=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the audit file may be missing; that is reported
        audit = load_groups(data.records).to_numpy(dtype=str)
    schemes = {
        "image": data.records["id"].to_numpy(dtype=str),
        "patient": data.records["patient"].to_numpy(dtype=str),
        "audit": audit,
    }
    config = {**REFERENCE_CONFIG, "families": families}
    results = {}
    for name, groups in schemes.items():
        t0 = time.perf_counter()
        d = data.subset(np.arange(len(data.y)))
        d.groups = groups
        res = cross_validate_config(d, config, n_splits=5, repeats=3, seed=0, name=name)
        results[name] = summarize(res, n_boot=1000)
        results[name]["n_groups"] = len(np.unique(groups))
        results[name]["seconds"] = time.perf_counter() - t0
    payload = {
        "config": config,
        "results": results,
        "command": "python experiments/split_protocol_effect.py " + " ".join(sys.argv[1:]),
    }
    out = Path(args.out)
    clean = json.loads(json.dumps(payload, default=float))
    atomic_write_text(out.with_suffix(".json"), json.dumps(clean, indent=2) + "\n")
    lines = [
        "# Split protocol: image vs patient vs audit-group folds (msld_v1, binary)",
        "",
        f"Fixed reference pipeline on `{'+'.join(families)}` features: "
        f"`{json.dumps(config, sort_keys=True)}`; 3 x 5-fold stratified (grouped) CV. "
        "Cells: mean over the 15 folds [95 % Nadeau-Bengio corrected t interval].",
        "",
        "| groups | n groups | " + " | ".join(SHOWN) + " |",
        "|---|---|" + "---|" * len(SHOWN),
    ]
    for name, s in results.items():
        cells = []
        for m in SHOWN:
            v = s["metrics"][m]
            scale, fmt = (1, ".3f") if m in ("roc_auc", "brier") else (100, ".1f")
            mean, low, high = (scale * v[k] for k in ("mean", "t_low", "t_high"))
            cells.append(f"{mean:{fmt}} [{low:{fmt}}, {high:{fmt}}]")
        lines.append(f"| {name} | {s['n_groups']} | " + " | ".join(cells) + " |")
    lines += ["", f"Command: `{payload['command'].strip()}`", ""]
    atomic_write_text(out.with_suffix(".md"), "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
