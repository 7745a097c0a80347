"""The dashboard in a real headless Chromium against the real service, broker and store."""
from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import make_driver
from tests.support import secret
from tichwatch.api.accounts import Role
from tichwatch.app.service import Service
from tichwatch.core.detection import Detection, Severity
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.publisher import GatewayPublisher

pytestmark = pytest.mark.browser


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """Console and network errors the page logged."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait(driver: webdriver.Chrome, predicate, timeout_s: float = 15):  # type: ignore[no-untyped-def]
    """Wait for the predicate; live events re-render lists, so an element gone stale is simply looked up again, and
    one read while a submitted form's page replaces the old one (Chrome: "does not belong to the document") too."""
    def settled(d: webdriver.Chrome):  # type: ignore[no-untyped-def]
        try:
            return predicate(d)
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return False
            raise
    return WebDriverWait(driver, timeout_s, poll_frequency=0.1,
                         ignored_exceptions=[StaleElementReferenceException]).until(settled)


def click(driver: webdriver.Chrome, selector: str, timeout_s: float = 15) -> None:
    """Click the element once it is there and can take a click (live events re-render lists: a stale element is
    looked up again; a button a sign-out is still bringing back is tried again)."""
    def clicked(d: webdriver.Chrome) -> bool:
        try:
            found = d.find_elements(By.CSS_SELECTOR, selector)
            if not found:
                return False
            found[0].click()
            return True
        except (StaleElementReferenceException, ElementNotInteractableException, ElementClickInterceptedException):
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
    """Sign in through the header's dialog (common.js builds the header once the page's texts are loaded)."""
    click(driver, "#signin-open")
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
    wait(browser, lambda d: "BĐ I 6,20" in d.find_element(By.CSS_SELECTOR, f"{card} svg.chart").text)  # band moved
    assert console_errors(browser) == []


# --- the screens: one latest level, readable charts, the phone's first screen, one language -------------------------

def publish_series(gateway: GatewayPublisher, station: str, series: list[tuple[float, float]]) -> None:
    """One gateway message holding a series of readings (a JSON array, as a gateway's backlog)."""
    payload = json.dumps([{"ts": datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z"), "level_m": lv}
                          for ts, lv in series]).encode()
    gateway.publish(Topics().reading(station), payload, wait=True)


def calm_then_spike(svc: Service, gateway: GatewayPublisher, days: float = 0.0) -> float:
    """st1 calm near 4.8 m for two hours (and `days` before, a day of 5.3 m), then a spike to 8.20 m as its newest
    reading, in sample order; returns the spike's time once the service has stored it."""
    now = time.time()
    older = [(now - days * 86400 + 600 * i, 5.3 + 0.01 * (i % 3)) for i in range(144)] if days else []
    calm = [(now - 7800 + 600 * i, 4.8 + 0.01 * (i % 2)) for i in range(12)]
    publish_series(gateway, "st1", older + calm + [(now - 300, 8.2)])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and svc.store.reading_at("st1", now - 300) is None:
        time.sleep(0.05)
    return now - 300


def chart_text_sizes(driver: webdriver.Chrome) -> list[tuple[str, float, float]]:
    """(text, font size in CSS px as shown, height of its box) of every text of every chart."""
    return driver.execute_script(
        "return [...document.querySelectorAll('svg.chart text')].map(t => [t.textContent,"
        " parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a, t.getBoundingClientRect().height]);")


def test_a_spike_is_a_marker_and_a_note_never_the_headline(live_app: tuple[Service, str], browser: webdriver.Chrome,
                                                           gateway: GatewayPublisher) -> None:
    svc, base = live_app
    calm_then_spike(svc, gateway)
    open_dashboard(browser, base)
    card = 'article[data-station="st1"]'
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"{card} .rejected-note"))
    assert browser.find_element(By.CSS_SELECTOR, f'{card} [data-level="st1"]').text == "4,81 m"
    assert browser.find_element(By.CSS_SELECTOR, '[data-summary="st1"] .s-level').text.startswith("4,81 m")
    note = browser.find_element(By.CSS_SELECTOR, f"{card} .rejected-note").text
    assert note.startswith("Giá trị bất thường 8,20 m lúc ") and note.endswith(" bị loại")
    markers = browser.find_elements(By.CSS_SELECTOR, f"{card} svg.chart g.marker")
    assert [m.get_attribute("data-level") for m in markers] == ["8.2"]
    line_ys = browser.execute_script(
        f"return [...document.querySelectorAll('{card} svg.chart polyline.line')].flatMap(p =>"
        " p.getAttribute('points').split(' ').map(xy => Number(xy.split(',')[1])));")
    marker_y = browser.execute_script(f"return document.querySelector('{card} svg.chart g.marker')"
                                      ".transform.baseVal[0].matrix.f")
    assert line_ys and min(line_ys) > marker_y + 20  # the line stays down at 4.8 m, the marker is far above it
    label = browser.find_element(By.CSS_SELECTOR, f"{card} svg.chart").get_attribute("aria-label")
    assert "4,81 m lúc" in label and "1 giá trị bị loại" in label
    assert console_errors(browser) == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_chart_text_is_readable_and_the_time_axis_is_local(live_app: tuple[Service, str], gateway: GatewayPublisher,
                                                           size: str) -> None:
    svc, base = live_app
    calm_then_spike(svc, gateway)
    driver = make_driver(1300, 1500) if size == "desktop" else make_driver(390, 844, mobile=True)
    try:
        open_dashboard(driver, base)
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.chart text.tick-time"))
        sizes = chart_text_sizes(driver)
        assert sizes and all(font >= 11 and box >= 11 for _, font, box in sizes), sizes
        labels = [t for t, _, _ in sizes]
        assert any(t.startswith("BĐ I ") for t in labels) and not any(t.startswith("BD") for t in labels)
        times = driver.execute_script("return [...document.querySelectorAll('svg.chart text.tick-time')]"
                                      ".map(t => t.textContent)")
        today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m")
        assert today in times  # the local midnight of today is on a 24-hour axis
        assert all(re.fullmatch(r"\d\d:00|\d\d/\d\d", t) for t in times), times
        assert console_errors(driver) == []
    finally:
        driver.quit()


