"""Rain bars under the level chart: the chart's rain helpers and drawing, and the live dashboard drawing the rain a
gauge published over MQTT on the chart of the station it feeds (not on the others)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser.test_dashboard import console_errors, open_dashboard, wait
from tests.support import make_settings
from tichwatch.app.service import Service
from tichwatch.config.schema import Settings
from tichwatch.ingest.contract import Topics
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(tmp_path: Path, broker: MosquittoProcess) -> Settings:
    """The test settings with a rain gauge feeding st1 only."""
    return make_settings(tmp_path / "data", broker.port, rain_gauges=[
        {"id": "rg1", "name": "Mưa thử", "lat": 21.1, "lon": 105.5, "expected_interval_s": 3600, "stations": ["st1"]}])


def test_rain_helpers_and_bars(browser: webdriver.Chrome) -> None:
    source = (Path(__file__).resolve().parents[2] / "api" / "static" / "chart.js").read_text(encoding="utf-8")
    browser.get("about:blank")
    got = browser.execute_script(source + """;
        const t0 = Date.UTC(2026, 8, 27, 17, 0);
        const chart = (rain) => TWChart.draw({ width: 400, height: 210, t0, t1: t0 + 86400e3, now: t0 + 86400e3,
          tz: "Asia/Ho_Chi_Minh", points: [{ ms: t0 + 3600e3, v: 5 }, { ms: t0 + 7200e3, v: 5.5 }], gapMs: 3 * 3600e3,
          markers: [], alarm: { BD1: 6.5, BD2: 7.3, BD3: 8 }, bands: [], forecast: null,
          text: { now: "now", unit: "m" }, num: (v, d) => v.toFixed(d), label: "summary", rain });
        const s = chart({ bars: [{ ms: t0, mm: 4 }, { ms: t0 + 3600e3, mm: 16 }, { ms: t0 + 7200e3, mm: 0 }],
          bucketMs: 3600e3, unit: "mm/1 h", title: "upstream rain 20 mm" });
        const bars = [...s.querySelectorAll("rect.rain-bar")];
        return { scales: [TWChart.rainScale([]), TWChart.rainScale([{ mm: 0.3 }]), TWChart.rainScale([{ mm: 16 }]),
                          TWChart.rainScale([{ mm: 3 }, { mm: 42 }])],
          heights: bars.map((b) => Number(b.getAttribute("height"))), mm: bars.map((b) => b.dataset.mm),
          behindLine: s.querySelector("g.plot g.rain") !== null,
          scale: s.querySelector("text.tick-rain").textContent, title: s.querySelector("g.rain title").textContent,
          none: chart(null).querySelectorAll("rect.rain-bar, text.tick-rain").length };""")
    assert got["scales"] == [1, 1, 20, 50]
    assert got["mm"] == ["4", "16"]  # a dry hour draws nothing
    short, tall = got["heights"]
    assert tall == pytest.approx(4 * short, abs=0.2) and tall <= 210 * 0.3  # to scale, inside the foot strip
    assert got["behindLine"] and got["scale"] == "20 mm/1 h" and got["title"] == "upstream rain 20 mm"
    assert got["none"] == 0


def test_dashboard_draws_published_rain_on_the_station_it_feeds(live_app: tuple[Service, str],
                                                                browser: webdriver.Chrome,
                                                                gateway: GatewayPublisher) -> None:
    svc, base = live_app
    now = time.time() // 3600 * 3600
    rain = [{"ts": now - 3600 * i, "rain_mm": mm, "interval_s": 3600} for i, mm in enumerate([0, 3, 12, 25, 8, 1])]
    gateway.publish(Topics().rain("rg1"), json.dumps(rain).encode(), wait=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and svc.metrics.rain_readings_stored._value.get() < 6:
        time.sleep(0.05)
    open_dashboard(browser, base)
    bars = 'article[data-station="st1"] svg.chart rect.rain-bar'
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, bars)) == 5)
    mm = sorted(float(b.get_attribute("data-mm")) for b in browser.find_elements(By.CSS_SELECTOR, bars))
    assert mm == [1, 3, 8, 12, 25]
    assert not browser.find_elements(By.CSS_SELECTOR, 'article[data-station="st2"] svg.chart rect.rain-bar')
    label = browser.find_element(By.CSS_SELECTOR, 'article[data-station="st1"] svg.chart').get_attribute("aria-label")
    assert "mưa thượng nguồn 49 mm" in label
    assert console_errors(browser) == []
