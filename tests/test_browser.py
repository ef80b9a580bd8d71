"""End to end in a real headless Chromium: ``poxscan serve`` (waitress) driven through selenium.

The server is the real command in a subprocess on 127.0.0.1 (a free port); the browser uploads a
real photo through the file input, reads the result page, talks to the chatbot, drops a file on
the drop zone, and checks the pages at a phone's size (no horizontal scrolling) and without
JavaScript. Screenshots go to ``$POXSCAN_SCREENSHOTS`` (default: the test's temporary folder).

Chromium and chromedriver must be installed (``/usr/bin/chromium``, ``/usr/bin/chromedriver``;
``.ci/run`` installs them): if the browser cannot start, the test fails, it never skips.
"""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.request
from pathlib import Path

import pytest
from _trained_models import feature_data, trained_model_dir
from PIL import Image

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, data_root) -> Path:
    return trained_model_dir(str(tmp_path_factory.getbasetemp() / "poxscan_models"), str(data_root))


@pytest.fixture(scope="module")
def photos(tmp_path_factory, data_root) -> list[str]:
    """A real mpox photo and a real non-mpox photo."""
    root = str(tmp_path_factory.getbasetemp() / "poxscan_models")
    _, y, _, paths = feature_data(root, str(data_root))
    return [paths[list(y).index(1)], paths[list(y).index(0)]]


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("POXSCAN_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def server(model_dir):
    """``poxscan serve`` on 127.0.0.1, any free port; yields the base URL."""
    from poxscan.web.launch import start_serve

    served = start_serve(model_dir, "--host", "127.0.0.1", "--threads", "2", "--lime-samples", "30")
    try:
        health = json.load(urllib.request.urlopen(served.url + "api/health", timeout=30))
        assert health["status"] == "ok"
        yield served.url
    finally:
        served.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    driver = chromium(window_size=(1280, 900), logs=("browser",))
    yield driver
    driver.quit()


def wait_for(driver, css: str, timeout: float = 30, condition=None):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        (condition or ec.presence_of_element_located)((By.CSS_SELECTOR, css))
    )


def api_predict(url: str, path: str) -> dict:
    """The same photo through the JSON API (multipart by hand: no extra dependency)."""
    from poxscan.web.launch import multipart_photo

    body, content_type = multipart_photo(Path(path).read_bytes(), "p.jpg")
    req = urllib.request.Request(
        url + "api/predict", data=body, headers={"Content-Type": content_type}
    )
    return json.load(urllib.request.urlopen(req, timeout=60))


def csp_errors(driver) -> list[str]:
    return [
        e["message"]
        for e in driver.get_log("browser")
        if "Content Security Policy" in e["message"] or "Refused to" in e["message"]
    ]


def no_horizontal_scroll(driver) -> tuple[int, int]:
    return driver.execute_script(
        "return [document.scrollingElement.scrollWidth, window.innerWidth];"
    )


def test_upload_result_and_chat_in_a_real_browser(browser, server, photos, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server)
    assert "Screen a photo" in browser.title
    browser.find_element(By.ID, "file").send_keys(str(Path(photos[0]).resolve()))
    assert Path(photos[0]).name in browser.find_element(By.ID, "dz-file").text  # JS saw it
    browser.find_element(By.ID, "submit").click()
    label_el = wait_for(browser, "#result-label")
    label = label_el.get_attribute("data-label")
    prob = float(
        browser.find_element(By.ID, "result-probability").get_attribute("data-probability")
    )
    expected = api_predict(server, photos[0])
    assert label == expected["label"] and label_el.text in (
        "Looks like mpox",
        "Does not look like mpox",
    )
    assert prob == pytest.approx(expected["probability"], abs=1e-4)
    assert browser.find_element(By.ID, "result-probability").text == (
        f"{100 * expected['probability']:.0f} %"
    )
    assert "not a diagnosis" in browser.find_element(By.CSS_SELECTOR, ".caution").text
    assert browser.find_elements(By.CSS_SELECTOR, "#why .features li")
    thumb = browser.find_element(By.CSS_SELECTOR, ".thumb img")
    assert browser.execute_script("return arguments[0].naturalWidth;", thumb) > 0
    browser.save_screenshot(str(screenshots / "desktop_result.png"))

    # The chatbot, in page (JavaScript fetch to /api/chat): the URL does not change.
    page_url = browser.current_url
    box = browser.find_element(By.ID, "chat-message")
    box.send_keys("How does mpox spread?")
    browser.find_element(By.ID, "chat-send").click()
    reply = wait_for(browser, "#chat-log .chat-bot[data-kind]")
    assert reply.get_attribute("data-kind") == "answer", reply.text
    assert "contact" in reply.text.lower() and "Sources:" in reply.text
    assert browser.current_url == page_url
    box.send_keys("Can you tell me if my rash is mpox?")
    browser.find_element(By.ID, "chat-send").click()
    WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#chat-log .chat-bot[data-kind]")) == 2
    )
    second = browser.find_elements(By.CSS_SELECTOR, "#chat-log .chat-bot[data-kind]")[-1]
    assert second.get_attribute("data-kind") == "refusal" and "clinician" in second.text
    browser.save_screenshot(str(screenshots / "desktop_chat.png"))
    assert csp_errors(browser) == []


