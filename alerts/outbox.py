"""The outbox: notifications queued in the same transaction as the change they tell of (an alert change, or a bulletin
being published), delivered later with retries.

Each row is also the log of what was sent (the dedup stage reads the last row per alert and receiver; a bulletin's
delivery status is its rows). A row is marked `sent` only after its channel accepted it; an attempt is counted before
the send, so a crash in between means one more delivery with the same idempotency key, never a lost one.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tichwatch.alerts.channels.base import DeliveryResult, Message, Notification
from tichwatch.alerts.metrics import AlertMetrics
from tichwatch.alerts.redaction import Redactor
from tichwatch.alerts.stages import Candidate, SentEntry
from tichwatch.config.alerts import DeliverySettings
from tichwatch.core.detection import Severity
from tichwatch.store.database import Connection
from tichwatch.store.rows import Query

BULLETIN_NOTICE = "bulletin"
"""The notice of a bulletin delivery (channels see it in Notification.notice)."""

BULLETIN_PREFIX = "bulletin:"
"""What a bulletin delivery's Notification.alert_id starts with (followed by the bulletin's id)."""

DIRECT_PREFIX = "subscriber:"
"""What Notification.alert_id of a message to one subscriber about neither an alert nor a bulletin (a confirmation
code) starts with (followed by the subscriber's id)."""


@dataclass(frozen=True)
class _Row:
    """The columns a new outbox row is given (the rest start at their defaults: pending, no attempt yet)."""

    alert_id: str | None
    bulletin_id: str | None
    receiver: str
    channel: str
    notice: str
    severity: Severity
    tier: str | None
    message: Message
    document: dict[str, Any]  # the alert's (or the bulletin's) document, as channels get it in Notification.alert
    subscriber_id: int | None = None  # a message to one resident (never their phone number: looked up at send time)
    key: str | None = None  # a given idempotency key (a fallback's, derived from the failed message's)


def _insert(conn: Connection, r: _Row, now: float) -> str:
    """Insert a row, due at once; return its idempotency key."""
    key = r.key or secrets.token_urlsafe(18)
    payload = json.dumps({"message": r.message.to_json(), "alert": r.document}, ensure_ascii=False, default=str)
    conn.execute(
        "INSERT INTO notifications (idempotency_key, alert_id, bulletin_id, receiver, channel, notice, severity, tier, "
        "created_ts, payload, next_attempt_ts, subscriber_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (key, r.alert_id, r.bulletin_id, r.receiver, r.channel, r.notice, int(r.severity), r.tier, now, payload, now,
         r.subscriber_id))
    return key


def enqueue(conn: Connection, c: Candidate, channel: str, message: Message, alert_doc: dict[str, Any],
            now: float) -> str:
    """Queue one notification about an alert change; return its idempotency key."""
    return _insert(conn, _Row(c.alert.id, None, c.receiver.name, channel, c.notice, c.alert.severity,
                              c.tier.name if c.tier else None, message, alert_doc), now)


def enqueue_bulletin(conn: Connection, bulletin_id: str, receiver: str, channel: str, message: Message,
                     document: dict[str, Any], now: float) -> str:
    """Queue one delivery of a published bulletin to a receiver; return its idempotency key."""
    return _insert(conn, _Row(None, bulletin_id, receiver, channel, BULLETIN_NOTICE, Severity.INFO, None, message,
                              document), now)


@dataclass(frozen=True)
class ResidentRow:
    """A message to one subscriber: about an alert, a bulletin or neither (a confirmation code)."""

    subscriber_id: int
    receiver: str
    channel: str
    notice: str
    message: Message
    document: dict[str, Any]  # the message's fields (what a template is filled from), never the phone number
    alert_id: str | None = None
    bulletin_id: str | None = None
    severity: Severity = Severity.INFO
    key: str | None = None


def enqueue_resident(conn: Connection, r: ResidentRow, now: float) -> str:
    """Queue one message to one subscriber in the caller's transaction; return its idempotency key."""
    return _insert(conn, _Row(r.alert_id, r.bulletin_id, r.receiver, r.channel, r.notice, r.severity, None, r.message,
                              r.document, r.subscriber_id, r.key), now)


def source_of(n: Notification) -> dict[str, str]:
    """What a notification is about, as evidence: {"alert_id": …}, {"bulletin_id": …} or, for a message to one
    subscriber about neither, {}."""
    if n.notice == BULLETIN_NOTICE and n.alert_id.startswith(BULLETIN_PREFIX):
        return {"bulletin_id": n.alert_id.removeprefix(BULLETIN_PREFIX)}
    if n.alert_id.startswith(DIRECT_PREFIX):
        return {}
    return {"alert_id": n.alert_id}


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
    bulletin: bool = False  # a bulletin delivery: queued behind the receiver's alert messages, never before them


def waiting_receivers(query: Query) -> list[str]:
    """Receivers with messages waiting."""
    return [r[0] for r in query("SELECT DISTINCT receiver FROM notifications WHERE state = 'pending'", ())]


