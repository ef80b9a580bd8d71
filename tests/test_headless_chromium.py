"""The one headless-Chromium set-up (:mod:`poxscan.core.headless_chromium`) in a real browser."""

from __future__ import annotations

import pytest

from poxscan.core import headless_chromium


def test_window_size_and_console_log(tmp_path):
    driver = headless_chromium.start_chromium(
        tmp_path / "profile", window_size=(800, 600), logs=("browser",), page_load_timeout=30
    )
    try:
        driver.get("data:text/html,<p>hello</p><script>console.warn('poxscan-check')</script>")
        assert driver.execute_script("return window.innerWidth") == 800
        assert driver.execute_script("return navigator.webdriver") is True
        messages = [entry["message"] for entry in driver.get_log("browser")]
        assert any("poxscan-check" in m for m in messages), messages
    finally:
        driver.quit()


def test_a_missing_driver_is_an_error_naming_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(headless_chromium, "CHROMEDRIVER", str(tmp_path / "no-chromedriver"))
    with pytest.raises(RuntimeError, match=r"no-chromedriver not found.*chromium-driver"):
        headless_chromium.start_chromium(tmp_path / "profile")
