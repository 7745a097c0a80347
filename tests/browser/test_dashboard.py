"""The dashboard in a real headless Chromium against the real service, broker and store."""
from __future__ import annotations

import time

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support import secret
from tichwatch.api.accounts import Role
from tichwatch.app.service import Service
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.publisher import GatewayPublisher

pytestmark = pytest.mark.browser


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """Console and network errors the page logged."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait(driver: webdriver.Chrome, predicate, timeout_s: float = 15):  # type: ignore[no-untyped-def]
    """Wait for the predicate; live events re-render lists, so an element gone stale is simply looked up again."""
    return WebDriverWait(driver, timeout_s, poll_frequency=0.1,
                         ignored_exceptions=[StaleElementReferenceException]).until(lambda d: predicate(d))


def click(driver: webdriver.Chrome, selector: str, timeout_s: float = 15) -> None:
    """Click the element once it is there (live events re-render lists: a stale element is looked up again)."""
    def clicked(d: webdriver.Chrome) -> bool:
        try:
            found = d.find_elements(By.CSS_SELECTOR, selector)
            if not found:
                return False
            found[0].click()
            return True
        except StaleElementReferenceException:
            return False
    wait(driver, clicked, timeout_s)


def open_dashboard(driver: webdriver.Chrome, base: str) -> None:
    driver.get(base + "/")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "article.station"))
    wait(driver, lambda d: "on" in d.find_element(By.ID, "live").get_attribute("class"))


def test_reading_published_over_mqtt_appears_without_reload(live_app: tuple[Service, str], browser: webdriver.Chrome,
                                                            gateway: GatewayPublisher) -> None:
    _svc, base = live_app
    gateway.publish(Topics().reading("st1"), encode_reading(time.time() - 60, 5.12), wait=True)
    open_dashboard(browser, base)
    browser.execute_script("window.__marker = 'same page'")
    gateway.publish(Topics().reading("st1"), encode_reading(time.time() - 1, 6.87))
    level = '[data-level="st1"]'
    wait(browser,
         lambda d: d.find_elements(By.CSS_SELECTOR, level) and "6,87" in d.find_element(By.CSS_SELECTOR, level).text)
    assert browser.execute_script("return window.__marker") == "same page"  # no reload happened
    assert console_errors(browser) == []


def test_language_switch_to_english(live_app: tuple[Service, str], browser: webdriver.Chrome) -> None:
    _, base = live_app
    open_dashboard(browser, base)
    assert browser.find_element(By.ID, "alerts-h").text == "Cảnh báo đang hoạt động"
    browser.find_element(By.ID, "lang").click()
    wait(browser, lambda d: d.find_element(By.ID, "alerts-h").text == "Active alerts")
    assert browser.execute_script("return document.documentElement.lang") == "en"


def test_works_at_phone_width(live_app: tuple[Service, str], phone: webdriver.Chrome) -> None:
    _, base = live_app
    open_dashboard(phone, base)
    overflow = phone.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than a phone screen"
    card = phone.find_element(By.CSS_SELECTOR, "article.station")
    assert card.size["width"] <= 390
    assert phone.find_element(By.ID, "signin-open").size["height"] >= 40  # a finger-sized target
    assert console_errors(phone) == []


def raise_bd2_alert(svc: Service, gateway: GatewayPublisher) -> str:
    """Publish readings that cross BD2 at st1 and return the id of the flood alert they raise."""
    now = time.time()
    for i, level in enumerate((7.0, 7.2, 7.45, 7.5)):
        gateway.publish(Topics().reading("st1"), encode_reading(now - 300 + 60 * i, level), wait=True)

    def alert_id() -> str | None:
        row = svc.store.query_one("SELECT id FROM alerts WHERE kind = 'flood.level' AND state = 'firing'")
        return row[0] if row else None

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and alert_id() is None:
        time.sleep(0.05)
    found = alert_id()
    assert found, "no flood alert was raised"
    return found


def test_officer_signs_in_and_acknowledges_page_and_api_agree(live_app: tuple[Service, str], browser: webdriver.Chrome,
                                                              gateway: GatewayPublisher) -> None:
    svc, base = live_app
    svc.accounts.add_user("truc.ban", secret("truc-ban-password"), Role.OFFICER, time.time())
    alert_id = raise_bd2_alert(svc, gateway)
    open_dashboard(browser, base)
    row = f'li[data-alert="{alert_id}"]'
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, row))
    assert not browser.find_elements(By.CSS_SELECTOR, f"{row} button.ack")  # not signed in: no acknowledge
    browser.find_element(By.ID, "signin-open").click()
    browser.find_element(By.ID, "username").send_keys("truc.ban")
    browser.find_element(By.ID, "password").send_keys("truc-ban-password")
    browser.find_element(By.ID, "signin-submit").click()
    wait(browser, lambda d: d.find_element(By.ID, "who").text.startswith("truc.ban"))
    click(browser, f"{row} button.ack")
    wait(browser, lambda d: "acknowledged" in d.find_element(By.CSS_SELECTOR, row).get_attribute("class"))
    body = httpx.get(f"{base}/api/v1/alerts/{alert_id}").json()["alert"]
    assert body["state"] == "acknowledged" and body["acknowledged_by"] == "truc.ban"
    wait(browser, lambda d: "truc.ban" in d.find_element(By.CSS_SELECTOR, row).text)
    assert console_errors(browser) == []


def test_public_visitor_cannot_acknowledge(live_app: tuple[Service, str], browser: webdriver.Chrome,
                                           gateway: GatewayPublisher) -> None:
    svc, base = live_app
    alert_id = raise_bd2_alert(svc, gateway)
    open_dashboard(browser, base)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'li[data-alert="{alert_id}"]'))
    assert not browser.find_elements(By.CSS_SELECTOR, "button.ack")
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"fetch('/api/v1/alerts/{alert_id}/ack', {{method: 'POST', headers: {{'Content-Type': 'application/json'}},"
        " body: '{}'}).then(r => done(r.status));")
    assert status == 401
    assert httpx.get(f"{base}/api/v1/alerts/{alert_id}").json()["alert"]["state"] == "firing"


def test_alert_page_linked_from_notifications(live_app: tuple[Service, str], browser: webdriver.Chrome,
                                              gateway: GatewayPublisher) -> None:
    svc, base = live_app
    alert_id = raise_bd2_alert(svc, gateway)
    browser.get(f"{base}/alerts/{alert_id}")
    wait(browser, lambda d: d.find_element(By.ID, "alert-title").text.strip() != "")
    assert "Trạm thử" in browser.find_element(By.ID, "alert-page").text
    assert browser.find_elements(By.CSS_SELECTOR, "#alert-log li")
    assert console_errors(browser) == []


def sign_in(driver: webdriver.Chrome, username: str, password: str) -> None:
    driver.find_element(By.ID, "signin-open").click()
    for field, value in (("username", username), ("password", password)):
        driver.find_element(By.ID, field).clear()
        driver.find_element(By.ID, field).send_keys(value)
    driver.find_element(By.ID, "signin-submit").click()
    wait(driver, lambda d: d.find_element(By.ID, "who").text.startswith(username))


def test_admin_edits_alarm_levels_on_the_page_and_the_api_agrees(live_app: tuple[Service, str],
                                                                 browser: webdriver.Chrome) -> None:
    svc, base = live_app
    svc.accounts.add_user("truc.ban", secret("truc-ban-password"), Role.OFFICER, time.time())
    svc.accounts.add_user("quan.tri", secret("quan-tri-password"), Role.ADMIN, time.time())
    open_dashboard(browser, base)
    assert not browser.find_elements(By.CSS_SELECTOR, "button.edit-levels")  # the public cannot
    sign_in(browser, "truc.ban", "truc-ban-password")
    assert not browser.find_elements(By.CSS_SELECTOR, "button.edit-levels")  # nor can an officer
    browser.find_element(By.ID, "signout").click()
    sign_in(browser, "quan.tri", "quan-tri-password")
    card = 'article[data-station="st1"]'
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"{card} button.edit-levels"))[0].click()
    bd1 = browser.find_element(By.ID, "lv-bd1")
    assert float(bd1.get_attribute("value")) == 6.5
    bd1.clear()
    bd1.send_keys("7.4")  # above BD2 (7.3): refused with the reason, nothing saved
    browser.find_element(By.ID, "lv-reason").send_keys("Quyết định 123/QĐ-UBND")
    browser.find_element(By.ID, "levels-submit").click()
    wait(browser, lambda d: "BĐ I < BĐ II < BĐ III" in d.find_element(By.ID, "levels-error").text)
    assert httpx.get(f"{base}/api/v1/stations/st1").json()["alarm_levels_m"]["BD1"] == 6.5
    bd1.clear()
    bd1.send_keys("6.2")
    browser.find_element(By.ID, "levels-submit").click()
    wait(browser, lambda d: "quan.tri" in d.find_element(By.CSS_SELECTOR, card).text)
    station = httpx.get(f"{base}/api/v1/stations/st1").json()
    assert station["alarm_levels_m"]["BD1"] == 6.2 and station["alarm_levels_set"]["by"] == "quan.tri"
    assert "BD1 6,20" in browser.find_element(By.CSS_SELECTOR, f"{card} svg.chart").text  # the chart's band moved
    assert console_errors(browser) == []
