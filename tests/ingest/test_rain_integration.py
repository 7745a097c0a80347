"""Rain readings end to end through a real Mosquitto broker and SQLite: stored once per (gauge, ts), dead-lettered
with their reason, fed to the flood detector's rain history in order (and again from the store after a restart),
signed like water readings when their gateway has a key, and pruned with the readings."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Recorder, make_settings, wait_for
from tichwatch.app.service import Service
from tichwatch.config.loader import ConfigError
from tichwatch.config.schema import Settings
from tichwatch.core.metrics import Metrics
from tichwatch.core.samples import RainReading
from tichwatch.ingest.contract import Topics, encode_rain
from tichwatch.ingest.gateway_auth import build_verifier, sign
from tichwatch.store.rain import insert_rain_readings, rain_readings
from tichwatch.store.retention import RetentionWorker
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher

T = Topics()
GAUGES = [{"id": "rg1", "name": "Mưa thượng nguồn", "lat": 21.1, "lon": 105.5, "expected_interval_s": 600,
           "stations": ["st1"]}]


@pytest.fixture
def settings(tmp_path: Path, broker: MosquittoProcess) -> Settings:
    """The test settings with one rain gauge feeding st1."""
    return make_settings(tmp_path / "data", broker.port, rain_gauges=GAUGES)


@pytest.fixture
def rain_service(settings: Settings) -> Iterator[Service]:
    svc = Service(settings)
    svc.start()
    assert svc.mqtt.connected.wait(10)
    yield svc
    svc.stop()


def stored(service: Service) -> list[float]:
    return [r.rain_mm for r in rain_readings(service.store, "rg1", 0, time.time() + 3600)]


def test_rain_lands_once_bad_rain_is_dead_lettered_and_the_detector_hears_it(
        rain_service: Service, gateway: GatewayPublisher, broker: MosquittoProcess, settings: Settings) -> None:
    dead = Recorder(broker.port, "tich/v1/deadletter/#")
    now = time.time()
    gateway.publish(T.rain("rg1"), encode_rain(now - 1200, 4.0, 600))
    gateway.publish(T.rain("rg1"), encode_rain(now - 1200, 4.0, 600))  # a resend
    gateway.publish(T.rain("rg1"), json.dumps([{"ts": now - 600, "rain_mm": 6.0}, {"ts": now, "rain_mm": -1},
                                               {"ts": now, "rain_mm": "8"}]).encode())
    gateway.publish(T.rain("rg1"), json.dumps([{"bn": "urn:dev:rg1:", "bt": now - 300, "n": "rain", "u": "mm",
                                                "v": 10.0}]).encode())
    gateway.publish(T.rain("nowhere"), encode_rain(now, 1.0))
    gateway.publish(T.rain("rg1"), b"{not json")
    wait_for(lambda: len(stored(rain_service)) == 3 and len(dead.json()) == 4,
             message=lambda: f"{stored(rain_service)} {dead.json()}")
    letters = dead.json()
    dead.close()
    assert stored(rain_service) == [4.0, 6.0, 10.0]
    assert sorted(m["reason"] for m in letters) == ["not_json", "not_numeric", "out_of_range", "unknown_station"]
    assert {m["topic"] for m in letters} >= {T.rain("rg1"), T.rain("nowhere")}
    assert rain_service.metrics.rain_readings_stored._value.get() == 3
    with rain_service.pipeline.detect_lock:
        rain = rain_service.flood.rain
        assert rain.latest_ts("rg1") == pytest.approx(now - 300)
        # 4 mm over the first 10 min, 6 mm over the next, 10 mm over the last 5 (its interval cut at the one before)
        assert rain.station_total_mm("st1", now - 300, 1800) == pytest.approx(20.0)
    rain_service.stop()
    again = Service(settings)
    again.pipeline.start()  # warms the detectors from the store, rain included
    try:
        assert again.flood.rain.station_total_mm("st1", now - 300, 1800) == pytest.approx(20.0)
    finally:
        again.pipeline.stop()
        again.store.close()


def test_retention_prunes_old_rain_with_the_readings(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rain_gauges=GAUGES, store={"readings_retention_days": 1})
    svc = Service(settings)
    try:
        now = time.time()
        with svc.store.transaction() as conn:
            insert_rain_readings(conn, [RainReading("rg1", now - 3 * 86400, 1.0, 600),
                                        RainReading("rg1", now - 60, 2.0, 600)])
        tally = RetentionWorker(settings, svc.store, Metrics(), clock=lambda: now, pause_s=0).run(now)
        assert tally is not None and tally.rows.get("rain_readings") == 1
        assert stored(svc) == [2.0]
    finally:
        svc.store.close()


def test_signed_rain_gateway(tmp_path: Path) -> None:
    key = "rain-gateway-key-0123456789abcdef"
    settings = make_settings(tmp_path, rain_gauges=GAUGES, gateway_auth={"gateways": [
        {"username": "gw-rain", "rain_gauges": ["rg1"], "key_env": "KEY_R"}]})
    verifier = build_verifier(settings, {"KEY_R": key})
    assert verifier is not None
    now = 1_790_000_000.0
    payload = encode_rain(now, 1.0)
    assert verifier.verify(T.rain("rg1"), payload, {}, now).reason == "missing_signature"  # type: ignore[union-attr]
    props = sign(T.rain("rg1"), payload, key.encode(), now)
    assert verifier.verify(T.rain("rg1"), payload, props, now) is None
    assert verifier.verify(T.rain("rg1"), payload, props, now).reason == "replayed"  # type: ignore[union-attr]
    forged = sign(T.reading("st1"), payload, key.encode(), now)  # signed for another topic
    assert verifier.verify(T.rain("rg1"), payload, forged, now).reason == "bad_signature"  # type: ignore[union-attr]
    verifier.close()
    with pytest.raises(ConfigError, match="rain_gauges that are not configured"):
        make_settings(tmp_path, rain_gauges=GAUGES, gateway_auth={"gateways": [
            {"username": "gw-rain", "rain_gauges": ["rg9"]}]})
