"""The on-device page (``/ondevice/``) in a real headless Chromium: screening inside the browser.

A deep-only lite model of the shipped kind (``poxscan train --runtime litert-int8`` with the
deep family on each photo's canonical pose and shrinkage LDA; real images and weights) is
served by the real ``poxscan serve``; Chromium loads the page, which downloads the
int8 backbone and runs it through LiteRT.js (WebAssembly). The test screens a real photo
through the file input, checks in Chromium's network log (performance log, DevTools Network
events) that no request carries the photo, compares the probability with the server's own
(``/api/predict``) within 0.02, then stops the server, reloads the page (its service worker
answers) and screens again.

Needs the page built (``npm ci && npm run build`` in web/ondevice; ``.ci/run`` does) and Debian's
chromium + chromium-driver: without them the test fails, it never skips.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _trained_models import lite_model_dir, subset_records, trained_model_dir, workspace
from test_browser import api_predict
from test_lite_head import LDA

pytestmark = [pytest.mark.slow, pytest.mark.deep]

DIST = Path(__file__).resolve().parents[1] / "poxscan" / "web" / "ondevice_dist"


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> str:
    return str(tmp_path_factory.getbasetemp() / "poxscan_models")


@pytest.fixture(scope="module")
def lite_dir(root, data_root) -> Path:
    if not (DIST / "app.js").is_file():
        pytest.fail(
            f"{DIST} is not built: run `npm ci && npm run build` in web/ondevice (.ci/run does)",
            pytrace=False,
        )
    # The page must pose the photo as the server does (web/ondevice/src/orientation.js).
    return lite_model_dir(root, str(data_root), ("deep",), LDA, orient="canonical")


@pytest.fixture(scope="module")
def photos(root, data_root) -> list[str]:
    records = subset_records(workspace(root), Path(data_root))
    return [records[records["y"] == 1]["path"].iloc[0], records[records["y"] == 0]["path"].iloc[0]]


def start_server(model_dir: Path):
    """``poxscan serve`` on 127.0.0.1, any free port."""
    from poxscan.web.launch import start_serve

    return start_serve(model_dir)


def wait_state(driver, key: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = driver.execute_script("return window.poxscan || null")
        if state and (state.get(key) or state.get("error")):
            assert not state.get("error"), state["error"]
            return state
        time.sleep(0.25)
    logs = [entry["message"] for entry in driver.get_log("browser")]
    pytest.fail(f"the page never reached {key!r}; console: {logs[-10:]}")


def screen(driver, photo: str, timeout: float = 120) -> dict:
    """Pick a photo in the file input; wait for the page's result."""
    from selenium.webdriver.common.by import By

    before = len(driver.execute_script("return window.poxscan.results"))
    driver.find_element(By.ID, "photo").send_keys(photo)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        results = driver.execute_script("return window.poxscan.results")
        if len(results) > before:
            assert "error" not in results[-1], results[-1]
            return results[-1]
        time.sleep(0.25)
    pytest.fail(f"no result for {photo}")


def network_requests(driver) -> list[dict]:
    """Every request Chromium sent since the last call (DevTools Network.requestWillBeSent)."""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            out.append(message["params"]["request"])
    return out


