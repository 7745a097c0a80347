"""The historian's spool and drain without a server: order, bounds, restarts, retries, refused points, no blocking."""
from __future__ import annotations

import http.server
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tests.historian.conftest import TOKEN, TOKEN_ENV, historian_settings
from tests.support import make_settings, wait_for
from tichwatch.core.bus import EventBus
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.events import AlertChanged, DetectionsRaised, FrameJudged, ReadingsStored
from tichwatch.core.samples import Reading
from tichwatch.historian.influx import InfluxWriter, WriteFailed
from tichwatch.historian.points import alert_event_line, detection_line, dust_line, reading_line
from tichwatch.historian.sink import Historian, build_historian
from tichwatch.historian.spool import SPOOL_FILE, Spool


class FakeWriter:
    """Records what it is given; fails while `down`, refuses lines containing `refuse`, blocks while `gate` is clear."""

    def __init__(self, down: bool = False, refuse: str | None = None):
        self.down = down
        self.refuse = refuse
        self.gate = threading.Event()
        self.gate.set()
        self.batches: list[list[str]] = []
        self.closed = False

    def write(self, lines: Sequence[str]) -> None:
        self.gate.wait()
        if self.down:
            raise WriteFailed("unreachable", True, "connection refused")
        if self.refuse and any(self.refuse in line for line in lines):
            raise WriteFailed("http_400", False, "unable to parse")
        self.batches.append(list(lines))

    @property
    def lines(self) -> list[str]:
        return [line for batch in self.batches for line in batch]

    def close(self) -> None:
        self.closed = True


def readings(start: int, n: int, station: str = "st1") -> list[Reading]:
    return [Reading(station, 1_790_000_000 + i, 5.0 + i / 1000) for i in range(start, start + n)]


def historian(tmp_path: Path, writer: FakeWriter, registry: CollectorRegistry | None = None,
              **settings: Any) -> Historian:
    s = historian_settings(tmp_path / "data", "http://127.0.0.1:9", **settings)
    return Historian(s, writer, registry or CollectorRegistry())


def test_spool_keeps_order_across_reopen_and_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / SPOOL_FILE
    spool = Spool(path, max_points=1000)
    spool.append([f"m v={i}i {i}" for i in range(600)])
    spool.remove_through(spool.peek(100)[-1][0])
    spool.close()
    spool = Spool(path, max_points=1000)
    assert len(spool) == 500
    assert spool.append([f"m v={i}i {i}" for i in range(600, 1100)]) == 0
    assert spool.append([f"m v={i}i {i}" for i in range(1100, 1300)]) == 200  # the oldest 200 make room
    assert [line for _, line in spool.peek(2000)] == [f"m v={i}i {i}" for i in range(300, 1300)]
    assert len(spool) == 1000
    spool.close()


def test_nothing_lost_across_a_restart_of_the_historian(tmp_path: Path) -> None:
    down = FakeWriter(down=True)
    first = historian(tmp_path, down)
    first.start()
    for i in range(0, 300, 30):
        first.record_readings(readings(i, 30))
    first.close()
    assert down.closed and first.spool_depth == 300

    up = FakeWriter()
    second = historian(tmp_path, up)
    assert second.spool_depth == 300
    second.start()
    second.record_readings(readings(300, 10))
    wait_for(lambda: second.spool_depth == 0)
    second.close()
    assert up.lines == [reading_line(r, "Sông Tích") for r in readings(0, 310)]
    assert len(Spool(tmp_path / "data" / SPOOL_FILE, 1000)) == 0


def test_retries_until_the_server_accepts_then_sends_each_point_once_in_batches(tmp_path: Path) -> None:
    writer = FakeWriter(down=True)
    registry = CollectorRegistry()
    h = historian(tmp_path, writer, registry, batch_points=1000)
    h.start()
    h.record_readings(readings(0, 2500))
    wait_for(lambda: (registry.get_sample_value("tichwatch_historian_write_failures_total",
                                                {"reason": "unreachable"}) or 0) >= 2)
    assert registry.get_sample_value("tichwatch_historian_spool_points") == 2500
    writer.down = False
    wait_for(lambda: h.spool_depth == 0)
    h.close()
    assert writer.lines == [reading_line(r, "Sông Tích") for r in readings(0, 2500)]
    assert max(len(b) for b in writer.batches) == 1000
    assert registry.get_sample_value("tichwatch_historian_points_written_total") == 2500


