"""The historian against a real server speaking InfluxDB's v2 write API (VictoriaMetrics): content, outage, pipeline."""
from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tests.historian.conftest import TOKEN, TOKEN_ENV, historian_settings
from tests.historian.victoria import VictoriaMetrics
from tests.support import wait_for
from tichwatch.app.service import Service
from tichwatch.config.historian import HistorianSettings
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.samples import Reading
from tichwatch.historian.sink import Historian, build_historian
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher


def series(vm: VictoriaMetrics, name: str, expected_samples: int) -> dict[tuple[tuple[str, str], ...], list[int]]:
    """Timestamps (ms) per label set of metric `name`, once `expected_samples` samples are searchable."""
    def load() -> dict[tuple[tuple[str, str], ...], list[int]] | None:
        out = {tuple(sorted((k, v) for k, v in s["metric"].items() if k != "__name__")): s["timestamps"]
               for s in vm.export(f'{{__name__="{name}"}}')}
        return out if sum(len(t) for t in out.values()) >= expected_samples else None
    return wait_for(load, timeout_s=20, interval_s=0.3)


def values(vm: VictoriaMetrics, name: str) -> list[dict[str, Any]]:
    """Raw export of one metric."""
    return vm.export(f'{{__name__="{name}"}}')


@pytest.fixture
def running(tmp_path: Path, victoria: VictoriaMetrics,
            caplog: pytest.LogCaptureFixture) -> Iterator[tuple[Historian, CollectorRegistry]]:
    """A started historian writing to the test's VictoriaMetrics, and its metrics; every log line captured."""
    caplog.set_level(logging.DEBUG)
    registry = CollectorRegistry()
    historian = build_historian(historian_settings(tmp_path / "data", victoria.url), registry, env=TOKEN_ENV)
    assert historian is not None
    historian.start()
    yield historian, registry
    historian.close()
    assert TOKEN not in caplog.text


def test_points_arrive_with_measurement_tags_fields_and_times(
        victoria: VictoriaMetrics, running: tuple[Historian, CollectorRegistry]) -> None:
    historian, registry = running
    now = int(time.time()) - 600
    historian.record_readings([Reading("st1", now + 0.5, 7.42, seq=5, battery_v=12.4),
                               Reading("st2", now, 4.0)])
    historian.record_detections([Detection("flood.level", "st1", now + 0.5, True, Severity.WARNING, 7.42, "m",
                                           "BD1", "crossed BD1 upward")])
    historian.record_dust_index("cam1", now + 1, 0.61, "dust")
    historian.record_dust_index("cam1", now + 2, None, "dark")
    historian.record_alert_event("a-17", "flood.level", "st1", "acknowledged", Severity.WARNING, now + 3, "officer1")
    wait_for(lambda: historian.spool_depth == 0)
    level = series(victoria, "water_level_level_m", 2)
    assert level == {(("river", "Sông Tích"), ("station_id", "st1")): [now * 1000 + 500],
                     (("river", "Sông Tích"), ("station_id", "st2")): [now * 1000]}
    assert [s["values"] for s in values(victoria, "water_level_battery_v")] == [[12.4]]
    assert [s["values"] for s in values(victoria, "water_level_seq")] == [[5]]
    dust = values(victoria, "dust_dust_index")
    assert [(s["metric"]["camera_id"], s["metric"]["site"], s["values"], s["timestamps"]) for s in dust] == [
        ("cam1", "Công trường thử", [0.61], [(now + 1) * 1000])]  # the dark frame has a status but no index
    assert sum(len(s["timestamps"]) for s in values(victoria, "dust_status")) == 2
    det = values(victoria, "detection_value")
    assert [(s["metric"], s["values"], s["timestamps"]) for s in det] == [
        ({"__name__": "detection_value", "kind": "flood.level", "subject": "st1"}, [7.42], [now * 1000 + 500])]
    assert [s["values"] for s in values(victoria, "detection_severity")] == [[int(Severity.WARNING)]]
    assert [s["values"] for s in values(victoria, "detection_active")] == [[1]]
    alert = values(victoria, "alert_event_severity")
    assert [(s["metric"], s["timestamps"]) for s in alert] == [
        ({"__name__": "alert_event_severity", "alert_id": "a-17", "kind": "flood.level", "subject": "st1",
          "state": "acknowledged"}, [(now + 3) * 1000])]
    assert registry.get_sample_value("tichwatch_historian_points_written_total") == 6


def test_server_outage_loses_nothing_and_doubles_nothing(
        victoria: VictoriaMetrics, running: tuple[Historian, CollectorRegistry],
        caplog: pytest.LogCaptureFixture) -> None:
    historian, registry = running
    base = int(time.time()) - 3600
    sent = 0

    def produce(n: int) -> None:
        nonlocal sent
        for _ in range(n):
            historian.record_readings([Reading("st1", base + sent, 5.0 + sent / 1000),
                                       Reading("st2", base + sent, 4.0)])
            sent += 1
            time.sleep(0.002)

    produce(100)
    victoria.stop()
    produce(100)  # keeps coming while the server is down
    wait_for(lambda: (registry.get_sample_value("tichwatch_historian_write_failures_total",
                                                {"reason": "unreachable"}) or 0) >= 2)
    assert historian.spool_depth > 0
    victoria.start()
    produce(100)
    wait_for(lambda: historian.spool_depth == 0, timeout_s=20)
    got = series(victoria, "water_level_level_m", 2 * sent)
    assert sent == 300
    for labels, stamps in got.items():
        per_ts = Counter(stamps)
        assert max(per_ts.values()) == 1, f"{labels}: a point was written twice"
        assert sorted(per_ts) == [(base + i) * 1000 for i in range(sent)], f"{labels}: points missing"
    assert len(got) == 2
    assert registry.get_sample_value("tichwatch_historian_points_written_total") == 2 * sent
    assert "spooling" in caplog.text  # the outage was reported (once), without the token


@pytest.mark.slow
def test_pipeline_commits_reach_the_historian(tmp_path: Path, victoria: VictoriaMetrics,
                                              broker: MosquittoProcess) -> None:
    settings = historian_settings(tmp_path / "data", victoria.url, broker.port)
    svc = Service(settings.model_copy(update={"historian": HistorianSettings()}))  # attached by hand below
    historian = build_historian(settings, svc.metrics.registry, env=TOKEN_ENV)
    assert historian is not None
    historian.subscribe(svc.bus)
    historian.start()
    svc.start()
    assert svc.mqtt.connected.wait(10), "service did not connect to the test broker"
    gateway = GatewayPublisher(settings.mqtt, "hist-gw").connect()
    try:
        now = int(time.time()) - 60
        for i in range(5):
            gateway.publish(Topics().reading("st1"), encode_reading(now + i, 6.0 + i / 10, seq=i), wait=True)
        got = series(victoria, "water_level_level_m", 5)
        assert got == {(("river", "Sông Tích"), ("station_id", "st1")): [(now + i) * 1000 for i in range(5)]}
        assert (svc.metrics.registry.get_sample_value("tichwatch_historian_points_written_total") or 0) >= 5
        assert b"tichwatch_historian_spool_points" in svc.metrics.render()
    finally:
        gateway.close()
        svc.stop()
        historian.close()