def test_screens_on_the_device_sends_no_photo_and_works_offline(lite_dir, photos, chromium):
    served = start_server(lite_dir)
    url = served.url
    server_probabilities = [api_predict(url, p)["probability"] for p in photos]
    driver = chromium(logs=("browser", "performance"), page_load_timeout=120)
    try:
        driver.get(url + "ondevice/")
        wait_state(driver, "ready")
        loaded = network_requests(driver)
        urls = [r["url"] for r in loaded]
        assert any(u.endswith("model/backbone.tflite") for u in urls), urls
        assert {r["method"] for r in loaded} == {"GET"}
        results = [screen(driver, p) for p in photos]
        during = network_requests(driver)
        # Screening sends nothing at all: no request, so none that carries the photo.
        assert [r for r in during if r["method"] != "GET" or r.get("hasPostData")] == []
        assert [r["url"] for r in during if not r["url"].startswith(("data:", "blob:"))] == []
        for got, want in zip(results, server_probabilities, strict=True):
            assert abs(got["probability"] - want) <= 0.02, (got, want)
            assert got["elapsed_ms"] > 0 and got["backbone_ms"] > 0
        text = driver.find_element("id", "probability").text
        assert float(text) == pytest.approx(results[-1]["probability"], abs=5e-4)

        served.stop()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url + "api/health", timeout=5)
        driver.refresh()  # answered by the service worker's cache
        wait_state(driver, "ready")
        again = screen(driver, photos[0])
        assert again["probability"] == pytest.approx(results[0]["probability"], abs=1e-9)
        offline = network_requests(driver)
        assert all(r["method"] == "GET" and not r.get("hasPostData") for r in offline)
    finally:
        driver.quit()
        if served.proc.poll() is None:
            served.stop()


def server_verdict(url: str, path: str) -> dict:
    """The server's answer for a photo: its result (200) or its refusal (422)."""
    try:
        return api_predict(url, path)
    except urllib.error.HTTPError as exc:
        assert exc.code == 422, exc
        return json.load(exc)


