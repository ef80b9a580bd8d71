"""Load test of ``poxscan serve``: concurrent clients posting real photos to ``/api/predict``.

For each model, the script starts the real server (``python -m poxscan serve``, waitress, 4
threads) in a subprocess on 127.0.0.1 (a free port; nothing else is contacted) and drives it
with concurrent clients, one thread each with its own keep-alive ``http.client`` connection,
until a fixed number of requests has been answered:

- **msld**: MSLD v1 photos (224x224 JPEG, a seeded sample cycled), the main figure (also
  with a single client, for the latency of a request alone);
- **phone**: the large ahsan2022 Normal phone photos (up to 4872 px, 0.5-2 MB), where upload,
  decoding and resizing weigh more.

Reported per run: requests per second (answered requests / wall time of the run), latency
percentiles (p50/p95/p99, from sending the request to reading the whole answer, as a client
sees it, queueing in the server included), failed requests (anything but a 200 JSON answer with
a label; must be 0), the server's start-up time (spawn to first healthy ``/api/health``) and its
peak resident memory (``VmHWM``). A few warm-up requests are not counted.

Models are trained first with ``poxscan train`` on MSLD v1 (cached features):

- **handcrafted**: colour + texture + HOG (as in ``bench_predict.py``), ANOVA top-200,
  logistic regression (no TensorFlow);
- **deep+handcrafted**: the same plus frozen EfficientNet-Lite0 embeddings (``--skip-deep``
  leaves it out).
- **lite-default** (``--models lite-default``): the shipped default config (deep-only
  EfficientNet-Lite2 + shrinkage LDA) trained with ``--runtime litert-int8``; its directory
  carries an affine head, so each server worker predicts without scikit-learn (the int8
  backbone, the head's numbers, the int8 gate). E.g. ``--models lite-default --configs 2x8``.
- **shipped** (``--models shipped``): what the README's first command trains and serves
  (``poxscan train`` with no config and no ``--dataset``: the shipped screening model on every
  dataset pooled, float Keras Lite2 on the canonical pose, its gate on the same embedding).

Where the input gate is installed (``poxscan train --gate``, :mod:`poxscan.pipelines.gate`), the
deep models are trained with ``--gate embedding`` and the handcrafted one with ``--gate pixels``
(pixel checks only: no TensorFlow in its server): the front door runs on every request, and a
photo it refuses is counted as a refusal (a 422 with a reason), not as a failure. The default
explanation (top-8 SHAP) is in every answer.

**Big uploads**: finally ``--big-clients`` (8) clients send one 40-megapixel JPEG each, all at
once (a real phone photo upscaled to just under the server's 40 MP limit), and the server's peak
resident memory before and after is recorded: what 8 users uploading full-size photos together
cost the server.

Writes ``experiments/results/bench_web.json`` and ``.md``. The machine (2 cores) is shared with
other jobs: the load average is recorded next to the figures.

Usage: ``python experiments/bench_web.py [--requests 200] [--clients 8] [--skip-deep]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from bench_web_breakdown import breakdown, breakdown_markdown

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
SEED = 0
HOST = "127.0.0.1"
HANDCRAFTED = ["color", "texture", "hog"]


# -- server ----------------------------------------------------------------------------------
class Server:
    """``poxscan serve`` in a subprocess on 127.0.0.1."""

    def __init__(
        self,
        model_dir: Path,
        threads: int,
        max_upload_mb: float = 10,
        workers: int = 1,
        batch_max: int = 8,
    ) -> None:
        self.model_dir = model_dir
        self.threads = threads
        self.max_upload_mb = max_upload_mb
        self.workers = workers
        self.batch_max = batch_max
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.startup_s = float("nan")
        self.log: list[str] = []

    def __enter__(self) -> Server:
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "poxscan",
                "serve",
                "--model",
                str(self.model_dir),
                "--host",
                HOST,
                "--port",
                "0",
                "--threads",
                str(self.threads),
                "--max-upload-mb",
                str(self.max_upload_mb),
                "--workers",
                str(self.workers),
                "--batch-max",
                str(self.batch_max),
                "--no-lime",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)
            if m := re.search(rf"serving on http://{re.escape(HOST)}:(\d+)/", line):
                self.port = int(m.group(1))
                break
        if not self.port:
            raise RuntimeError("poxscan serve did not start:\n" + "".join(self.log[-30:]))
        # Drain the server's output so it never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        status, body = self.request("GET", "/api/health")
        if status != 200 or json.loads(body)["status"] != "ok":
            raise RuntimeError(f"server unhealthy: {status} {body[:200]!r}")
        self.startup_s = time.perf_counter() - start
        self.health = json.loads(body)
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=300)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def pids(self) -> list[int]:
        """The server process and its worker processes (``--workers``)."""
        assert self.proc is not None
        pids = [self.proc.pid]
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*"):
            try:
                pids += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                pass
        return pids

    def peak_rss_mib(self) -> float:
        """Peak resident memory (``VmHWM``) summed over the server's processes."""
        total = 0.0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
            except OSError:
                pass
        return total or float("nan")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's processes."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        return total

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- clients ---------------------------------------------------------------------------------
def multipart(data: bytes, filename: str) -> tuple[bytes, str]:
    """A multipart/form-data body with the image in the ``file`` field."""
    from poxscan.web.launch import multipart_photo

    return multipart_photo(data, filename)


