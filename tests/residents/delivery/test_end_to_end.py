"""End to end with the real broker, pipeline, flood detector and delivery threads, on the Kiều Phú impact (EXAMPLE
values): a reading past BĐ II at kieuphu-cau, published with mosquitto_pub, reaches the ZNS subscribers of thôn 1
and thôn 2 (each once, in their language) and nobody in thôn 5; a thôn 2 resident whose number is not on Zalo gets the
same message by SMS instead; and the same crossing drops a khẩn cấp loudspeaker package whose MP3 plays (ffprobe)
and whose text names the two hamlets."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.alerts.servers import HttpRecorder
from tests.residents.delivery.support import ENV, TEMPLATES, ZnsFake, add_subscriber, resident_settings, send_rate
from tests.residents.loudspeaker.support import probe
from tests.support import mosquitto_pub, wait_for
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.tools.broker import MosquittoProcess

FloodDetector = pytest.importorskip("tichwatch.detectors.flood.detector").FloodDetector


def test_bd2_crossing_reaches_thon_1_and_2_by_zns_with_sms_fallback_and_the_loudspeaker_not_thon_5(
        tmp_path: Path, broker: MosquittoProcess, zns: ZnsFake, gateway: HttpRecorder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    drop = tmp_path / "loa"
    drop.mkdir()
    loudspeaker = {"name": "loa-xa", "channel": {"type": "loudspeaker", "mode": "folder", "folder": str(drop),
                                                 "token_env": None}, "notify_on": ["firing", "raised", "resolved"]}
    settings = resident_settings(tmp_path / "data", zns.url, gateway.url, port=broker.port, loudspeaker=loudspeaker)
    svc = Service(settings)
    if not any(isinstance(d, FloodDetector) for d in svc.pipeline.reading_detectors):
        svc.pipeline.reading_detectors.append(FloodDetector(settings.stations, settings.flood))
    thon1 = add_subscriber(svc.store, "+84912000001", "thon-1")
    not_on_zalo = add_subscriber(svc.store, "+84912000002", "thon-2")
    add_subscriber(svc.store, "+84912000003", "thon-2", lang="en")
    add_subscriber(svc.store, "+84912000005", "thon-5")
    zns.not_on_zalo.add("84912000002")  # Zalo: "Zalo account not existed"
    svc.start()
    try:
        assert svc.mqtt.connected.wait(10)
        now = int(time.time())
        readings = [{"ts": now - 1200, "level_m": 6.0}, {"ts": now - 600, "level_m": 6.1},
                    {"ts": now, "level_m": 7.25}]
        mosquitto_pub(broker.port, "tich/v1/water/kieuphu-cau/reading", json.dumps(readings))

        def level_alerts() -> list[dict[str, Any]]:
            return [b for b in zns.bodies() if b["template_id"] == TEMPLATES["flood_alert"]["template_id"]]
        wait_for(lambda: len(level_alerts()) >= 3 and any("Bao dong II" in b["text"] for b in gateway.bodies()),
                 timeout_s=20)
        time.sleep(0.5)  # nothing more may come
        assert sorted(b["phone"] for b in level_alerts()) == ["84912000001", "84912000002", "84912000003"]
        by_phone = {b["phone"]: b["template_data"] for b in level_alerts()}
        assert by_phone["84912000001"]["muc_bao_dong"] == "Báo động II"
        assert by_phone["84912000001"]["thon"] == "Thôn 1, Thôn 2"
        assert by_phone["84912000001"]["huy"].startswith(f"{settings.http.public_url}/huy/{thon1}.")
        assert by_phone["84912000003"]["muc_bao_dong"] == "Alarm level II"
        # the steep rise also brings the forecast of BĐ III (its own template); nobody in thôn 5 hears of either
        assert "84912000005" not in {b["phone"] for b in zns.bodies()}
        texts = [b["text"] for b in gateway.bodies()]
        assert {b["to"] for b in gateway.bodies()} == {"+84912000002"}
        (sms,) = [t for t in texts if t.startswith("Bao dong II: Thon 1 va Thon 2")]
        assert f"/huy/{not_on_zalo}." in sms and len(sms) <= 160
        rows = svc.store.query_all("SELECT channel, subscriber_id, state, notice FROM notifications "
                                   "WHERE subscriber_id IS NOT NULL AND notice = 'flood_alert'")
        states = {(r["channel"], r["subscriber_id"]): r["state"] for r in rows}
        assert states[("zns", not_on_zalo)] == "failed" and states[("sms", not_on_zalo)] == "sent"
        assert sorted(states.values()) == ["failed", "sent", "sent", "sent"]
        # The duty officer's alert page counts the residents told, by channel (no number, no name)
        (alert_id,) = {r["alert_id"] for r in svc.store.query_all(
            "SELECT alert_id FROM notifications WHERE subscriber_id IS NOT NULL AND notice = 'flood_alert'")}
        with TestClient(create_app(svc, manage_lifecycle=False)) as client:
            page = client.get(f"/api/v1/alerts/{alert_id}").json()
        assert page["residents"] == {"zns_sent": 2, "zns_failed": 1, "sms_sent": 1}
        assert not any(n["receiver"].startswith("residents-") for n in page["notifications"])
        wait_for(lambda: any(drop.glob("*/.ready")), timeout_s=60)  # the MP3 is made at the first send
        packages = [json.loads(p.read_text("utf-8")) for p in drop.glob("*/package.json")]
        (urgent,) = [p for p in packages if p["priority"] == "emergency"]
        assert urgent["priority_vi"] == "khẩn cấp" and urgent["about"]["level"] == "BD2"
        assert "Thôn 1" in urgent["text"] and "Thôn 2" in urgent["text"] and "Thôn 5" not in urgent["text"]
        (mp3,) = drop.glob("*/audio.mp3")
        info = probe(mp3)
        assert info["streams"][0]["codec_name"] == "mp3" and float(info["format"]["duration"]) > 10
    finally:
        svc.stop()


def test_sending_rate_with_parallel_senders(tmp_path: Path, gateway: HttpRecorder) -> None:
    """500 residents against a local ZNS that takes 20 ms per request: four senders beat one by 2× at least
    (`bench/resident_delivery.py` prints the figures the README gives)."""
    one = send_rate(tmp_path / "one", gateway.url, 1)
    four = send_rate(tmp_path / "four", gateway.url, 4)
    assert four > 2 * one, (one, four)
