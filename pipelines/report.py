"""Write evaluation results: one JSON file, one Markdown report, PNG figures, all atomic."""

from __future__ import annotations

import json
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from poxscan.core.atomic import atomic_write_text
from poxscan.core.jsonutil import to_jsonable
from poxscan.pipelines.metrics import METRICS

__all__ = [
    "format_ci",
    "jsonable",
    "markdown_report",
    "reproduce_lines",
    "transfer_markdown",
    "write_report",
]

#: Published reference on MSLD v1 (Ali et al. 2022, arXiv 2207.03342, Table 3): ResNet50,
#: patient-aware 3-fold cross-validation, accuracy 82.96 +/- 4.57 %.
PUBLISHED_MSLD = {"model": "ResNet50 (Ali et al. 2022)", "accuracy": 0.8296, "accuracy_sd": 0.0457}


#: Kept under this name for the report writers; the tree's one JSON converter.
jsonable = to_jsonable


def format_ci(value: float | None, low: float | None, high: float | None, pct: bool) -> str:
    """``"91.2 [88.0, 94.1]"`` (percent) or ``"0.953 [0.93, 0.97]"``."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if pct:
        return f"{100 * value:.1f} [{100 * low:.1f}, {100 * high:.1f}]"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def reproduce_lines(commands: Sequence[str]) -> list[str]:
    """Markdown lines of a report's "Reproduce with:" block: the commands, one a line."""
    return ["Reproduce with:", "", "```", *commands, "```", ""]


def _is_pct(metric: str) -> bool:
    return metric not in ("roc_auc", "brier", "macro_roc_auc")


def _cv_rows(summary: dict[str, Any], which: str) -> list[str]:
    rows = []
    for m in [m for m in METRICS if m in summary["metrics"]] + [
        m for m in summary["metrics"] if m not in METRICS
    ]:
        s = summary["metrics"][m]
        pct = _is_pct(m)
        rows.append(
            f"| {m} | {format_ci(s['mean'], s['t_low'], s['t_high'], pct)} "
            f"| {(100 if pct else 1) * s['sd']:.{1 if pct else 3}f} "
            f"| {format_ci(s['pooled'], s['boot_low'], s['boot_high'], pct)} |"
        )
    return rows