def load_run(port: int, bodies: list[tuple[bytes, str]], n_requests: int, clients: int) -> dict:
    """``n_requests`` POSTs to /api/predict from ``clients`` threads; latencies and failures."""
    lock = threading.Lock()
    next_index = [0]
    latencies: list[float] = []
    failures: list[str] = []
    labels: dict[str, int] = {}
    refused = [0]

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=300)
        while True:
            with lock:
                i = next_index[0]
                if i >= n_requests:
                    break
                next_index[0] += 1
            body, ctype = bodies[i % len(bodies)]
            start = time.perf_counter()
            try:
                conn.request("POST", "/api/predict", body=body, headers={"Content-Type": ctype})
                response = conn.getresponse()
                payload = response.read()
                elapsed = time.perf_counter() - start
                result = json.loads(payload)
                ok = response.status == 200 and result.get("label") in ("mpox", "not_mpox")
                # The front door's refusal of a photo is an answer, not a failure.
                gate_refusal = response.status == 422 and bool(result.get("code"))
                if gate_refusal:
                    ok, result = True, {"label": "refused"}
                problem = "" if ok else f"{response.status}: {payload[:200]!r}"
            except Exception as exc:  # a failed request is counted, the run goes on
                elapsed = time.perf_counter() - start
                ok, problem = False, f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=300)
            with lock:
                latencies.append(elapsed)
                if ok:
                    labels[result["label"]] = labels.get(result["label"], 0) + 1
                    refused[0] += result["label"] == "refused"
                else:
                    failures.append(problem)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    from poxscan.core.latency import latency_stats

    ms = np.asarray(latencies) * 1000.0
    return {
        "requests": len(latencies),
        "clients": clients,
        "wall_s": wall,
        "requests_per_s": len(latencies) / wall,
        "latency_ms": latency_stats(ms, percentiles=(50, 95, 99)),
        "failed": len(failures),
        "refused": refused[0],
        "failures_sample": failures[:5],
        "labels": labels,
    }


# -- orchestration ---------------------------------------------------------------------------
def gate_available() -> bool:
    """Whether this poxscan has the input gate (``poxscan train --gate``)."""
    import importlib.util

    return importlib.util.find_spec("poxscan.pipelines.gate") is not None


