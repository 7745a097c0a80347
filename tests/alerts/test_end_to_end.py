"""End to end with the real broker: a reading that crosses BĐ2, published with mosquitto_pub, reaches a webhook as a
Vietnamese notification with the right level and local time; acknowledging it through the API stops the repeats."""
from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.alerts.servers import HttpRecorder
from tests.support import make_settings, mosquitto_pub, wait_for
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.tools.broker import MosquittoProcess

FloodDetector = pytest.importorskip("tichwatch.detectors.flood.detector").FloodDetector


class OffsetClock:
    """Real time plus an offset the test moves forward (repeats are an hour apart)."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s


def test_bd2_reading_to_vietnamese_webhook_and_acknowledgement_stops_repeats(
        tmp_path: Path, broker: MosquittoProcess, hook: HttpRecorder) -> None:
    alerts = {"receivers": [{"name": "duty", "channel": {"type": "webhook", "url": f"{hook.url}/hook"}}],
              "routes": [{"match": {"kinds": ["flood.level"]}, "receivers": ["duty"]}],
              "tick_interval_s": 300}
    settings = make_settings(tmp_path / "data", broker.port, alerts=alerts)
    clock = OffsetClock()
    svc = Service(settings, clock=clock)
    if not any(isinstance(d, FloodDetector) for d in svc.pipeline.reading_detectors):
        svc.pipeline.reading_detectors.append(FloodDetector(settings.stations, settings.flood))
    svc.accounts.add_user("truc.ban", "officer-password-1", Role.OFFICER, clock())
    svc.start()
    try:
        assert svc.mqtt.connected.wait(10)
        now = int(time.time())
        readings = [{"ts": now - 1200, "level_m": 6.0}, {"ts": now - 600, "level_m": 6.1},
                    {"ts": now, "level_m": 7.45}]
        mosquitto_pub(broker.port, "tich/v1/water/st1/reading", json.dumps(readings))
        first = wait_for(lambda: hook.bodies(), timeout_s=15)[0]
        assert first["notice"] == "firing" and first["alert"]["kind"] == "flood.level"
        assert first["alert"]["level"] == "BD2" and first["alert"]["severity"] == "critical"
        local = datetime.fromtimestamp(now, ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%H:%M ngày %d/%m/%Y")
        title, text = first["message"]["title"], first["message"]["text"]
        assert title == f"[BÁO ĐỘNG II] Trạm thử: mực nước 7,45 m lúc {local}, vượt báo động II"
        assert f"lúc {local}" in text and "Xu thế: đang lên" in text and "Việc cần làm:" in text
        alert_id = first["alert"]["id"]

        clock.offset_s += 3600  # an hour later, nobody has acknowledged: a reminder
        svc.alerts.tick(clock())
        assert [b["notice"] for b in hook.bodies()] == ["firing", "repeat"]

        with TestClient(create_app(svc, manage_lifecycle=False)) as client:
            token = client.post("/api/v1/auth/login", json={"username": "truc.ban",
                                                            "password": "officer-password-1"}).json()["access_token"]
            r = client.post(f"/api/v1/alerts/{alert_id}/ack", json={"comment": "Đã nhận, đang ra đê"},
                            headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and r.json()["alert"]["state"] == "acknowledged"

        for _ in range(3):
            clock.offset_s += 3600
            svc.alerts.tick(clock())
        assert [b["notice"] for b in hook.bodies()] == ["firing", "repeat"]
        assert len({b["idempotency_key"] for b in hook.bodies()}) == 2
    finally:
        svc.stop()
