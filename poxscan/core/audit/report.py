"""Leakage audit: report."""

from __future__ import annotations

import io
import itertools
import json
import math
from dataclasses import asdict
from os import PathLike
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from poxscan.core.atomic import atomic_write_bytes, atomic_write_text
from poxscan.core.audit.params import DEFAULT_OUT, AuditParams, AuditResult
from poxscan.core.imageio import load_image

# --------------------------------------------------------------------------- outputs


def _thumb(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    f = size / max(h, w)
    small = cv2.resize(
        image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA
    )
    canvas = np.full((size, size, 3), 255, np.uint8)
    top, left = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return canvas


def _short(image_id: str, width: int = 34) -> str:
    dataset, rel = image_id.split("/", 1)
    prefix = {"msld_v1": "M", "ahsan2022": "A"}.get(dataset, dataset[:4])
    text = f"{prefix}: {rel}"
    return text if len(text) <= width else text[: width - 7] + "~" + text[-6:]


def _priority(links: pd.DataFrame) -> pd.Series:
    """Order of the contact sheet: what most needs a person's eye first."""
    rank = pd.Series(4, index=links.index)
    rank[~links["same_patient"]] = 3
    rank[links["scope"] == "across"] = 2
    rank[links["naming_conflict"]] = 1
    rank[links["binary_conflict"]] = 0
    return rank


def render_contact_sheet(
    links: pd.DataFrame,
    paths: dict[str, str],
    path: str | PathLike,
    *,
    thumb: int = 128,
    columns: int = 4,
    max_bytes: int = 2_000_000,
    title: str = "",
    images: dict[str, np.ndarray] | None = None,
) -> int:
    """Draw linked pairs side by side with ids, labels and match figures; write a PNG.

    Pairs with a binary label conflict come first, then other label conflicts, then pairs
    across sets, then pairs of different patients of one set, then same-patient pairs. The PNG
    is written atomically with a 256-colour palette; if it is larger than ``max_bytes``, the
    last pairs are left out (the title says how many are drawn).

    Parameters
    ----------
    links : DataFrame
        Rows of :attr:`AuditResult.links` to draw.
    paths : dict
        Image id -> file path.
    path : path-like
        Where to write the PNG.
    thumb : int
        Thumbnail side in pixels.
    columns : int
        Pairs per row.
    max_bytes : int
        Largest file to write.
    title : str
        Heading drawn at the top.
    images : dict, optional
        Image id -> already loaded RGB image or thumbnail; filled with the thumbnails drawn,
        so a second sheet does not read files again.

    Returns
    -------
    int
        Number of pairs drawn.
    """
    from PIL import Image

    order = links.assign(_rank=_priority(links)).sort_values(["_rank", "id_a", "id_b"])
    cache = images if images is not None else {}
    for image_id in pd.unique(order[["id_a", "id_b"]].to_numpy().ravel()):
        tile = cache.get(image_id)
        if tile is None:
            tile = load_image(paths[image_id], name=image_id)
        if tile.shape[:2] != (thumb, thumb):
            tile = _thumb(tile, thumb)
        cache[image_id] = tile
    count = len(order)
    while True:
        sheet = _draw_sheet(order.head(count), len(order), cache, thumb, columns, title)
        buffer = io.BytesIO()
        sheet.quantize(256, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
        size = buffer.tell()
        if size <= max_bytes or count <= 1:
            break
        # Too big: draw fewer pairs, the least urgent ones left out.
        count = max(1, int(count * min(0.9, 0.97 * max_bytes / size)))
    atomic_write_bytes(path, buffer.getvalue())
    return count


def _draw_sheet(
    order: pd.DataFrame,
    total: int,
    tiles: dict[str, np.ndarray],
    thumb: int,
    columns: int,
    title: str,
) -> Any:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=10)
    head = ImageFont.load_default(size=13)
    gap, line_h, n_lines, title_h = 6, 12, 3, 24
    cell_w, cell_h = 2 * thumb + gap, thumb + 4 + n_lines * line_h
    rows = max(1, math.ceil(len(order) / columns))
    sheet = Image.new(
        "RGB", (columns * (cell_w + gap) + gap, title_h + rows * (cell_h + gap) + gap), "white"
    )
    draw = ImageDraw.Draw(sheet)
    heading = title or "near-duplicate links"
    heading += f": {len(order)} of {total} pairs"
    heading += "  (red: mpox vs not; orange: other label conflict; blue: across sets)"
    draw.text((gap, 5), heading, fill="black", font=head)
    kinds = {"duplicate": "dup", "same_scene": "scene", "exact": "exact"}
    for n, row in enumerate(order.itertuples(index=False)):
        x0 = gap + (n % columns) * (cell_w + gap)
        y0 = title_h + gap + (n // columns) * (cell_h + gap)
        for k, image_id in enumerate((row.id_a, row.id_b)):
            sheet.paste(Image.fromarray(tiles[image_id]), (x0 + k * (thumb + gap), y0))
        if row.binary_conflict:
            colour = (200, 0, 0)
        elif row.naming_conflict:
            colour = (200, 110, 0)
        elif row.scope == "across":
            colour = (0, 70, 170)
        else:
            colour = (0, 0, 0)
        lines = [
            f"{_short(row.id_a, 24)} ({row.label_a})",
            f"{_short(row.id_b, 24)} ({row.label_b})",
            f"{kinds.get(row.kind, row.kind)} inl {row.inliers} ncc {row.ncc:.2f} "
            f"s {row.scale:.2f}" + (" mirror" if row.mirrored else ""),
        ]
        for k, line in enumerate(lines):
            draw.text((x0, y0 + thumb + 3 + line_h * k), line, fill=colour, font=font)
    return sheet


def _markdown(result: AuditResult, sheets: dict[str, int]) -> str:
    s, p, hc = result.summary, result.params, result.hash_comparison
    stages = ", ".join(f"{k.removesuffix('_s')} {v:.0f} s" for k, v in result.timings.items())
    lines = [
        "# Leakage audit",
        "",
        "Written by `poxscan data audit`. Near-duplicates found by SIFT (RootSIFT, with mirror "
        "images), RANSAC-verified similarity (or mildly stretched affine) maps and a pixel "
        "comparison after mapping, merged with patient ids into `groups.csv`, which every "
        "split reads through `poxscan.core.data.load_groups`.",
        "",
        f"Runtime: {sum(result.timings.values()):.0f} s on one core ({stages}).",
        "",
        "## Figures",
        "",
        "| figure | value |",
        "|---|---|",
        f"| images | {s['n_images']} ({s['n_failed']} unreadable) |",
        f"| patient ids (before linking) | {s['n_patients']} |",
        f"| groups | {s['n_groups']} |",
        f"| largest group | {s['largest_group']} images |",
        f"| images alone in their group | {s['groups_of_size_1']} |",
        f"| near-duplicate links | {s['n_links']} |",
    ]
    for name, count in s["links_within"].items():
        lines.append(f"| links within {name} | {count} |")
    lines += [
        f"| links across sets | {s['links_across']} |",
        "| links within a set between different patient ids (each ahsan2022 image is its own"
        f" id) | {s['links_cross_patient']} |",
        f"| mirrored links | {s['links_mirrored']} |",
        f"| links with a binary label conflict (mpox vs not) | {s['binary_conflicts']} |",
        f"| links with different multi-class labels | {s['label_conflicts']} |",
        f"| ... of which not explained by MSLD's mixed 'other' class | {s['naming_conflicts']} |",
        f"| groups holding both mpox and non-mpox images | {s['groups_with_binary_conflict']} |",
        f"| images in a group spanning both sets | {s['images_in_cross_set_groups']} |",
        f"| pixel-identical pairs | {s['exact_duplicate_pairs']} |",
        f"| byte-identical files | {s['file_duplicate_pairs']} |",
        "",
        "## What hashes would have found",
        "",
        f"Of the audit's {hc['audit_links']} links "
        f"({hc['audit_links_between_different_patients_or_sets']} between different patients "
        "or across sets):",
        "",
        "| method | pairs flagged | of the audit's links | of those across patients/sets "
        "| flagged, not an audit link |",
        "|---|---|---|---|---|",
    ]
    for key in ("file", "pixels", "dhash", "dhash_mirror"):
        h = hc[key]
        lines.append(
            f"| {h['method']} | {h['pairs']} | {h['of_audit_links']} | "
            f"{h['of_audit_links_between_different_patients_or_sets']} | "
            f"{len(h['not_in_audit_links'])} |"
        )
    dh = hc["dhash"]
    lines += [
        "",
        f"dHash threshold: Hamming distance <= {p.dhash_max_distance} of 64 bits, computed "
        "on the grey working image (9 x 8 thumbnail, as the `imagehash` package does).",
        "",
        "The datasets' README says exact or perceptual hashes miss most shared photos. On "
        f"this run exact hashes find {hc['pixels']['of_audit_links']} of the "
        f"{hc['audit_links_between_different_patients_or_sets']} links between different "
        f"patients or sets, and dHash finds "
        f"{dh['of_audit_links_between_different_patients_or_sets']} while flagging "
        f"{len(dh['not_in_audit_links'])} pairs that the audit does not link (the pairs are "
        "listed in `audit.json`; smooth skin photos share coarse gradients, so their hashes "
        "collide).",
        "",
        "## Parameters",
        "",
        "```json",
        json.dumps(asdict(p), indent=2),
        "```",
        "",
    ]
    lines += _calibration_markdown(result)
    if result.notes:
        lines += ["## Notes", "", *result.notes, ""]
    lines += [
        "## Files",
        "",
        "- `groups.csv`: id, dataset, patient, group (one row per image).",
        "- `links.csv`: one row per linked pair; `scale` maps id_a's pixels onto id_b's.",
        f"- `candidates.csv`: verified candidate pairs with >= {p.min_inliers} inliers, linked "
        "or not, with their scores (fewer inliers: chance matches, counted in `audit.json`).",
        "- `audit.json`: these figures, parameters, timings, data checksums.",
    ]
    for name, count in sheets.items():
        lines.append(f"- `{name}`: {count} linked pairs drawn for a person to check.")
    if result.failed:
        lines += ["", "## Unreadable images", ""]
        lines += [f"- {k}: {v}" for k, v in sorted(result.failed.items())]
    return "\n".join(lines) + "\n"


def _calibration_markdown(result: AuditResult) -> list[str]:
    """How the bars were set, with this run's score distribution."""
    p = result.params
    dist = _score_distribution(result.candidates, p)
    lines = [
        "## How the thresholds were chosen",
        "",
        "Verified candidate pairs by RANSAC inliers (rows) and pixel agreement after mapping "
        "one image onto the other (NCC of grey levels over the overlap; columns):",
        "",
        "| inliers \\ NCC | " + " | ".join(dist["ncc_bins"]) + " |",
        "|---|" + "---|" * len(dist["ncc_bins"]),
    ]
    for label, row in zip(dist["inlier_bins"], dist["counts"], strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    lines += [
        "",
        "The bars were set on msld_v1 + ahsan2022 by drawing every candidate pair with 5 to 40 "
        "inliers, and every pair with NCC between 0.6 and 0.97, with its inlier matches, and "
        "looking at them:",
        "",
        "- Inlier counts alone do not separate copies from different lesions. Real copies "
        "across the sets often have only 5-15 inliers: ahsan2022's web thumbnails are 3-6 "
        "times smaller than MSLD's crops of the same photo, so the shared region holds few "
        "keypoints. Wrong matches reach 5-20 inliers too: a shared stock-photo watermark, the "
        "same teal background behind different people's hands (ahsan2022 Normal), repeated "
        "lesion patterns.",
        "- Pixel agreement does separate them: once mapped, copies agree at NCC >= 0.9 (almost "
        "all >= 0.97) whatever their inlier count, while the wrong matches seen stay below "
        "0.86 (a gap in the table above; random mappings of smooth skin reach 0.86 with 2-4 "
        f"inliers). Duplicate bar: NCC >= {p.min_ncc} with >= {p.min_inliers} inliers and "
        f">= {p.min_overlap:.0%} overlap. In this run the highest NCC of a pair left unlinked "
        f"with >= {p.min_inliers} inliers is {dist['highest_ncc_unlinked']}, and the lowest "
        f"NCC of a duplicate link is {dist['lowest_ncc_of_duplicates']} "
        f"({dist['lowest_ncc_duplicate_pair']}).",
        "- Some pairs with many consistent inliers do not agree pixel for pixel: copies with "
        "an inset pasted at another place (ahsan2022 Monkeypox 15/27/35), a black bar over "
        "the eyes (CDC), and a second photo of the same hand, foot, back or shirt taken "
        "moments later. They are the same patient or the same photo, so they are linked as "
        f"`same_scene`: >= {p.scene_min_inliers} inliers making up >= "
        f"{p.scene_min_inlier_ratio:.0%} of the ratio-test matches, spread over >= "
        f"{p.scene_min_coverage:.0%} of an image. The strongest wrong pair seen (a child's "
        "and an adult's hand on the same background) had 18 inliers.",
        "- MSLD squeezed its crops into 224 x 224 squares: a similarity transform fits them "
        "only in part (MSLD M09 against ahsan2022 Monkeypox 43, stretched 1.3 times), so a "
        f"full affine map is accepted when it stretches one axis at most {p.max_anisotropy} "
        "times and explains clearly more matches.",
        "- Same-patient photos in MSLD are linked where they overlap; they share a group anyway.",
        "- A second candidate source was tried: each image's 5 nearest neighbours (mirror "
        "images included) in a deep (EfficientNet-Lite0) or a colour embedding. Of the 864 "
        "(deep) and 1050 (colour) pairs it proposed beyond the SIFT vote, none passed "
        "verification, and the embeddings alone would have proposed only 147 and 124 of the "
        "188 links; so it is off by default (`--embedding` turns it on).",
        "",
        "Recall: `experiments/audit_recall.py` verifies every pair of images with the same "
        "verifier and adds randomly edited copies of real images; see `recall.md`.",
        "",
    ]
    return lines


def write_audit(
    result: AuditResult,
    out: str | PathLike = DEFAULT_OUT,
    paths: dict[str, str] | None = None,
    *,
    sheets: bool = True,
) -> dict[str, Path]:
    """Write ``groups.csv``, ``links.csv``, ``candidates.csv``, ``audit.json``, ``summary.md``
    and the contact sheets, each atomically.

    Parameters
    ----------
    result : AuditResult
    out : path-like
        Output folder (default ``experiments/results/audit``).
    paths : dict, optional
        Image id -> file path, needed to draw the contact sheets.
    sheets : bool
        Draw the contact sheets.

    Returns
    -------
    dict
        Name -> path of every file written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    def csv(name: str, frame: pd.DataFrame) -> None:
        atomic_write_text(out / name, frame.to_csv(index=False, float_format="%.4g"))
        written[name] = out / name

    csv("groups.csv", result.images[["id", "dataset", "patient", "group"]])
    csv("links.csv", result.links)
    # Pairs with fewer inliers are chance matches; audit.json counts them all.
    cand = result.candidates
    shown = cand[(cand["inliers"] >= result.params.min_inliers) | cand["linked"]]
    csv("candidates.csv", shown.drop(columns=["a", "b"]))
    drawn: dict[str, int] = {}
    if sheets and paths is not None and len(result.links):
        thumbs: dict[str, np.ndarray] = {}
        drawn["contact_sheet.png"] = render_contact_sheet(
            result.links, paths, out / "contact_sheet.png", images=thumbs,
            title="near-duplicate links, label conflicts and cross-set links first",
        )  # fmt: skip
        across = result.links[result.links["scope"] == "across"]
        if len(across):
            drawn["contact_sheet_across.png"] = render_contact_sheet(
                across, paths, out / "contact_sheet_across.png", images=thumbs,
                title="near-duplicate links across msld_v1 and ahsan2022",
            )  # fmt: skip
        written.update({name: out / name for name in drawn})
    payload = {
        "summary": result.summary,
        "hash_comparison": result.hash_comparison,
        "params": asdict(result.params),
        "score_distribution": _score_distribution(result.candidates, result.params),
        "data": result.manifest,
        "failed": result.failed,
        "timings_s": result.timings,
        "notes": result.notes,
    }
    atomic_write_text(out / "audit.json", json.dumps(payload, indent=2, sort_keys=False) + "\n")
    written["audit.json"] = out / "audit.json"
    atomic_write_text(out / "summary.md", _markdown(result, drawn))
    written["summary.md"] = out / "summary.md"
    return written


def _score_distribution(cand: pd.DataFrame, params: AuditParams) -> dict[str, Any]:
    """Verified candidates by RANSAC inliers and pixel agreement (NCC): what set the bars."""
    inlier_edges = [0, 5, 10, 20, 40, 100, 10**9]
    ncc_edges = [-1.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.01]
    verified = cand[cand["source"] != "hash"]
    table, _, _ = np.histogram2d(
        verified["inliers"], verified["ncc"], bins=[inlier_edges, ncc_edges]
    )
    enough = verified[verified["inliers"] >= params.min_inliers]
    unlinked = enough[~enough["linked"]]["ncc"]
    dups = verified[verified["kind"] == "duplicate"]
    dup = dups["ncc"]
    weakest = dups.loc[dup.idxmin()] if len(dups) else None
    return {
        "candidates_verified": len(verified),
        "inlier_bins": [
            f"{lo}+" if hi > 10**6 else f"{lo}-{hi - 1}"
            for lo, hi in itertools.pairwise(inlier_edges)
        ],
        "ncc_bins": [
            f"< {hi:g}" if lo < 0 else (f">= {lo:g}" if hi > 1 else f"{lo:g}-{hi:g}")
            for lo, hi in itertools.pairwise(ncc_edges)
        ],
        "counts": table.astype(int).tolist(),
        "links_by_kind": {str(k): int(v) for k, v in cand["kind"].value_counts().items() if k},
        "highest_ncc_unlinked": round(float(unlinked.max()), 3) if len(unlinked) else None,
        "lowest_ncc_of_duplicates": round(float(dup.min()), 3) if len(dup) else None,
        "lowest_ncc_duplicate_pair": (
            f"{weakest['id_a']} ~ {weakest['id_b']}" if weakest is not None else None
        ),
    }
