"""Impact by hamlet on the dashboard, in a real headless Chromium: at báo động II the station's card and summary row
name the hamlets that must prepare or move and what to do (in the page's language), and the hamlets' map shades
their areas by the level affecting them, at desktop and phone width, with no console errors."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser.test_dashboard import console_errors, open_dashboard, raise_bd2_alert, wait
from tests.residents.impact_fixtures import impact_with_areas
from tests.support import make_settings
from tichwatch.app.service import Service
from tichwatch.config.schema import Settings
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("TICHWATCH_IMPACT_SHOTS")
"""A folder to save the screenshots in (to look at them), when set."""


@pytest.fixture
def settings(tmp_path: Path, broker: MosquittoProcess) -> Settings:
    """The test deployment with the test hamlets (IMPACT) and their areas."""
    return make_settings(tmp_path / "data", broker.port, impact=impact_with_areas(tmp_path))


def _shot(driver: webdriver.Chrome, name: str) -> None:
    if SHOTS:
        driver.save_screenshot(str(Path(SHOTS) / name))


def _check_page(driver: webdriver.Chrome, action: str) -> None:
    box = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "article[data-station=st1] [data-impact=st1]"))
    assert "Thôn 1, Thôn 2" in box[0].text and action in box[0].text
    summary = driver.find_element(By.CSS_SELECTOR, "[data-summary=st1] .s-impact")
    assert summary.text == "Thôn 1, Thôn 2"
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-impact=st2]")  # st2 is below báo động I
    shaded = {p.get_attribute("data-hamlet"): p.get_attribute("class")
              for p in driver.find_elements(By.CSS_SELECTOR, "#hamlet-map polygon")}
    assert shaded == {"thon-1": "hamlet BD2", "thon-2": "hamlet BD2", "thon-3": "hamlet ok"}
    names = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#hamlet-map text.hamlet-name")]
    assert names == ["Thôn 1", "Thôn 2", "Thôn 3"]
    assert console_errors(driver) == []


def test_the_affected_hamlets_on_the_dashboard(live_app: tuple[Service, str], gateway: GatewayPublisher,
                                               browser: webdriver.Chrome, phone: webdriver.Chrome) -> None:
    svc, base = live_app
    raise_bd2_alert(svc, gateway)
    open_dashboard(browser, base)
    _check_page(browser, "Chuẩn bị di dời người già, trẻ em")
    _shot(browser, "impact-desktop.png")
    browser.find_element(By.ID, "lang").click()
    wait(browser, lambda d: "Get ready to move the elderly and children" in d.find_element(
        By.CSS_SELECTOR, "[data-impact=st1]").text)
    open_dashboard(phone, base)
    _check_page(phone, "Chuẩn bị di dời người già, trẻ em")
    overflow = phone.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than a phone screen"
    svg = phone.find_element(By.CSS_SELECTOR, "#hamlet-map svg")
    assert 0 < svg.size["width"] <= 390
    phone.execute_script("document.getElementById('hamlet-map').scrollIntoView()")
    _shot(phone, "impact-phone.png")
