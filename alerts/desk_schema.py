"""Store tables of the officer's desk (migration 10 of tichwatch.app.schema).

- `roster_overrides`: officers' changes to the duty roster (who stands in for whom, from when to when, why, who made
  it, and who cancelled it); each creation and cancellation is also in the officer audit log.
- `false_alarms`: the alerts an officer marked as false alarms, with who, when and the note; marking and withdrawing
  are in the alert's own log. A mark goes when retention deletes its alert (a trigger, so the store's pruning needs no
  knowledge of this table).
"""
from __future__ import annotations

from tichwatch.store.database import follow_delete, joined

DESK_SCHEMA = joined("""
CREATE TABLE roster_overrides (
    id TEXT PRIMARY KEY,
    officer TEXT NOT NULL,
    replaces TEXT,
    starts_ts REAL NOT NULL,
    ends_ts REAL NOT NULL CHECK (ends_ts > starts_ts),
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ts REAL NOT NULL,
    cancelled_ts REAL,
    cancelled_by TEXT
);
CREATE INDEX roster_overrides_ends ON roster_overrides (ends_ts);

CREATE TABLE false_alarms (
    alert_id TEXT PRIMARY KEY,
    marked_ts REAL NOT NULL,
    marked_by TEXT NOT NULL,
    note TEXT NOT NULL
);
""", follow_delete("false_alarms", "alert_id", "alerts"))
"""Migration 10: roster overrides and false-alarm marks (alerts, the officer's desk)."""
