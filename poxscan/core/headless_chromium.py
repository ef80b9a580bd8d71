"""Headless Chromium through selenium: the one driver set-up of the browser tests and benchmarks.

Debian's ``chromium`` and ``chromedriver`` (``.ci/run`` installs them); selenium is imported
only when a browser is started, so nothing else of poxscan needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

__all__ = ["CHROMEDRIVER", "CHROMIUM", "CHROMIUM_FLAGS", "start_chromium"]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # The network is closed: without these, Chromium's own background connections fail.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
)


def start_chromium(
    profile: str | PathLike,
    *,
    window_size: tuple[int, int] | None = None,
    logs: Sequence[str] = (),
    downloads: str | PathLike | None = None,
    page_load_timeout: float = 60.0,
) -> Any:
    """Start headless Chromium with a fresh profile; the caller quits it.

    Parameters
    ----------
    profile : path-like
        An empty folder for the browser's profile (one per browser: profiles lock).
    window_size : (width, height), optional
        The window in CSS pixels; default Chromium's own.
    logs : sequence of str, default=()
        Log types ``driver.get_log`` may read: ``"browser"`` (the console),
        ``"performance"`` (DevTools events, e.g. every network request).
    downloads : path-like, optional
        Where downloads are saved, without asking.
    page_load_timeout : float, default=60.0
        Seconds a page may take to load.

    Returns
    -------
    selenium.webdriver.Chrome

    Raises
    ------
    RuntimeError
        When the browser cannot start, naming the binaries to install.
    """
    install = "Install Debian's chromium and chromium-driver (.ci/run does)."
    for binary in (CHROMIUM, CHROMEDRIVER):
        # Checked here: given a missing path, selenium would go looking for a driver online.
        if not Path(binary).is_file():
            raise RuntimeError(f"headless Chromium cannot start: {binary} not found. {install}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if window_size is not None:
        options.add_argument(f"--window-size={window_size[0]},{window_size[1]}")
    options.binary_location = CHROMIUM
    if logs:
        options.set_capability("goog:loggingPrefs", {kind: "ALL" for kind in logs})
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as exc:  # say what to install, whatever selenium raised
        raise RuntimeError(
            f"headless Chromium could not start ({CHROMIUM} with {CHROMEDRIVER}): "
            f"{type(exc).__name__}: {exc}. {install}"
        ) from exc
    if downloads is not None:
        # Headless Chromium also wants downloads allowed through DevTools.
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
    driver.set_page_load_timeout(page_load_timeout)
    return driver