def queue_of(query: Query, receiver: str, limit: int) -> list[Pending]:
    """A receiver's oldest waiting messages, in the order they must go out: alert messages first, then bulletins
    (a bulletin waiting for its retry must never hold back a flood alert)."""
    rows = query("SELECT id, receiver, channel, attempts, next_attempt_ts, alert_id IS NULL FROM notifications "
                 "WHERE state = 'pending' AND receiver = ? ORDER BY alert_id IS NULL, id LIMIT ?", (receiver, limit))
    return [Pending(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]


def begin_attempt(conn: Connection, row_id: int, now: float) -> Notification:
    """Count an attempt (before sending, so a crash cannot hide one) and return the notification to send."""
    conn.execute("UPDATE notifications SET attempts = attempts + 1 WHERE id = ?", (row_id,))
    r = conn.execute("SELECT * FROM notifications WHERE id = ?", (row_id,)).fetchone()
    payload = json.loads(r["payload"])
    about = r["alert_id"] if r["alert_id"] is not None else BULLETIN_PREFIX + r["bulletin_id"] \
        if r["bulletin_id"] is not None else f"{DIRECT_PREFIX}{r['subscriber_id']}"
    return Notification(r["id"], r["idempotency_key"], about, r["receiver"], r["notice"], r["created_ts"],
                        r["attempts"], Message(**payload["message"]), payload["alert"], r["subscriber_id"])


RETRY_AFTER_MAX_S = 900.0
"""The longest Retry-After a provider's answer may impose (or `backoff_max_s`, when longer)."""


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Wait after `attempts` failed attempts: `base_s` doubling each time, capped at `max_s` (alert notifications and
    bulletin deliveries alike)."""
    return float(min(max_s, base_s * 2.0 ** max(0, attempts - 1)))


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


def record(conn: Connection, n: Notification, result: DeliveryResult, now: float,
           settings: DeliverySettings) -> str:
    """Record an attempt's result; return the row's new state: sent, pending (retry later) or failed."""
    if result.ok:
        conn.execute("UPDATE notifications SET state = 'sent', sent_ts = ?, remote_id = ?, last_error = NULL "
                     "WHERE id = ?", (now, result.remote_id, n.id))
        return "sent"
    if result.retryable and n.attempt < settings.max_attempts:
        # A provider's Retry-After is honoured, up to a bound: an hour-long one must not park the receiver's queue.
        retry_after_s = min(result.retry_after_s or 0.0, max(settings.backoff_max_s, RETRY_AFTER_MAX_S))
        wait = max(backoff_s(n.attempt, settings.backoff_base_s, settings.backoff_max_s), retry_after_s)
        conn.execute("UPDATE notifications SET next_attempt_ts = ?, last_error = ? WHERE id = ?",
                     (now + wait, result.detail, n.id))
        return "pending"
    conn.execute("UPDATE notifications SET state = 'failed', last_error = ? WHERE id = ?", (result.detail, n.id))
    return "failed"


def backlog(query: Query) -> int:
    """How many notifications wait for delivery."""
    return int(query("SELECT COUNT(*) FROM notifications WHERE state = 'pending'", ())[0][0])


def of_alert(query: Query, alert_id: str) -> list[dict[str, Any]]:
    """An alert's notifications to receivers (without their text), oldest first; messages to residents are counted
    apart (tichwatch.residents.subscriptions.sending.summary)."""
    rows = query("SELECT id, receiver, channel, notice, tier, created_ts, state, attempts, sent_ts, last_error "
                 "FROM notifications WHERE alert_id = ? AND subscriber_id IS NULL ORDER BY id", (alert_id,))
    return [dict(r) for r in rows]


def of_bulletin(query: Query, bulletin_id: str) -> list[dict[str, Any]]:
    """A bulletin's deliveries to receivers (without their text), oldest first; messages to residents apart."""
    rows = query("SELECT id, receiver, channel, created_ts, state, attempts, next_attempt_ts, sent_ts, last_error "
                 "FROM notifications WHERE bulletin_id = ? AND subscriber_id IS NULL ORDER BY id", (bulletin_id,))
    return [dict(r) for r in rows]


class Outbox:
    """The outbox as the packages outside the alert engine use it (the bulletin desk): queue a delivery in the
    caller's transaction, wake the dispatchers after the commit, read a delivery's state. Built by the Delivery that
    drains it, so what is queued here gets the same order, rate limits, retries, metrics and failure alert."""

    def __init__(self, query: Query, metrics: AlertMetrics, redactor: Redactor, wake: Callable[[], None]):
        self._query = query
        self._metrics = metrics
        self._redactor = redactor
        self._wake = wake

    def queue_bulletin(self, conn: Connection, bulletin_id: str, receiver: str, channel: str,
                       message: Message, document: dict[str, Any], now: float) -> str:
        """Queue a bulletin's delivery to a receiver (counted like any notification); return its idempotency key."""
        key = enqueue_bulletin(conn, bulletin_id, receiver, channel, message, document, now)
        self._metrics.queued.labels(channel).inc()
        return key

    def wake(self) -> None:
        """Tell the dispatchers something was queued (call after the commit)."""
        self._wake()

    def bulletin_deliveries(self, bulletin_id: str) -> list[dict[str, Any]]:
        """A bulletin's deliveries, oldest first, their errors redacted (addresses and secrets masked)."""
        rows = of_bulletin(self._query, bulletin_id)
        return [{**r, "last_error": self._redactor.text(r["last_error"]) if r["last_error"] else None} for r in rows]
