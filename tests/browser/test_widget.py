"""The portal widget in Debian's headless Chromium, framed by a page on another origin (a second HTTP server on another
port, as the commune portal would be) through the one-line loader, against the real service, broker and store."""
from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.conftest import make_driver
from tests.browser.test_dashboard import console_errors, wait
from tests.support import make_settings
from tichwatch.app.service import Service
from tichwatch.config.schema import Settings
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess, free_port
from tichwatch.tools.publisher import GatewayPublisher

pytestmark = pytest.mark.browser

SHOTS_DIR_ENV = "TW_WIDGET_SHOTS"
"""Set to a folder to keep the screenshots there too (to look at them)."""


class Portal:
    """A second web server on its own port (another origin): serves the host pages a test sets, `{app}` in them
    replaced by the service's base URL."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.app = ""
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page = portal.pages.get(self.path)
                body = (page or "not found").replace("{app}", portal.app).encode()
                self.send_response(200 if page is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                # A portal with a policy of its own: scripts and frames from itself and the service only, no inline
                # script (the loader needs none).
                self.send_header("Content-Security-Policy", f"default-src 'self'; script-src 'self' {portal.app}; "
                                 f"frame-src {portal.app}; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        """The portal's origin (same host as the service, another port: another origin)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def host_page(body: str) -> str:
    """A portal page around `body`."""
    return ('<!doctype html><html lang="vi"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f'<title>Cổng thông tin xã</title></head><body><h1>Cổng thông tin điện tử xã</h1>{body}</body></html>')


def column(width_px: int, loader_attrs: str = 'data-lang="vi"') -> str:
    """A column of the portal with the one-line loader between two paragraphs."""
    return (f'<div id="col" style="width:{width_px}px"><p id="before">Tin tức của xã</p>'
            f'<script src="{{app}}/widget.js" {loader_attrs} async></script><p id="after">Thông báo khác</p></div>')


IMPACT = {"hamlets": [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-2", "name": "Thôn 2"}],
          "stations": [{"station_id": "st1", "bd1": {"hamlets": ["thon-1"]},
                        "bd2": {"hamlets": ["thon-2"], "action_vi": "chuẩn bị di dời người già, trẻ em",
                                "action_en": "get ready to move the elderly and children"}}]}
"""At st1, BĐ I floods thôn 1 and BĐ II thôn 2 as well."""


@pytest.fixture
def portal() -> Iterator[Portal]:
    """The commune portal: its origin may frame the widget."""
    p = Portal()
    yield p
    p.close()


@pytest.fixture
def stranger() -> Iterator[Portal]:
    """Another site, not in the widget's list."""
    p = Portal()
    yield p
    p.close()


@pytest.fixture
def settings(tmp_path: Path, broker: MosquittoProcess, portal: Portal) -> Settings:
    """The test settings with the widget framed by the portal only (overrides tests/conftest.py's)."""
    return make_settings(tmp_path / "data", broker.port, widget={"frame_ancestors": [portal.origin], "refresh_s": 10},
                         impact=IMPACT)


@pytest.fixture
def app(live_app: tuple[Service, str], portal: Portal, stranger: Portal) -> tuple[Service, str]:
    """The running service, known to both host sites."""
    portal.app = stranger.app = live_app[1]
    return live_app


def raise_bd2(svc: Service, gateway: GatewayPublisher, base: str) -> float:
    """Readings at st1 rising through BĐ II (7.3 m) and one at st2 below BĐ I; returns the time of st1's latest."""
    now = time.time()
    for i, level in enumerate((7.0, 7.2, 7.45, 7.5)):
        gateway.publish(Topics().reading("st1"), encode_reading(now - 300 + 60 * i, level), wait=True)
    gateway.publish(Topics().reading("st2"), encode_reading(now - 100, 5.12), wait=True)
    wait_until(lambda: httpx.get(f"{base}/api/v1/status").json()["alarm_level"] == "BD2")
    return now - 120


def wait_until(predicate: Callable[[], bool], timeout_s: float = 15) -> None:
    """Poll a condition outside the browser."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def the_frame(driver: webdriver.Chrome, within: str = "#col") -> WebElement:
    """The iframe the loader inserted."""
    return wait(driver, lambda d: (d.find_elements(By.CSS_SELECTOR, f"{within} iframe") or [None])[0])


def frame_height(frame: WebElement) -> int:
    """The iframe's height as the host page lays it out."""
    return round(frame.rect["height"])


def test_widget_on_the_portal_shows_levels_status_bulletin_and_resizes(
        app: tuple[Service, str], portal: Portal, gateway: GatewayPublisher, tmp_path: Path) -> None:
    svc, base = app
    measured = raise_bd2(svc, gateway, base)
    draft = svc.bulletins.create("bien.tap")
    svc.bulletins.approve(draft.id, "truc.ban")
    bulletin = svc.bulletins.publish(draft.id, "truc.ban", officer=True)
    portal.pages["/plain"] = host_page(column(800).replace(
        '<script src="{app}/widget.js" data-lang="vi" async></script>', ""))
    portal.pages["/"] = host_page(column(800))
    driver = make_driver(1000, 1200)
    try:
        driver.get(portal.origin + "/plain")
        driver.find_elements(By.CSS_SELECTOR, "#col p")  # Selenium's own helpers become globals too
        plain_globals = set(driver.execute_script("return Object.keys(window)")) | {"0"}  # 0: the frame
        driver.get(portal.origin + "/")
        frame = the_frame(driver)
        assert frame.get_attribute("src") == f"{base}/widget?lang=vi"
        # the iframe sits right after the loader's script element; nothing else on the page moved
        assert driver.execute_script("const f = document.querySelector('#col iframe');"
                                     "return [f.previousElementSibling.tagName, f.nextElementSibling.id]") == \
            ["SCRIPT", "after"]
        driver.switch_to.frame(frame)
        row = '[data-station="st1"]'
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, row))
        st1 = driver.find_element(By.CSS_SELECTOR, row).text
        assert "Trạm thử" in st1 and "7,50 m" in st1 and "BĐ II" in st1 and "↑" in st1
        local = datetime.fromtimestamp(measured, UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        assert f"đo lúc {local:%H:%M %d/%m}" in st1  # the reading's time, in Vietnam time
        assert "BD2" in driver.find_element(By.CSS_SELECTOR, row).get_attribute("class")
        assert driver.find_element(By.CSS_SELECTOR, f"{row} .w-hamlets").text == \
            "Thôn bị ảnh hưởng: Thôn 1, Thôn 2 — chuẩn bị di dời người già, trẻ em"
        st2 = driver.find_element(By.CSS_SELECTOR, '[data-station="st2"]').text
        assert "Trạm hai" in st2 and "5,12 m" in st2 and "Bình thường" in st2
        assert driver.find_element(By.ID, "w-status").text.startswith("Báo động II tại Trạm thử")
        assert re.fullmatch(r"Cảnh báo đang hoạt động: [1-9]\d*", driver.find_element(By.ID, "w-alerts").text)
        wait(driver, lambda d: d.find_element(By.ID, "w-bulletin").get_attribute("data-bulletin") == bulletin.id)
        assert bulletin.content["title_vi"] in driver.find_element(By.ID, "w-bulletin").text
        assert bulletin.content["quote_vi"] in driver.find_element(By.CSS_SELECTOR, "#w-bulletin blockquote").text
        link = driver.find_element(By.CSS_SELECTOR, "#w-bulletin a")
        assert link.get_attribute("target") == "_blank" and link.get_attribute("href").endswith(".txt?lang=vi")
        assert driver.execute_script("return document.cookie") == ""
        driver.switch_to.default_content()
        # the widget told the loader its height: the iframe shows all of it, not the first guess of 420 px
        assert sized_to_content(driver, frame) != 420
        assert set(driver.execute_script("return Object.keys(window)")) == plain_globals  # no global added
        shoot(driver, frame, tmp_path, "widget-800.png")
        portal.pages["/narrow"] = host_page(column(320))
        driver.get(portal.origin + "/narrow")
        narrow = the_frame(driver)
        sized_to_content(driver, narrow)
        assert round(narrow.rect["width"]) == 320
        shoot(driver, narrow, tmp_path, "widget-320.png")
        assert console_errors(driver) == []
    finally:
        driver.quit()


def sized_to_content(driver: webdriver.Chrome, frame: WebElement) -> int:
    """Wait until the widget in the frame shows its stations and bulletin and the frame is as tall as the widget
    (the height it posted); returns that height."""
    driver.switch_to.frame(frame)
    try:
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-station]") and d.find_element(
            By.ID, "w-updated").text)
        inner = round(driver.execute_script("return document.getElementById('w').getBoundingClientRect().height"))
    finally:
        driver.switch_to.default_content()
    wait(driver, lambda d: abs(frame_height(frame) - inner) <= 1)
    return frame_height(frame)


