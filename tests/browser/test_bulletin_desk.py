"""The bulletin desk in a real headless Chromium against the real service, broker and store: a communicator drafts and
edits, sees the previews and cannot approve their own bulletin; a second account (an officer) approves and publishes;
the delivery state of each channel appears and changes live, a failed channel is retried from the page."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.alerts.servers import HttpRecorder
from tests.browser.test_dashboard import click, console_errors, sign_in, wait
from tests.support import make_settings, secret, wait_for
from tichwatch.api.accounts import Role
from tichwatch.app.service import Service
from tichwatch.config.schema import Settings
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher

pytestmark = pytest.mark.browser

COMM, COMM_PASSWORD = "truyen.thong", "truyen-thong-password"
OFFICER, OFFICER_PASSWORD = "truc.ban", "truc-ban-password"


@pytest.fixture
def portal() -> Iterator[HttpRecorder]:
    """The commune portal's webhook receiver; it refuses bulletins until the test lets it take them."""
    rec = HttpRecorder().start()
    rec.reply = lambda _: (400, {}, {"error": "page is being rebuilt"})
    yield rec
    rec.stop()


@pytest.fixture
def settings(tmp_path: Path, broker: MosquittoProcess, portal: HttpRecorder) -> Settings:
    """The test settings (live_app's) with two bulletin receivers: the loudspeaker operator's log and the portal's
    webhook."""
    receivers = [{"name": "loa", "channel": {"type": "log"}},
                 {"name": "portal", "channel": {"type": "webhook", "url": f"{portal.url}/portal", "timeout_s": 2}}]
    return make_settings(tmp_path / "data", broker.port,
                         alerts={"receivers": receivers, "routes": [{"receivers": ["loa"]}]},
                         bulletins={"channels": ["loa", "portal"]})


def prepare(svc: Service, levels: tuple[float, ...]) -> None:
    """A communicator and an officer account, and `levels` at st1 over the last half hour (the card's and chart's)."""
    now = time.time()
    svc.accounts.add_user(COMM, secret(COMM_PASSWORD), Role.COMMUNICATOR, now)
    svc.accounts.add_user(OFFICER, secret(OFFICER_PASSWORD), Role.OFFICER, now)
    gateway = GatewayPublisher(svc.settings.mqtt, "test-gateway").connect()
    step_s = 1800 / len(levels)
    for i, level in enumerate(levels):
        gateway.publish(Topics().reading("st1"), encode_reading(now - 1800 + step_s * (i + 1), level), wait=True)
    gateway.close()
    wait_for(lambda: svc.store.count_readings("st1") >= len(levels))


@pytest.fixture
def desk_app(live_app: tuple[Service, str]) -> tuple[Service, str]:
    """The desk's service on a quiet day (st1 at 5 m, below báo động I)."""
    prepare(live_app[0], (5.0, 5.1, 5.15, 5.2))
    return live_app


@pytest.fixture
def flood_app(live_app: tuple[Service, str]) -> tuple[Service, str]:
    """The desk's service in a flood: st1 above báo động II (7.3 m), so the emergency rule is in force."""
    svc = live_app[0]
    prepare(svc, (6.9, 7.1, 7.2, 7.35, 7.45, 7.5))
    wait_for(lambda: svc.store.query_one("SELECT 1 FROM alerts WHERE kind = 'flood.level' AND level = 'BD2' "
                                         "AND state = 'firing'"), timeout_s=15)
    return live_app


def open_desk(driver: webdriver.Chrome, base: str, username: str, password: str) -> None:
    driver.get(base + "/bulletins/desk")
    wait(driver, lambda d: "on" in d.find_element(By.ID, "live").get_attribute("class"))
    sign_in(driver, username, password)
    wait(driver, lambda d: d.find_element(By.ID, "bl-new-panel").is_displayed())


def create_draft(driver: webdriver.Chrome) -> str:
    Select(driver.find_element(By.ID, "bl-kind")).select_by_value("routine")
    driver.find_element(By.ID, "bl-create").click()
    editor = wait(driver, lambda d: d.find_element(By.ID, "bl-editor") if d.find_element(
        By.ID, "bl-editor").get_attribute("data-bulletin") else None, 30)
    return str(editor.get_attribute("data-bulletin"))


def loaded_picture(driver: webdriver.Chrome, img_id: str) -> bool:
    return bool(driver.execute_script(
        "const i = document.getElementById(arguments[0]);"
        "return !i.hidden && i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0;", img_id))


def delivery(driver: webdriver.Chrome, receiver: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, f'#ed-deliveries li[data-receiver="{receiver}"]')
    return str(found[0].get_attribute("data-state")) if found else ""


