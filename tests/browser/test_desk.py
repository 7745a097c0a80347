"""The officer's desk in a real headless Chromium against the real service, broker and store: an officer sees who is
on duty, opens an alert from the list, comments (by keyboard), silences with a reason and an end, marks it a false
alarm and resolves it, each visible on the page in Vietnamese and in the API; a visitor or a viewer sees no action."""
from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.test_dashboard import click, console_errors, open_dashboard, raise_bd2_alert, sign_in, wait
from tests.support import jpeg, make_settings, secret
from tichwatch.api.accounts import Role
from tichwatch.app.service import Service
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Detection, Severity
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher

pytestmark = pytest.mark.browser

OFFICER, VIEWER = "truc.ban", "nguoi.xem"


@pytest.fixture
def settings(tmp_path: Path, broker: MosquittoProcess) -> Settings:
    """The test settings with a roster that always has someone on duty: Trực by day, Bình by night."""
    return make_settings(tmp_path / "data", broker.port, alerts={"roster": {
        "officers": [{"username": OFFICER, "name": "Nguyễn Văn Trực", "receivers": ["log"]},
                     {"username": "truc.binh", "name": "Trần Thị Bình", "receivers": ["log"]}],
        "shifts": [{"name": "ngay", "start_local": "07:00", "end_local": "19:00", "officers": [OFFICER]},
                   {"name": "dem", "start_local": "19:00", "end_local": "07:00", "officers": ["truc.binh"]}]}})


def _accounts(svc: Service) -> None:
    svc.accounts.add_user(OFFICER, secret("truc-ban-password"), Role.OFFICER, time.time())
    svc.accounts.add_user(VIEWER, secret("nguoi-xem-password"), Role.VIEWER, time.time())


def _dialog(driver: webdriver.Chrome, opener: str, text: str) -> None:
    """Open an action's dialog and type its reason (the dialog puts the focus in the text box)."""
    click(driver, opener)
    wait(driver, lambda d: d.find_element(By.ID, "act-dialog").get_attribute("open") is not None)
    driver.find_element(By.ID, "act-text").send_keys(text)


def _log_text(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.ID, "alert-log").text