def big_upload(photo: bytes, max_pixels: int = 40_000_000) -> bytes:
    """A real photo upscaled to just under ``max_pixels`` pixels, as a JPEG (quality 85)."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(photo)).convert("RGB")
    scale = (max_pixels * 0.995 / (img.width * img.height)) ** 0.5
    img = img.resize((int(img.width * scale), int(img.height * scale)), Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _train(
    out: Path,
    families: list[str] | None,
    data_root: str | None,
    cache: str | None,
    gate: bool = False,
    runtime: str | None = None,
    pooled: bool = False,
) -> dict:
    from poxscan.cli import main

    argv = ["train", "--out", str(out), "--no-progress"]
    if not pooled:
        argv += ["--dataset", "msld_v1"]
    # The deep models' front door uses their own embedding; the handcrafted model keeps to
    # the pixel checks (an embedding gate would bring TensorFlow into its server).
    argv += ["--gate", "embedding" if gate else "pixels"]
    if runtime:
        argv += ["--runtime", runtime]
    if families is not None:
        argv += ["--classifier", "logreg", "--selector", "anova", "--k", "200"]
        for family in families:
            argv += ["--family", family]
    # families None: the shipped default config (builder.SCREENING_CONFIG, deep-only
    # EfficientNet-Lite2 + shrinkage LDA), which a lite directory predicts with its affine head.
    argv += ["--cv", "5", "--background", "50"]
    if data_root:
        argv += ["--data-root", data_root]
    if cache:
        argv += ["--cache-dir", cache]
    start = time.perf_counter()
    if main(argv) != 0:
        raise RuntimeError(f"poxscan train failed for {families}")
    manifest = json.loads((out / "manifest.json").read_text())
    metrics = manifest["evaluation"]["metrics"]
    return {
        "families": families or sorted(manifest["model"]["fingerprints"]),
        "config": "shipped default (SCREENING_CONFIG)" if families is None else "logreg-anova-200",
        "datasets": list((manifest.get("training_data") or {}).get("datasets") or {}),
        "affine_head": bool((manifest.get("head") or {}).get("file")),
        "runtime": runtime or "float",
        "gate": "embedding" if gate else "pixels",
        "train_s": time.perf_counter() - start,
        "roc_auc_oof": metrics["roc_auc"]["value"],
        "roc_auc_ci95": metrics["roc_auc"]["ci95"],
    }


def _versions() -> dict[str, str]:
    from poxscan.core.machine import versions

    return versions(("flask", "waitress", "numpy", "scikit-learn", "shap", "tensorflow"))


def _load(run: dict) -> str:
    if "load_before" not in run:
        return ""
    return f"{run['load_before'][0]:.1f}->{run['load_after'][0]:.1f}"


def _markdown(report: dict) -> str:
    m = report["machine"]
    configs = ", ".join(f"{c['workers']}x{c['batch_max']}" for c in report.get("configs", []))
    lines = [
        "# Web load test (`poxscan serve`)",
        "",
        f"`poxscan serve` (waitress, {report['server_threads']} threads per worker) on {HOST}, "
        f"started by the script in a subprocess, in each configuration WORKERSxBATCH "
        f"({configs}: `--workers` server processes, each loading and hash-checking the model, "
        "and `--batch-max`, the most concurrent uploads screened in one micro-batched pass); "
        f"{report['clients']} concurrent clients, and 1 for a baseline (threads, keep-alive "
        "`http.client` connections) POST real photos to `/api/predict` (multipart) until the "
        "fixed number of requests is answered; the input gate (pixel checks and, for the deep "
        "model, the embedding distance) and the default top-8 SHAP explanation are in every "
        "answer, LIME off. A few warm-up requests are not counted.",
        "",
        f"Photos: {report['images']}.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores shared with other jobs (load average "
        f"{m['load_before']:.2f} before, {m['load_after']:.2f} after; per run in the table); "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items())
        + ".",
        "",
        f"Regenerate: `{report.get('command', 'python experiments/bench_web.py')}` (trains its "
        "models in a temporary folder from the cached features).",
        "",
        "| model | workers x batch | photos | clients | requests | failed | refused | req/s | "
        "p50 ms | p95 ms | p99 ms | server CPU ms/request | server start (s) | "
        "server peak RSS (MiB) | load 1-min before->after |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in report["runs"]:
        lat = run["latency_ms"]
        cpu = run.get("server_cpu_ms_per_request", float("nan"))
        lines.append(
            f"| {run['model']} | {run.get('workers', 1)}x{run.get('batch_max', 1)} | "
            f"{run['photos']} | {run['clients']} | {run['requests']} | "
            f"{run['failed']} | {run.get('refused', 0)} | "
            f"{run['requests_per_s']:.2f} | {lat['p50_ms']:.0f} | {lat['p95_ms']:.0f} | "
            f"{lat['p99_ms']:.0f} | {cpu:.0f} | {run['server_startup_s']:.1f} | "
            f"{run['server_peak_rss_mib']:.0f} | {_load(run)} |"
        )
    lines += [
        "",
        "Latency is what a client sees: from sending the request to reading the whole JSON "
        "answer, including the time the request waits for the model. Within one worker the "
        "model runs one pass at a time (uploads arriving together share a pass, up to the "
        "batch size), so with several clients most of the latency is queueing; the 1-client "
        "run shows the latency of one request alone. Server CPU ms/request is the CPU time "
        "(user + system, every thread and worker process) the server spent during the run "
        "divided by the requests answered: on this 2-core machine the throughput cannot "
        "exceed 2000 / that figure requests per second, whatever the configuration. Server "
        "start is spawn to the first healthy `/api/health` (imports, sha256 checks, "
        "unpickling, warm-up; for the deep model TensorFlow and the backbone). Peak RSS is "
        "`VmHWM` after the runs, summed over the server's processes.",
        "",
    ]
    big = [run for run in report["runs"] if run["photos"] == "40 MP"]
    for run in big:
        lines += [
            f"40-megapixel uploads ({run['model']}, {run.get('workers', 1)}x"
            f"{run.get('batch_max', 1)}): {run['clients']} at once, "
            f"{run['upload_mb']:.1f} MB each: server peak RSS "
            f"{run['server_peak_rss_before_mib']:.0f} MiB before, "
            f"{run['server_peak_rss_mib']:.0f} MiB after; {run['failed']} failed.",
            "",
        ]
    lines += [
        "## Models",
        "",
        "| model | trained on | families | runtime | gate | train (s) "
        "| out-of-fold ROC AUC [95 % CI] |",
        "|---|---|---|---|---|---:|---|",
    ]
    for name, info in report["models"].items():
        lo, hi = info["roc_auc_ci95"]
        lines.append(
            f"| {name} | {' + '.join(info.get('datasets') or ['msld_v1'])} | "
            f"{', '.join(info['families'])} | {info.get('runtime', 'float')} | "
            f"{info.get('gate', False)} | {info['train_s']:.1f} | "
            f"{info['roc_auc_oof']:.3f} [{lo:.3f}, {hi:.3f}] |"
        )
    if report.get("breakdown"):
        bd = report["breakdown"]
        server_ms = {
            f"{r.get('workers', 1)}x{r.get('batch_max', 1)}": r["server_cpu_ms_per_request"]
            for r in report["runs"]
            if r["model"] == bd["model"] and r["photos"] == "msld" and r["clients"] > 1
        }
        lines += ["", *breakdown_markdown(bd, server_ms)]
    failures = [f for run in report["runs"] for f in run["failures_sample"]]
    if failures:
        lines += ["", "## Failures (sample)", "", *[f"- `{f}`" for f in failures]]
    return "\n".join(lines) + "\n"


def parse_configs(text: str) -> list[tuple[int, int]]:
    """``"1x1,2x8"`` -> ``[(1, 1), (2, 8)]``: server workers x micro-batch size."""
    out = []
    for item in text.split(","):
        workers, batch = item.lower().split("x")
        out.append((int(workers), int(batch)))
    return out


def serve_and_load(
    args: argparse.Namespace,
    name: str,
    model_dir: Path,
    workers: int,
    batch_max: int,
    photo_sets: dict,
    big_photo: bytes,
) -> list[dict]:
    """Start one server configuration and run the load plan against it."""
    runs = []
    with Server(model_dir, args.threads, args.max_upload_mb, workers, batch_max) as server:
        plan = [
            ("msld", 1, args.baseline_requests),
            ("msld", args.clients, args.requests),
            ("phone", args.clients, args.phone_requests),
        ]
        common = {"model": name, "workers": workers, "batch_max": batch_max}
        for photos, clients, count in plan:
            if count <= 0:
                continue
            bodies = [multipart(d, n) for d, n in photo_sets[photos]]
            load_run(server.port, bodies, args.warmup, clients)
            load0, cpu0 = os.getloadavg(), server.cpu_seconds()
            run = load_run(server.port, bodies, count, clients)
            cpu = server.cpu_seconds() - cpu0
            status, _ = server.request("GET", "/api/health")
            run.update(
                common,
                photos=photos,
                server_cpu_ms_per_request=1000.0 * cpu / max(run["requests"], 1),
                load_before=load0,
                load_after=os.getloadavg(),
                server_startup_s=server.startup_s,
                healthy_after=status == 200,
                server_peak_rss_mib=server.peak_rss_mib(),
                manifest_sha256=server.health["model"]["manifest_sha256"],
            )
            runs.append(run)
            print(name, f"{workers}x{batch_max}", photos, json.dumps(run), flush=True)
        if args.big_clients > 0:
            before = server.peak_rss_mib()
            body = multipart(big_upload(big_photo), "big.jpg")
            load0 = os.getloadavg()
            run = load_run(server.port, [body], args.big_clients, args.big_clients)
            run.update(
                common,
                photos="40 MP",
                server_cpu_ms_per_request=float("nan"),
                load_before=load0,
                load_after=os.getloadavg(),
                upload_mb=len(body[0]) / 1024 / 1024,
                server_startup_s=server.startup_s,
                server_peak_rss_before_mib=before,
                server_peak_rss_mib=server.peak_rss_mib(),
                healthy_after=server.request("GET", "/api/health")[0] == 200,
            )
            runs.append(run)
            print(name, f"{workers}x{batch_max}", "40 MP", json.dumps(run), flush=True)
    return runs


def main() -> int:
    from poxscan.core.machine import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per MSLD run")
    parser.add_argument("--phone-requests", type=int, default=40, help="requests per phone run")
    parser.add_argument(
        "--baseline-requests", type=int, default=20, help="requests of the 1-client MSLD run"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--threads", type=int, default=8, help="server threads (default 8)")
    parser.add_argument(
        "--big-clients", type=int, default=8, help="concurrent 40-megapixel uploads (0: none)"
    )
    parser.add_argument(
        "--max-upload-mb", type=float, default=10, help="the server's upload limit (MB)"
    )
    parser.add_argument("--n-images", type=int, default=40, help="MSLD photos cycled")
    parser.add_argument("--warmup", type=int, default=8, help="uncounted requests first")
    parser.add_argument("--skip-deep", action="store_true", help="handcrafted model only")
    parser.add_argument(
        "--no-breakdown",
        dest="breakdown",
        action="store_false",
        help="skip the per-stage CPU breakdown of the last model",
    )
    parser.add_argument(
        "--models",
        default="handcrafted,deep+handcrafted",
        help="models to train and serve, comma-separated: handcrafted, deep+handcrafted "
        "(Keras EfficientNet-Lite0), lite+handcrafted (its int8 LiteRT backbone), lite-default "
        "(the shipped default config, deep-only Lite2 + LDA, trained with --runtime "
        "litert-int8: served through its affine head, no scikit-learn), shipped (what the "
        "README's first command trains: the shipped config on every dataset pooled, float; "
        "default: handcrafted,deep+handcrafted)",
    )
    parser.add_argument(
        "--configs",
        default="1x1,1x8,2x8",
        help="server configurations, WORKERSxBATCH comma-separated: --workers and --batch-max "
        "of poxscan serve (default: 1x1,1x8,2x8)",
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument(
        "--results",
        default=str(RESULTS),
        help="folder for bench_web.json and .md (default: experiments/results)",
    )
    parser.add_argument("--cache", default=None, help="feature cache ($POXSCAN_CACHE)")
    args = parser.parse_args()

    from poxscan.core.data import load_records

    records = load_records("msld_v1", root=args.data_root)
    rng = np.random.default_rng(SEED)
    picks = np.sort(rng.choice(len(records), size=min(args.n_images, len(records)), replace=False))
    msld = [(Path(p).read_bytes(), Path(p).name) for p in records["path"].iloc[picks]]
    ahsan = load_records("ahsan2022", root=args.data_root)
    phone = [(Path(p).read_bytes(), Path(p).name) for p in ahsan[ahsan["cls"] == "Normal"]["path"]]
    photo_sets = {"msld": msld, "phone": phone}
    sizes = {k: [len(d) for d, _ in v] for k, v in photo_sets.items()}

    report: dict = {
        "host": HOST,
        "clients": args.clients,
        "server_threads": args.threads,
        "images": (
            f"msld: {len(msld)} MSLD v1 photos (seeded sample, seed {SEED}; 224x224 JPEG, "
            f"median {np.median(sizes['msld']) / 1024:.0f} KB) cycled; phone: the "
            f"{len(phone)} ahsan2022 Normal phone photos (median "
            f"{np.median(sizes['phone']) / 1024:.0f} KB, up to "
            f"{max(sizes['phone']) / 1024 / 1024:.1f} MB) cycled"
        ),
        "versions": _versions(),
        "models": {},
        "runs": [],
    }
    load_before = os.getloadavg()[0]
    known = {  # families, runtime, pooled (every dataset, as the README's first command)
        "handcrafted": (HANDCRAFTED, None, False),
        "deep+handcrafted": ([*HANDCRAFTED, "deep"], None, False),
        "lite+handcrafted": ([*HANDCRAFTED, "deep"], "litert-int8", False),
        "lite-default": (None, "litert-int8", False),
        "shipped": (None, None, True),
    }
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.skip_deep:
        wanted = ["handcrafted"]
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        parser.error(f"unknown --models {unknown}; known: {sorted(known)}")
    models = {m: known[m] for m in wanted}
    configs = parse_configs(args.configs)
    report["configs"] = [{"workers": w, "batch_max": b} for w, b in configs]
    report["command"] = shlex.join(["python", "experiments/bench_web.py", *sys.argv[1:]])
    with tempfile.TemporaryDirectory(prefix="poxscan-bench-web-") as tmp:
        for name, (families, runtime, pooled) in models.items():
            out = Path(tmp) / name.replace("+", "_")
            gate = (families is None or "deep" in families) and gate_available()
            report["models"][name] = _train(
                out, families, args.data_root, args.cache, gate, runtime, pooled
            )
            for workers, batch_max in configs:
                report["runs"] += serve_and_load(
                    args, name, out, workers, batch_max, photo_sets, phone[0][0]
                )
            if args.breakdown and name == wanted[-1]:
                load0 = os.getloadavg()[0]
                bd = breakdown(str(out), [d for d, _ in msld[:16]])
                bd.update(model=name, load_before=load0, load_after=os.getloadavg()[0])
                report["breakdown"] = bd
                print("breakdown", json.dumps(bd), flush=True)
    report["machine"] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "platform": platform.platform(),
    }
    from poxscan.core.atomic import atomic_write_text

    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    atomic_write_text(results / "bench_web.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(results / "bench_web.md", _markdown(report))
    print(_markdown(report))
    failed = sum(run["failed"] for run in report["runs"])
    return 1 if failed or not all(run["healthy_after"] for run in report["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
