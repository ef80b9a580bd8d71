"""Serving many clients: cross-request micro-batching and ``poxscan serve --workers N``.

Real model (tuned and trained on MSLD photos by the test helpers), real photos, a real
waitress server in worker processes on loopback.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from _trained_models import copy_model, feature_data, flip_byte, trained_model_dir

from poxscan.core.imageio import load_image
from poxscan.predict import Predictor
from poxscan.web.batching import MicroBatcher


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, data_root) -> Path:
    return trained_model_dir(str(tmp_path_factory.getbasetemp() / "poxscan_models"), str(data_root))


@pytest.fixture(scope="module")
def photos(tmp_path_factory, data_root) -> list[str]:
    root = str(tmp_path_factory.getbasetemp() / "poxscan_models")
    return list(feature_data(root, str(data_root))[3][:8])


@pytest.fixture(scope="module")
def predictor(model_dir) -> Predictor:
    return Predictor.load(model_dir)


# -- micro-batching --------------------------------------------------------------------------
def _concurrently(fn, args: list) -> list:
    results: list = [None] * len(args)
    barrier = threading.Barrier(len(args))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(args[i])
        except Exception as exc:  # kept to be asserted on
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_concurrent_requests_share_passes_and_get_their_own_results(predictor, photos):
    images = [load_image(p) for p in photos]
    alone = [predictor.predict_image(img, name=f"p{i}", top_k=8) for i, img in enumerate(images)]
    batcher = MicroBatcher(predictor, max_batch=8, max_wait_ms=300)
    got = _concurrently(
        lambda i: batcher.predict(images[i], f"p{i}", top_k=8), list(range(len(images)))
    )
    assert batcher.images == len(images)
    assert batcher.batches < len(images), batcher.stats()  # some requests shared a pass
    for want, have in zip(alone, got, strict=True):
        assert not isinstance(have, Exception), have
        assert have.file == want.file  # each request got its own image's answer
        assert have.probability == pytest.approx(want.probability, abs=1e-9)
        assert have.label == want.label
        assert [f["feature"] for f in have.top_features] == [
            f["feature"] for f in want.top_features
        ]


def test_a_broken_image_fails_only_its_own_request(predictor, photos):
    good = [load_image(p) for p in photos[:3]]
    broken = np.zeros((40, 40), dtype=np.uint8)  # not RGB: predicting it raises
    with pytest.raises(Exception):  # noqa: B017 - whatever predicting it alone raises
        predictor.predict_images([broken])
    batcher = MicroBatcher(predictor, max_batch=8, max_wait_ms=300)
    got = _concurrently(lambda img: batcher.predict(img, "x", top_k=3), [*good, broken])
    assert isinstance(got[-1], Exception)
    for img, have in zip(good, got[:-1], strict=True):
        assert not isinstance(have, Exception), have
        assert have.probability == pytest.approx(
            predictor.predict_image(img, top_k=3).probability, abs=1e-9
        )


def test_batcher_rejects_bad_settings(predictor):
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(predictor, max_batch=0)
    with pytest.raises(ValueError, match="max_wait_ms"):
        MicroBatcher(predictor, max_wait_ms=-1)


# -- worker processes ------------------------------------------------------------------------
def _start(model_dir: Path, *extra: str) -> tuple[subprocess.Popen, int, list[str]]:
    from poxscan.web.launch import start_serve

    served = start_serve(model_dir, "--no-lime", *extra, timeout=300)
    return served.proc, served.port, served.lines


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        out += [int(p) for p in (task / "children").read_text().split()]
    return out


def _servers(pid: int) -> list[int]:
    """The worker processes (multiprocessing's resource tracker left out)."""
    return [c for c in _children(pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]


def _post(port: int, data: bytes, name: str = "x.jpg") -> tuple[int, dict]:
    from poxscan.web.launch import multipart_photo

    body, content_type = multipart_photo(data, name, "image/jpeg")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(
            "POST",
            "/api/predict",
            body=body,
            headers={"Content-Type": content_type},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _worker_alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


@pytest.mark.slow
def test_workers_serve_concurrent_requests_restart_and_stop(model_dir, photos, predictor):
    proc, port, lines = _start(model_dir, "--workers", "2", "--threads", "2")
    try:
        assert "2 workers" in "".join(lines)
        servers = _servers(proc.pid)
        assert len(servers) == 2, _children(proc.pid)
        data = [Path(p).read_bytes() for p in photos]
        got = _concurrently(lambda d: _post(port, d), data)
        for d, (status, body) in zip(data, got, strict=True):
            assert status == 200, body
            want = predictor.predict_image(load_image(d), top_k=8)
            assert body["probability"] == pytest.approx(want.probability, abs=1e-9)
        # Errors are the app's JSON in a worker too.
        status, body = _post(port, b"not an image")
        assert status == 415 and body["ok"] is False and "x.jpg" in body["message"]
        # A worker that dies is replaced; the service goes on meanwhile.
        os.kill(servers[0], signal.SIGKILL)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not any("starting another" in x for x in lines):
            time.sleep(0.2)
        assert _post(port, data[0])[0] == 200
        while time.monotonic() < deadline and len(set(_servers(proc.pid)) - set(servers)) < 1:
            time.sleep(0.2)
        replaced = _servers(proc.pid)
        assert len(replaced) == 2 and servers[0] not in replaced, "".join(lines)
        alive = _servers(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    time.sleep(0.5)
    assert not [w for w in alive if _worker_alive(w)], "workers outlived the server"


def test_workers_refuse_a_tampered_model(model_dir, tmp_path):
    bad = copy_model(model_dir, tmp_path / "tampered")
    flip_byte(bad / "model_card.md")
    proc = subprocess.run(
        [sys.executable, "-m", "poxscan", "serve", "--model", str(bad), "--port", "0",
         "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "model_card.md" in proc.stderr and "poxscan serve: error" in proc.stderr


@pytest.mark.parametrize(
    "argv", [["--workers", "0"], ["--batch-max", "0"], ["--batch-wait-ms", "-1"]]
)
def test_serve_rejects_bad_scaling_options(model_dir, argv, capsys):
    from poxscan.cli import main

    assert main(["serve", "--model", str(model_dir), *argv]) == 2
    assert "poxscan serve: error" in capsys.readouterr().err


def test_a_decoded_upload_keeps_its_pixels_until_released(photos):
    from werkzeug.datastructures import FileStorage, MultiDict

    from poxscan.web.uploads import _budget, read_upload, release_pixels

    data = Path(photos[0]).read_bytes()
    pixels = int(np.prod(load_image(data).shape[:2]))
    limit = 10 * pixels + 7  # a budget of its own (budgets are shared per limit)
    budget = _budget(limit)
    held: list = []
    files = MultiDict({"file": FileStorage(stream=io.BytesIO(data), filename="a.jpg")})
    upload = read_upload(files, max_pixels=limit, pixels_in_flight=limit, hold=held)
    assert upload.image.shape[2] == 3
    assert budget.used == pixels  # still counted while the prediction runs
    release_pixels(held)
    assert budget.used == 0 and held == []
    files = MultiDict({"file": FileStorage(stream=io.BytesIO(data), filename="a.jpg")})
    read_upload(files, max_pixels=limit, pixels_in_flight=limit)
    assert budget.used == 0  # without hold: given back once decoded
