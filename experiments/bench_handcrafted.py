"""Handcrafted feature families before and after the speed-up, on all 409 shared images.

For each family (color, texture, hog) the extractor as committed at ``--before`` (read from git
history: ``git show REV:features/<family>.py``, loaded as a module) and the installed one are
run on every image of msld_v1 and ahsan2022, interleaved image by image (so that the load of
the shared machine hits both alike), with OpenCV and BLAS on one thread (``threadpoolctl``;
otherwise an OpenBLAS dot product of the old colour code spreads over threads whose spinning
is charged to whichever extractor runs next): milliseconds per image (CPU time of this process
and wall time), and how far the new values are from the old ones (max absolute difference per
family and per feature group, share of values that moved by more than 1e-6). Also the CPU
time of :func:`poxscan.core.imageio.to_square` alone at each family's size, the part of every
family (dominated by the phone photos of 0.4-16 MP): before and previous fit with it; after
fits with ``features._base.reduced_square``, also timed. The max absolute difference is also
given over the images whose square is to_square's own (shorter side under 4 x the square's):
there any difference comes from the computation, not from the square.

Writes ``experiments/results/bench_handcrafted.json`` and ``.md``; the load average is recorded
before and after.

``--previous`` (default ``21d90d4``, before the first speed-up round) is timed and compared
too: its values against the installed ones and whether its fingerprint is the same. It runs
in a loop of its own after the interleaved one (since round 4): interleaved, its 50 ms per
image (skimage's LBP) between two timed calls can evict their caches (the README gave texture
v3 6.4 ms interleaved with it and 4.9 alone, at load 0.6; not measured apart since).

Round 3 (``--before 1965379``): the LBP bits counted with 8-bit OpenCV arithmetic (same bits),
and every family fits a large photo with ``features._base.reduced_square`` (2 x 2-mean
halvings, then an area resize) instead of to_square: new versions (colour 2, texture 3, HOG 2),
their values moved only for the photos of at least 4 x the square's side. The fitting column
times to_square and reduced_square, the square each family now uses.

Round 4 (``--before f7261ed``, main before it): texture only, the same version 3: the LBP
calls grouped by line and sharing one workspace per image, the bits counted in numpy passes
over all neighbours (``features/lbp.py``); the co-occurrence rows, the Haralick moments from
the marginals and the entropy from the integer counts. Colour and HOG are main's code (their
before and after are the same code, timed twice).

Usage: ``python experiments/bench_handcrafted.py [--before f7261ed] [--previous 21d90d4]
[--data-root DIR]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from poxscan.core.atomic import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
FAMILIES = {"color": "ColorFeatures", "texture": "TextureFeatures", "hog": "HOGFeatures"}
#: main before the fourth round (texture v3: per-neighbour LBP counting, skimage-shaped GLCM).
DEFAULT_BEFORE = "f7261ed"
#: The commit before the first speed-up (skimage LBP, colour statistics on the pixels).
DEFAULT_PREVIOUS = "21d90d4"


def _load_old(rev: str, family: str, folder: Path):
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{rev}:features/{family}.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = folder / f"before_{family}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"before_{family}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = getattr(module, FAMILIES[family])
    # The fingerprint names the class by its import path: give the old one its real path, so
    # that "same fingerprint" compares versions and parameters, not where this copy lives.
    cls.__module__ = f"poxscan.features.{family}"
    return cls


def _group(name: str) -> str:
    """Feature group: the name without trailing bin / distance / statistic indices."""
    name = name.split("__", 1)[1]
    name = re.sub(r"_(hist|bin)\d+$", "_\\1", name)
    return re.sub(r"block\d+_\d+_cell\d+_\d+_ori\d+", "hog", name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git revision of 'before'")
    parser.add_argument(
        "--previous", default=DEFAULT_PREVIOUS, help="git revision timed in between ('' for none)"
    )
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args(argv)

    import cv2
    from threadpoolctl import threadpool_limits

    from poxscan.core.data import load_records
    from poxscan.core.imageio import load_image, to_square
    from poxscan.features import make_extractor
    from poxscan.features._base import reduced_square

    cv2.setNumThreads(1)
    threadpool_limits(1)
    load_start = os.getloadavg()
    records = load_records(["msld_v1", "ahsan2022"], root=args.data_root)
    images = [load_image(p) for p in records["path"]]
    out: dict = {
        "n_images": len(images),
        "before": args.before,
        "previous": args.previous or None,
        "after": subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "families": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for family in FAMILIES:
            old = _load_old(args.before, family, Path(tmp))().fit(images[:1])
            new = make_extractor(family).fit(images[:1])
            # "alone": the new extractor once more, in a loop of its own (as a deployed process
            # runs one extractor), so no other code shares its caches.
            extractors = {"before": old, "after": new, "alone": new}
            if args.previous:
                folder = Path(tmp) / "previous"
                folder.mkdir(exist_ok=True)
                extractors["previous"] = _load_old(args.previous, family, folder)().fit(images[:1])
            names = [str(n) for n in new.get_feature_names_out()]
            for ext in extractors.values():
                assert names == [str(n) for n in ext.get_feature_names_out()]
                ext.transform(images[:2])  # warm-up (lazy tables)
            cpu = dict.fromkeys(extractors, 0.0)
            wall = dict.fromkeys(extractors, 0.0)
            rows: dict[str, list] = {k: [] for k in extractors}
            load0 = os.getloadavg()
            # Before and after interleaved; previous (10x slower) in a loop of its own.
            for group in (("before", "after"), ("previous",), ("alone",)):
                for image in images:
                    for label in group:
                        if label not in extractors:
                            continue
                        c0, w0 = time.process_time(), time.perf_counter()
                        rows[label].append(extractors[label].transform([image])[0])
                        cpu[label] += time.process_time() - c0
                        wall[label] += time.perf_counter() - w0
            size = int(new.get_params()["image_size"])
            fit_cpu = {}
            for label, fit in (("to_square", to_square), ("reduced_square", reduced_square)):
                c0 = time.process_time()
                for image in images:
                    fit(image, size)
                fit_cpu[label] = time.process_time() - c0
            load1 = os.getloadavg()
            a, b = np.stack(rows["after"]), np.stack(rows["before"])
            diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
            same_square = np.array([min(im.shape[:2]) < 4 * size for im in images])
            groups: dict[str, float] = {}
            for j, name in enumerate(names):
                g = _group(name)
                groups[g] = max(groups.get(g, 0.0), float(diff[:, j].max()))
            n = len(images)
            if args.previous:
                prev = np.stack(rows["previous"]).astype(np.float64)
                out["families"].setdefault(family, {}).update(
                    {
                        "max_abs_diff_vs_previous": float(np.abs(a - prev).max()),
                        "same_fingerprint_as_previous": (
                            extractors["previous"].fingerprint() == new.fingerprint()
                        ),
                    }
                )
            out["families"].setdefault(family, {}).update(
                {
                    "n_features": len(names),
                    "ms_per_image_cpu": {k: 1e3 * v / n for k, v in cpu.items()},
                    "ms_per_image_wall": {k: 1e3 * v / n for k, v in wall.items()},
                    "speedup_cpu": cpu["before"] / cpu["after"],
                    "image_size": size,
                    "ms_per_image_cpu_fit": {k: 1e3 * v / n for k, v in fit_cpu.items()},
                    "max_abs_diff": float(diff.max()),
                    "n_same_square": int(same_square.sum()),
                    "max_abs_diff_same_square": float(diff[same_square].max()),
                    "share_moved_1e-6": float(np.mean(diff > 1e-6)),
                    "max_abs_diff_by_group": {g: v for g, v in groups.items() if v > 0},
                    "fingerprint_before": old.fingerprint(),
                    "fingerprint_after": new.fingerprint(),
                    "load_before": load0,
                    "load_after": load1,
                }
            )
            print(family, json.dumps(out["families"][family]["ms_per_image_cpu"]), flush=True)
    out["load_start"], out["load_end"] = load_start, os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "bench_handcrafted.json", json.dumps(out, indent=2) + "\n")
    lines = [
        "# Handcrafted features before and after the speed-up",
        "",
        f"All {out['n_images']} shared images (msld_v1 + ahsan2022); before = `{args.before}`, "
        f"after = `{out['after']}`; OpenCV and BLAS on one thread; before and after "
        "interleaved image by image, previous in a loop of its own, and after once more alone "
        "(its own loop over the images, as a deployed process runs it). "
        "Load average "
        f"(1, 5, 15 min) {' '.join(f'{x:.2f}' for x in load_start)} at the start, "
        f"{' '.join(f'{x:.2f}' for x in out['load_end'])} at the end: on a 2-core machine "
        "with a load above 2 the wall times are inflated; CPU time is less so.",
        "",
        "Regenerate: `python experiments/bench_handcrafted.py`.",
        "",
        "| family | features | ms/image CPU before | after | after, alone | speed-up "
        "| ms/image wall before "
        "| after | fitting the square, CPU: to_square / reduced_square | max abs diff "
        "| max abs diff, same square (images) | values moved > 1e-6 "
        "| same fingerprint |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for family, r in out["families"].items():
        lines.append(
            f"| {family} | {r['n_features']} | {r['ms_per_image_cpu']['before']:.1f} | "
            f"{r['ms_per_image_cpu']['after']:.1f} | {r['ms_per_image_cpu']['alone']:.1f} | "
            f"{r['speedup_cpu']:.1f}x | "
            f"{r['ms_per_image_wall']['before']:.1f} | {r['ms_per_image_wall']['after']:.1f} | "
            f"{r['ms_per_image_cpu_fit']['to_square']:.1f} / "
            f"{r['ms_per_image_cpu_fit']['reduced_square']:.1f} ({r['image_size']} px) | "
            f"{r['max_abs_diff']:.2g} | {r['max_abs_diff_same_square']:.2g} "
            f"({r['n_same_square']}) | {100 * r['share_moved_1e-6']:.3f} % | "
            f"{r['fingerprint_before'] == r['fingerprint_after']} |"
        )
    if args.previous:
        lines += [
            "",
            f"Against `{args.previous}` (previous = before the first round), same images, "
            "same run:",
            "",
            "| family | ms/image CPU previous | after | ms/image wall previous | after "
            "| max abs diff | same fingerprint |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for family, r in out["families"].items():
            lines.append(
                f"| {family} | {r['ms_per_image_cpu']['previous']:.1f} | "
                f"{r['ms_per_image_cpu']['after']:.1f} | "
                f"{r['ms_per_image_wall']['previous']:.1f} | "
                f"{r['ms_per_image_wall']['after']:.1f} | "
                f"{r['max_abs_diff_vs_previous']:.2g} | {r['same_fingerprint_as_previous']} |"
            )
    lines += ["", "Largest differences from before by feature group:", ""]
    for family, r in out["families"].items():
        top = sorted(r["max_abs_diff_by_group"].items(), key=lambda kv: -kv[1])[:6]
        text = ", ".join(f"`{g}` {v:.2g}" for g, v in top) or "none (identical)"
        lines.append(f"- {family}: {text}")
    atomic_write_text(RESULTS / "bench_handcrafted.md", "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