def token(base: str, username: str, password: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/login", json={"username": username, "password": password})
    return str(r.json()["access_token"])


def test_communicator_drafts_an_officer_approves_and_publishes_delivery_shows_live(
        desk_app: tuple[Service, str], browser: webdriver.Chrome, portal: HttpRecorder) -> None:
    svc, base = desk_app
    browser.get(base + "/bulletins/desk")
    assert "Đăng nhập" in browser.find_element(By.ID, "bl-gate").text  # signed out: no desk, only the way in
    assert not browser.find_element(By.ID, "bl-new-panel").is_displayed()
    open_desk(browser, base, COMM, COMM_PASSWORD)
    bid = create_draft(browser)
    # the previews: card and chart drawn from the live figures, the script as the loudspeaker reads it
    wait(browser, lambda d: loaded_picture(d, "ed-card") and loaded_picture(d, "ed-chart"), 20)
    assert browser.execute_script("return document.getElementById('ed-card').naturalWidth") == 1080
    assert "mét" in browser.find_element(By.ID, "ed-spoken").text
    # the author has no approve button, says why, and the API refuses them too
    assert not browser.find_elements(By.ID, "bl-approve")
    assert "không thể tự duyệt" in browser.find_element(By.CSS_SELECTOR, "#ed-actions .approve-note").text
    comm_token = token(base, COMM, COMM_PASSWORD)
    refused = httpx.post(f"{base}/api/v1/bulletins/{bid}/approve", headers={"Authorization": f"Bearer {comm_token}"})
    assert refused.status_code == 403
    # edit the title within its limit: the counter follows, the log says who edited
    title = browser.find_element(By.ID, "ed-title_vi")
    assert title.get_attribute("maxlength") == "160"
    title.clear()
    title.send_keys("Bản tin thử nghiệm của xã")
    assert browser.find_element(By.ID, "count-title_vi").text.startswith("25 / 160")
    browser.find_element(By.ID, "bl-save").click()
    wait(browser, lambda d: d.find_element(By.ID, "ed-title").text == "Bản tin thử nghiệm của xã")
    assert browser.find_element(By.ID, "bl-status").text == "Đã lưu."
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#ed-log li[data-action="edited"]'))
    # the audio of the script as it is now
    browser.find_element(By.ID, "bl-listen").click()
    wait(browser, lambda d: d.execute_script(
        "const a = document.getElementById('ed-audio'); return !a.hidden && a.src.startsWith('blob:')"), 30)
    wait(browser, lambda d: d.execute_script("return document.getElementById('ed-audio').readyState >= 1"))
    assert browser.execute_script("return document.getElementById('ed-audio').duration") > 1
    assert console_errors(browser) == []

    # a second account, an officer, approves and publishes
    browser.find_element(By.ID, "signout").click()
    wait(browser, lambda d: d.find_element(By.ID, "bl-gate").is_displayed())
    sign_in(browser, OFFICER, OFFICER_PASSWORD)
    click(browser, f'#bl-queue li[data-bulletin="{bid}"] button.item')
    click(browser, "#bl-approve")
    wait(browser, lambda d: d.find_element(By.ID, "bl-editor").get_attribute("data-state") == "approved")
    wait(browser, lambda d: OFFICER in d.find_element(By.ID, "ed-facts").text)
    browser.execute_script("window.__marker = 'same page'")
    assert browser.execute_script(  # the bulletin's channels are ticked
        "return [...document.querySelectorAll('#ed-actions input[name=channel]:checked')].map((i) => i.value)"
    ) == ["loa", "portal"]
    click(browser, "#bl-publish")
    wait(browser, lambda d: d.find_element(By.ID, "bl-editor").get_attribute("data-state") == "published")
    # each channel's state arrives by itself: the loudspeaker log takes it, the portal refuses it
    wait(browser, lambda d: delivery(d, "loa") == "sent" and delivery(d, "portal") == "failed", 30)
    portal_row = '#ed-deliveries li[data-receiver="portal"]'
    wait(browser, lambda d: "Gửi thất bại" in d.find_element(By.CSS_SELECTOR, portal_row).text
         and "HTTP 400" in d.find_element(By.CSS_SELECTOR, portal_row).text)
    assert not browser.find_elements(By.CSS_SELECTOR, '#ed-deliveries li[data-receiver="loa"] button.retry')
    portal.reply = lambda _: (200, {}, {"ok": True})  # the portal is back
    click(browser, '#ed-deliveries li[data-receiver="portal"] button.retry')
    wait(browser, lambda d: delivery(d, "portal") == "sent", 30)
    assert browser.execute_script("return window.__marker") == "same page"  # no reload: live events did it
    doc = httpx.get(f"{base}/api/v1/bulletins/drafts/{bid}",
                    headers={"Authorization": f"Bearer {token(base, OFFICER, OFFICER_PASSWORD)}"}).json()
    actions = [(e["action"], e["actor"]) for e in doc["log"]]
    assert ("approved", OFFICER) in actions and ("published", OFFICER) in actions
    assert ("retry_requested", OFFICER) in actions and doc["delivery"]["state"] == "sent"
    assert [r.path for r in portal.requests] == ["/portal", "/portal"]
    # the published bulletin is found in the history by a word of its edited title, tone marks left out
    browser.find_element(By.ID, "bl-q").send_keys("thu nghiem")
    browser.find_element(By.ID, "bl-search").click()
    wait(browser, lambda d: [e.get_attribute("data-bulletin")
                             for e in d.find_elements(By.CSS_SELECTOR, "#bl-history li")] == [bid])
    assert console_errors(browser) == []
    assert svc.bulletins.get(bid) is not None


def test_the_desk_fits_a_phone_and_the_dashboard_links_to_it(desk_app: tuple[Service, str],
                                                             phone: webdriver.Chrome) -> None:
    _, base = desk_app
    phone.get(base + "/")
    wait(phone, lambda d: d.find_elements(By.ID, "nav-desk"))  # the header is built by common.js
    assert not phone.find_element(By.ID, "nav-desk").is_displayed()  # the public sees no desk link
    sign_in(phone, COMM, COMM_PASSWORD)
    link = wait(phone, lambda d: d.find_element(By.ID, "nav-desk") if d.find_element(By.ID, "nav-desk").is_displayed()
                else None)
    assert link.text == "Bàn bản tin"
    link.click()
    wait(phone, lambda d: d.find_element(By.ID, "bl-new-panel").is_displayed())  # the session goes along
    create_draft(phone)
    wait(phone, lambda d: loaded_picture(d, "ed-card"), 20)
    overflow = phone.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the desk is {overflow}px wider than a phone screen"
    assert phone.find_element(By.ID, "bl-save").size["height"] >= 40  # a finger-sized target
    phone.find_element(By.ID, "lang").click()
    wait(phone, lambda d: d.find_element(By.ID, "bl-new-h").text == "New draft")
    wait(phone, lambda d: "Title (Vietnamese)" in d.find_element(By.ID, "ed-form").text)
    assert phone.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert console_errors(phone) == []


def test_an_officer_publishes_an_emergency_draft_without_approval_and_the_page_says_so(
        flood_app: tuple[Service, str], browser: webdriver.Chrome) -> None:
    _, base = flood_app
    open_desk(browser, base, OFFICER, OFFICER_PASSWORD)
    wait(browser, lambda d: "Đang có cảnh báo lũ" in d.find_element(By.ID, "bl-emergency-state").text)
    browser.find_element(By.ID, "bl-create").click()  # the kind follows the open alerts: emergency
    wait(browser, lambda d: d.find_elements(By.ID, "bl-publish-emergency"), 30)
    assert "Khẩn cấp" in browser.find_element(By.ID, "ed-facts").text
    assert "không cần duyệt" in browser.find_element(By.CSS_SELECTOR, "#ed-actions .emergency-note").text
    assert not browser.find_elements(By.ID, "bl-approve")  # the author: no approval of their own
    browser.find_element(By.ID, "bl-publish-emergency").click()
    wait(browser, lambda d: d.find_element(By.ID, "bl-confirm-dialog").get_attribute("open") is not None)
    assert "không qua duyệt" in browser.find_element(By.ID, "bl-confirm-text").text
    browser.find_element(By.ID, "bl-confirm-yes").click()
    wait(browser, lambda d: d.find_element(By.ID, "bl-editor").get_attribute("data-state") == "published")
    published = '#ed-log li[data-action="published"]'
    wait(browser, lambda d: "không qua duyệt" in d.find_element(By.CSS_SELECTOR, published).text)
    assert "không qua duyệt" in browser.find_element(By.CSS_SELECTOR, "#ed-actions .emergency-note").text
    # The messages to subscribed residents show under the receivers, counted by channel (what the API's
    # delivery.residents holds: tests/residents/test_bulletin_desk.py)
    browser.execute_script("renderDeliveries({delivery: {receivers: [], residents: "
                           "{zns_sent: 40, zns_failed: 2, sms_sent: 2}}, allowed: {}})")
    told = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#ed-deliveries li.residents")]
    assert told == ["Tin nhắn tới cư dân đăng ký\nZalo: 40 đã gửi · 2 gửi lỗi",
                    "Tin nhắn tới cư dân đăng ký\nSMS: 2 đã gửi"], told
    assert console_errors(browser) == []
