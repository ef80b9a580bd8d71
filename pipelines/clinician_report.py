"""A report to send to a clinician: one printable HTML page (print styles) and the same as JSON.

The report holds what a remote reader needs to judge a phone screening: the photo as the model
saw it (the centre square), the result, the calibrated probability and the decision threshold
with the sensitivity and specificity expected there (out-of-fold, with 95 % intervals), the
input gate's verdict, the explanation map with its caption, the evidence per kind of feature,
the model's manifest sha256 and version, the date, and the disclaimer. It is self-contained
(images inline as data URIs, no script, no external file) so it can be mailed, printed or saved
as PDF from the browser. Nothing here stores anything: callers write it where the user asked
(``poxscan predict --report DIR``, atomically) or hand it to the browser as a download.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["build_report", "render_report_html", "write_report"]

_LABELS = {"mpox": "Looks like mpox", "not_mpox": "Does not look like mpox"}
_CSS = """
body { font: 11pt/1.45 system-ui, sans-serif; color: #1b1b1f; max-width: 46rem; margin: 1.5rem auto;
  padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; } h2 { font-size: 1.05rem; margin: 1.2rem 0 .4rem;
  border-bottom: 1px solid #ccc; }
.meta, .small { color: #555; font-size: .85rem; }
.verdict { font-size: 1.25rem; font-weight: 700; margin: .4rem 0; }
.refused { color: #8a4b00; } .mpox { color: #a4161a; } .not_mpox { color: #1b5e20; }
.pictures { display: flex; gap: 1rem; flex-wrap: wrap; }
figure { margin: 0; } figure img { width: 224px; height: 224px; border: 1px solid #999; }
figcaption { font-size: .8rem; color: #444; max-width: 224px; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
td, th { border-bottom: 1px solid #ddd; padding: .2rem .4rem; text-align: left;
  vertical-align: top; }
code { font-size: .8rem; word-break: break-all; }
.disclaimer { border: 1px solid #999; padding: .5rem .8rem; margin-top: 1.2rem; }
@media print { body { margin: 0; max-width: none; } a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; } .pictures, table, .disclaimer { break-inside: avoid; }
  @page { size: A4; margin: 15mm; } }
"""


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def build_report(
    result: Mapping[str, Any],
    info: Mapping[str, Any],
    *,
    square: np.ndarray | None = None,
    saliency: Any = None,
    disclaimer: str,
    version: str,
    now: _dt.datetime | None = None,
) -> dict[str, Any]:
    """The report as JSON-able data (the HTML is rendered from it).

    Parameters
    ----------
    result : dict
        ``Prediction.to_dict()`` or ``Refusal.to_dict()``.
    info : dict
        ``Predictor.info()``: manifest sha256, threshold rule, out-of-fold metrics, gate.
    square : ndarray, optional
        The photo as the model saw it (RGB uint8 centre square).
    saliency : SaliencyMap, optional
        The explanation map.
    disclaimer, version : str
        The disclaimer and poxscan's version.
    """
    now = now or _dt.datetime.now(_dt.UTC)
    refused = bool(result.get("refused"))
    metrics = info.get("oof_metrics") or {}
    report: dict[str, Any] = {
        "kind": "poxscan clinician report",
        "generated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "file": Path(str(result.get("file"))).name,  # a name, never the sender's folders
        "screened": not refused,
        "gate": {
            "screenable": not refused,
            "code": result.get("code", (result.get("gate") or {}).get("code", "ok")),
            "message": result.get("message", ""),
            "advice": result.get("advice", ""),
            "checks": (result.get("gate") or {}).get("checks", {}),
        },
        "model": {
            "manifest_sha256": info.get("manifest_sha256"),
            "poxscan_version": version,
            "created": info.get("created"),
            "families": info.get("families"),
            "calibration": info.get("calibration"),
            "threshold_rule": info.get("threshold_rule"),
        },
        "disclaimer": disclaimer,
    }
    if not refused:
        report["result"] = {
            "label": result.get("label"),
            "text": _LABELS.get(str(result.get("label")), str(result.get("label"))),
            "probability": result.get("probability"),
            "threshold": result.get("threshold"),
            "expected_at_threshold": {
                k: metrics[k]
                for k in ("sensitivity", "specificity", "roc_auc", "balanced_accuracy")
                if k in metrics
            },
            "evidence_by_kind": result.get("families", []),
            "top_features": result.get("top_features", []),
            "explanation_output": result.get("explanation_output"),
        }
    if square is not None:
        report["photo_png_base64"] = _b64(_png(square))
    if saliency is not None:
        report["explanation_map"] = saliency.to_dict()
        report["explanation_map_png_base64"] = _b64(saliency.png())
    return report


def _pct(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.1f} %"


def _metric(entry: Mapping[str, Any] | None) -> str:
    if not entry:
        return "not recorded"
    ci = entry.get("ci95") or [None, None]
    return f"{_pct(entry.get('value'))} (95 % CI {_pct(ci[0])} to {_pct(ci[1])})"


def render_report_html(report: Mapping[str, Any]) -> str:
    """The printable, self-contained HTML page of a report from :func:`build_report`."""
    e = html.escape
    gate = report["gate"]
    model = report["model"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>poxscan report · {e(str(report.get('file')))}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>poxscan screening report</h1>",
        f"<p class='meta'>Photo <strong>{e(str(report.get('file')))}</strong> · generated "
        f"{e(report['generated'])} · poxscan {e(str(model['poxscan_version']))}</p>",
    ]
    if report.get("screened"):
        res = report["result"]
        exp = res.get("expected_at_threshold", {})
        parts += [
            "<h2>Result</h2>",
            f"<p class='verdict {e(str(res['label']))}' id='report-label'>{e(res['text'])}</p>",
            "<table>",
            f"<tr><th>Probability of mpox (calibrated)</th><td id='report-probability'>"
            f"{_pct(res['probability'])}</td></tr>",
            f"<tr><th>Decision threshold</th><td>{_pct(res['threshold'])} "
            f"({e(str(model.get('threshold_rule') or ''))})</td></tr>",
            f"<tr><th>Expected sensitivity at this threshold</th><td>"
            f"{_metric(exp.get('sensitivity'))}</td></tr>",
            f"<tr><th>Expected specificity at this threshold</th><td>"
            f"{_metric(exp.get('specificity'))}</td></tr>",
            f"<tr><th>ROC AUC</th><td>{_metric(exp.get('roc_auc'))}</td></tr>",
            "</table>",
            "<p class='small'>Expected rates are out-of-fold estimates on the training photos "
            "(grouped cross-validation); on photos from other sources they may be lower.</p>",
        ]
    else:
        parts += [
            "<h2>Result</h2>",
            "<p class='verdict refused' id='report-label'>Not screened</p>",
            f"<p>{e(gate['message'])}</p><p>{e(gate['advice'])}</p>",
        ]
    verdict = "screenable" if gate["screenable"] else f"refused ({gate['code']})"
    checks = gate.get("checks") or {}
    dist = checks.get("distance")
    parts += [
        "<h2>Input gate</h2>",
        f"<p id='report-gate'>Verdict: <strong>{e(verdict)}</strong>."
        + (
            f" Distance to the training photos {dist:.4f} "
            f"(refused above {checks.get('distance_threshold', float('nan')):.4f})."
            if dist is not None
            else ""
        )
        + "</p>",
        "<h2>Pictures</h2><div class='pictures'>",
    ]
    if report.get("photo_png_base64"):
        parts.append(
            f"<figure><img alt='The photo as the model saw it' "
            f"src='data:image/png;base64,{report['photo_png_base64']}'>"
            "<figcaption>The photo as the model saw it (centre square).</figcaption></figure>"
        )
    if report.get("explanation_map_png_base64"):
        em = report["explanation_map"]
        parts.append(
            f"<figure><img alt='Explanation map' id='report-map' "
            f"src='data:image/png;base64,{report['explanation_map_png_base64']}'>"
            f"<figcaption>{e(em['caption'])} <span class='small'>Method: "
            f"{e(em['method'])}.</span></figcaption></figure>"
        )
    parts.append("</div>")
    if report.get("screened") and report["result"].get("evidence_by_kind"):
        from poxscan.pipelines.feature_names import lay_features, readable_feature

        res = report["result"]
        unit = e(str(res.get("explanation_output") or ""))
        parts += [
            f"<h2>Evidence by kind of feature</h2><p class='small'>SHAP contributions in "
            f"{unit}, positive towards mpox.</p><table>",
            *(
                f"<tr><td>{e(f['label'])}</td><td>{f['contribution']:+.3f}</td>"
                f"<td>{f['percent']:.0f} %</td><td>{e(f['direction'])}</td></tr>"
                for f in res["evidence_by_kind"]
            ),
            "</table>",
        ]
        lay = lay_features(res.get("top_features", []), 8)
        if lay:
            parts += [
                "<table><tr><th>feature</th><th>contribution</th><th>column</th></tr>",
                *(
                    f"<tr><td>{e(readable_feature(f['feature']))}</td>"
                    f"<td>{f['contribution']:+.3f}</td><td><code>{e(f['feature'])}</code></td></tr>"
                    for f in lay
                ),
                "</table>",
            ]
    parts += [
        "<h2>Model</h2><table>",
        f"<tr><th>Manifest sha256</th><td><code id='report-sha'>"
        f"{e(str(model['manifest_sha256']))}</code></td></tr>",
        f"<tr><th>Model trained</th><td>{e(str(model.get('created') or 'not recorded'))}</td></tr>",
        f"<tr><th>Feature families</th><td>{e(', '.join(model.get('families') or []))}</td></tr>",
        f"<tr><th>Calibration</th><td>{e(str(model.get('calibration')))}</td></tr>",
        "</table>",
        f"<p class='disclaimer'><strong>{e(report['disclaimer'])}</strong> This report was made "
        "by software from one photo; it is meant to help a clinician decide, not to replace an "
        "examination or a laboratory test.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(report: Mapping[str, Any], folder: str | PathLike, stem: str) -> tuple[Path, Path]:
    """Write ``<stem>.html`` and ``<stem>.json`` into ``folder``, each atomically."""
    from poxscan.core.atomic import atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    html_path, json_path = folder / f"{stem}.html", folder / f"{stem}.json"
    atomic_write_text(html_path, render_report_html(report))
    atomic_write_text(json_path, json.dumps(report, indent=2, default=float) + "\n")
    return html_path, json_path
