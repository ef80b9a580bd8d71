"""Where a web request's CPU goes: each stage of one screening, timed in process.

Used by ``experiments/bench_web.py`` (``--breakdown``): the model directory it served is loaded
into a :class:`~poxscan.predict.Predictor` in this process, and each stage a request runs is
timed on the same MSLD photos, in CPU time of the whole process (``time.process_time``: every
thread, TensorFlow's and OpenCV's included), alone and, where the server batches, per image of
a batch of 8: decoding, the gate's pixel checks, each feature family, the gate's embedding
stage, the feature pipeline with calibration, the SHAP explanation, and the whole
``predict_images`` call. The server's CPU per request minus the whole call is what HTTP,
multipart parsing, Flask and JSON cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _cpu_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm (lazy builds, caches)
    start = time.process_time()
    for _ in range(repeats):
        fn()
    return 1000.0 * (time.process_time() - start) / repeats


def breakdown(model_dir: str, photos: list[bytes], repeats: int = 3) -> dict[str, Any]:
    """CPU ms per image of each stage (see the module docstring)."""
    from poxscan.core.image_checks import check_pixels
    from poxscan.core.imageio import load_image
    from poxscan.pipelines.feature_names import family_contributions
    from poxscan.pipelines.gate import gate_embeddings
    from poxscan.predict import Predictor

    predictor = Predictor.load(model_dir)
    model, gate, explainer = predictor.model, predictor.gate, predictor.explainer
    images = [load_image(p, name=f"photo {i}") for i, p in enumerate(photos)]
    batch = (images * 8)[:8]
    one = images[:1]
    n = len(photos)
    stages: dict[str, dict[str, float]] = {}

    def stage(name: str, alone: Callable[[], Any], batched: Callable[[], Any] | None) -> None:
        row = {"alone": _cpu_ms(alone, repeats)}
        if batched is not None:
            row["per_image_in_batch_8"] = _cpu_ms(batched, repeats) / 8
        stages[name] = row

    stage("decode (load_image)", lambda: [load_image(p) for p in photos], None)
    stages["decode (load_image)"]["alone"] /= n
    stage("gate: pixel checks", lambda: [check_pixels(im) for im in images], None)
    stages["gate: pixel checks"]["alone"] /= n
    for family, ext in model.extractors_.items():
        stage(
            f"features: {family}", lambda e=ext: e.transform(one), lambda e=ext: e.transform(batch)
        )
    table1, table8 = model.extract(one), model.extract(batch)
    if gate is not None and gate.needs_embedding:
        E = gate_embeddings(gate, model, batch, table8)
        stage(
            "gate: embedding distance",
            lambda: gate.check_embedding(E[0]),
            lambda: [gate.check_embedding(e) for e in E],
        )
    stage(
        "pipeline + calibration",
        lambda: model.predict_proba_features(table1),
        lambda: model.predict_proba_features(table8),
    )
    if explainer is not None:

        def explain(table: Any) -> None:
            explanation = explainer.explain(table)
            explanation.top_features(8, raw=table)
            family_contributions(explanation)

        stage("explanation (top-8 SHAP)", lambda: explain(table1), lambda: explain(table8))
    stage(
        "whole predict_images",
        lambda: predictor.predict_images(one, top_k=8),
        lambda: predictor.predict_images(batch, top_k=8),
    )
    # The model folder is a temporary one: record its name, not its path.
    return {"model": Path(model_dir).name, "n_photos": n, "repeats": repeats, "stages": stages}


def breakdown_markdown(result: dict[str, Any], server_ms: dict[str, float]) -> list[str]:
    """The table of :func:`breakdown`, with the server's measured CPU per request beside it."""
    lines = [
        f"## Per-request CPU breakdown ({result['model']})",
        "",
        "CPU ms per image, in process (`experiments/bench_web_breakdown.py`), on "
        f"{result['n_photos']} MSLD photos, {result['repeats']} repeats; load 1-min "
        f"{result['load_before']:.1f} before, {result['load_after']:.1f} after.",
        "",
        "| stage | alone | per image in a batch of 8 |",
        "|---|---:|---:|",
    ]
    for name, row in result["stages"].items():
        batched = row.get("per_image_in_batch_8")
        cell = f"{batched:.1f}" if batched is not None else "—"
        lines.append(f"| {name} | {row['alone']:.1f} | {cell} |")
    whole = result["stages"]["whole predict_images"]
    for config, ms in server_ms.items():
        if not np.isfinite(ms):
            continue
        model_ms = whole["alone"] if config.endswith("x1") else whole["per_image_in_batch_8"]
        lines.append(
            f"| server, {config}: CPU per request (8 clients) | {ms:.1f} | "
            f"of which HTTP, multipart, Flask, JSON ~ {max(ms - model_ms, 0):.1f} |"
        )
    lines += [
        "",
        "On 2 cores the server cannot answer more than 2000 / (CPU ms per request) requests "
        "per second.",
    ]
    return lines
