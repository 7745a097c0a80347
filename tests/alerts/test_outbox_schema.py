"""Migration 8: the outbox takes bulletin deliveries beside alert notifications; a database from before keeps every
waiting notification (id, key, state) and delivers it after the upgrade."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.alerts.harness import Harness, flood_level, people_settings
from tichwatch.alerts import storage
from tichwatch.alerts.model import HoldPolicy, on_detection
from tichwatch.app.schema import MIGRATIONS
from tichwatch.store import database
from tichwatch.store.store import Store

PAYLOAD = json.dumps({"message": {"title": "t", "text": "x", "html": "<p>x</p>", "short": "x"}, "alert": {}})


def test_an_upgrade_keeps_waiting_notifications_and_delivers_them(tmp_path: Path, database_url: str | None) -> None:
    settings = people_settings(tmp_path / "data")
    # the schema before bulletins shared the outbox
    old = Store(settings.store.data_dir, MIGRATIONS[:7], url=database_url)
    now = 1_790_000_000.0
    change = on_detection(None, flood_level("st1", "BD2", now), now, HoldPolicy(0, 3600, 3), 0)
    assert change.alert is not None
    with old.transaction() as conn:
        storage.save_alert(conn, change.alert)
        conn.execute("INSERT INTO notifications (id, idempotency_key, alert_id, receiver, channel, notice, severity, "
                     "created_ts, payload, next_attempt_ts) VALUES (41, 'k-41', ?, 'duty', 'log', 'firing', 30, ?, ?, "
                     "?)", (change.alert.id, now, PAYLOAD, now))
    old.close()

    h = Harness(settings)
    assert h.store.schema_version == len(MIGRATIONS) >= 8
    (row,) = h.rows()
    assert (row["id"], row["idempotency_key"], row["alert_id"], row["bulletin_id"], row["state"]) == (
        41, "k-41", change.alert.id, None, "pending")
    h.tick()
    assert [r["state"] for r in h.rows()] == ["sent"]
    with pytest.raises(database.IntegrityError), h.store.transaction() as conn:  # about nothing: refused
        conn.execute("INSERT INTO notifications (idempotency_key, receiver, channel, notice, severity, created_ts, "
                     "payload, next_attempt_ts) VALUES ('k-x', 'duty', 'log', 'bulletin', 0, 0, '{}', 0)")
    h.close()