def made_images(folder: Path) -> dict[str, str]:
    """Non-skin images made by the test: a library photo, a chart, flat colour, noise."""
    import numpy as np
    import skimage.data
    from PIL import Image, ImageDraw

    chart = Image.new("RGB", (480, 360), "white")
    draw = ImageDraw.Draw(chart)
    draw.line([(40, 320), (460, 320)], fill="black", width=2)
    draw.line([(40, 20), (40, 320)], fill="black", width=2)
    for i, (h, colour) in enumerate(
        zip((120, 250, 180, 60), ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"), strict=True)
    ):
        draw.rectangle([70 + i * 95, 320 - h, 130 + i * 95, 319], fill=colour)
        draw.text((80 + i * 95, 330), f"Q{i + 1}", fill="black")
    images = {
        "astronaut.png": Image.fromarray(skimage.data.astronaut()),
        "coffee.png": Image.fromarray(skimage.data.coffee()),
        "chart.png": chart,
        "flat.png": Image.new("RGB", (400, 300), (231, 190, 160)),
        "noise.png": Image.fromarray(
            np.random.default_rng(0).integers(0, 256, (320, 320, 3), dtype=np.uint8)
        ),
    }
    out = {}
    for name, image in images.items():
        image.save(folder / name)
        out[name] = str(folder / name)
    return out


def test_the_gate_refuses_on_the_device_as_the_server_does(lite_dir, photos, tmp_path, chromium):
    """Non-skin images made here are refused on the page with the server's code and words,
    without a probability; lesion photos are screened; page and server agree on each image."""
    from selenium.webdriver.common.by import By

    from poxscan.core.image_checks import REASONS

    made = made_images(tmp_path)
    images = [*photos, *made.values()]
    served = start_server(lite_dir)
    url = served.url
    server = [server_verdict(url, p) for p in images]
    driver = chromium(logs=("browser", "performance"), page_load_timeout=120)
    try:
        driver.get(url + "ondevice/")
        wait_state(driver, "ready")
        page = []
        for path in images:
            page.append(screen(driver, path))
            if page[-1].get("refused"):
                # Its reason and what to do, in the server's words; no probability on screen.
                assert not driver.find_element(By.ID, "result").is_displayed()
                code = page[-1]["code"]
                assert driver.find_element(By.ID, "refusal-message").text == REASONS[code][0]
                assert driver.find_element(By.ID, "refusal-advice").text == REASONS[code][1]
                assert "probability" not in page[-1]
            else:
                assert driver.find_element(By.ID, "result").is_displayed()
                assert not driver.find_element(By.ID, "refusal").is_displayed()
        requests = network_requests(driver)
        assert [r for r in requests if r["method"] != "GET" or r.get("hasPostData")] == []
    finally:
        driver.quit()
        served.stop()
    decisions = []
    for path, got, want in zip(images, page, server, strict=True):
        name = Path(path).name
        server_code = want.get("code", "ok") if want.get("refused") else "ok"
        page_code = got["code"] if got.get("refused") else "ok"
        decisions.append((name, page_code, server_code))
        assert page_code == server_code, (name, got.get("gate"), want.get("gate"))
        if "distance" in want["gate"].get("checks", {}):
            # The same int8 network in LiteRT.js and in LiteRT: nearly the same distance.
            assert got["gate"]["checks"]["distance"] == pytest.approx(
                want["gate"]["checks"]["distance"], abs=0.01
            )
        if not want.get("refused"):
            assert abs(got["probability"] - want["probability"]) <= 0.02
    codes = [d[1] for d in decisions]
    assert codes[: len(photos)] == ["ok"] * len(photos)  # the lesion photos are screened
    assert codes[len(photos)] == "not_skin"  # the astronaut: by the embedding, on the device
    # A pixel check (the flat image) and the embedding stage both refuse on the device.
    assert {"blank", "not_skin"} <= set(codes[len(photos) :]), decisions
    print("page and server decisions:", decisions)


def test_installable_manifest_and_service_worker(lite_dir):
    from poxscan.web import create_app

    app = create_app(lite_dir, {"LIME": False})
    client = app.test_client()
    page = client.get("/ondevice/")
    assert page.status_code == 200 and b'rel="manifest"' in page.data
    assert "'wasm-unsafe-eval'" in page.headers["Content-Security-Policy"]
    manifest = client.get("/ondevice/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    info = manifest.get_json(force=True)
    assert info["display"] == "standalone" and info["start_url"] == "./" and info["icons"]
    sw = client.get("/ondevice/sw.js").get_data(as_text=True)
    precache = json.loads(re.search(r"const PRECACHE = (\[.*\]);", sw).group(1))
    for rel in precache:
        assert client.get("/ondevice/" + rel.replace("./", "")).status_code == 200, rel
    assert "model/backbone.tflite" in precache and "model/head.json" in precache
    # The input gate travels with the page (kept offline too): rules, words, reference data.
    assert {"model/gate.json", "model/gate_reference.f32", "model/gate_head.f16"} <= set(precache)
    gate = client.get("/ondevice/model/gate.json").get_json(force=True)
    mf_gate = json.loads((lite_dir / "manifest.json").read_text())["gate"]["embedding"]
    assert gate["embedding"]["threshold"] == mf_gate["threshold"]
    reference = client.get("/ondevice/model/gate_reference.f32").data
    assert len(reference) == 4 * mf_gate["n_reference"] * 1280
    backbone = client.get("/ondevice/model/backbone.tflite").data
    mf = json.loads((lite_dir / "manifest.json").read_text())
    assert backbone == (lite_dir / mf["runtime"]["backbones"]["deep"]["file"]).read_bytes()


def test_static_export_holds_the_same_page(lite_dir, tmp_path):
    from poxscan.cli import main

    out = tmp_path / "site"
    assert main(["export-web", str(lite_dir), str(out)]) == 0
    sw = (out / "sw.js").read_text()
    precache = json.loads(re.search(r"const PRECACHE = (\[.*\]);", sw).group(1))
    assert all((out / rel).is_file() for rel in precache if rel != "./")
    head = json.loads((out / "model" / "head.json").read_text())
    assert len(head["weights"]) == 1280 and 0 < head["threshold"] < 1


def test_other_models_keep_every_other_page(root, data_root):
    """A handcrafted (non-lite) model: /ondevice/ says why it is unavailable; the rest works."""
    from poxscan.web import create_app

    app = create_app(trained_model_dir(root, str(data_root)), {"LIME": False})
    client = app.test_client()
    page = client.get("/ondevice/")
    assert page.status_code == 404 and b"not a lite model" in page.data
    assert client.get("/").status_code == 200
    assert client.get("/api/health").status_code == 200
