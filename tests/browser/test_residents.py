"""The residents' pages in a real headless Chromium against the real app and store (no broker needed): a resident
signs up on a phone-sized screen with the code sent to them; an officer on a desktop screen sees the counts and the
list with the number masked, adds a resident on their behalf and unsubscribes one; no console errors."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.test_dashboard import click, console_errors, sign_in, wait
from tests.residents.impact_fixtures import IMPACT
from tests.residents.subscriptions.conftest import SentCodes
from tests.support import make_settings, secret, wait_for
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.residents.subscriptions.recipients import active_in
from tichwatch.tools.broker import free_port

pytestmark = pytest.mark.browser
PASSWORD = secret("residents-officer-password")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Service, SentCodes, str]]:
    """The app (not started: no broker) behind uvicorn, codes recorded instead of sent, an officer account."""
    svc = Service(make_settings(tmp_path / "data", impact=IMPACT))
    codes = SentCodes()
    svc.subscriptions.registration.send_code = codes
    svc.accounts.add_user("truc.ban", PASSWORD, Role.OFFICER, time.time())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(svc, manage_lifecycle=False), host="127.0.0.1", port=port,
                                           log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=15)
    yield svc, codes, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    svc.store.close()


def test_a_resident_signs_up_on_a_phone(site: tuple[Service, SentCodes, str], phone: webdriver.Chrome,
                                         tmp_path: Path) -> None:
    svc, codes, base = site
    phone.get(base + "/dang-ky")
    wait(phone, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sub-hamlet option")) == 4)
    assert "Tôi đồng ý" in phone.find_element(By.ID, "sub-consent-text").text
    phone.find_element(By.ID, "sub-phone").send_keys("0912 345 678")
    Select(phone.find_element(By.ID, "sub-hamlet")).select_by_visible_text("Thôn 2")
    click(phone, "#sub-submit")
    assert "Hãy nhập" in phone.find_element(By.ID, "sub-error").text  # consent not ticked yet
    click(phone, "#sub-consent")
    phone.save_screenshot(str(tmp_path / "subscribe-phone.png"))
    click(phone, "#sub-submit")
    wait(phone, lambda d: d.find_element(By.ID, "sub-code-form").is_displayed())
    phone.find_element(By.ID, "sub-code").send_keys(codes.last_code())
    click(phone, "#sub-confirm")
    wait(phone, lambda d: d.find_element(By.ID, "sub-done").is_displayed())
    phone.save_screenshot(str(tmp_path / "subscribed-phone.png"))
    [reached] = active_in(svc.store.query_all, ["thon-2"])
    assert reached.phone == "+84912345678"
    width = phone.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone
    phone.get(svc.subscriptions.link_for(reached.id).replace("http://127.0.0.1:8080", base))  # the link in a message
    click(phone, "form button.primary")
    wait(phone, lambda d: "Đã ngừng nhận tin" in d.find_element(By.TAG_NAME, "h1").text)
    phone.save_screenshot(str(tmp_path / "unsubscribed-phone.png"))
    assert active_in(svc.store.query_all, ["thon-2"]) == []
    assert console_errors(phone) == []


def test_an_officer_manages_the_list_on_a_desktop(site: tuple[Service, SentCodes, str], browser: webdriver.Chrome,
                                                  tmp_path: Path) -> None:
    svc, _, base = site
    svc.subscriptions.management.add("truc.ban", "0388 123 456", "thon-1", "vi", "sms", time.time())
    browser.get(base + "/residents")
    wait(browser, lambda d: d.find_element(By.ID, "rs-gate").is_displayed())  # signed out: nothing but the gate
    assert not browser.find_element(By.ID, "rs-list-panel").is_displayed()
    browser.get(base + "/")
    sign_in(browser, "truc.ban", PASSWORD)
    click(browser, "#nav-residents")  # the dashboard's header leads officers to the screen
    wait(browser, lambda d: d.current_url.endswith("/residents"))
    wait(browser, lambda d: "+84 3x xxx x456" in d.find_element(By.ID, "rs-list").text)
    assert "0388" not in browser.find_element(By.ID, "rs-list").text
    first_row = browser.find_element(By.CSS_SELECTOR, "#rs-summary tbody tr").text
    assert first_row.startswith("Thôn 1") and " 1 " in f" {first_row} "
    browser.find_element(By.ID, "rs-add-phone").send_keys("0912 345 678")
    Select(browser.find_element(By.ID, "rs-add-hamlet")).select_by_visible_text("Thôn 3")
    click(browser, "#rs-add-consent")
    click(browser, "#rs-add-submit")
    wait(browser, lambda d: "+84 9x xxx x678" in d.find_element(By.ID, "rs-list").text)
    browser.save_screenshot(str(tmp_path / "residents-desktop.png"))
    click(browser, "#rs-list tr[data-id='1'] td.actions button:nth-child(2)")  # unsubscribe
    wait(browser, lambda d: d.find_element(By.ID, "rs-dialog").get_attribute("open") is not None)
    click(browser, "#rs-dialog-yes")
    wait(browser, lambda d: "Đã huỷ" in d.find_element(By.CSS_SELECTOR, "#rs-list tr[data-id='1']").text)
    assert [r.hamlet_id for r in active_in(svc.store.query_all, ["thon-1", "thon-3"])] == ["thon-3"]
    browser.set_window_size(390, 900)
    browser.execute_script("document.getElementById('rs-list').scrollIntoView()")
    browser.save_screenshot(str(tmp_path / "residents-narrow.png"))
    assert console_errors(browser) == []
