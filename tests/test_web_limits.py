"""Requests the app must refuse cleanly, through the real waitress server: JSON for every 413,
400 for two files in one upload."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from _trained_models import feature_data, trained_model_dir

from poxscan.web import create_app
from poxscan.web.server import make_server, waitress_body_limit

LIMIT = 2 * 1024 * 1024  # a small app limit keeps the bodies of this test small


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, data_root) -> Path:
    return trained_model_dir(str(tmp_path_factory.getbasetemp() / "poxscan_models"), str(data_root))


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory, data_root) -> bytes:
    root = str(tmp_path_factory.getbasetemp() / "poxscan_models")
    return Path(feature_data(root, str(data_root))[3][0]).read_bytes()


@pytest.fixture(scope="module")
def app(model_dir):
    return create_app(model_dir, {"LIME": False, "MAX_CONTENT_LENGTH": LIMIT})


@pytest.fixture(scope="module")
def server(app):
    srv = make_server(app, max_upload_bytes=LIMIT, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield srv.effective_port
    srv.close()
    thread.join(timeout=10)


def _multipart(parts: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "poxscanboundary"
    body = b""
    for name, data in parts:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _raw(port: int, head: str, body: bytes = b"") -> tuple[int, dict, bytes]:
    """Send a raw HTTP request; return status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode() + body)
        chunks = []
        while True:
            try:
                block = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                break
            if not block:
                break
            chunks.append(block)
    raw = b"".join(chunks)
    header, _, payload = raw.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, payload


def test_two_file_parts_are_refused_with_400(app, jpeg):
    body, ctype = _multipart([("file", jpeg), ("file", jpeg)])
    r = app.test_client().post("/api/predict", data=body, content_type=ctype)
    assert r.status_code == 400
    assert "2 files" in r.get_json()["message"] and r.get_json()["ok"] is False
    one, ctype = _multipart([("file", jpeg)])
    assert app.test_client().post("/api/predict", data=one, content_type=ctype).status_code == 200


def test_body_over_waitress_limit_gets_json_413(server):
    size = waitress_body_limit(LIMIT) + 1
    head = (
        f"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
        f"boundary=b\r\nContent-Length: {size}\r\n\r\n"
    )
    status, headers, payload = _raw(server, head, b"--b\r\n")
    assert status == 413 and headers["content-type"] == "application/json"
    body = json.loads(payload)
    assert body == {
        "ok": False,
        "status": 413,
        "error": "Request Entity Too Large",
        "message": body["message"],
    }
    assert "larger than the limit of 2 MB" in body["message"]


def test_chunked_body_over_waitress_limit_gets_json_413(server):
    head = (
        "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
        "boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    block = b"\0" * (1024 * 1024)
    chunk = f"{len(block):x}\r\n".encode() + block + b"\r\n"
    n = waitress_body_limit(LIMIT) // len(block) + 2
    status, _, payload = _raw(server, head, chunk * n + b"0\r\n\r\n")
    assert status == 413 and json.loads(payload)["status"] == 413


def test_body_between_the_two_limits_gets_the_apps_json_413(server, jpeg):
    body, ctype = _multipart([("file", jpeg + b"\0" * (LIMIT + 1024))])
    assert len(body) < waitress_body_limit(LIMIT)
    head = (
        f"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    status, headers, payload = _raw(server, head, body)
    assert status == 413 and headers["content-type"] == "application/json"
    assert json.loads(payload)["message"].startswith("The upload is larger than the limit")


def test_a_good_upload_still_passes_through_waitress(server, jpeg):
    body, ctype = _multipart([("file", jpeg)])
    head = (
        f"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    status, _, payload = _raw(server, head, body)
    assert status == 200 and json.loads(payload)["label"] in ("mpox", "not_mpox")


def test_pixel_budget_bounds_concurrent_decodes():
    from poxscan.web.uploads import _PixelBudget

    budget = _PixelBudget(100)
    peak, lock = [0], threading.Lock()

    def decode(pixels: int) -> None:
        with budget.take(pixels):
            with lock:
                peak[0] = max(peak[0], budget.used)
            threading.Event().wait(0.02)

    threads = [threading.Thread(target=decode, args=(p,)) for p in [60, 60, 60, 30, 500, 10] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)  # an image over the budget still gets through
    assert 60 <= peak[0] <= 100 and budget.used == 0
