"""The on-device page's gate (``web/ondevice/src/gate.js``) against the server's, number for number.

Node runs the page's own module on the very pixels and embeddings the server's gate sees: the
224 px squares of real lesion photos and of an image made for each refusal reason, noise and
pictures without skin colour included (the pixel checks' statistics and codes must match
:func:`poxscan.core.image_checks.check_pixels`), then embeddings through a gate fitted on real
features and exported for the page by :func:`poxscan.pipelines.browser_gate.browser_gate`
(distance, ImageNet head and code must match
:meth:`poxscan.pipelines.gate.InputGate.check_embedding`). Node is what builds the page (``npm
ci``); without it the test fails, it never skips.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from _node import run_module
from _trained_models import feature_data, subset_records, workspace
from test_gate import _made_for
from test_gate_skin import greyscale, sky_and_foliage

from poxscan.core.image_checks import check_pixels
from poxscan.core.imageio import load_image, to_square

GATE_JS = Path(__file__).resolve().parents[1] / "web" / "ondevice" / "src" / "gate.js"

# Reads the cases on stdin, answers each with the page's verdict (JSON on stdout).
HARNESS = """
const gate = await import(process.argv[1]);
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const job = JSON.parse(Buffer.concat(chunks).toString());
const b64 = (s, T) => { const b = Buffer.from(s, "base64");
  return new T(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)); };
const spec = job.gate;
if (spec.embedding) {
  spec.embedding.referenceData = b64(job.files["gate_reference.f32"], Float32Array);
  if (spec.embedding.head) {
    const raw = b64(job.files["gate_head.f16"], Uint16Array);
    spec.embedding.head.w = Float32Array.from(raw, gate.halfToFloat);
    spec.embedding.head.b = b64(job.files["gate_head_bias.f32"], Float32Array);
  }
}
const out = { pixels: [], embeddings: [] };
for (const c of job.pixels) {
  const square = c.square ? Float32Array.from(Buffer.from(c.square, "base64")) : null;
  out.pixels.push(gate.checkPixels(spec, c.width, c.height, square));
}
for (const e of job.embeddings) out.embeddings.push(gate.checkEmbedding(spec, e, {}));
process.stdout.write(JSON.stringify(out));
"""


def run_page_gate(job: dict) -> dict:
    return run_module(HARNESS, GATE_JS, job)


def _case(image: np.ndarray) -> dict:
    h, w = image.shape[:2]
    small = min(h, w) < 96
    square = None if small else base64.b64encode(to_square(image, 224).tobytes()).decode()
    return {"width": int(w), "height": int(h), "square": square}


@pytest.fixture(scope="module")
def photos(root, data_root) -> list[np.ndarray]:
    return [load_image(p) for p in feature_data(root, str(data_root))[3][:12]]


def test_pixel_checks_match_the_server(photos):
    reasons = ["too_small", "blank", "too_dark", "too_bright", "too_blurry", "collage"]
    images = [*photos[:6], *(_made_for(r, photos) for r in reasons)]
    rng = np.random.default_rng(0)
    images.append(rng.integers(0, 256, (300, 420, 3), dtype=np.uint8))  # noise: not_skin
    # No skin colour at all (black and white), and the lesion's texture in a landscape's colours.
    images += [greyscale(photos[6]), sky_and_foliage(photos[7])]
    from poxscan.pipelines.browser_gate import browser_gate

    files = browser_gate(None, "")
    job = {"gate": json.loads(files["gate.json"]), "files": {}, "embeddings": []}
    job["pixels"] = [_case(img) for img in images]
    page = run_page_gate(job)["pixels"]
    codes = []
    for img, got in zip(images, page, strict=True):
        want = check_pixels(img)
        codes.append(want.code)
        assert got["code"] == want.code, (want.code, got["checks"], want.checks)
        assert (got["message"], got["advice"]) == (want.message, want.advice)
        for key, value in want.checks.items():
            assert got["checks"][key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
    assert codes[6:12] == reasons and codes[:6] == ["ok"] * 6  # every reason was exercised
    # Pixel noise, a black-and-white and a sky-and-foliage version of lesion photos: not skin.
    assert codes[12:] == ["not_skin"] * 3
    shares = [page[i]["checks"]["skin_share"] for i in (*range(6), 13, 14)]
    assert min(shares[:6]) > 0.05 and shares[6] == 0.0 and shares[7] < 0.01


@pytest.mark.deep
def test_embedding_stage_matches_the_server(root, data_root):
    from poxscan.features.backbones import imagenet_head
    from poxscan.features.cache import load_feature_table
    from poxscan.pipelines.browser_gate import browser_gate
    from poxscan.pipelines.gate import EmbeddingGate, InputGate

    # Real Lite0 embeddings of the subset's photos (the deep family, through the cache).
    ws = workspace(root)
    records = subset_records(ws, Path(data_root))
    E = load_feature_table(records, ["deep"], cache=ws["cache"], progress=False).to_numpy()
    groups = feature_data(root, str(data_root))[2]
    fitted = EmbeddingGate().fit(E[10:], groups[10:])
    w, b = imagenet_head("efficientnet-lite0")
    gate = InputGate(
        fitted,
        # As a loaded gate holds it: gate.npz stores the head's weights as float16.
        head=(w.astype(np.float16).astype(np.float32), b),
        runtime="litert-int8",
        tflite_file="backbones/x.tflite",
        tflite_sha256="a" * 64,
    )
    files = browser_gate(gate, "a" * 64)
    rng = np.random.default_rng(1)
    # Held-out photos (accepted), photos pushed far from the training ones (refused), a
    # screen-like embedding the head puts on "web site", and noise.
    web_site = gate.head[0][:, 916] * 40
    queries = [*E[:5], *(E[:3] * rng.gamma(0.3, 1.0, E[:3].shape)), np.clip(web_site, 0, None)]
    queries.append(rng.gamma(1.0, 0.5, E.shape[1]))
    job = {
        "gate": json.loads(files["gate.json"]),
        "files": {k: base64.b64encode(v).decode() for k, v in files.items() if k != "gate.json"},
        "pixels": [],
        "embeddings": [[float(x) for x in q] for q in queries],
    }
    page = run_page_gate(job)["embeddings"]
    codes = []
    for q, got in zip(queries, page, strict=True):
        want = gate.check_embedding(np.asarray(q))
        codes.append(want.code)
        assert got["code"] == want.code
        for key in ("distance", "imagenet_top_probability", "imagenet_screen_probability"):
            assert got["checks"][key] == pytest.approx(want.checks[key], rel=1e-6, abs=1e-9), key
        assert got["checks"]["imagenet_top"] == want.checks["imagenet_top"]
    assert "ok" in codes and "not_skin" in codes  # both sides of the threshold were exercised
