"""End to end: readings at the Kiều Phú bridge crossing BĐ II, through the real pipeline, flood detector, alert
engine and outbox, reach the loudspeaker endpoint as a khẩn cấp package whose MP3 plays and whose text names Thôn 1
and Thôn 2; the water going down brings the all-clear as a normal package."""
from __future__ import annotations

import time
from pathlib import Path

from tests.alerts.replay import rig
from tests.alerts.servers import HttpRecorder
from tests.residents.loudspeaker.support import kieuphu_settings, metadata, parts, probe
from tests.support import wait_for


def test_a_bd2_crossing_at_the_bridge_makes_an_emergency_package_naming_the_hamlets(tmp_path: Path) -> None:
    endpoint = HttpRecorder().start()
    settings = kieuphu_settings(tmp_path / "data", alerts={
        "receivers": [{"name": "loa-xa", "channel": {"type": "loudspeaker", "url": f"{endpoint.url}/ban-tin",
                                                     "token_env": None},
                       "notify_on": ["firing", "raised", "resolved"]},
                      {"name": "log", "channel": {"type": "log"}}],
        "routes": [{"match": {"kinds": ["flood.level"]}, "receivers": ["loa-xa"]},
                   {"match": {"kinds": ["delivery."]}, "receivers": ["log"]}],
        "resolve_hold_s": 0}, flood={"dwell_s": 600})  # the water must stay down 10 min, not 2 h
    try:
        with rig(settings) as r:
            now = time.time() - 3 * 3600
            rising = [(now + i * 300, level) for i, level in enumerate([6.6, 6.8, 6.95, 7.05, 7.18, 7.22])]
            r.deliver(rising, "kieuphu-cau")
            r.runtime.tick(time.time())
            wait_for(lambda: endpoint.count() >= 1, timeout_s=30)
            first = endpoint.requests[0]
            doc = metadata(first)
            assert doc["kind"] == "alert" and doc["about"]["alert_kind"] == "flood.level"
            assert doc["about"]["level"] == "BD2" and doc["about"]["station_id"] == "kieuphu-cau"
            assert (doc["priority"], doc["priority_vi"]) == ("emergency", "khẩn cấp")
            assert "Thôn 1" in doc["text"] and "Thôn 2" in doc["text"] and "Thôn 3" not in doc["text"]
            assert [h["name"] for h in doc["area"]["hamlets"]] == ["Thôn 1", "Thôn 2"]
            assert doc["schedule"]["mode"] == "immediate" and len(doc["schedule"]["plays"]) == 3
            (tmp_path / "loa.mp3").write_bytes(parts(first)["audio"][2])
            info = probe(tmp_path / "loa.mp3")
            assert info["streams"][0]["codec_name"] == "mp3"
            assert abs(float(info["format"]["duration"]) - doc["audio"]["duration_s"]) < 0.3
            assert doc["audio"]["duration_s"] > 10

            falling = [(now + (6 + i) * 300, level) for i, level in enumerate([6.9, 6.5, 6.1, 5.8, 5.6, 5.5, 5.4])]
            r.deliver(falling, "kieuphu-cau")
            r.runtime.tick(time.time())
            wait_for(lambda: endpoint.count() >= 2, timeout_s=30)
            clear = metadata(endpoint.requests[1])
            assert clear["about"]["notice"] == "resolved" and clear["id"] != doc["id"]
            assert (clear["priority"], clear["priority_vi"]) == ("normal", "thông thường")
            assert "cảnh báo lũ đã kết thúc" in clear["text"] and clear["area"]["whole_commune"]
            assert endpoint.count() == 2  # one package per change
    finally:
        endpoint.stop()