def test_zoom_to_seven_days_shows_older_readings(live_app: tuple[Service, str], browser: webdriver.Chrome,
                                                 gateway: GatewayPublisher) -> None:
    svc, base = live_app
    calm_then_spike(svc, gateway, days=5)
    open_dashboard(browser, base)
    card = 'article[data-station="st1"]'

    def first_x() -> float:
        return float(browser.execute_script(
            f"const p = document.querySelector('{card} svg.chart polyline.line');"
            " return p ? Number(p.getAttribute('points').split(',')[0]) : 1e9;"))
    wait(browser, lambda d: first_x() < 1e9)
    width = float(browser.find_element(By.CSS_SELECTOR, f"{card} svg.chart").get_attribute("width"))
    assert first_x() > width / 2  # 24 h: three days ago is off the chart
    click(browser, '#zoom button[data-span="7d"]')
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#zoom button[data-span="7d"]')
         .get_attribute("aria-pressed") == "true" and first_x() < width / 2)
    times = browser.execute_script("return [...document.querySelectorAll('svg.chart text.tick-time')]"
                                   ".map(t => t.textContent)")
    assert times and all(re.fullmatch(r"\d\d/\d\d", t) for t in times), times  # days on a week's axis
    assert browser.find_elements(By.CSS_SELECTOR, f"{card} svg.chart g.marker")  # the spike still a marker
    assert console_errors(browser) == []


SEVERITY_RANK = {"emergency": 4, "critical": 3, "warning": 2, "info": 1}


def test_phone_shows_the_stations_first_and_the_alerts_by_severity(live_app: tuple[Service, str],
                                                                   phone: webdriver.Chrome) -> None:
    svc, base = live_app
    now = time.time()
    found = [Detection("sensor.battery", "st2", now - 900, True, Severity.WARNING, 11.2, "V", None, "battery low"),
             Detection("camera.offline", "cam1", now - 800, True, Severity.WARNING, 1.0, "h", None, "no frames"),
             Detection("sensor.stuck", "st1", now - 700, True, Severity.WARNING, 5.0, "m", None, "stuck"),
             Detection("flood.level", "st1", now - 600, True, Severity.CRITICAL, 7.5, "m", "BD2", "above BD2"),
             Detection("sensor.clock", "st2", now - 500, True, Severity.INFO, 400.0, "s", None, "clock off")]
    with svc.store.transaction() as conn:
        svc.alerts.engine.apply(conn, found, now)
    listed = httpx.get(f"{base}/api/v1/alerts", params={"state": "active"}).json()["alerts"]
    assert len(listed) == 5
    open_dashboard(phone, base)
    wait(phone, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#alerts li[data-alert]")) == 5)
    shown = [li.get_attribute("data-alert") for li in phone.find_elements(By.CSS_SELECTOR, "#alerts li[data-alert]")]
    assert shown == [a["id"] for a in listed]  # the page keeps the API's order
    ranks = [SEVERITY_RANK[a["severity"]] for a in listed]
    assert ranks == sorted(ranks, reverse=True) and listed[0]["kind"] == "flood.level"  # the worst first
    box = phone.execute_script("const r = document.querySelector('#main > .summary').getBoundingClientRect();"
                               " return [r.top, r.bottom, window.innerHeight];")
    assert box[1] <= box[2], f"the stations' summary ends at {box[1]} px, below the first screen ({box[2]} px)"
    rows = phone.find_elements(By.CSS_SELECTOR, "#summary li[data-summary]")
    assert [r.get_attribute("data-summary") for r in rows] == ["st1", "st2"]
    assert phone.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert console_errors(phone) == []


def test_english_page_speaks_english_and_vietnamese_page_vietnamese(live_app: tuple[Service, str],
                                                                    browser: webdriver.Chrome,
                                                                    gateway: GatewayPublisher) -> None:
    svc, base = live_app
    calm_then_spike(svc, gateway)
    open_dashboard(browser, base)
    state = '[data-camera="cam1"] .cam-state'
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, state))
    assert browser.find_element(By.CSS_SELECTOR, state).text == "Đang khởi động"  # no frame yet: warming up
    browser.find_element(By.ID, "lang").click()
    wait(browser, lambda d: d.find_element(By.ID, "summary-h").text == "Stations now")
    assert browser.find_element(By.CSS_SELECTOR, state).text == "Warming up"
    assert browser.title.startswith("TichWatch – Tích river flood")
    english = " ".join(n.text for sel in ("#cameras p", "#summary-h", "#river-h", "#zoom", "#indicators",  # no names
                                          '[data-station="st1"] .facts', '[data-station="st1"] .rejected-note')
                       for n in browser.find_elements(By.CSS_SELECTOR, sel))
    assert not re.search(r"[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]", english.lower()), english
    labels = [t for t, _, _ in chart_text_sizes(browser)]
    assert any(t.startswith("Level I ") for t in labels) and "now" in labels
    assert console_errors(browser) == []


