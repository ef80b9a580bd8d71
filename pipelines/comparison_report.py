"""The Markdown table of a comparison report (:mod:`poxscan.pipelines.comparison`)."""

from __future__ import annotations

from typing import Any

from poxscan.pipelines.report import format_ci, reproduce_lines

__all__ = ["markdown"]


def _pct(m: str) -> bool:
    return m not in ("roc_auc", "brier")


def markdown(report: dict[str, Any]) -> str:
    """The Markdown version of a comparison report."""
    out = [
        f"# Classical pipelines vs fine-tuned CNNs: {report['dataset']} (binary, grouped)",
        "",
        *reproduce_lines(report["commands"]),
        report["protocol"],
        "",
        "| model | folds | accuracy [95 % t CI] | balanced acc. | sensitivity | specificity "
        "| ROC-AUC [95 % t CI] | Brier | train s / fold | latency ms / image | size MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        m = row["summary"]["metrics"]

        def ci(k: str, m: dict = m) -> str:
            return format_ci(m[k]["mean"], m[k]["t_low"], m[k]["t_high"], _pct(k))

        train = row.get("train_seconds_per_fold")
        feats = row.get("feature_seconds_per_fold") or 0.0
        train_txt = "—" if train is None else f"{train:.1f}"
        if train is not None and feats:
            train_txt = f"{train:.1f} + {feats:.0f} features"
        lat = row.get("latency")
        lat_txt = "—" if not lat else f"{lat['median_ms']:.0f}"
        size_txt = "—" if row.get("size_mb") is None else f"{row['size_mb']:.1f}"
        folds = row["folds"] + ("" if row.get("same_folds") else " (other folds)")
        out.append(
            f"| {row['name']} | {folds} | {ci('accuracy')} "
            f"| {100 * m['balanced_accuracy']['mean']:.1f} "
            f"| {100 * m['sensitivity']['mean']:.1f} | {100 * m['specificity']['mean']:.1f} "
            f"| {ci('roc_auc')} | {m['brier']['mean']:.3f} | {train_txt} | {lat_txt} "
            f"| {size_txt} |"
        )
    out += [
        "",
        "Balanced accuracy, sensitivity, specificity (%), Brier: means over folds; intervals "
        "for every metric, and the group-bootstrap intervals of the pooled out-of-fold "
        "predictions, are in the JSON. Train s / fold: classical = fitting the pipeline on "
        "cached features + extracting the fold's training features (batched throughput x "
        "training images); CNN = the recorded fine-tuning time (both phases, early stopping). "
        "Latency: one decoded image in, P(mpox) out, batch 1, median of "
        f"{report['latency_runs']} calls after a warm-up, all rows timed here, interleaved "
        "(one call of each per round, so load changes hit all alike). Size: "
        "see the notes per row in the JSON (deep-feature pipelines include the backbone's "
        "weights file).",
        "",
    ]
    if report.get("paired"):
        out += [
            f"## Paired differences against {report['paired_reference']}",
            "",
            "Per-fold differences on the same folds (row minus reference), mean and 95 % "
            "Nadeau-Bengio corrected t interval.",
            "",
            "| row | Δ accuracy (points) | Δ ROC-AUC |",
            "|---|---|---|",
        ]
        for p in report["paired"]:
            a, r = p["accuracy"], p["roc_auc"]
            out.append(
                f"| {p['row']} | {100 * a['mean']:+.1f} [{100 * a['low']:+.1f}, "
                f"{100 * a['high']:+.1f}] | {r['mean']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}] |"
            )
        out.append("")
    if report.get("figures"):
        out += ["## Figures", "", *[f"- `{f}`" for f in report["figures"]], ""]
    if report.get("notes"):
        out += ["## Notes", "", *[f"- {n}" for n in report["notes"]], ""]
    return "\n".join(out)
