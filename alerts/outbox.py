"""The outbox: notifications queued in the same transaction as the alert change, delivered later with retries.

Each row is also the log of what was sent (the dedup stage reads the last row per alert and receiver). A row is marked
`sent` only after its channel accepted it; an attempt is counted before the send, so a crash in between means one
more delivery with the same idempotency key, never a lost one.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any, Sequence

from tichwatch.alerts.channels.base import DeliveryResult, Message, Notification
from tichwatch.config.alerts import DeliverySettings
from tichwatch.alerts.stages import Candidate, SentEntry
from tichwatch.alerts.storage import Query
from tichwatch.core.detection import Severity


def enqueue(conn: sqlite3.Connection, c: Candidate, channel: str, message: Message, alert_doc: dict[str, Any],
            now: float) -> str:
    """Queue one notification; return its idempotency key."""
    key = secrets.token_urlsafe(18)
    payload = json.dumps({"message": message.to_json(), "alert": alert_doc}, ensure_ascii=False, default=str)
    conn.execute(
        "INSERT INTO notifications (idempotency_key, alert_id, receiver, channel, notice, severity, tier, created_ts, "
        "payload, next_attempt_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (key, c.alert.id, c.receiver.name, channel, c.notice, int(c.alert.severity),
         c.tier.name if c.tier else None, now, payload, now))
    return key


def last_sent(query: Query, alert_ids: Sequence[str]) -> dict[str, dict[str, SentEntry]]:
    """The last notification queued per alert and receiver, for the given alerts."""
    out: dict[str, dict[str, SentEntry]] = {}
    for start in range(0, len(alert_ids), 500):
        chunk = list(alert_ids[start:start + 500])
        marks = ", ".join("?" * len(chunk))
        rows = query(f"SELECT n.alert_id, n.receiver, n.notice, n.severity, n.created_ts FROM notifications n "
                     f"JOIN (SELECT MAX(id) AS id FROM notifications WHERE alert_id IN ({marks}) "
                     f"GROUP BY alert_id, receiver) m ON n.id = m.id", tuple(chunk))
        for r in rows:
            out.setdefault(r[0], {})[r[1]] = SentEntry(r[2], Severity(r[3]), r[4])
    return out


@dataclass(frozen=True)
class Pending:
    """An outbox row waiting for delivery."""

    id: int
    receiver: str
    channel: str
    attempts: int
    next_attempt_ts: float


def waiting_receivers(query: Query) -> list[str]:
    """Receivers with messages waiting."""
    return [r[0] for r in query("SELECT DISTINCT receiver FROM notifications WHERE state = 'pending'", ())]


def queue_of(query: Query, receiver: str, limit: int) -> list[Pending]:
    """A receiver's oldest waiting messages, in the order they must go out."""
    rows = query("SELECT id, receiver, channel, attempts, next_attempt_ts FROM notifications WHERE state = 'pending' "
                 "AND receiver = ? ORDER BY id LIMIT ?", (receiver, limit))
    return [Pending(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def begin_attempt(conn: sqlite3.Connection, row_id: int, now: float) -> Notification:
    """Count an attempt (before sending, so a crash cannot hide one) and return the notification to send."""
    conn.execute("UPDATE notifications SET attempts = attempts + 1 WHERE id = ?", (row_id,))
    r = conn.execute("SELECT * FROM notifications WHERE id = ?", (row_id,)).fetchone()
    payload = json.loads(r["payload"])
    return Notification(r["id"], r["idempotency_key"], r["alert_id"], r["receiver"], r["notice"], r["created_ts"],
                        r["attempts"], Message(**payload["message"]), payload["alert"])


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Wait after `attempts` failed attempts: `base_s` doubling each time, capped at `max_s` (alert notifications and
    bulletin deliveries alike)."""
    return min(max_s, base_s * 2 ** max(0, attempts - 1))


def copies_bound(window_s: float, settings: DeliverySettings) -> int:
    """The most copies of one notification a receiver that takes it but never answers can get within `window_s`.

    One attempt at a time, and each unanswered attempt is followed by at least the next backoff step before another
    starts, so the k-th copy cannot start before the sum of the first k-1 steps (a crash and restart in between can add
    one more copy; all of them carry the same idempotency key)."""
    copies, waited = 1, 0.0
    while copies < settings.max_attempts:
        waited += backoff_s(copies, settings.backoff_base_s, settings.backoff_max_s)
        if waited > window_s:
            break
        copies += 1
    return copies


def record(conn: sqlite3.Connection, n: Notification, result: DeliveryResult, now: float,
           settings: DeliverySettings) -> str:
    """Record an attempt's result; return the row's new state: sent, pending (retry later) or failed."""
    if result.ok:
        conn.execute("UPDATE notifications SET state = 'sent', sent_ts = ?, remote_id = ?, last_error = NULL "
                     "WHERE id = ?", (now, result.remote_id, n.id))
        return "sent"
    if result.retryable and n.attempt < settings.max_attempts:
        wait = max(backoff_s(n.attempt, settings.backoff_base_s, settings.backoff_max_s), result.retry_after_s or 0.0)
        conn.execute("UPDATE notifications SET next_attempt_ts = ?, last_error = ? WHERE id = ?",
                     (now + wait, result.detail, n.id))
        return "pending"
    conn.execute("UPDATE notifications SET state = 'failed', last_error = ? WHERE id = ?", (result.detail, n.id))
    return "failed"


def backlog(query: Query) -> int:
    """How many notifications wait for delivery."""
    return int(query("SELECT COUNT(*) FROM notifications WHERE state = 'pending'", ())[0][0])


def of_alert(query: Query, alert_id: str) -> list[dict[str, Any]]:
    """An alert's notifications (without their text), oldest first."""
    rows = query("SELECT id, receiver, channel, notice, tier, created_ts, state, attempts, sent_ts, last_error "
                 "FROM notifications WHERE alert_id = ? ORDER BY id", (alert_id,))
    return [dict(r) for r in rows]
