"""The classical pipeline and the fine-tuned CNN together: an averaged ensemble on OOF scores.

Inputs: the pooled fine-tuning result ``experiments/results/finetune/<sets>-<backbone>.json``
(out-of-fold probabilities per image id on ``grouped_folds(y, groups, 5, seed=0)`` and, with
``--lodo``, both leave-one-dataset-out directions), written by ``experiments/finetune_cv.py``,
and the warm feature cache for the classical pipeline.

Two classical pipelines are paired with the CNN: the reference head on Lite0 deep features
(ANOVA-256 + L2 logistic regression C = 0.01; ``--classical-backbone`` changes the backbone)
and the screening model shipped until the canonical pose (``SCREENING_CONFIG`` without
``orient``: Lite2 + shrinkage LDA). Each is fitted
here on each outer training fold and scores the fold's test images, so the models have
out-of-fold scores on the same folds (the fold test ids are checked against the CNN's). Each
ensemble is the plain mean of the CNN's and one classical pipeline's probabilities: **no weight
is fitted**, so nothing can leak from the test folds. (A stacked ensemble would need the CNN's
scores on inner folds of every training part, i.e. 25 CNN fits;
not affordable on the shared 2-core machine.)

Rows for the candidate table (:func:`poxscan.pipelines.transfer.transfer_row_from_scores`:
pooled CV, per dataset, the sensitivity-0.90 operating point, both LODO directions and the
rule value) are written for the CNN, the classical pipeline and the ensemble, on one repeat of
the pooled folds. The LODO test rows are those of :func:`~poxscan.pipelines.transfer.lodo_split`
(held-out images whose audit group is not on the training side); the CNN's LODO model was
fitted without the training images whose groups occur in the held-out set, the classical one
on every training image, as the candidate table does.

Writes ``experiments/results/finetune/ensemble-<backbone>.json`` and ``.md``. Usage::

    python experiments/ensemble_cnn.py --backbone efficientnet-lite0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results" / "finetune"
DATASETS = ["msld_v1", "ahsan2022"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument(
        "--classical-backbone",
        default="efficientnet-lite0",
        help="deep features of the classical pipeline (a+b for several)",
    )
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--source", default=None, help="the CNN result (default: from --backbone)")
    parser.add_argument("--out-dir", default=str(RESULTS))
    args = parser.parse_args(argv)

    from poxscan.core.atomic import atomic_write_text
    from poxscan.pipelines import transfer
    from poxscan.pipelines.builder import REFERENCE_CONFIG, SCREENING_CONFIG, config_families
    from poxscan.pipelines.experiment_data import load_experiment
    from poxscan.pipelines.report import jsonable

    source = Path(args.source or RESULTS / f"{'+'.join(DATASETS)}-{args.backbone}.json")
    cnn = json.loads(source.read_text(encoding="utf-8"))
    if cnn.get("status") != "done":
        raise SystemExit(f"{source}: the CNN cross-validation has not finished (status running)")
    classicals = {
        f"reference head on {args.classical_backbone}": {
            **REFERENCE_CONFIG,
            "families": {"deep": {"backbone": args.classical_backbone}},
        },
        # The row's name is kept for the committed table: this is the model shipped until the
        # canonical pose was added (SCREENING_CONFIG without orient).
        "shipped screening model (Lite2 + shrinkage LDA)": {
            **SCREENING_CONFIG,
            "families": {"deep": {"backbone": "efficientnet-lite2"}},
        },
    }
    p_cnn = np.asarray(cnn["oof_proba"], dtype=float)
    by_test = {r["test"]: r for r in cnn.get("lodo", [])}
    scores = {}
    for label, classical in classicals.items():
        data = load_experiment(DATASETS, config_families(classical), progress=False)
        ids = [str(i) for i in data.X.index]
        if ids != [str(i) for i in cnn["ids"]]:
            raise SystemExit(f"{source}: image ids differ from the pooled data's; not paired")
        folds = transfer.pooled_folds(data, n_splits=5, repeats=1, seed=0)
        for (_tr, te), fold in zip(folds[0], cnn["folds"], strict=True):
            if sorted(ids[i] for i in te) != sorted(fold["inner"]["test_ids"]):
                raise SystemExit(f"{source}: fold {fold['fold']} has other test images; not paired")
        p_cls = np.full(len(ids), np.nan)
        for tr, te in folds[0]:
            p_cls[te] = transfer.fit_scores(classical, data.subset(tr), data.X.iloc[te])
        lodo_cnn: dict[str, np.ndarray] = {}
        lodo_cls: dict[str, np.ndarray] = {}
        for held_out in sorted(set(data.records["dataset"])):
            train, test, _, _ = transfer.lodo_split(data, held_out)
            lodo_cls[held_out] = transfer.fit_scores(
                classical, data.subset(train), data.X.iloc[test]
            )
            if held_out in by_test:
                proba = dict(zip(by_test[held_out]["ids"], by_test[held_out]["proba"], strict=True))
                lodo_cnn[held_out] = np.array([proba[ids[i]] for i in test])
        scores.setdefault(f"fine-tuned {args.backbone} (pooled)", (p_cnn, lodo_cnn))
        scores[f"classical: {label}"] = (p_cls, lodo_cls)
        if len(lodo_cnn) == len(lodo_cls):
            mean_lodo = {k: (lodo_cnn[k] + lodo_cls[k]) / 2 for k in lodo_cls}
        else:
            mean_lodo = {}
        # The CNN is named: the table lists the ensembles of several CNNs side by side.
        name = f"ensemble: mean of the fine-tuned {args.backbone} and the {label}"
        scores[f"{name} (no fitted weights)"] = (
            (p_cnn + p_cls) / 2,
            mean_lodo,
        )

    rows = []
    for name, (oof, lodo) in scores.items():
        rows.append(
            transfer.transfer_row_from_scores(
                name, data, [oof], folds, lodo, cost_rank=0, n_boot=args.n_boot
            )
        )
    report = {
        "command": "python experiments/ensemble_cnn.py" + "".join(f" {a}" for a in argv or []),
        "cnn_source": str(source.relative_to(REPO) if source.is_relative_to(REPO) else source),
        "classical_configs": classicals,
        "note": "one repeat of the pooled folds (seed 0); rows are paired fold for fold",
        "rows": rows,
    }
    out = Path(args.out_dir)
    stem = f"ensemble-{args.backbone}"
    atomic_write_text(out / f"{stem}.json", json.dumps(jsonable(report), indent=2) + "\n")
    atomic_write_text(out / f"{stem}.md", markdown(report))
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    """The Markdown version of the report."""
    out = [
        "# Classical pipeline + fine-tuned CNN: averaged ensemble on out-of-fold scores",
        "",
        f"Reproduce with `{report['command']}` (reads `{report['cnn_source']}`). "
        f"{report['note']}; the ensemble's weights are fixed (the mean), none is fitted.",
        "",
        "| model | pooled ROC-AUC | LODO AUC (test set) | rule value (worse LODO) "
        "| spec. at sens. 0.90 |",
        "|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        auc = r["pooled"]["roc_auc"]
        lodo = (
            ", ".join(f"{x['test']} {x['metrics']['roc_auc']['value']:.3f}" for x in r["lodo"])
            or "n/a"
        )
        op = r["operating_point"].get("pooled", {}).get("specificity", {}).get("value")
        spec = "n/a" if op is None else f"{100 * op:.1f} %"
        out.append(
            f"| {r['name']} | {auc['pooled']:.3f} [{auc['boot_low']:.3f}, {auc['boot_high']:.3f}]"
            f" | {lodo} | {r['rule_value']:.3f} | {spec} |"
        )
    out += [""]
    for label, config in report["classical_configs"].items():
        out.append(f"- {label}: `{json.dumps(config, sort_keys=True)}`")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