def shoot(driver: webdriver.Chrome, frame: WebElement, tmp_path: Path, name: str) -> None:
    """A screenshot of the framed widget as the portal shows it (kept in $TW_WIDGET_SHOTS too when set)."""
    driver.execute_script("arguments[0].scrollIntoView()", frame)
    png = frame.screenshot_as_png
    assert png.startswith(b"\x89PNG")
    for folder in (tmp_path, os.environ.get(SHOTS_DIR_ENV)):
        if folder:
            Path(folder, name).write_bytes(png)


def test_english_dark_filtered_into_a_target_at_300_px_and_live(app: tuple[Service, str], portal: Portal,
                                                        gateway: GatewayPublisher, tmp_path: Path) -> None:
    svc, base = app
    raise_bd2(svc, gateway, base)
    portal.pages["/en"] = host_page(
        '<div style="width:300px"><div id="slot"></div><p>Footer</p></div>'
        '<script src="{app}/widget.js" data-lang="en" data-theme="dark" data-stations="st2,nope" '
        'data-target="slot" async></script>')
    driver = make_driver(600, 1000)
    try:
        driver.get(portal.origin + "/en")
        frame = the_frame(driver, "#slot")
        assert round(frame.rect["width"]) == 300
        driver.switch_to.frame(frame)
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-station="st2"]'))
        assert not driver.find_elements(By.CSS_SELECTOR, '[data-station="st1"]')  # filtered out
        assert "5.12 m" in driver.find_element(By.CSS_SELECTOR, '[data-station="st2"]').text
        assert driver.find_element(By.ID, "w-status").text.startswith("Alarm level II at Trạm thử")
        assert driver.execute_script("return [document.documentElement.lang, document.documentElement.dataset.theme]"
                                     ) == ["en", "dark"]
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the widget is {overflow}px wider than 300 px"
        # a new reading shows at the next poll (every 10 s here), without reloading the widget
        driver.execute_script("window.__marker = 'same page'")
        gateway.publish(Topics().reading("st2"), encode_reading(time.time() - 5, 5.40), wait=True)
        wait(driver, lambda d: "5.40 m" in d.find_element(By.CSS_SELECTOR, '[data-station="st2"]').text, 20)
        assert driver.execute_script("return window.__marker") == "same page"
        driver.switch_to.default_content()
        shoot(driver, frame, tmp_path, "widget-300-dark-en.png")
        assert console_errors(driver) == []
    finally:
        driver.quit()


