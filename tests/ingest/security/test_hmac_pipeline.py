"""With HMAC on, the running service dead-letters forged, replayed, unsigned and stale readings with their reason."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import Recorder, make_settings, wait_for
from tichwatch.app.service import Service
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.ingest.gateway_auth import sign
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher

T = Topics()
KEY = "hmac-key-of-gw-a-5f1c7e9a0b2d4c6e"


def test_forged_replayed_unsigned_and_stale_readings_are_dead_lettered(
        tmp_path: Path, broker: MosquittoProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICHWATCH_KEY_GW_A", KEY)
    settings = make_settings(tmp_path / "data", broker.port, gateway_auth={"hmac_required": True, "gateways": [
        {"username": "gw-a", "stations": ["st1", "st2"], "cameras": ["cam1"], "key_env": "TICHWATCH_KEY_GW_A"}]})
    svc = Service(settings)
    assert svc.pipeline.verifier is not None  # gateway_auth configured: every message is checked
    svc.start()
    assert svc.mqtt.connected.wait(10), "service did not connect to the test broker"
    dead = Recorder(broker.port, "tich/v1/deadletter/#")
    gateway = GatewayPublisher(settings.mqtt, "gw-a").connect()
    topic = T.reading("st1")
    try:
        now = time.time()
        good = encode_reading(now - 10, 5.0)
        props = sign(topic, good, KEY.encode(), now)
        gateway.publish(topic, good, user_properties=props, wait=True)
        wait_for(lambda: svc.store.count_readings("st1") == 1)
        gateway.publish(topic, good, user_properties=props, wait=True)  # replayed
        forged = encode_reading(now - 5, 9.0)
        gateway.publish(topic, forged, user_properties=sign(topic, forged, b"not-the-key-0123456789", now), wait=True)
        gateway.publish(topic, forged, wait=True)  # unsigned
        gateway.publish(topic, forged, user_properties=sign(topic, forged, KEY.encode(), now + 3600), wait=True)
        wait_for(lambda: len(dead.json()) == 4, message=lambda: str(dead.json()))
        assert [d["reason"] for d in dead.json()] == ["replayed", "bad_signature", "missing_signature",
                                                      "stale_signature"]
        assert svc.store.count_readings("st1") == 1
        assert KEY not in str(dead.json())
    finally:
        gateway.close()
        dead.close()
        svc.stop()
