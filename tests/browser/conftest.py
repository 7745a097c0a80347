"""Browser fixtures: Debian's headless Chromium driven through chromedriver (no browser download at run time);
the service behind a real uvicorn server and a real broker is `live_app` from tests/conftest.py."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _browser_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def make_driver(width: int, height: int, mobile: bool = False, extra_args: tuple[str, ...] = ()) -> webdriver.Chrome:
    """A headless Chromium of the given window size (emulating a phone's viewport) that records console messages;
    `extra_args` are more Chromium switches."""
    if not _browser_available():
        if os.environ.get("CI"):
            pytest.fail("Chromium/chromedriver missing in CI: .ci/setup installs the Debian packages")
        pytest.skip("Debian's chromium and chromium-driver are not installed (make setup installs them)")
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", f"--window-size={width},{height}", *extra_args):
        opts.add_argument(arg)
    if mobile:
        opts.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height,
                                                                           "pixelRatio": 3.0, "touch": True}})
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=opts)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """A desktop-sized browser."""
    driver = make_driver(1300, 1500)
    yield driver
    driver.quit()


@pytest.fixture
def phone() -> Iterator[webdriver.Chrome]:
    """A phone-sized browser (390 × 844, a common phone viewport)."""
    driver = make_driver(390, 844, mobile=True)
    yield driver
    driver.quit()
