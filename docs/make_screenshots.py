"""Take the screenshots shown in the README from a running service (e.g. `make demo` during its flood).

    TICHWATCH_SHOT_USER=admin TICHWATCH_SHOT_PASSWORD=… .venv/bin/python docs/make_screenshots.py [http://127.0.0.1:8080]

The public dashboard at desktop and phone width needs no account. The officer's desk (the dashboard signed in), the
first camera's page, an alert's page at phone width and the bulletin desk need an officer or admin account (the
environment variables above; without them those four are skipped). The bulletin desk shot drafts a bulletin from the
live figures of now (it stays in the service's drafts).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import make_driver

OUT = Path(__file__).resolve().parent


def _wait(driver: webdriver.Chrome, css: str) -> None:
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))


def _sign_in(driver: webdriver.Chrome, user: str, password: str) -> None:
    driver.find_element(By.ID, "signin-open").click()
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "signin-submit").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "who").text.startswith(user))


def _save(driver: webdriver.Chrome, name: str, width: int, mobile: bool) -> None:
    time.sleep(2)  # images, charts and the live badge
    driver.execute_script("window.scrollTo(0, 0)")
    if not mobile:
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, full + 40)
        time.sleep(1)
    driver.save_screenshot(str(OUT / name))
    print("saved", OUT / name)


def shoot(base: str, path: str, name: str, width: int, height: int, mobile: bool, ready: str,
          login: tuple[str, str] | None = None, click: str | None = None) -> None:
    """Load a page (signed in when `login` is given; then `click` on an element when given), wait for `ready` and
    save a screenshot (full page on desktop)."""
    driver = make_driver(width, height, mobile=mobile)
    try:
        driver.get(base + path)
        _wait(driver, "#signin-open")
        if login:
            _sign_in(driver, *login)
        if click:
            _wait(driver, click)
            driver.find_element(By.CSS_SELECTOR, click).click()
        _wait(driver, ready)
        _save(driver, name, width, mobile)
    finally:
        driver.quit()


def first_alert(base: str) -> str | None:
    """The id of the most severe open alert (the API lists them most severe first)."""
    alerts = httpx.get(f"{base}/api/v1/alerts?state=active", timeout=10).json()["alerts"]
    return alerts[0]["id"] if alerts else None


def fresh_draft(base: str, user: str, password: str) -> str:
    """Draft a bulletin from the live figures of now; returns its id."""
    token = httpx.post(f"{base}/api/v1/auth/login", json={"username": user, "password": password},
                       timeout=30).json()["access_token"]
    r = httpx.post(f"{base}/api/v1/bulletins", json={}, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    r.raise_for_status()
    return str(r.json()["id"])


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
    shoot(url, "/", "dashboard-desktop.png", 1300, 900, False, "article.station svg polyline")
    shoot(url, "/", "dashboard-phone.png", 390, 844, True, "article.station svg polyline")
    user, password = os.environ.get("TICHWATCH_SHOT_USER"), os.environ.get("TICHWATCH_SHOT_PASSWORD")
    if not (user and password):
        print("TICHWATCH_SHOT_USER/TICHWATCH_SHOT_PASSWORD not set: the desks are not shot")
        sys.exit(0)
    shoot(url, "/", "officer-desk.png", 1300, 900, False, "#alerts li a", login=(user, password))
    cameras = httpx.get(f"{url}/api/v1/cameras", timeout=10).json()["cameras"]
    if cameras:
        shoot(url, f"/cameras/{cameras[0]['id']}", "camera-page.png", 1300, 900, False, "#cam-recent li",
              login=(user, password))
    alert = first_alert(url)
    if alert:
        shoot(url, f"/alerts/{alert}", "alert-page-phone.png", 390, 844, True, "#alert-log li", login=(user, password))
    draft = fresh_draft(url, user, password)
    shoot(url, "/bulletins/desk", "bulletin-desk.png", 1300, 900, False, "#ed-card:not([hidden])",
          login=(user, password), click=f'li[data-bulletin="{draft}"]')
