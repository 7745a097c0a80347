"""A store filled with a known week (Monday 23 to Sunday 29 November 2026, Hà Nội time) for report tests: readings
of two stations (one with a 6-hour silence, one silent all week), a camera at half its frame rate, flood, sensor and
dust alerts with known acknowledgement times, false-alarm and confirmed marks, and bulletins with their outbox rows;
plus rows just outside the week that must not count."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tests.support import make_settings
from tichwatch.app.schema import open_store
from tichwatch.config.schema import Settings
from tichwatch.core.samples import Reading
from tichwatch.residents.reports.period import week_of
from tichwatch.store.store import Store

TZ = "Asia/Ho_Chi_Minh"
WEEK = week_of(date(2026, 11, 23), TZ)
"""The known week: 2026-11-22T17:00Z to 2026-11-29T17:00Z."""
MON = WEEK.start_ts
HOUR, DAY = 3600.0, 86400.0

KIEU_PHU = {"id": "kieuphu-cau", "name": "Cầu Kiều Phú", "lat": 20.99, "lon": 105.63, "expected_interval_s": 600,
            "alarm": {"bd1_m": 6.5, "bd2_m": 7.3, "bd3_m": 8.0}, "min_level_m": 2.0, "max_level_m": 12.0}
VINH_PHUC = {**KIEU_PHU, "id": "tich-vinhphuc", "name": "Vĩnh Phúc", "expected_interval_s": 900}
CAMERA = {"id": "cam1", "site": "Công trường Đường 419", "lat": 21.0, "lon": 105.6, "expected_interval_s": 60}


def settings_for(data_dir: Path, **reports: Any) -> Settings:
    """The deployment of these tests: the two stations, the camera, and the given `reports:` settings."""
    return make_settings(data_dir, stations=[KIEU_PHU, VINH_PHUC], cameras=[CAMERA], reports=reports)


def _alert(conn: Any, aid: str, kind: str, subject: str, opened: float, ack_after: float | None,
           resolved: float | None, level: str | None = None, severity: int = 2,
           log_levels: tuple[str, ...] = ()) -> None:
    state = "resolved" if resolved is not None else "acknowledged" if ack_after is not None else "firing"
    conn.execute("INSERT INTO alerts (id, kind, subject, state, severity, level, started_ts, detected_ts, opened_ts, "
                 "updated_ts, firing_since_ts, acknowledged_ts, acknowledged_by, resolved_ts) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (aid, kind, subject, state, severity, level, opened, opened, opened, opened, opened,
                  None if ack_after is None else opened + ack_after, None if ack_after is None else "truc.ban",
                  resolved))
    for i, lv in enumerate(log_levels):
        conn.execute("INSERT INTO alert_log (alert_id, ts, action, actor, data) VALUES (?, ?, ?, 'detector', ?)",
                     (aid, opened + i * 600, "raised" if i == 0 else "updated", json.dumps({"level": lv})))


def _bulletin(conn: Any, bid: str, kind: str, published: float | None) -> None:
    conn.execute("INSERT INTO bulletins (id, kind, origin, state, data_ts, created_ts, created_by, updated_ts, "
                 "published_ts, published_by, content) VALUES (?, ?, 'schedule', ?, ?, ?, 'schedule', ?, ?, ?, '{}')",
                 (bid, kind, "published" if published is not None else "draft", MON, MON, MON, published,
                  "truc.ban" if published is not None else None))


def _delivery(conn: Any, bid: str, receiver: str, channel: str, state: str) -> None:
    conn.execute("INSERT INTO notifications (idempotency_key, bulletin_id, receiver, channel, notice, severity, "
                 "created_ts, payload, state, next_attempt_ts) VALUES (?, ?, ?, ?, 'bulletin', 1, ?, '{}', ?, ?)",
                 (f"{bid}:{receiver}", bid, receiver, channel, MON, state, MON))


@dataclass(frozen=True)
class Expected:
    """What the report of WEEK must find."""

    kieuphu_received: int = 1008 - 36  # every 10 min, less 6 hours of silence
    kieuphu_expected: int = 1008
    vinhphuc_expected: int = 672
    camera_received: int = 5040  # a frame every 2 min where one a minute is expected
    camera_expected: int = 10080
    acknowledged_waits: tuple[float, ...] = (120.0, 600.0, 300.0, 60.0)


def fill(store: Store) -> Expected:
    """Write the known week into the store."""
    gap = (MON + 2 * DAY + 6 * HOUR, MON + 2 * DAY + 12 * HOUR)  # Wednesday 06:00–12:00 local: silent

    def level(ts: float) -> float:  # 5 m, but Tuesday 10:00–14:00 at 7.5 m with a 7.62 m peak at 12:00
        if MON + DAY + 10 * HOUR <= ts <= MON + DAY + 14 * HOUR:
            return 7.62 if ts == MON + DAY + 12 * HOUR else 7.5
        return 5.0
    week = [MON + 600 * i for i in range(1008)]
    store.append_readings([Reading("kieuphu-cau", ts, level(ts)) for ts in week if not gap[0] <= ts < gap[1]]
                          + [Reading("kieuphu-cau", MON - 600, 9.9), Reading("kieuphu-cau", WEEK.end_ts, 9.9)])
    for i in range(5040):
        store.record_dust_index("cam1", MON + 120 * i, 0.2, "ok")
    store.record_dust_index("cam1", WEEK.end_ts + 1, 0.2, "ok")
    tue10, end = MON + DAY + 10 * HOUR, WEEK.end_ts
    with store.transaction() as conn:
        _alert(conn, "a-flood", "flood.level", "kieuphu-cau", tue10, 120, tue10 + 4.5 * HOUR, "BD1", 3,
               ("BD1", "BD2", "BD1"))
        _alert(conn, "a-rise", "flood.rapid_rise", "kieuphu-cau", tue10 - 600, 600, tue10 + HOUR, severity=2)
        _alert(conn, "a-offline", "sensor.offline", "tich-vinhphuc", MON + 1800, None, None, severity=2)
        _alert(conn, "a-dust1", "dust.plume", "cam1", MON + 2 * DAY + 8 * HOUR, 300, MON + 2 * DAY + 9 * HOUR)
        _alert(conn, "a-dust2", "dust.plume", "cam1", MON + 3 * DAY + 8 * HOUR, 60, MON + 3 * DAY + 8.5 * HOUR)
        _alert(conn, "a-dust3", "dust.plume", "cam1", end - HOUR, None, None)
        _alert(conn, "a-before", "flood.level", "kieuphu-cau", MON - HOUR, 30, MON - 0.5 * HOUR, "BD3", 4, ("BD3",))
        conn.execute("INSERT INTO false_alarms (alert_id, marked_ts, marked_by, note) VALUES ('a-dust2', ?, "
                     "'truc.ban', 'xe tưới nước')", (MON + 4 * DAY,))
        conn.execute("INSERT INTO dust_labels (camera_id, frame_ts, label, source, alert_id, feature_set, grid_rows, "
                     "grid_cols, rows, probs, candidate, created_ts, created_by) VALUES ('cam1', ?, 'dust', 'alert', "
                     "'a-dust1', 'f1', 1, 1, ?, ?, ?, ?, 'truc.ban')", (MON + 2 * DAY + 8 * HOUR, b"", b"", b"", MON))
        _bulletin(conn, "b-routine", "routine", MON + DAY + 7 * HOUR)
        _bulletin(conn, "b-emergency", "emergency", tue10 + HOUR)
        _bulletin(conn, "b-before", "routine", MON - DAY)
        _bulletin(conn, "b-draft", "routine", None)
        _delivery(conn, "b-routine", "portal", "webhook", "sent")
        _delivery(conn, "b-routine", "zalo", "zalo", "failed")
        _delivery(conn, "b-emergency", "portal", "webhook", "sent")
        _delivery(conn, "b-emergency", "zalo", "zalo", "pending")
        _delivery(conn, "b-before", "portal", "webhook", "sent")
    return Expected()


def filled_store(data_dir: Path) -> Store:
    """A new store in `data_dir` with the known week."""
    store = open_store(data_dir)
    fill(store)
    return store