def test_chart_helpers_and_drawing(browser: webdriver.Chrome) -> None:
    """The chart's pure helpers and its drawing, run in the browser without a page (no service needed)."""
    source = (Path(__file__).resolve().parents[2] / "api" / "static" / "chart.js").read_text(encoding="utf-8")
    browser.get("about:blank")
    got = browser.execute_script(source + """;
        const t0 = Date.UTC(2026, 8, 27, 17, 0);  // 00:00 on 28/09 in Vietnam
        return {
          day: TWChart.timeTicks(t0, t0 + 30 * 3600e3, 10, "Asia/Ho_Chi_Minh").map(k => k.label),
          week: TWChart.timeTicks(t0 - 7 * 86400e3, t0, 8, "Asia/Ho_Chi_Minh").map(k => k.label),
          offset: TWChart.tzOffset(t0, "Asia/Ho_Chi_Minh") / 3600e3,
          levels: TWChart.levelTicks(4.3, 8.4, 6),
          fine: TWChart.levelTicks(4.71, 4.93, 5),
          range: TWChart.levelRange([4.8, 4.9], {BD1: 6.5, BD2: 7.3, BD3: 8.0}, []),
          pieces: TWChart.segments([{ms: 0}, {ms: 10}, {ms: 20}, {ms: 100}, {ms: 110}], 30).map(s => s.length),
          clamp: [TWChart.clampMarker(42, 4, 9), TWChart.clampMarker(-3, 4, 9), TWChart.clampMarker(5, 4, 9)],
          drawn: (() => {
            const s = TWChart.draw({ width: 350, height: 210, t0, t1: t0 + 86400e3, now: t0 + 86400e3,
              tz: "Asia/Ho_Chi_Minh", points: [{ ms: t0 + 3600e3, v: 5 }, { ms: t0 + 7200e3, v: 5.5 }],
              gapMs: 3 * 3600e3, markers: [{ ms: t0 + 5000e3, v: 42, title: "42 m rejected" }],
              alarm: { BD1: 6.5, BD2: 7.3, BD3: 8 }, bands: [{ key: "BD1", from: 6.5, to: 7.3, label: "BĐ I 6,50" }],
              forecast: { ms0: t0 + 86000e3, v0: 5.5, ms1: t0 + 90000e3, v1: 6.5, title: "forecast" },
              text: { now: "now", unit: "m" }, num: (v, d) => v.toFixed(d), label: "summary" });
            return { size: [s.getAttribute("width"), s.getAttribute("viewBox")], label: s.getAttribute("aria-label"),
              fonts: [...new Set([...s.querySelectorAll("text")].map((n) => n.getAttribute("font-size")))],
              forecast: s.querySelectorAll("line.forecast").length, line: s.querySelectorAll("polyline.line").length,
              marker: s.querySelector("g.marker path").getAttribute("d"),
              band: s.querySelector("text.band-label").textContent };
          })(),
        };""")
    assert got["day"] == ["28/09", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00", "29/09", "03:00",
                          "06:00"]
    assert got["week"] == ["21/09", "22/09", "23/09", "24/09", "25/09", "26/09", "27/09", "28/09"]
    assert got["offset"] == 7
    assert got["levels"] == [5, 6, 7, 8] and got["fine"] == [4.75, 4.8, 4.85, 4.9]
    lo, hi = got["range"]
    assert lo < 4.8 and 8.3 < hi < 8.6  # from the line up past BĐ III, not stretched by anything else
    assert got["pieces"] == [3, 2]
    assert got["clamp"] == [{"v": 9, "beyond": 1}, {"v": 4, "beyond": -1}, {"v": 5, "beyond": 0}]
    drawn = got["drawn"]  # one SVG unit per CSS pixel; a 42 m reading is a triangle at the top edge, off the line
    assert drawn["size"] == ["350", "0 0 350 210"] and drawn["fonts"] == ["12"] and drawn["label"] == "summary"
    assert (drawn["forecast"], drawn["line"], drawn["marker"], drawn["band"]) == (1, 1, "M-5,5L0,-3L5,5Z", "BĐ I 6,50")
