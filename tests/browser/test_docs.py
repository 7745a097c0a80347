"""The API documentation pages (Swagger UI at /docs, ReDoc at /redoc) render from the app's own files, in a headless
Chromium that cannot reach anything but this machine."""
from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By

from tests.browser.conftest import make_driver
from tests.browser.test_dashboard import console_errors, wait
from tichwatch.app.service import Service

pytestmark = pytest.mark.browser

NO_NETWORK = (
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # no name resolves: no CDN, no web font
    "--proxy-server=http://127.0.0.1:9",  # and an address typed as digits goes to a proxy nobody runs
)
"""Chromium switches that leave only the loopback address reachable (Chromium never proxies loopback)."""
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def offline_browser() -> Iterator[webdriver.Chrome]:
    """A desktop-sized browser without any network but this machine's loopback."""
    driver = make_driver(1300, 1000, extra_args=NO_NETWORK)
    yield driver
    driver.quit()


def loaded_urls(driver: webdriver.Chrome) -> list[str]:
    """Every resource the page asked for (failed ones included: Chromium keeps an entry for them too)."""
    return driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")  # type: ignore


def test_the_browser_really_has_no_network(live_app: tuple[Service, str], offline_browser: webdriver.Chrome) -> None:
    _, base = live_app
    offline_browser.get(base + "/healthz")
    assert "ok" in offline_browser.page_source
    with pytest.raises(WebDriverException, match=r"ERR_PROXY_CONNECTION_FAILED|ERR_NAME_NOT_RESOLVED"):
        offline_browser.get("https://cdn.jsdelivr.net/")  # where FastAPI's own pages take Swagger UI and ReDoc from


def test_swagger_ui_renders_the_operations_offline(live_app: tuple[Service, str],
                                                   offline_browser: webdriver.Chrome) -> None:
    _, base = live_app
    offline_browser.get(base + "/docs")
    wait(offline_browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 10, 30)
    paths = {e.text for e in offline_browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert "/api/v1/stations" in {p.replace("\u200b", "") for p in paths}
    offline_browser.find_element(By.CSS_SELECTOR, ".opblock-summary").click()  # an operation opens
    wait(offline_browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock.is-open"))
    urls = loaded_urls(offline_browser)
    assert any(u.endswith("/static/docs/swagger-ui-bundle.js") for u in urls)
    assert all(u.startswith(base + "/") for u in urls), urls
    assert console_errors(offline_browser) == []


def test_redoc_renders_the_operations_offline(live_app: tuple[Service, str],
                                              offline_browser: webdriver.Chrome) -> None:
    _, base = live_app
    offline_browser.get(base + "/redoc")
    wait(offline_browser, lambda d: "Liveness: the process answers" in d.find_element(By.TAG_NAME, "body").text, 30)
    operations = offline_browser.find_elements(By.CSS_SELECTOR, "[data-section-id^='operation/']")
    assert len(operations) >= 10
    urls = loaded_urls(offline_browser)
    assert any(u.endswith("/static/docs/redoc.standalone.js") for u in urls)
    # ReDoc always draws Redocly's logo from its CDN under "API docs by Redocly"; the page's CSP refuses it before a
    # request is made (the logo then hides itself). Nothing else may come from anywhere but the app.
    assert [u for u in urls if not u.startswith(base + "/")] in ([], [REDOCLY_LOGO]), urls
    errors = console_errors(offline_browser)
    assert all(REDOCLY_LOGO in e and "Content Security Policy" in e for e in errors), errors


def test_docs_pages_allow_only_their_own_scripts(live_app: tuple[Service, str]) -> None:
    _, base = live_app
    for page in ("/docs", "/redoc"):
        r = httpx.get(base + page)
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src and script_src.group(1) == "'self'", csp
        assert "<script>" not in r.text and "http" not in r.text  # no inline script, no outside address
    asset = httpx.get(base + "/static/docs/swagger-ui-bundle.js")
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
    assert len(asset.content) > 100_000
    assert httpx.get(base + "/static/docs/..%2Fapp.py").status_code == 404
    assert httpx.get(base + "/docs/oauth2-redirect").status_code == 404  # FastAPI's inline-script page is off
