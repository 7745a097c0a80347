"""Helpers of the loudspeaker tests: the Kiều Phú bridge station and hamlet impact (from config/kieuphu.yaml),
notifications as the outbox hands them to a channel, a multipart parser speaking what a source system reads, and
ffprobe."""
from __future__ import annotations

import email.parser
import email.policy
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.alerts.servers import Recorded
from tests.support import make_settings
from tichwatch.alerts.channels.base import Message, Notification
from tichwatch.config.schema import Settings
from tichwatch.core.timefmt import iso_utc

KIEUPHU = yaml.safe_load((Path(__file__).resolve().parents[3] / "config" / "kieuphu.yaml").read_text("utf-8"))
"""The deployment file of Kiều Phú (its bridge station and impact by hamlet)."""
BRIDGE = {k: v for k, v in next(s for s in KIEUPHU["stations"] if s["id"] == "kieuphu-cau").items() if k != "upstream"}
"""Cầu Kiều Phú: BĐ I 6.30, BĐ II 7.10, BĐ III 7.80 m; BĐ I floods Thôn 1, BĐ II Thôn 1 and 2, BĐ III also Thôn 3."""
IMPACT = {**{k: v for k, v in KIEUPHU["impact"].items() if k != "areas_geojson"},
          "stations": [s for s in KIEUPHU["impact"]["stations"] if s["station_id"] == "kieuphu-cau"]}
"""The impact block of the bridge station, without the GeoJSON file."""
T0 = 1_790_000_000.0
"""2026-09-21 14:13:20 UTC, 21:13 in Hà Nội."""


def kieuphu_settings(data_dir: Path, alerts: dict[str, Any] | None = None, **overrides: Any) -> Settings:
    """Test settings with the Kiều Phú bridge station and hamlets; `alerts` as the alerts block."""
    raw: dict[str, Any] = {"stations": [BRIDGE], "impact": IMPACT, "commune": "Kiều Phú", **overrides}
    if alerts is not None:
        raw["alerts"] = alerts
    return make_settings(data_dir, **raw)


def alert_doc(level: str | None = "BD2", value: float = 7.25, detected_ts: float = T0,
              kind: str = "flood.level", **extra: Any) -> dict[str, Any]:
    """An alert document as alerts.views.alert_document writes it (the fields a package reads)."""
    return {"id": "a1b2c3d4e5f6", "kind": kind, "subject": "kieuphu-cau", "subject_name": "Cầu Kiều Phú",
            "state": "firing", "severity": "critical", "level": level, "value": value, "unit": "m",
            "detected_at": iso_utc(detected_ts), "url": "https://tichwatch.example/alerts/a1b2c3d4e5f6", **extra}


def notification(notice: str = "firing", doc: dict[str, Any] | None = None, key: str = "pkgKEY123abc",
                 created_ts: float = T0, message: Message | None = None, attempt: int = 1) -> Notification:
    """A notification as the outbox hands it to a channel."""
    return Notification(1, key, "a1b2c3d4e5f6", "radio", notice, created_ts, attempt,
                        message or Message("[BÁO ĐỘNG II] Cầu Kiều Phú", "officers' text", "<p></p>", "short"),
                        doc if doc is not None else alert_doc())


def parts(rec: Recorded) -> dict[str, tuple[str | None, str, bytes]]:
    """A multipart/form-data request's parts by name: (file name, content type, bytes), parsed with the stdlib's
    MIME parser (not the code under test)."""
    head = f"Content-Type: {rec.headers['content-type']}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + rec.body)
    assert msg.is_multipart()
    out: dict[str, tuple[str | None, str, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(payload, bytes)
        out[name] = (part.get_filename(), part.get_content_type(), payload)
    return out


def metadata(rec: Recorded) -> dict[str, Any]:
    """The package document a request carried."""
    doc: dict[str, Any] = json.loads(parts(rec)["metadata"][2])
    return doc


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's view of an audio file: its streams and format."""
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                           "stream=codec_name,sample_rate,channels:format=duration,format_name", "-of", "json",
                           str(path)], capture_output=True, check=True, timeout=30)
    info: dict[str, Any] = json.loads(done.stdout)
    return info