def markdown_report(report: dict[str, Any]) -> str:
    """The Markdown version of an evaluation report (see :func:`write_report`)."""
    out = [f"# Evaluation: {report.get('title', report.get('name', ''))}", ""]
    if report.get("commands"):
        out += reproduce_lines(report["commands"])
    if report.get("protocol"):
        out += [report["protocol"], ""]
    nested = report.get("nested")
    if nested:
        s = nested["summary"]
        out += [
            "## Nested cross-validation (tuned pipeline)",
            "",
            f"{s['n_images']} images, {s['n_groups']} groups; {s['n_repeats']} repeats x "
            f"{s['n_folds'] // max(1, s['n_repeats'])} outer folds (about {s['n_train_mean']:.0f}"
            f" train / {s['n_test_mean']:.0f} test images); {nested.get('inner', '')}. "
            f"Wall time {s['seconds'] / 60:.1f} min.",
            "",
            "| metric | mean over folds [95 % t CI] | fold SD "
            "| pooled OOF [95 % group bootstrap] |",
            "|---|---|---|---|",
            *_cv_rows(s, "nested"),
            "",
        ]
        pub = report.get("published")
        if pub:
            acc = s["metrics"]["accuracy"]
            out += [
                f"Published reference: {pub['model']}: accuracy {100 * pub['accuracy']:.2f} +/- "
                f"{100 * pub['accuracy_sd']:.2f} %. Ours: {100 * acc['mean']:.2f} +/- "
                f"{100 * acc['sd']:.2f} % (mean +/- SD over outer folds).",
                "",
            ]
        if nested.get("chosen"):
            out += ["Configs chosen by the inner studies (count over outer folds):", ""]
            out += [f"- {n}x {c}" for c, n in nested["chosen"]]
            out += [""]
    ablations = report.get("ablations")
    if ablations:
        out += [
            "## Ablations by feature family",
            "",
            ablations.get("description", ""),
            "",
            "| families | accuracy [t CI] | balanced acc. | sensitivity | specificity | ROC-AUC "
            "[t CI] | Brier |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, s in ablations["results"].items():
            m = s["metrics"]
            out.append(
                f"| {name} | {format_ci(m['accuracy']['mean'], m['accuracy']['t_low'], m['accuracy']['t_high'], True)} "  # noqa: E501
                f"| {100 * m['balanced_accuracy']['mean']:.1f} "
                f"| {100 * m['sensitivity']['mean']:.1f} | {100 * m['specificity']['mean']:.1f} "
                f"| {format_ci(m['roc_auc']['mean'], m['roc_auc']['t_low'], m['roc_auc']['t_high'], False)} "  # noqa: E501
                f"| {m['brier']['mean']:.3f} |"
            )
        out.append("")
    if report.get("transfer"):
        out += transfer_markdown(report["transfer"])
    cross = report.get("cross_dataset")
    if cross:
        out += [
            "## Cross-dataset (train on one set, test on the other, shared groups removed)",
            "",
            "| train -> test | config | test images (removed) | accuracy | balanced acc. | "
            "sensitivity | specificity | ROC-AUC | Brier |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in cross:
            for suffix, key in (("", "metrics"), (" (no normal)", "metrics_without_normal")):
                if key not in r:
                    continue
                m = r[key]
                n_test = r["n_test"] if key == "metrics" else r["n_test_without_normal"]
                out.append(
                    f"| {r['direction']}{suffix} | {r['config_name']} | {n_test} "
                    f"({r['n_removed_shared_groups']}) "
                    + " ".join(
                        f"| {format_ci(m[k]['value'], m[k]['boot_low'], m[k]['boot_high'], _is_pct(k))}"  # noqa: E501
                        for k in (
                            "accuracy",
                            "balanced_accuracy",
                            "sensitivity",
                            "specificity",
                            "roc_auc",
                            "brier",
                        )
                    )
                    + " |"
                )
        out += ["", "Intervals: 95 % group bootstrap over the test images.", ""]
    if report.get("configs"):
        out += ["## Configs", ""]
        for name, cfg in report["configs"].items():
            out += [f"- **{name}**: `{json.dumps(cfg, sort_keys=True)}`"]
        out.append("")
    if report.get("figures"):
        out += ["## Figures", ""] + [f"- `{f}`" for f in report["figures"]] + [""]
    if report.get("notes"):
        out += ["## Notes", "", *[f"- {n}" for n in report["notes"]], ""]
    return "\n".join(out)


def _ci_cell(m: dict[str, Any], key: str) -> str:
    v = m.get(key) or {}
    return format_ci(v.get("value"), v.get("low"), v.get("high"), _is_pct(key))


def transfer_markdown(transfer: dict[str, Any]) -> list[str]:
    """Markdown of :mod:`poxscan.pipelines.transfer` results: LODO, per dataset, operating point."""
    keys = ("accuracy", "sensitivity", "specificity", "roc_auc", "brier")
    out = []
    if transfer.get("lodo"):
        out += [
            "## Leave one dataset out (fit on the other sets, test on this one)",
            "",
            "Test images whose audit group also occurs in the training sets are removed first.",
            "",
            "| train -> test | config | test images (mpox) | removed (groups) | accuracy | "
            "sensitivity | specificity | ROC-AUC | Brier |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in transfer["lodo"]:
            m = r["metrics"]
            out.append(
                f"| {r['direction']} | {r.get('config_name', '')} | {r['n_test']} "
                f"({r['n_test_positive']}) | {r['n_removed_shared_groups']} "
                f"({r['n_shared_groups']}) | " + " | ".join(_ci_cell(m, k) for k in keys) + " |"
            )
        out += ["", "Intervals: 95 % group bootstrap over the test images; decisions at 0.5.", ""]
    if transfer.get("per_dataset"):
        out += [
            "## Per source dataset, inside the pooled grouped CV (out of fold)",
            "",
            "| model | dataset | images (mpox) | accuracy | sensitivity | specificity | ROC-AUC "
            "| Brier |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for label, rows in transfer["per_dataset"].items():
            for ds, r in rows.items():
                out.append(
                    f"| {label} | {ds} | {r['n_images']} ({r['n_positive']}) | "
                    + " | ".join(_ci_cell(r["metrics"], k) for k in keys)
                    + " |"
                )
        out += ["", "Intervals: 95 % group bootstrap; decisions at 0.5.", ""]
    if transfer.get("operating_point"):
        out += [
            "## Screening operating point (threshold for sensitivity 0.90, cross-fitted)",
            "",
            "Calibrator and threshold fitted on the other folds' out-of-fold scores, applied to "
            "each fold; decisions pooled over folds and repeats.",
            "",
            "| model | rows | sensitivity | specificity |",
            "|---|---|---|---|",
        ]
        for label, op in transfer["operating_point"].items():
            if "pooled" not in op:
                out.append(f"| {label} | all | {op.get('error', 'n/a')} | |")
                continue
            for ds, m in [("pooled", op["pooled"]), *op["per_dataset"].items()]:
                out.append(
                    f"| {label} | {ds} | {_ci_cell(m, 'sensitivity')} "
                    f"| {_ci_cell(m, 'specificity')} |"
                )
        out.append("")
    return out


def write_report(report: dict[str, Any], out_dir: str | PathLike, name: str) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.json`` and ``<out_dir>/<name>.md`` atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clean = jsonable(report)
    json_path = out_dir / f"{name}.json"
    md_path = out_dir / f"{name}.md"
    atomic_write_text(json_path, json.dumps(clean, indent=2, sort_keys=False) + "\n")
    atomic_write_text(md_path, markdown_report(clean))
    return json_path, md_path