def test_officer_comments_silences_marks_and_resolves_on_the_alert_page(
        live_app: tuple[Service, str], browser: webdriver.Chrome, gateway: GatewayPublisher) -> None:
    svc, base = live_app
    _accounts(svc)
    alert_id = raise_bd2_alert(svc, gateway)
    open_dashboard(browser, base)
    assert browser.find_element(By.ID, "on-duty").is_displayed() is False  # the public does not see the roster
    sign_in(browser, OFFICER, "truc-ban-password")
    on_duty = wait(browser, lambda d: d.find_element(By.ID, "on-duty-now").text)
    hour = int(time.strftime("%H", time.gmtime(time.time() + 7 * 3600)))
    assert ("Nguyễn Văn Trực" if 7 <= hour < 19 else "Trần Thị Bình") in on_duty
    assert "Đang trực" in browser.find_element(By.ID, "on-duty").text
    row = f'li[data-alert="{alert_id}"]'
    assert "Nguy hiểm" in wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, row).text)  # the catalogue's name
    click(browser, f"{row} a.alert-link")
    wait(browser, lambda d: d.current_url.endswith(f"/alerts/{alert_id}"))
    wait(browser, lambda d: d.find_elements(By.ID, "act-comment"))
    says = browser.find_element(By.ID, "alert-message").text  # what the officer was sent, on the page
    assert re.search(r"Trạm thử.*: mực nước 7,\d\d m lúc \d\d:\d\d ngày", says) and "Việc cần làm" in says, says
    assert not browser.find_element(By.ID, "alert-evidence").is_displayed()  # no snapshot for a flood level

    # comment by keyboard only: Enter on the button, type, Tab to "Xác nhận", Enter
    browser.find_element(By.ID, "act-comment").send_keys(Keys.ENTER)
    wait(browser, lambda d: d.switch_to.active_element.get_attribute("id") == "act-text")
    ActionChains(browser).send_keys("Nước tràn qua ngầm thôn Đông").send_keys(Keys.TAB).send_keys(Keys.ENTER).perform()
    wait(browser, lambda d: "Ghi chú · truc.ban · Nước tràn qua ngầm thôn Đông" in _log_text(d))
    api_log = httpx.get(f"{base}/api/v1/alerts/{alert_id}").json()["log"]
    assert ("commented", "truc.ban", "Nước tràn qua ngầm thôn Đông") in [(e["action"], e["actor"], e["reason"])
                                                                       for e in api_log]

    # silence: an end in the past is refused by the API, and the dialog says why; then 4 hours
    _dialog(browser, "#act-silence", "Thay cảm biến")
    click(browser, 'input[name="until"][value="custom"]')
    browser.execute_script("document.getElementById('act-custom').value = '2020-01-01T07:00'")  # in the past
    click(browser, "#act-submit")
    wait(browser, lambda d: "Không thực hiện được" in d.find_element(By.ID, "act-error").text)
    assert "future" in browser.find_element(By.ID, "act-error").text
    click(browser, 'input[name="until"][value="4h"]')
    click(browser, "#act-submit")
    wait(browser, lambda d: d.find_element(By.ID, "alert-silence").is_displayed())
    assert "Đang tắt thông báo đến" in browser.find_element(By.ID, "alert-silence").text
    silences = httpx.get(f"{base}/api/v1/silences").json()["silences"]
    assert [(s["matchers"]["kinds"], s["matchers"]["subjects"], s["reason"], s["created_by"]) for s in silences] == [
        (["flood.level"], ["st1"], "Thay cảm biến", "truc.ban")]
    ends = httpx.get(f"{base}/api/v1/silences").json()["silences"][0]["ends_at"]
    assert abs(time.mktime(time.strptime(ends, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone - time.time() - 4 * 3600) < 120

    _dialog(browser, "#act-false-alarm", "Rác mắc vào cảm biến")
    click(browser, "#act-submit")
    wait(browser, lambda d: "Đánh dấu báo nhầm · truc.ban · Rác mắc vào cảm biến" in _log_text(d))
    assert httpx.get(f"{base}/api/v1/alerts/{alert_id}").json()["alert"]["false_alarm"]["marked_by"] == "truc.ban"
    assert browser.find_elements(By.ID, "act-withdraw")  # now it can be withdrawn

    _dialog(browser, "#act-resolve", "Nước đã rút")
    click(browser, "#act-submit")
    wait(browser, lambda d: "Kết thúc · truc.ban · Nước đã rút" in _log_text(d))
    doc = httpx.get(f"{base}/api/v1/alerts/{alert_id}").json()
    assert doc["alert"]["state"] == "resolved" and doc["alert"]["resolve_reason"] == "Nước đã rút"
    assert not browser.find_elements(By.ID, "act-resolve") and not browser.find_elements(By.ID, "act-silence")
    log = _log_text(browser)
    assert "Mở cảnh báo · bộ phát hiện" in log
    assert not any(word in log for word in ("opened", "commented", "resolved", "detector", "crossed", "upward"))
    assert re.search(r"Báo động II · 7,\d\d m · số liệu lúc \d\d:\d\d", log)  # the detector's facts, in Vietnamese
    assert "log (log)" in browser.find_element(By.ID, "alert-notifications").text  # what was sent, to whom
    refused = "/api/v1/silences - Failed to load resource: the server responded with a status of 422"
    assert [e for e in console_errors(browser) if refused not in e] == []  # the refusal was the only one


def test_a_visitor_and_a_viewer_see_no_action_and_no_roster(live_app: tuple[Service, str],
                                                             browser: webdriver.Chrome,
                                                             gateway: GatewayPublisher) -> None:
    svc, base = live_app
    _accounts(svc)
    alert_id = raise_bd2_alert(svc, gateway)
    with svc.store.transaction() as conn:  # the residents' fan-out of this alert: 2 by Zalo, 1 failed, then by SMS
        for i, (channel, state) in enumerate([("zns", "sent"), ("zns", "sent"), ("zns", "failed"), ("sms", "sent")]):
            conn.execute("INSERT INTO notifications (idempotency_key, alert_id, receiver, channel, notice, severity, "
                         "created_ts, payload, state, next_attempt_ts, subscriber_id) VALUES (?, ?, ?, ?, "
                         "'flood_alert', 30, ?, '{}', ?, ?, ?)", (f"r{i}", alert_id, f"residents-{channel}-0",
                                                                   channel, time.time(), state, time.time(), i % 3))
    browser.get(f"{base}/alerts/{alert_id}")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#alert-log li"))
    assert browser.find_elements(By.CSS_SELECTOR, "#alert-actions button") == []
    told = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#alert-residents li")]
    assert told == ["Zalo: 2 đã gửi · 1 gửi lỗi", "SMS: 1 đã gửi"], told  # counts only, for anyone
    assert "residents-" not in browser.find_element(By.ID, "alert-notifications").text
    sign_in(browser, VIEWER, "nguoi-xem-password")
    time.sleep(0.3)  # let the page re-render for the new user
    assert browser.find_elements(By.CSS_SELECTOR, "#alert-actions button") == []
    browser.get(base + "/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'li[data-alert="{alert_id}"] a.alert-link'))
    assert not browser.find_elements(By.CSS_SELECTOR, "button.ack")
    assert browser.find_element(By.ID, "on-duty").is_displayed() is False
    assert console_errors(browser) == []


def test_a_dust_alert_page_shows_the_outlined_snapshot_and_each_evidence(live_app: tuple[Service, str],
                                                                          browser: webdriver.Chrome) -> None:
    """At phone width: the alert says which evidence fired with its values, shows the outlined snapshot (loaded, no
    wider than the screen) and every kind of evidence measured, fired or not, in the page's language."""
    svc, base = live_app
    facts = {"hand_model": {"value": 0.91, "fired": True}, "growth": {"value": 1.35, "fired": True},
             "haze": {"value": 0.004, "fired": False}}
    plume = Detection("dust.plume", "cam1", time.time(), True, Severity.WARNING, 0.91, "index", reason="plume",
                      evidence={"dust_index": 0.91, "threshold": 0.6, "cells": [[2, 3]], "evidence": facts},
                      snapshot_jpeg=jpeg(640, 360))
    with svc.store.transaction() as conn:
        plume.evidence["evidence_id"] = svc.store.save_evidence(conn, plume, time.time())
        svc.store.insert_detection(conn, plume, plume.evidence["evidence_id"])
        svc.alerts.engine.apply(conn, [plume], time.time())
    alert_id = svc.store.query_one("SELECT id FROM alerts WHERE kind = 'dust.plume'")[0]
    browser.set_window_size(390, 900)
    browser.get(f"{base}/alerts/{alert_id}")
    wait(browser, lambda d: d.find_element(By.ID, "alert-evidence").is_displayed())
    assert "Bằng chứng: đặc trưng ảnh 0,91, lan rộng 1,35." in browser.find_element(By.ID, "alert-message").text
    wait(browser, lambda d: d.execute_script(
        "const i = document.getElementById('alert-evidence-img'); return i.complete && i.naturalWidth === 640;"))
    shown = browser.execute_script("return document.getElementById('alert-evidence-img').getBoundingClientRect().width")
    assert 0 < shown <= browser.execute_script("return document.documentElement.clientWidth")
    evidence = browser.find_element(By.ID, "alert-evidence-facts").text
    assert "lan rộng\n1,35 ✓" in evidence and "mờ đục\n0,00" in evidence and "0,00 ✓" not in evidence, evidence
    click(browser, "#lang")
    english = "Evidence: image features 0.91, growth 1.35."
    wait(browser, lambda d: english in d.find_element(By.ID, "alert-message").text)
    assert "growth\n1.35 ✓" in browser.find_element(By.ID, "alert-evidence-facts").text
    assert console_errors(browser) == []
