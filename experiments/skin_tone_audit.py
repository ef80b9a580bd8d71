"""Does the screening decision, or the input gate, depend on how dark the skin in the photo is?

Mpox is screened on every skin colour, and the shared sets are mostly lighter skin. For each of
the 409 photos of msld_v1 + ahsan2022 this audit estimates the skin tone of the photo by its
individual typology angle, ``ITA = atan((L* - 50) / b*)`` in degrees (Chardon et al. 1991),
from the median CIELAB ``L*`` and ``b*`` of the central half of the image (a lesion close-up
is mostly skin), and reads, per tone band:

- the screening decision of the shipped configuration (``SCREENING_CONFIG``, threshold
  ``SCREENING_THRESHOLD``), each photo decided by a model fitted on the other four of five
  grouped folds (``grouped_folds(y, groups, 5, seed=0)``, the classical evaluation's first
  repeat): sensitivity on mpox photos, specificity on the others, each with a Wilson interval;
- the input gate's out-of-fold refusals, as the gate benchmark recorded them
  (``experiments/results/gate/bench_gate.json``, the gate now).

Bands: :data:`~poxscan.core.skin_tone.TONE_BANDS` (Del Bino and Bernerd's six merged to
three so that each holds photos of both classes: lighter, ITA > 41; intermediate and tan, 10 to
41; brown and dark, 10 or less); the tone: :func:`~poxscan.core.skin_tone.ita_degrees`.
What this measures, stated plainly: the colour of a photo (its lesions, light and white
balance), not the Fitzpatrick type of the person, which no set records; a band with few photos
gives a wide interval, not a finding.

Usage::

    python experiments/skin_tone_audit.py

writes ``experiments/results/skin_tone_audit.{md,json}`` (Lite2 features from the feature
cache: 19 s warm at load 0.7; 52 s with an empty cache, before the tone was read from a
subsample, at load 0.6-1.2, its own process included).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_eval_metrics import wilson_interval
from results_io import write_results

from poxscan.core.imageio import load_image
from poxscan.core.skin_tone import TONE_BANDS, ita_degrees, tone_band
from poxscan.pipelines.builder import SCREENING_CONFIG, SCREENING_THRESHOLD
from poxscan.pipelines.experiment_data import load_experiment
from poxscan.pipelines.image_model import ImageModel
from poxscan.pipelines.splits import grouped_folds

HERE = Path(__file__).resolve().parent
DATASETS = ["msld_v1", "ahsan2022"]
GATE = HERE / "results" / "gate" / "bench_gate.json"
GATE_VARIANT = "distance + skin floor (now)"


def _rate(hits: int, n: int) -> dict:
    ci = wilson_interval(hits, n)
    return {"n": n, "hits": hits, "rate": None if n == 0 else hits / n, "ci95": ci}


def config_for(color_constancy: str | None) -> dict:
    """The shipped configuration, its deep features optionally colour-corrected first."""
    config = copy.deepcopy(SCREENING_CONFIG)
    if color_constancy:
        config["families"]["deep"]["color_constancy"] = color_constancy
    return config


def run(cache: str | None = None, color_constancy: str | None = None) -> dict:
    """Tones, out-of-fold decisions and gate refusals of the pooled sets, per band."""
    load_before = os.getloadavg()
    started = time.perf_counter()
    config = config_for(color_constancy)
    data = load_experiment(DATASETS, config["families"], cache=cache, progress=False)
    records, y, groups = data.records, data.y, data.groups
    ids = records["id"].astype(str).tolist()
    itas = np.array([ita_degrees(load_image(p)) for p in records["path"]])
    bands = np.array([tone_band(v) for v in itas])
    decision = np.zeros(len(y), dtype=bool)
    probability = np.zeros(len(y))
    for train, test in grouped_folds(y, groups, 5, seed=0):
        model = ImageModel(
            families=config["families"],
            pipeline=config,
            threshold=SCREENING_THRESHOLD,
            cv=5,
        ).fit_features(data.X.iloc[train], y[train], groups[train])
        probability[test] = model.predict_proba_features(data.X.iloc[test])[:, 1]
        decision[test] = probability[test] >= model.threshold_
    gate = json.loads(GATE.read_text(encoding="utf-8"))["lesion_photos_out_of_fold"][GATE_VARIANT]
    refused = np.isin(ids, gate["refused_ids"])
    if int(refused.sum()) != gate["refused"]:
        raise ValueError(f"{GATE}: {gate['refused']} refused ids, {int(refused.sum())} found")
    datasets = records["dataset"].astype(str).to_numpy()
    per_band = {}
    for name, _ in TONE_BANDS:
        inside = bands == name
        mpox, other = inside & (y == 1), inside & (y == 0)
        per_band[name] = {
            "photos": int(inside.sum()),
            "by_dataset": {d: int((inside & (datasets == d)).sum()) for d in DATASETS},
            "sensitivity": _rate(int((decision & mpox).sum()), int(mpox.sum())),
            "specificity": _rate(int((~decision & other).sum()), int(other.sum())),
            "gate_refused": _rate(int((refused & inside).sum()), int(inside.sum())),
            # Ranking within the band: a shortcut on tone shifts the band's scores together
            # (specificity falls) without making it worse at ranking its own photos.
            "roc_auc": float(roc_auc_score(y[inside], probability[inside]))
            if 0 < y[inside].sum() < inside.sum()
            else None,
            "mpox_share": float(y[inside].mean()) if inside.any() else None,
            # Where the band's scores sit: the median calibrated P(mpox) of each class.
            "median_p_mpox": float(np.median(probability[mpox])) if mpox.any() else None,
            "median_p_other": float(np.median(probability[other])) if other.any() else None,
        }
    return {
        "command": "python experiments/skin_tone_audit.py"
        + (f" --color-constancy {color_constancy}" if color_constancy else ""),
        "datasets": DATASETS,
        "config": config,
        "threshold_rule": SCREENING_THRESHOLD,
        "n_images": len(y),
        "ita_quartiles": [float(q) for q in np.percentile(itas, [0, 25, 50, 75, 100])],
        "bands": per_band,
        "overall": {
            "roc_auc": float(roc_auc_score(y, probability)),
            "sensitivity": _rate(int((decision & (y == 1)).sum()), int((y == 1).sum())),
            "specificity": _rate(int((~decision & (y == 0)).sum()), int((y == 0).sum())),
            "gate_refused": _rate(int(refused.sum()), len(y)),
        },
        "photos": [
            {"id": i, "ita": round(float(v), 2), "band": b, "y": int(t), "mpox_call": bool(d)}
            for i, v, b, t, d in zip(ids, itas, bands, y, decision, strict=True)
        ],
        "seconds": round(time.perf_counter() - started, 1),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }


def _cell(r: dict) -> str:
    if not r["n"]:
        return "no photos"
    lo, hi = r["ci95"]
    return f"{100 * r['rate']:.1f} % ({r['hits']}/{r['n']}) [{100 * lo:.1f}, {100 * hi:.1f}]"


def to_markdown(result: dict) -> str:
    """The report as Markdown."""
    q = result["ita_quartiles"]
    cc = result["config"]["families"]["deep"].get("color_constancy")
    lines = [
        "# Screening and gate by the skin tone of the photo",
        "",
        f"Reproduce with `{result['command']}`. Tone: the individual typology "
        "angle (ITA) of the median CIELAB colour of each photo's central half: the photo's "
        "colour, not the person's skin type. Decisions: the shipped configuration"
        + (f", its deep features corrected by {cc} first" if cc else "")
        + f" (threshold rule {result['threshold_rule']}), each of the {result['n_images']} photos "
        "decided out of fold (5 grouped folds); gate refusals: the gate benchmark's out-of-fold "
        f"ones. ITA minimum, quartiles and maximum: {', '.join(f'{v:.1f}' for v in q)}.",
        "",
        "| band | photos (msld_v1, ahsan2022) | mpox share | ROC-AUC in band | median P(mpox): "
        "mpox, others | sensitivity | specificity | gate refused |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, b in result["bands"].items():
        counts = ", ".join(str(b["by_dataset"][d]) for d in result["datasets"])
        lines.append(
            f"| {name} | {b['photos']} ({counts}) | {100 * b['mpox_share']:.0f} % | "
            f"{b['roc_auc']:.3f} | {b['median_p_mpox']:.3f}, {b['median_p_other']:.3f} | "
            f"{_cell(b['sensitivity'])} | "
            f"{_cell(b['specificity'])} | {_cell(b['gate_refused'])} |"
        )
    o = result["overall"]
    share = sum(b["sensitivity"]["n"] for b in result["bands"].values()) / result["n_images"]
    lines.append(
        f"| all | {result['n_images']} | {100 * share:.0f} % | {o['roc_auc']:.3f} | | "
        f"{_cell(o['sensitivity'])} | "
        f"{_cell(o['specificity'])} | {_cell(o['gate_refused'])} |"
    )
    lines += [
        "",
        f"Run time {result['seconds']:.0f} s (load average before "
        f"{', '.join(map(str, result['load_average_before']))}, after "
        f"{', '.join(map(str, result['load_average_after']))}).",
        "",
        "Cells: rate (hits/photos) [95 % Wilson interval]. A band with few photos of a class "
        "gives a wide interval: the table shows where the shared sets are thin, and a new "
        "population's darker-skinned photos are the ones it can least vouch for.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--cache", default=None, help="feature cache folder (default: the cache's)")
    parser.add_argument(
        "--color-constancy",
        default=None,
        help="measure the shipped configuration with its deep features colour-corrected first "
        "(e.g. shades_of_gray:6); results go to skin_tone_audit-<value>.{md,json}",
    )
    args = parser.parse_args(argv)
    result = run(args.cache, args.color_constancy)
    stem = "skin_tone_audit"
    if args.color_constancy:
        stem += "-" + args.color_constancy.replace(":", "")
    print(write_results(args.out, stem, result, to_markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
