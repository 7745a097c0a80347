"""False alarms: an officer marks an alert (open or resolved) as a false alarm with a note, or withdraws the mark.

The mark is a row of `false_alarms` (one per alert, so the counts per station and camera are one query); marking and
withdrawing are entries of the alert's own log (`false_alarm.marked`, `false_alarm.withdrawn`) with who and why, and
each is published as an `AlertChanged` of that action after the commit, so open dashboards learn of it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tichwatch.alerts import storage
from tichwatch.alerts.actions import ActionError, alert_of, required_text
from tichwatch.alerts.engine import alert_changed
from tichwatch.alerts.model import AuditEntry
from tichwatch.alerts.storage import rows_of
from tichwatch.core.events import AlertChanged
from tichwatch.core.timefmt import iso_local, iso_utc
from tichwatch.store.database import Connection, placeholders
from tichwatch.store.rows import Query

MARKED = "false_alarm.marked"
"""The audit action of a mark."""
WITHDRAWN = "false_alarm.withdrawn"
"""The audit action of a withdrawn mark."""
MAX_NOTE_CHARS = 2000
"""Longest note (the API refuses longer ones)."""


@dataclass(frozen=True)
class FalseAlarm:
    """An alert marked as a false alarm: by whom, when and why."""

    alert_id: str
    marked_ts: float
    marked_by: str
    note: str


def mark(conn: Connection, alert_id: str, actor: str, now: float,
         note: str) -> tuple[FalseAlarm, list[AlertChanged]]:
    """Mark an alert as a false alarm (409 when it is marked already)."""
    alert = alert_of(conn, alert_id)
    if marks_of(rows_of(conn), [alert_id]):
        raise ActionError(409, f"alert {alert_id} is already marked as a false alarm")
    found = FalseAlarm(alert_id, now, actor, required_text(note, "a note (why it was a false alarm)"))
    conn.execute("INSERT INTO false_alarms (alert_id, marked_ts, marked_by, note) VALUES (?, ?, ?, ?)",
                 (found.alert_id, found.marked_ts, found.marked_by, found.note))
    entry = AuditEntry(now, MARKED, actor, found.note, alert_id=alert_id)
    storage.add_audit(conn, [entry])
    return found, [alert_changed(alert, alert, [entry], now)]


def withdraw(conn: Connection, alert_id: str, actor: str, now: float, note: str) -> list[AlertChanged]:
    """Withdraw an alert's false-alarm mark, with why (409 when it is not marked)."""
    alert = alert_of(conn, alert_id)
    why = required_text(note, "a reason")
    if conn.execute("DELETE FROM false_alarms WHERE alert_id = ?", (alert_id,)).rowcount == 0:
        raise ActionError(409, f"alert {alert_id} is not marked as a false alarm")
    entry = AuditEntry(now, WITHDRAWN, actor, why, alert_id=alert_id)
    storage.add_audit(conn, [entry])
    return [alert_changed(alert, alert, [entry], now)]


def marks_of(query: Query, alert_ids: Sequence[str]) -> dict[str, FalseAlarm]:
    """The marks of these alerts (alert id → mark; unmarked alerts are absent)."""
    if not alert_ids:
        return {}
    rows = query(f"SELECT * FROM false_alarms WHERE alert_id IN ({placeholders(len(alert_ids))})", tuple(alert_ids))
    return {r["alert_id"]: FalseAlarm(r["alert_id"], r["marked_ts"], r["marked_by"], r["note"]) for r in rows}


def document(mark: FalseAlarm | None, tz: str) -> dict[str, Any] | None:
    """A mark as JSON (None for an alert not marked)."""
    if mark is None:
        return None
    return {"marked_by": mark.marked_by, "note": mark.note, "marked_at": iso_utc(mark.marked_ts),
            "marked_at_local": iso_local(mark.marked_ts, tz)}


def with_marks(query: Query, documents: list[dict[str, Any]], tz: str) -> list[dict[str, Any]]:
    """Alert documents with their `false_alarm` (the mark, or None), read in one query."""
    marks = marks_of(query, [d["id"] for d in documents])
    return [{**d, "false_alarm": document(marks.get(d["id"]), tz)} for d in documents]


@dataclass(frozen=True)
class SubjectCount:
    """Alerts of one station or camera over a period, and how many of them were marked false alarms."""

    subject: str
    alerts: int
    false_alarms: int


def counts_by_subject(query: Query, since_ts: float) -> dict[str, SubjectCount]:
    """Per subject: alerts that started since `since_ts`, and how many of those are marked false alarms."""
    rows = query("SELECT a.subject, COUNT(*), COUNT(f.alert_id) FROM alerts a LEFT JOIN false_alarms f "
                 "ON f.alert_id = a.id WHERE a.started_ts >= ? GROUP BY a.subject", (since_ts,))
    return {r[0]: SubjectCount(r[0], int(r[1]), int(r[2])) for r in rows}
