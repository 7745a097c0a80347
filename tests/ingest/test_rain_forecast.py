"""The rainfall-forecast provider against a local HTTP server replaying recorded Open-Meteo responses: good answers
reach the listener and the disk cache; an outage, an HTTP error, garbage JSON, a huge body and a server that never
answers are counted outcomes, and the last good forecast stays until it is stale."""
from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support import make_settings
from tichwatch.config.rain import RainForecastSettings
from tichwatch.core.metrics import Metrics
from tichwatch.ingest.rain_forecast import (
    ForecastError,
    RainForecastProvider,
    StationForecast,
    fetch,
    parse_open_meteo,
)
from tichwatch.tools.broker import free_port

FIXTURES = Path(__file__).parent / "fixtures"
RECORDED = (FIXTURES / "open_meteo_forecast.json").read_bytes()
RECORDED_ISO = (FIXTURES / "open_meteo_forecast_iso8601.json").read_bytes()
START = 1789948800.0  # the recording's first hour, 2026-09-20T00:00Z
NOW = START + 3600


class Replay:
    """A local forecast server: answers each request by the current `mode` and records the queries."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.queries: list[dict[str, str]] = []
        self.release = threading.Event()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                replay.queries.append(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)))
                status, body = replay.answer()
                if replay.mode == "hang":
                    replay.release.wait(5)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if replay.mode != "huge_chunked":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def answer(self) -> tuple[int, bytes]:
        return {
            "ok": (200, RECORDED), "iso": (200, RECORDED_ISO),
            "http_500": (500, b'{"error": true, "reason": "internal"}'),
            "refused": (400, b'{"error": true, "reason": "Latitude must be in range of -90 to 90\\u00b0."}'),
            "garbage": (200, b'{"hourly": {"time": [1, 2], "precipitation": ["lots"]}'),
            "not_json": (200, b"<html>502 Bad Gateway</html>"),
            "huge": (200, b"[" + b"0," * 200_000 + b"0]"),
            "huge_chunked": (200, b"[" + b"0," * 200_000 + b"0]"),
            "hang": (200, b""),
        }[self.mode]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/forecast"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def replay() -> Iterator[Replay]:
    server = Replay()
    yield server
    server.close()


def provider(tmp_path: Path, url: str, told: list[tuple[str, StationForecast | None]],
             metrics: Metrics | None = None, **extra: object) -> RainForecastProvider:
    settings = make_settings(tmp_path)
    fc = RainForecastSettings(enabled=True, url=url, timeout_s=0.5, max_response_bytes=64 * 1024, **extra)
    return RainForecastProvider(fc, settings.stations, tmp_path, metrics or Metrics(),
                                lambda sid, f: told.append((sid, f)), clock=lambda: NOW)


def fetches(metrics: Metrics, outcome: str) -> float:
    return metrics.rain_forecast_fetches.labels(outcome)._value.get()


def test_recorded_response_reaches_the_listener_and_the_cache(tmp_path: Path, replay: Replay) -> None:
    told: list[tuple[str, StationForecast | None]] = []
    metrics = Metrics()
    p = provider(tmp_path, replay.url, told, metrics)
    assert p.poll(NOW) == {"st1": "ok", "st2": "ok"}
    q = replay.queries[0]
    assert (q["latitude"], q["longitude"], q["hourly"], q["timezone"], q["timeformat"]) == (
        "21.0000", "105.6000", "precipitation", "UTC", "unixtime")
    sid, fc = told[0]
    assert sid == "st1" and fc is not None and fc.issued_ts == NOW
    assert len(fc.hourly) == 72 and fc.hourly[0] == (START, 0.0)
    assert dict(fc.hourly)[START + 18 * 3600] == 14.2
    assert fetches(metrics, "ok") == 2
    # a new provider during an outage starts from the cached response
    replay.mode = "http_500"
    told2: list[tuple[str, StationForecast | None]] = []
    p2 = provider(tmp_path, replay.url, told2)
    p2.load_cache(NOW + 600)
    assert [sid for sid, _ in told2] == ["st1", "st2"]
    assert p2.poll(NOW + 600) == {"st1": "http_error", "st2": "http_error"}
    assert set(p2.forecasts()) == {"st1", "st2"}


def test_iso8601_times_at_the_responses_offset_are_read_in_utc() -> None:
    hourly = parse_open_meteo(RECORDED_ISO)
    assert hourly[0] == (START, 0.0)
    assert len(hourly) == 71  # the null hour is left out
    assert dict(hourly)[START + 18 * 3600] == 14.2


@pytest.mark.parametrize(("mode", "outcome"), [
    ("http_500", "http_error"), ("refused", "http_error"), ("garbage", "garbage"), ("not_json", "garbage"),
    ("huge", "too_large"), ("huge_chunked", "too_large"), ("hang", "timeout")])
def test_failures_are_outcomes_and_keep_the_last_good_forecast(tmp_path: Path, replay: Replay, mode: str,
                                                                outcome: str) -> None:
    told: list[tuple[str, StationForecast | None]] = []
    metrics = Metrics()
    p = provider(tmp_path, replay.url, told, metrics)
    p.poll(NOW)
    replay.mode = mode
    started = time.monotonic()
    assert p.poll(NOW + 3600) == {"st1": outcome, "st2": outcome}
    assert time.monotonic() - started < 3  # bounded by the timeout, even against a hanging server
    assert fetches(metrics, outcome) == 2
    assert {sid: f.issued_ts for sid, f in p.forecasts().items()} == {"st1": NOW, "st2": NOW}


def test_outage_then_stale_then_recovery(tmp_path: Path) -> None:
    told: list[tuple[str, StationForecast | None]] = []
    body = {"data": RECORDED}

    def fetcher(url: str, timeout_s: float, max_bytes: int) -> bytes:
        if body["data"] is None:
            raise ForecastError("network", "connection refused")
        return body["data"]

    p = RainForecastProvider(RainForecastSettings(enabled=True, stale_after_s=7200), make_settings(tmp_path).stations,
                             tmp_path, Metrics(), lambda sid, f: told.append((sid, f)), fetcher=fetcher)
    p.poll(NOW)
    body["data"] = None
    assert p.poll(NOW + 3600)["st1"] == "network"
    assert "st1" in p.forecasts()
    p.poll(NOW + 7201)
    assert p.forecasts() == {} and ("st1", None) in told
    body["data"] = RECORDED
    p.poll(NOW + 8000)
    assert told[-1][0] == "st2" and told[-1][1] is not None and told[-1][1].issued_ts == NOW + 8000


def test_a_refused_connection_is_a_network_outcome() -> None:
    with pytest.raises(ForecastError) as err:
        fetch(f"http://127.0.0.1:{free_port()}/v1/forecast", 0.5, 1024)
    assert err.value.outcome == "network"


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b'{"hourly": {}}', b'{"hourly": {"time": [1], '
                                  b'"precipitation": [1, 2]}}', b'{"hourly": {"time": [true], "precipitation": [1]}}',
                                  b'{"hourly": {"time": [1790000000], "precipitation": [-1]}}',
                                  b'{"hourly_units": {"precipitation": "inch"}, "hourly": {"time": [1790000000], '
                                  b'"precipitation": [1]}}', b'{"hourly": {"time": [null], "precipitation": [null]}}',
                                  json.dumps({"hourly": {"time": ["x" * 40], "precipitation": [1]}}).encode()])
def test_garbage_shapes_are_refused(body: bytes) -> None:
    with pytest.raises(ForecastError) as err:
        parse_open_meteo(body)
    assert err.value.outcome == "garbage"
