"""The model card saved with every model: what it is for, what it was trained on, how good it is.

:func:`render_model_card` turns a model manifest (see :mod:`poxscan.pipelines.persistence`)
into Markdown. Everything in the card comes from the manifest, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["render_model_card"]

_METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "average_precision": "Average precision",
    "sensitivity": "Sensitivity (mpox recall)",
    "specificity": "Specificity",
    "balanced_accuracy": "Balanced accuracy",
    "accuracy": "Accuracy",
    "ppv": "Positive predictive value",
    "npv": "Negative predictive value",
    "f1": "F1 (mpox)",
    "brier": "Brier score (lower is better)",
    "log_loss": "Log loss (lower is better)",
}


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _metrics_table(evaluation: Mapping[str, Any]) -> list[str]:
    rows = [
        "| metric | out-of-fold value | 95 % CI | per-fold mean ± sd |",
        "|---|---|---|---|",
    ]
    for key, label in _METRIC_NAMES.items():
        m = evaluation.get("metrics", {}).get(key)
        if not m:
            continue
        lo, hi = m.get("ci95", [None, None])
        rows.append(
            f"| {label} | {_fmt(m.get('value'))} | {_fmt(lo)} – {_fmt(hi)} | "
            f"{_fmt(m.get('fold_mean'))} ± {_fmt(m.get('fold_std'))} |"
        )
    return rows


def _operating_row(name: str, row: Mapping[str, Any]) -> str:
    """One table row: images (mpox), sensitivity and specificity with intervals, ROC AUC."""
    m = row.get("metrics", {})

    def cell(key: str) -> str:
        v = m.get(key) or {}
        lo, hi = v.get("ci95", [None, None])
        return f"{_fmt(v.get('value'))} [{_fmt(lo)}, {_fmt(hi)}]"

    return (
        f"| {name} | {row.get('n_images')} ({row.get('n_mpox')}) | {cell('sensitivity')} "
        f"| {cell('specificity')} | {_fmt((m.get('roc_auc') or {}).get('value'))} |"
    )


def _screening_section(screening: Mapping[str, Any], threshold: Mapping[str, Any]) -> list[str]:
    """Expected sensitivity and specificity at the shipped threshold, per source dataset and,
    when the manifest has them, per skin tone of the photo."""
    if not screening:
        return []
    thr = screening.get("threshold") or {}
    lo, hi = thr.get("ci95", [None, None])
    lines = [
        "## Screening operating point",
        "",
        f"Threshold rule: `{screening.get('rule')}`; threshold **{_fmt(threshold.get('value'))}**"
        + (f" (95 % group-bootstrap interval {_fmt(lo)} – {_fmt(hi)})." if thr else "."),
        "Expected sensitivity and specificity at this rule, measured out of fold (calibrator and",
        "threshold cross-fitted on the other folds), per source dataset:",
        "",
        "| source dataset | images (mpox) | sensitivity [95 % CI] | specificity [95 % CI] "
        "| ROC AUC |",
        "|---|---|---|---|---|",
    ]
    lines += [
        _operating_row(name, row) for name, row in (screening.get("per_dataset") or {}).items()
    ]
    tones = screening.get("per_tone") or {}
    if tones:
        lines += [
            "",
            "The same by the skin tone of the photo (the individual typology angle of its",
            "central colour: the photo's colour, not the person's skin type, which the sets do",
            "not record). A band where specificity is much lower raises more false alarms for",
            "people whose photos look like it:",
            "",
            "| tone of the photo | images (mpox) | sensitivity [95 % CI] | specificity [95 % CI] "
            "| ROC AUC |",
            "|---|---|---|---|---|",
        ]
        lines += [_operating_row(name, row) for name, row in tones.items()]
    lines += [
        "",
        "**A new camera, clinic or population may shift these figures.** They hold for photos",
        "like the training sets'; on photos from elsewhere the same threshold can miss more mpox",
        "(lower sensitivity) or raise more false alarms. Check the sensitivity on local, labelled",
        "photos before relying on the threshold, and re-set it there if it falls short.",
        "",
    ]
    return lines


def render_model_card(manifest: Mapping[str, Any]) -> str:
    """Markdown model card of a model manifest.

    Parameters
    ----------
    manifest : dict
        The manifest :func:`poxscan.pipelines.persistence.save_model` builds (its ``files``
        entry is not needed: the card is hashed into it).

    Returns
    -------
    str
    """
    model = manifest.get("model", {})
    data = manifest.get("training_data", {})
    evaluation = manifest.get("evaluation", {})
    threshold = manifest.get("threshold", {})
    calibration = manifest.get("calibration", {})
    env = manifest.get("environment", {})
    explanation = manifest.get("explanation")
    config = model.get("config") or {}
    families = ", ".join(model.get("families", {})) or "n/a"

    lines = [
        "# poxscan model card",
        "",
        f"Created {manifest.get('created', 'n/a')} with poxscan {manifest.get('poxscan_version')}.",
        "The model's identity is the sha256 of `manifest.json` in this directory (printed by",
        "`poxscan train`); every other file's sha256 is listed in that manifest.",
        "",
        "## Intended use",
        "",
        "**A screening aid, not a diagnosis.** Given a photo of a skin lesion, the model estimates",
        "the probability that it shows mpox rather than another condition it was trained on",
        "(chickenpox, measles, healthy skin). It is meant for research and for prioritising who",
        "should see a clinician; it cannot rule mpox in or out. Anyone worried about a rash",
        "should **see a clinician** and, where advised, get a laboratory (PCR) test. The model is",
        "not a medical device and has not been evaluated clinically.",
        "",
        "Not intended for: diagnosis or treatment decisions, conditions it never saw (herpes,",
        "syphilis, molluscum, drug eruptions, ...), images other than close-up lesion photos.",
        "",
        "## Model",
        "",
        f"- Feature families: {families} (extractor fingerprints in the manifest).",
        f"- Pipeline: {' -> '.join(model.get('pipeline', [])) or 'n/a'}.",
    ]
    if (model.get("families", {}).get("deep") or {}).get("orient") == "canonical":
        lines.append(
            "- Orientation: each photo is turned and mirrored into a pose fixed by its own "
            "pixels before the backbone, so a turned or mirrored photo gets the same answer "
            "(`poxscan.features.orientation`)."
        )
    if config:
        lines.append(
            f"- Configuration: classifier `{config.get('classifier')}`, selector "
            f"`{config.get('selector')}` (k = {config.get('k')}), scaler `{config.get('scaler')}`, "
            f"parameters `{config.get('params')}`."
        )
    if manifest.get("config_source"):
        lines.append(f"- Configuration source: {manifest['config_source']}.")
    lines += [
        f"- Calibration: {calibration.get('description', calibration.get('method'))}"
        f" ({calibration.get('method')}), fitted on out-of-fold scores.",
        f"- Decision threshold: **{_fmt(threshold.get('value'))}** on the calibrated "
        f"probability of mpox, chosen by {threshold.get('description', threshold.get('rule'))}.",
        "",
        "## Training data",
        "",
    ]
    for name, info in (data.get("datasets") or {}).items():
        lines.append(
            f"- `{name}`: {info.get('n_images', 'n/a')} images, data-manifest checksum "
            f"`{info.get('checksum', 'n/a')}`."
        )
    counts = data.get("class_counts") or {}
    lines += [
        f"- {data.get('n_images', 'n/a')} images in all: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f"; {data.get('n_groups', 'n/a')} split groups ({data.get('groups_source', 'n/a')}).",
    ]
    if data.get("label_counts"):
        lines.append(
            "- Labels: " + ", ".join(f"{k} {v}" for k, v in data["label_counts"].items()) + "."
        )
    lines += [
        "",
        "## Performance",
        "",
        f"{evaluation.get('scheme', '')}.",
        "",
        *_metrics_table(evaluation),
        "",
        "These are out-of-fold estimates of this configuration on its own training data. If the",
        "configuration was chosen by tuning on the same data (`poxscan tune`), they are",
        "optimistic; the nested cross-validation of `poxscan evaluate` gives the honest figure,",
        "and no figure here says how the model does on photos from another source.",
        "",
        *_screening_section(evaluation.get("screening") or {}, threshold),
    ]
    if explanation:
        fams = ", ".join(
            f"{f['family']} ({f['mean_abs_sum']:.3g})" for f in explanation.get("top_families", [])
        )
        feats = ", ".join(f"`{f['feature']}`" for f in explanation.get("top_features", [])[:5])
        lines += [
            "## Explanations",
            "",
            f"SHAP ({explanation.get('explainer')}), output in {explanation.get('output')}, on "
            f"{explanation.get('n_explained')} training images with a background of "
            f"{explanation.get('background_size')}. Families by mean |summed SHAP|: {fams}.",
            f"Most important features: {feats}. Plots and values are in `shap/`;",
            "`poxscan predict` lists the features that pushed each decision.",
            "",
        ]
    lines += _gate_lines(manifest.get("gate"))
    lines += [
        "## Limitations",
        "",
        "- **Small data.** A few hundred images from a few hundred patients or source photos;",
        "  the confidence intervals above are wide, and small shifts in data move them.",
        "- **Web-scraped images.** The public sets were collected from the web: unknown cameras,",
        "  compression, crops and captions; some source photos recur as crops or mirror images",
        "  (grouped in every split, but the true diversity is lower than the image count).",
        "- **Skin tones.** The sets are not annotated for skin tone and appear to under-represent",
        "  darker skin. The operating-point section estimates each photo's tone from its colour",
        "  (a proxy, not the person's skin type); where a band's specificity falls far below the",
        "  others', people whose photos look like that band get more false alarms.",
        "- **External validity.** No external, clinical or prospective validation. Lesion",
        "  appearance varies with disease stage, body site and co-infection; other look-alike",
        "  conditions were not in the training data. Healthy-skin photos in some sets come",
        "  from a different source than the lesion photos, which a model could exploit.",
        "- **Calibration.** Probabilities are calibrated to the training mix of classes; the",
        "  prevalence of mpox in any real population is different, so the probability is not a",
        "  personal risk.",
        "",
        "## Loading safely",
        "",
        "- Use `poxscan predict IMAGE --model DIR` or `poxscan.predict.Predictor.load(DIR)`. They",
        "  check the sha256 of every file against `manifest.json` **before** unpickling and refuse",
        "  a changed, missing or extra file. Never call `joblib.load` / `pickle.load` on",
        "  `model.joblib` yourself: unpickling runs code.",
        "- For a model obtained from elsewhere, pin its identity:",
        "  `Predictor.load(DIR, manifest_sha256=...)` refuses any other manifest.",
        f"- Saved with Python {env.get('python')}; package versions and the compatible ranges",
        "  (same minor version of scikit-learn, XGBoost, SciPy, scikit-image, OpenCV; same major",
        "  of NumPy, pandas, joblib) are in the manifest. Loading warns on any difference.",
        "",
    ]
    packages = env.get("packages") or {}
    compatible = env.get("compatible") or {}
    if packages:
        lines += ["| package | saved with | compatible |", "|---|---|---|"]
        lines += [f"| {k} | {v} | {compatible.get(k, '')} |" for k, v in packages.items() if v]
        lines.append("")
    return "\n".join(lines)


def _gate_lines(gate: Mapping[str, Any] | None) -> list[str]:
    """The input gate's section: what it refuses and how often, on real lesion photos."""
    if not gate:
        return [
            "## Input gate",
            "",
            "No input gate was fitted: only the pixel checks (too small, blank, too dark or",
            "bright, collage or screenshot, pixel noise or no skin colour at all, too blurry)",
            "run before a prediction.",
            "",
        ]
    emb = gate.get("embedding") or {}
    lines = [
        "## Input gate",
        "",
        "Before any prediction the gate refuses, with a reason a person can act on, images",
        f"that are too small (shorter side under {gate.get('min_side')} px), blank, too dark,",
        "too bright, several pictures in one (collage, screenshot), pixel noise or no skin",
        "colour at all (under 1 % of pixels in the YCrCb skin region) or too blurry (pixel",
        "checks),",
    ]
    if emb:
        lines += [
            f"and photos whose {emb.get('backbone')} embedding"
            + (" (of the photo in its canonical pose)" if emb.get("orient") == "canonical" else "")
            + " lies far from the training photos",
            f"({emb.get('score')}; refused above {_fmt(emb.get('threshold'))}). The threshold is",
            f"the {emb.get('calibration')}, set so that about {100 * emb['refuse_rate']:.1f} % of",
            f"real lesion photos are refused: out of fold, {100 * emb['oof_refused']:.1f} % of the",
            f"{emb.get('n_calibration')} training photos were. Refused images get no probability.",
            "Rates on non-skin images: `experiments/results/gate/` (`bench_gate.py`). The",
            "conformal rate holds for photos like the training ones: lesion photos from another",
            "collection may be refused more often (the benchmark's photos-from-elsewhere rows).",
        ]
        if emb.get("runtime") == "litert-int8":
            lines += [
                f"The embedding is the int8 backbone's own (`{emb.get('tflite_file')}`, sha256",
                f"`{emb.get('tflite_sha256')}`), for the reference photos and for every photo",
                "checked, so the gate runs with LiteRT alone (and on the on-device page).",
            ]
    else:
        lines.append("and nothing else (no embedding gate was fitted).")
    return [*lines, ""]
