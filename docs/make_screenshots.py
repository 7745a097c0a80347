"""Take the dashboard screenshots shown in the README, from a running service (e.g. `make demo`).

    .venv/bin/python docs/make_screenshots.py [http://127.0.0.1:8080]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import make_driver

OUT = Path(__file__).resolve().parent


def shoot(base: str, name: str, width: int, height: int, mobile: bool) -> None:
    """Load the dashboard, wait for its data and save a full-page screenshot."""
    driver = make_driver(width, height, mobile=mobile)
    try:
        driver.get(base + "/")
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "article.station svg polyline"))
        time.sleep(2)  # images and the live badge
        full = driver.execute_script("return document.documentElement.scrollHeight")
        if not mobile:
            driver.set_window_size(width, full + 40)
        driver.save_screenshot(str(OUT / name))
    finally:
        driver.quit()


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
    shoot(url, "dashboard-desktop.png", 1300, 900, mobile=False)
    shoot(url, "dashboard-phone.png", 390, 844, mobile=True)
    print("saved", OUT / "dashboard-desktop.png", OUT / "dashboard-phone.png")