def refused(driver: webdriver.Chrome, frame: WebElement) -> bool:
    """Did the browser refuse to show the service's page in this frame (Chromium's error page instead of it)?"""
    driver.switch_to.frame(frame)
    try:
        return bool(driver.execute_script("return location.href.startsWith('chrome-error://')"))
    finally:
        driver.switch_to.default_content()


def test_other_sites_and_other_pages_are_refused_framing(app: tuple[Service, str], portal: Portal,
                                                          stranger: Portal) -> None:
    _, base = app
    stranger.pages["/"] = host_page(column(400))
    portal.pages["/pages"] = host_page(
        "".join(f'<iframe id="f{i}" src="{{app}}{path}" width="400" height="200"></iframe>'
                for i, path in enumerate(("/", "/alerts/x", "/bulletins/desk", "/docs", "/widget"))))
    driver = make_driver(1000, 1200)
    try:
        driver.get(stranger.origin + "/")
        frame = the_frame(driver)
        wait(driver, lambda d: any("frame-ancestors" in e for e in console_errors(d)))
        assert refused(driver, frame)
        assert all(base in e and "frame-ancestors" in e for e in console_errors(driver))
        # on the allowed portal, only the widget page may be framed
        driver.get(portal.origin + "/pages")
        frames = [wait(driver, lambda d, i=i: d.find_element(By.ID, f"f{i}")) for i in range(5)]
        time.sleep(1)  # let every frame load (or be refused)
        assert [refused(driver, f) for f in frames] == [True, True, True, True, False]
        errors = console_errors(driver)
        assert len(errors) == 4 and all("frame-ancestors 'none'" in e for e in errors), errors
    finally:
        driver.quit()