def test_did_you_mean_link_in_a_real_browser(browser, server, screenshots):
    """A medium-confidence answer offers "did you also mean" links and its sources as links;
    clicking a link asks its question in page, and the same link works without JavaScript."""
    from urllib.parse import urlparse

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "chat")
    browser.find_element(By.ID, "chat-message").send_keys("can it spread")
    browser.find_element(By.ID, "chat-send").click()
    reply = wait_for(browser, "#chat-log .chat-bot[data-kind]")
    assert reply.get_attribute("data-kind") == "answer", reply.text
    assert reply.get_attribute("data-confidence") == "medium"
    assert reply.get_attribute("data-entry") == "transmission_overview"
    sources = reply.find_elements(By.CSS_SELECTOR, ".chat-sources a")
    assert sources
    for link in sources:
        host = urlparse(link.get_attribute("href")).hostname or ""
        assert host.endswith(("cdc.gov", "who.int")), host
        assert link.text and link.get_attribute("target") == "_blank"
    assert "October 2023" in reply.find_element(By.CSS_SELECTOR, ".chat-asof").text
    body = reply.find_element(By.CSS_SELECTOR, ".chat-text").text
    assert "Did you also mean" not in body and "Sources" not in body  # shown once, as links
    links = reply.find_elements(By.CSS_SELECTOR, "a.chat-also-link")
    assert len(links) == 2
    question, entry = links[0].text, links[0].get_attribute("data-entry")
    assert entry and entry != "transmission_overview" and question.endswith("?")
    href = links[0].get_attribute("href")
    page_url = browser.current_url
    links[0].click()
    WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#chat-log .chat-bot[data-kind]")) == 2
    )
    asked = browser.find_elements(By.CSS_SELECTOR, "#chat-log .chat-user")[-1]
    second = browser.find_elements(By.CSS_SELECTOR, "#chat-log .chat-bot[data-kind]")[-1]
    assert asked.text == question
    assert second.get_attribute("data-kind") == "answer"
    assert second.get_attribute("data-entry") == entry
    assert browser.current_url == page_url  # asked in page, no navigation
    browser.save_screenshot(str(screenshots / "desktop_chat_did_you_mean.png"))
    assert csp_errors(browser) == []

    # Without JavaScript the link is a plain GET that the server answers.
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(href)
        served = wait_for(browser, "#chat-log .chat-bot[data-kind]")
        assert served.get_attribute("data-entry") == entry
        assert browser.find_element(By.CSS_SELECTOR, "#chat-log .chat-user").text == question
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_drag_and_drop_upload(browser, server, photos):
    from selenium.webdriver.common.by import By

    browser.get(server)
    data = base64.b64encode(Path(photos[1]).read_bytes()).decode()
    browser.execute_script(
        """
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const file = new File([bytes], "dropped.jpg", {type: "image/jpeg"});
        const dt = new DataTransfer();
        dt.items.add(file);
        const zone = document.getElementById("dropzone");
        for (const type of ["dragenter", "dragover", "drop"]) {
          const init = {dataTransfer: dt, bubbles: true, cancelable: true};
          zone.dispatchEvent(new DragEvent(type, init));
        }
        """,
        data,
    )
    assert browser.execute_script("return document.getElementById('file').files.length;") == 1
    assert "dropped.jpg" in browser.find_element(By.ID, "dz-file").text
    browser.find_element(By.ID, "submit").click()
    label = wait_for(browser, "#result-label").get_attribute("data-label")
    assert label == api_predict(server, photos[1])["label"]
    assert browser.find_element(By.CSS_SELECTOR, ".filename").text == "dropped.jpg"


