"""The front door in a real headless Chromium: a non-skin photo is refused with its reason, a
lesion photo gets the explanation map, and the clinician report downloads and opens.

``poxscan serve`` runs the model with the embedding gate (:mod:`_gate_models`) in a subprocess on
127.0.0.1. Screenshots go to ``$POXSCAN_SCREENSHOTS`` (default: the test's temporary folder);
``experiments/results/gate/screens/`` holds the committed ones. Chromium and chromedriver must
be installed; the test fails, never skips, without them.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from _gate_models import gate_model_dir
from _trained_models import feature_data
from PIL import Image
from test_browser import wait_for


@pytest.fixture(scope="module")
def server(root, data_root):
    from poxscan.web.launch import start_serve

    model_dir = gate_model_dir(root, str(data_root))
    served = start_serve(model_dir, "--host", "127.0.0.1", "--threads", "2")
    try:
        yield served.url
    finally:
        served.stop()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(chromium, downloads):
    driver = chromium(window_size=(1100, 1600), downloads=downloads, page_load_timeout=90)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("POXSCAN_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _upload(browser, url: str, path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(url)
    browser.find_element(By.ID, "file").send_keys(str(path.resolve()))
    browser.find_element(By.ID, "submit").click()


@pytest.mark.deep
@pytest.mark.slow
def test_refusal_map_and_report_in_a_real_browser(
    browser, server, root, data_root, downloads, screenshots, tmp_path
):
    import skimage.data
    from selenium.webdriver.common.by import By

    astronaut = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(astronaut)
    _upload(browser, server, astronaut)
    message = wait_for(browser, "#refusal-message", timeout=120).text
    assert "does not look like a photo of skin" in message
    assert "close, sharp, well-lit photo" in browser.find_element(By.ID, "refusal-advice").text
    assert browser.find_elements(By.ID, "result-probability") == []  # no probability shown
    browser.save_screenshot(str(screenshots / "gate_refused.png"))

    _, y, _, paths = feature_data(root, str(data_root))
    lesion = Path(paths[list(y).index(1)])
    _upload(browser, server, lesion)
    img = wait_for(browser, "#saliency-map", timeout=120)
    assert browser.execute_script("return arguments[0].naturalWidth;", img) == 224
    assert "not where disease is" in browser.find_element(By.ID, "saliency-caption").text
    families = browser.find_element(By.ID, "families").text
    assert "deep-network pattern" in families and "colour" in families
    browser.save_screenshot(str(screenshots / "gate_result.png"))

    browser.find_element(By.ID, "report-html").click()
    target = downloads / "poxscan-report.html"
    deadline = time.monotonic() + 30
    while not target.is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert target.is_file(), sorted(p.name for p in downloads.iterdir())
    text = target.read_text(encoding="utf-8")
    assert "@media print" in text and "Expected sensitivity at this threshold" in text
    browser.get(target.resolve().as_uri())
    assert wait_for(browser, "#report-map").get_attribute("src").startswith("data:image/png")
    sha = browser.find_element(By.ID, "report-sha").text
    assert re.fullmatch(r"[0-9a-f]{64}", sha)
    assert browser.find_element(By.ID, "report-label").text in (
        "Looks like mpox",
        "Does not look like mpox",
    )
    browser.save_screenshot(str(screenshots / "gate_report.png"))