def test_a_point_refused_for_good_is_isolated_and_dropped_alone(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    writer = FakeWriter(refuse="poison")
    registry = CollectorRegistry()
    h = historian(tmp_path, writer, registry)
    h.record_readings(readings(0, 17))
    h.record_readings(readings(17, 1, station="poison"))
    h.record_readings(readings(18, 22))
    h.start()
    wait_for(lambda: h.spool_depth == 0)
    h.close()
    assert writer.lines == [reading_line(r, "Sông Tích") for r in readings(0, 17) + readings(18, 22)]
    assert registry.get_sample_value("tichwatch_historian_points_dropped_total", {"reason": "refused"}) == 1
    assert "water_level,station_id=poison" in caplog.text


def test_recording_never_waits_for_the_server(tmp_path: Path) -> None:
    writer = FakeWriter()
    writer.gate.clear()  # a write hangs (server black-holed)
    h = historian(tmp_path, writer)
    h.start()
    h.record_readings(readings(0, 1))
    time.sleep(0.2)  # the drain thread is now stuck in write()
    started = time.perf_counter()
    for i in range(1, 201):
        h.record_readings(readings(i, 1))
        h.record_detections([Detection("flood.level", "st1", 1_790_000_000 + i, True)])
    assert time.perf_counter() - started < 2.0
    assert h.spool_depth == 401
    writer.gate.set()
    wait_for(lambda: h.spool_depth == 0)
    h.close()


def test_the_historian_records_what_the_bus_reports_until_unsubscribed(tmp_path: Path) -> None:
    writer = FakeWriter()
    h = historian(tmp_path, writer)
    bus = EventBus()
    stop = h.subscribe(bus)
    t = 1_790_000_000
    flood = Detection("flood.level", "st1", t + 1, True, Severity.WARNING, 7.4, "m", "BD1", "crossed BD1 upward")
    bus.publish(ReadingsStored((Reading("st1", t, 7.4),)))
    bus.publish(DetectionsRaised((flood,)))
    bus.publish(FrameJudged("cam1", t + 2, None, "warming up"))
    bus.publish(FrameJudged("cam1", t + 3, 0.7, "dust"))
    bus.publish(AlertChanged("a-1", "flood.level", "st1", "firing", "acknowledged", int(Severity.WARNING),
                             "acknowledged", "truc.ban", t + 4))
    stop()
    bus.publish(ReadingsStored((Reading("st1", t + 9, 7.5),)))  # after unsubscribing: not recorded
    h.start()
    wait_for(lambda: h.spool_depth == 0)
    h.close()
    assert writer.lines == [
        reading_line(Reading("st1", t, 7.4), "Sông Tích"), detection_line(flood),
        dust_line("cam1", "Công trường thử", t + 2, None, "warming up"),
        dust_line("cam1", "Công trường thử", t + 3, 0.7, "dust"),
        alert_event_line("a-1", "flood.level", "st1", "acknowledged", int(Severity.WARNING), t + 4, "truc.ban",
                         "acknowledged")]


def test_build_needs_the_token_only_when_enabled(tmp_path: Path) -> None:
    assert build_historian(make_settings(tmp_path), CollectorRegistry(), env={}) is None
    with pytest.raises(ValueError, match="TICHWATCH_INFLUX_TOKEN"):
        build_historian(historian_settings(tmp_path, "http://127.0.0.1:9"), CollectorRegistry(), env={})


class EchoAuthHandler(http.server.BaseHTTPRequestHandler):
    """Refuses every write with a body that repeats the request's Authorization header (a careless server)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        header = self.headers.get("Authorization")
        body = f'{{"code":"unauthorized","message":"bad header {header}"}}'.encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), EchoAuthHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_token_never_reaches_the_logs(tmp_path: Path, echo_server: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = historian_settings(tmp_path, echo_server)
    writer = InfluxWriter(settings.historian, TOKEN)
    with pytest.raises(WriteFailed) as failed:
        writer.write(["m f=1 1"])
    writer.close()
    assert failed.value.retryable and failed.value.reason == "http_401"
    assert "***" in failed.value.detail and TOKEN not in str(failed.value)
    h = build_historian(settings, CollectorRegistry(), env=TOKEN_ENV)
    assert h is not None
    h.start()
    h.record_readings(readings(0, 3))
    wait_for(lambda: "retrying" in caplog.text)
    h.close()
    assert h.spool_depth == 3  # a wrong token is an operator's fix away: the points wait
    assert TOKEN not in caplog.text