def test_phone_sized_pages_do_not_scroll_sideways(browser, server, photos, screenshots):
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {**PHONE, "deviceScaleFactor": 2, "mobile": True},
    )
    try:
        for name, url in (("upload", ""), ("model_card", "model"), ("chat", "chat")):
            browser.get(server + url)
            width, inner = no_horizontal_scroll(browser)
            assert inner <= PHONE["width"] and width <= inner, (name, width, inner)
            browser.save_screenshot(str(screenshots / f"phone_{name}.png"))
        browser.get(server)
        browser.find_element(By.ID, "file").send_keys(str(Path(photos[0]).resolve()))
        browser.find_element(By.ID, "submit").click()
        wait_for(browser, "#result-label")
        width, inner = no_horizontal_scroll(browser)
        assert width <= inner, ("result", width, inner)
        browser.save_screenshot(str(screenshots / "phone_result.png"))
        # The whole result page, top to bottom, for a person to look at.
        height = browser.execute_script("return document.scrollingElement.scrollHeight;")
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": PHONE["width"],
                "height": min(int(height), 4000),
                "deviceScaleFactor": 1,
                "mobile": True,
            },
        )
        browser.save_screenshot(str(screenshots / "phone_result_full.png"))
        with Image.open(io.BytesIO(browser.get_screenshot_as_png())) as shot:
            assert shot.width == PHONE["width"]
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert csp_errors(browser) == []


def test_pages_work_without_javascript(browser, server, photos):
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(server)
        browser.find_element(By.ID, "file").send_keys(str(Path(photos[1]).resolve()))
        assert browser.find_element(By.ID, "dz-file").text == ""  # no script ran
        browser.find_element(By.ID, "submit").click()
        label = wait_for(browser, "#result-label").get_attribute("data-label")
        assert label == api_predict(server, photos[1])["label"]
        browser.find_element(By.ID, "chat-message").send_keys("What is mpox?")
        browser.find_element(By.ID, "chat-send").click()
        reply = wait_for(browser, "#chat-log .chat-bot[data-kind]")
        assert browser.current_url.endswith("/chat#chat")  # the server rendered the reply
        assert reply.get_attribute("data-kind") == "answer" and "mpox" in reply.text.lower()
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_lime_overlay_on_request(browser, server, photos, screenshots):
    from selenium.webdriver.common.by import By

    browser.get(server)
    browser.find_element(By.ID, "file").send_keys(str(Path(photos[0]).resolve()))
    browser.find_element(By.NAME, "lime").click()
    browser.find_element(By.ID, "submit").click()
    overlay = wait_for(browser, "#lime .overlay img", timeout=120)
    assert browser.execute_script("return arguments[0].naturalWidth;", overlay) > 200
    browser.execute_script("arguments[0].scrollIntoView();", overlay)
    browser.save_screenshot(str(screenshots / "desktop_lime.png"))
    assert csp_errors(browser) == []


def test_bad_upload_in_the_browser_gets_an_error_page(browser, server, tmp_path, photos):
    from selenium.webdriver.common.by import By

    fake = tmp_path / "holiday.jpg"
    fake.write_text("not really a photo")
    browser.get(server)
    browser.find_element(By.ID, "file").send_keys(str(fake))
    browser.find_element(By.ID, "submit").click()
    message = wait_for(browser, "#error-message").text
    assert "holiday.jpg" in message and "not an image" in message
    # The server goes on serving.
    assert api_predict(server, photos[0])["ok"] is True
