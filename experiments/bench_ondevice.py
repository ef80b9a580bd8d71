"""The on-device page in headless Chromium: time per photo, and agreement with the server.

Trains (if absent) ``models/bench-lite-deep``: a deep-only lite model (``poxscan train
--runtime litert-int8 --family deep``, reference pipeline) on msld_v1; serves it with ``poxscan
serve``; opens ``/ondevice/`` in headless Chromium (Debian's chromium + chromedriver, through
selenium) and screens ``--n`` photos one after another through the file input. Per photo: the
page's own timing (decode + to_square + LiteRT.js int8 backbone + head, ``performance.now()``)
and the backbone alone, and the absolute difference between the page's probability and the
server's (``/api/predict``, LiteRT in Python, same model). Also the page's first load (model and
runtime download + compile) and the number of requests made while screening (0 expected).

Writes ``experiments/results/bench_ondevice.json`` and ``.md`` with the load average.

Usage: ``python experiments/bench_ondevice.py [--n 30]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from poxscan.core.atomic import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
MODEL = REPO / "models" / "bench-lite-deep"


def _api(url: str, path: str) -> float:
    from poxscan.web.launch import multipart_photo

    body, content_type = multipart_photo(Path(path).read_bytes(), "p.jpg")
    req = urllib.request.Request(
        url + "api/predict", data=body, headers={"Content-Type": content_type}
    )
    return float(json.load(urllib.request.urlopen(req, timeout=120))["probability"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    args = parser.parse_args(argv)
    from selenium.webdriver.common.by import By

    from poxscan.core.data import load_records
    from poxscan.core.headless_chromium import start_chromium
    from poxscan.core.latency import latency_stats
    from poxscan.web.launch import start_serve

    if not MODEL.is_dir():
        subprocess.run(
            [sys.executable, "-m", "poxscan", "train", "--dataset", "msld_v1", "--family",
             "deep", "--selector", "anova", "--k", "256", "--classifier", "logreg", "--param",
             "C=0.01", "--runtime", "litert-int8", "--out", str(MODEL), "--no-progress"],
            check=True,
        )  # fmt: skip
    records = load_records("msld_v1")
    step = max(1, len(records) // args.n)
    photos = [str(p) for p in records["path"]][::step][: args.n]
    load0 = os.getloadavg()
    served = start_serve(MODEL)
    url = served.url
    try:
        server_p = [_api(url, p) for p in photos]
        profile = tempfile.mkdtemp(prefix="poxscan-bench-")
        driver = start_chromium(profile, logs=("performance",), page_load_timeout=120)
        t0 = time.perf_counter()
        driver.get(url + "ondevice/")
        while not (driver.execute_script("return window.poxscan") or {}).get("ready"):
            time.sleep(0.1)
        first_load = time.perf_counter() - t0
        driver.get_log("performance")
        rows = []
        for photo, want in zip(photos, server_p, strict=True):
            driver.find_element(By.ID, "photo").send_keys(photo)
            while len(driver.execute_script("return window.poxscan.results")) <= len(rows):
                time.sleep(0.02)
            got = driver.execute_script("return window.poxscan.results")[-1]
            rows.append({**got, "server_probability": want,
                         "abs_diff": abs(got["probability"] - want)})  # fmt: skip
        requests = [
            e for e in driver.get_log("performance")
            if json.loads(e["message"])["message"].get("method") == "Network.requestWillBeSent"
        ]  # fmt: skip
        version = driver.capabilities.get("browserVersion")
        driver.quit()
    finally:
        served.stop()
    load1 = os.getloadavg()
    elapsed = [r["elapsed_ms"] for r in rows]
    backbone = [r["backbone_ms"] for r in rows]
    diffs = [r["abs_diff"] for r in rows]
    out = {
        "n_photos": len(rows),
        "chromium": version,
        "first_load_s": first_load,
        "ms_per_photo": {**latency_stats(elapsed), "first_ms": elapsed[0]},
        "backbone_ms": latency_stats(backbone),
        "abs_diff_vs_server": {"max": max(diffs), "mean": statistics.fmean(diffs)},
        "decisions_equal": statistics.fmean(
            float((r["probability"] >= t) == (r["server_probability"] >= t))
            for r in rows
            for t in [r["threshold"]]
        ),
        "requests_while_screening": len(requests),
        "load_before": load0,
        "load_after": load1,
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "bench_ondevice.json", json.dumps(out, indent=2) + "\n")
    lines = [
        "# On-device page in headless Chromium",
        "",
        f"Regenerate: `python experiments/bench_ondevice.py --n {args.n}`. Model "
        "`models/bench-lite-deep` (deep-only lite model, int8 EfficientNet-Lite0 through "
        f"LiteRT.js WebAssembly, CPU); Chromium {version}, headless, no GPU. Load average "
        f"{' '.join(f'{x:.2f}' for x in load0)} before, {' '.join(f'{x:.2f}' for x in load1)} "
        "after (2 shared cores: inflated above 2).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| photos screened | {len(rows)} |",
        f"| first load (download + compile runtime and model) | {first_load:.1f} s |",
        f"| ms per photo, median [min, max] (decode, resize, backbone, head) | "
        f"{out['ms_per_photo']['median_ms']:.0f} [{min(elapsed):.0f}, {max(elapsed):.0f}] |",
        f"| backbone alone, median | {out['backbone_ms']['median_ms']:.0f} ms |",
        f"| abs difference from the server's probability, max / mean | "
        f"{max(diffs):.2g} / {out['abs_diff_vs_server']['mean']:.2g} |",
        f"| decisions equal to the server's | {100 * out['decisions_equal']:.1f} % |",
        f"| network requests while screening | {len(requests)} |",
    ]
    atomic_write_text(RESULTS / "bench_ondevice.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
