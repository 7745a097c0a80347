"""The reports page in a real headless Chromium against the running service: a visitor sees only the sign-in gate;
an officer signs in, asks for a report of some days with the form, and the row turns from "Đang lập" to "Xong" with
its PDF and DOCX buttons once the report desk's thread has made it; no console error."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser.test_dashboard import click, console_errors, sign_in, wait
from tests.support import secret
from tichwatch.api.accounts import Role
from tichwatch.app.service import Service

pytestmark = pytest.mark.browser


def test_an_officer_asks_for_a_report_on_the_page_and_gets_its_files(live_app: tuple[Service, str],
                                                                     browser: webdriver.Chrome) -> None:
    svc, base = live_app
    svc.accounts.add_user("truc.ban", secret("truc-ban-password"), Role.OFFICER, time.time())
    browser.get(base + "/reports")
    gate = wait(browser, lambda d: d.find_element(By.ID, "rp-gate"))
    wait(browser, lambda d: "Đăng nhập" in gate.text)
    assert not browser.find_element(By.ID, "rp-new-panel").is_displayed()
    sign_in(browser, "truc.ban", "truc-ban-password")
    wait(browser, lambda d: d.find_element(By.ID, "rp-new-panel").is_displayed())
    click(browser, "#rp-request")  # this month so far, as the form proposes

    def asked(d: webdriver.Chrome) -> list[str]:  # the row of the report asked for (the schedule's may be listed too)
        return [r.text for r in d.find_elements(By.CSS_SELECTOR, "#rp-rows tr") if "Theo yêu cầu" in r.text]
    assert "truc.ban" in wait(browser, asked)[0]
    wait(browser, lambda d: "Xong" in asked(d)[0], timeout_s=60)
    rows = browser.find_elements(By.CSS_SELECTOR, "#rp-rows tr")
    mine = next(r for r in rows if "Theo yêu cầu" in r.text)
    assert [b.text for b in mine.find_elements(By.CSS_SELECTOR, "button")] == ["PDF", "DOCX"]
    wait(browser, lambda d: all("Đang lập" not in r.text for r in d.find_elements(By.CSS_SELECTOR, "#rp-rows tr")),
         timeout_s=60)
    assert any("Lịch tự động" in r.text for r in browser.find_elements(By.CSS_SELECTOR, "#rp-rows tr"))
    if os.environ.get("TICHWATCH_SCREENSHOTS"):
        browser.save_screenshot(str(Path(os.environ["TICHWATCH_SCREENSHOTS"]) / "reports-page.png"))
    assert console_errors(browser) == []
    audit = svc.store.query_all("SELECT actor FROM officer_audit WHERE action = 'report.request'")
    assert [r["actor"] for r in audit] == ["truc.ban"]


def test_on_a_phone_each_report_is_a_card_with_its_buttons_on_screen(live_app: tuple[Service, str],
                                                                     phone: webdriver.Chrome) -> None:
    # A five-column table is wider than a phone: the download buttons fell off the card's edge.
    svc, base = live_app
    svc.accounts.add_user("truc.ban", secret("truc-ban-password"), Role.OFFICER, time.time())
    phone.get(base + "/reports")
    sign_in(phone, "truc.ban", "truc-ban-password")
    click(phone, "#rp-request")
    wait(phone, lambda d: any("Xong" in r.text and "Theo yêu cầu" in r.text
                              for r in d.find_elements(By.CSS_SELECTOR, "#rp-rows tr")), timeout_s=60)
    mine = next(r for r in phone.find_elements(By.CSS_SELECTOR, "#rp-rows tr") if "Theo yêu cầu" in r.text)
    width = phone.execute_script("return document.documentElement.clientWidth")
    for button in mine.find_elements(By.CSS_SELECTOR, "button"):
        right = phone.execute_script("return arguments[0].getBoundingClientRect().right", button)
        assert right <= width, (button.text, right, width)
    labels = [phone.execute_script("return getComputedStyle(arguments[0], '::before').content", td)
              for td in mine.find_elements(By.CSS_SELECTOR, "td")]
    assert labels == ['"Kỳ báo cáo"', '"Loại"', '"Trạng thái"', '"Người yêu cầu"', '"Tệp"']  # beside each value
    assert console_errors(phone) == []
