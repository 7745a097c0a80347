"""Ingest end to end against a real Mosquitto broker and real SQLite files."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.ingest.test_contract import forged_header
from tests.support import Recorder, jpeg, make_settings, mosquitto_pub, secret, wait_for
from tichwatch.app.service import Service
from tichwatch.config.schema import Settings
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher

T = Topics()


def stored(service: Service, station: str = "st1") -> int:
    return service.store.count_readings(station)


def test_single_batch_and_senml_readings_land(service: Service, gateway: GatewayPublisher) -> None:
    now = time.time()
    gateway.publish(T.reading("st1"), encode_reading(now - 30, 5.5, seq=1))
    gateway.publish(T.reading("st1"), json.dumps([{"ts": now - 20, "level_m": 5.6}, {"ts": now - 10, "level_m": 5.7}])
                    .encode())
    gateway.publish(T.reading("st2"), json.dumps([{"bn": "urn:dev:gw2:", "bt": now - 5, "n": "level", "u": "m",
                                                   "v": 4.4}]).encode())
    wait_for(lambda: stored(service) == 3 and stored(service, "st2") == 1)
    assert [r.level_m for r in service.store.readings("st1", 0, now + 1)] == [5.5, 5.6, 5.7]
    assert service.store.latest_readings()["st2"].level_m == 4.4


def test_bad_input_is_dead_lettered_and_good_input_interleaved_is_all_stored(
        service: Service, gateway: GatewayPublisher, broker: MosquittoProcess) -> None:
    dead = Recorder(broker.port, "tich/v1/deadletter/#")
    now = time.time()
    bad = [
        (T.reading("st1"), b"{not json", "not_json"),
        (T.reading("nowhere"), encode_reading(now, 5.0), "unknown_station"),
        (T.reading("st1"), b'{"ts": %d}' % now, "missing_field"),
        (T.reading("st1"), b'{"ts": %d, "level_m": "5"}' % now, "not_numeric"),
        (T.reading("st1"), b'{"ts": %d, "level_m": NaN}' % now, "not_finite"),
        (T.reading("st1"), encode_reading(now + 3600, 5.0), "future_timestamp"),
        (T.reading("st1"), encode_reading(now - 90 * 86400, 5.0), "too_old"),
        (T.reading("st1"), encode_reading(now, 99.0), "out_of_range"),
        (T.reading("st1"), b" " * (300 * 1024), "too_large"),
        (T.frame("cam1"), b"GIF89a not a jpeg", "not_jpeg"),
        (T.frame("cam1"), forged_header(65535, 65535), "dimensions_too_large"),
        (T.frame("camX"), jpeg(), "unknown_camera"),
        ("tich/v1/water/st1/garbage", b"{}", None),  # not subscribed: the broker never sends it
    ]
    for i, (topic, payload, _) in enumerate(bad):
        gateway.publish(topic, payload)
        gateway.publish(T.reading("st1"), encode_reading(now - 100 + i, 5.0 + i / 100))
    expected = sorted(r for _, _, r in bad if r)
    wait_for(lambda: len(dead.json()) >= len(expected) and stored(service) == len(bad))
    letters = dead.json()
    dead.close()
    assert sorted(m["reason"] for m in letters) == expected
    big = next(m for m in letters if m["reason"] == "too_large")
    assert big["size"] == 300 * 1024 and "payload" not in big  # the bytes of a huge payload are not echoed
    assert next(m for m in letters if m["reason"] == "unknown_station")["topic"] == T.reading("nowhere")
    assert dict(service.metrics.rejections._metrics)  # counters exist per reason
    text = service.metrics.render().decode()
    assert 'tichwatch_rejections_total{reason="not_json"} 1.0' in text


def test_duplicate_delivery_is_stored_once(service: Service, gateway: GatewayPublisher) -> None:
    now = time.time()
    for _ in range(3):
        gateway.publish(T.reading("st1"), encode_reading(now - 60, 6.0))
    gateway.publish(T.reading("st1"), encode_reading(now - 30, 6.1))
    wait_for(lambda: stored(service) == 2 and service.metrics.readings_duplicate._value.get() == 2)


def test_broker_restart_mid_stream_loses_nothing(service: Service, gateway: GatewayPublisher,
                                                 broker: MosquittoProcess) -> None:
    now = time.time()
    for i in range(200):
        gateway.publish(T.reading("st1"), encode_reading(now - 1000 + i, 5.0))
    broker.stop()  # the outage: the service and the gateway both reconnect with backoff
    wait_for(lambda: not service.mqtt.connected.is_set())
    for i in range(200, 400):  # published while the broker is down: queued by the gateway client
        gateway.publish(T.reading("st1"), encode_reading(now - 1000 + i, 5.0))
    broker.start()
    wait_for(lambda: service.mqtt.connected.is_set(), timeout_s=30)
    wait_for(lambda: stored(service) == 400, timeout_s=30, message=lambda: f"stored {stored(service)} of 400")


def test_readings_sent_while_service_is_down_arrive_on_restart(settings: Settings, gateway: GatewayPublisher) -> None:
    svc = Service(settings)
    svc.start()
    assert svc.mqtt.connected.wait(10)
    svc.stop()  # the persistent session stays on the broker
    now = time.time()
    for i in range(50):
        gateway.publish(T.reading("st1"), encode_reading(now - 100 + i, 5.0), wait=True)
    svc = Service(settings)
    svc.start()
    try:
        wait_for(lambda: svc.store.count_readings("st1") == 50, timeout_s=20)
    finally:
        svc.stop()


def test_frames_are_kept_latest_wins(service: Service, gateway: GatewayPublisher) -> None:
    for i in range(5):
        gateway.publish(T.frame("cam1"), jpeg(64 + i, 48), user_properties={"ts": str(time.time() - 10 + i)})
    processed = service.metrics.frames_processed.labels("cam1")._value.get
    dropped = service.metrics.frames_dropped.labels("cam1")._value.get
    wait_for(lambda: processed() + dropped() == 5, message=lambda: f"processed {processed()}, dropped {dropped()}")
    latest = service.store.latest_frame("cam1")
    assert latest is not None and latest.width == 68 and processed() >= 1
    assert latest.path.read_bytes()[:2] == b"\xff\xd8"


def test_mosquitto_pub_reading_is_served_within_a_second(live_app: tuple[Service, str],
                                                         broker: MosquittoProcess) -> None:
    _svc, base = live_app
    ts = "2026-01-01T00:00:00Z"
    payload = json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level_m": 6.42})
    started = time.monotonic()
    mosquitto_pub(broker.port, T.reading("st1"), payload)

    def served() -> bool:
        body = httpx.get(f"{base}/api/v1/stations/st1/readings", timeout=2).json()
        return any(r["level_m"] == 6.42 for r in body["readings"])

    wait_for(served, timeout_s=5, interval_s=0.01)
    assert time.monotonic() - started < 1.0, "reading took longer than a second to be served"
    latest = httpx.get(f"{base}/api/v1/stations/st1").json()["latest"]
    assert latest["level_m"] == 6.42 and latest["ts_local"].endswith("+07:00")
    assert ts  # RFC 3339 times are what gateways send
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200
    # one node: it runs every singleton (on PostgreSQL it holds each one's lease), and says so
    wait_for(lambda: {"retention", "alerts-ticker"} <= set(httpx.get(f"{base}/readyz").json()["leases"]),
             timeout_s=10)
    metrics = httpx.get(f"{base}/metrics").text
    assert "tichwatch_readings_stored_total 1.0" in metrics
    assert 'tichwatch_lease_held{lease="retention"} 1.0' in metrics
    lag = next(float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith("tichwatch_ingest_lag_seconds "))
    assert 0 <= lag < 1.0  # the message waited less than the second it took to be served
    ready_body = ready.json()
    assert ready_body["subjects"] >= 1 and ready_body["members"] in ([], [0])  # alone: a member on PostgreSQL only


def test_http_errors_are_problem_documents(live_app: tuple[Service, str]) -> None:
    _, base = live_app
    r = httpx.get(f"{base}/api/v1/stations/nope")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert "nope" in r.json()["detail"]
    r = httpx.get(f"{base}/api/v1/stations/st1/readings", params={"start": "yesterday"})
    assert r.status_code == 400 and "RFC 3339" in r.json()["detail"]
    r = httpx.get(f"{base}/api/v1/stations/st1/readings", params={"points": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["where"] == "query.points"


def test_bad_credentials_stop_retrying_with_a_clear_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pwfile = tmp_path / "passwd"
    pwfile.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pwfile), "tichwatch", secret("right-password")], check=True)
    broker = MosquittoProcess(tmp_path / "authbroker", extra_conf=f"allow_anonymous false\npassword_file {pwfile}\n")
    broker.start()
    try:
        settings = make_settings(tmp_path / "data", broker.port, mqtt={"username": "tichwatch"})
        svc = Service(settings)
        svc.mqtt._client.username_pw_set("tichwatch", secret("wrong-password"))
        svc.start()
        wait_for(lambda: svc.mqtt.auth_failed, timeout_s=10)
        time.sleep(2.5)  # a retrying client would have tried again by now (backoff starts at 1 s)
        attempts = (tmp_path / "authbroker" / "mosquitto.log").read_text().count("not authorised")
        assert attempts == 1
        assert not svc.readiness().ready and "Not authorized" in svc.readiness().detail
        assert any("refused the credentials" in r.message for r in caplog.records)
        assert "wrong-password" not in caplog.text
        svc.stop()
    finally:
        broker.stop()


def test_frame_with_undecodable_image_data_is_dead_lettered(service: Service, gateway: GatewayPublisher,
                                                             broker: MosquittoProcess) -> None:
    """The header is fine and the end marker is there, but the image data is garbage: dead-lettered, not kept."""
    dead = Recorder(broker.port, "tich/v1/deadletter/#")
    good = jpeg(640, 480)
    broken = good[:200] + b"\x00" * (len(good) - 202) + b"\xff\xd9"
    gateway.publish(T.frame("cam1"), broken)
    wait_for(lambda: dead.json(), message=lambda: "no dead letter")
    letter = dead.json()[0]
    dead.close()
    assert letter["topic"] == T.frame("cam1") and letter["reason"] in ("corrupt_jpeg", "truncated_jpeg")
    assert service.store.latest_frame("cam1") is None
