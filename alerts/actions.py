"""Officer actions on the store: acknowledge, comment, resolve, create and end silences.

Each runs inside the caller's transaction (so an acknowledge link can record its nonce in the same one), records who
did it and why in the audit log, and queues the notifications the change causes. Refusals raise ActionError with an
HTTP-like status and a message a person can act on.
"""
from __future__ import annotations

import secrets
import sqlite3

from tichwatch.alerts import model, storage
from tichwatch.alerts.engine import AlertEngine
from tichwatch.alerts.model import Alert, AlertState, AuditEntry, Silence
from tichwatch.config.alerts import Matchers
from tichwatch.alerts.storage import rows_of

MAX_SILENCE_S = 30 * 86400
"""Longest silence an officer can create: a forgotten silence must not mute a flood season."""


class ActionError(Exception):
    """An action that cannot be done; `status` is 404, 409 or 422."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


def _alert(conn: sqlite3.Connection, alert_id: str) -> Alert:
    alert = storage.get_alert(rows_of(conn), alert_id)
    if alert is None:
        raise ActionError(404, f"no alert with id {alert_id!r}")
    return alert


def _required(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise ActionError(422, f"{what} is required")
    return text


def acknowledge(conn: sqlite3.Connection, engine: AlertEngine, alert_id: str, actor: str, now: float,
                note: str = "") -> Alert:
    """Take an alert on: repeats and escalation stop. Acknowledging an acknowledged alert changes nothing."""
    alert = _alert(conn, alert_id)
    if alert.state is AlertState.RESOLVED:
        raise ActionError(409, f"alert {alert_id} is already resolved ({alert.resolved_by}): nothing to acknowledge")
    engine.commit(conn, model.acknowledge(alert, now, actor, note.strip()), now)
    return _alert(conn, alert_id)


def comment(conn: sqlite3.Connection, alert_id: str, actor: str, now: float, text: str) -> AuditEntry:
    """Add a remark to an alert's log (e.g. what was seen on site)."""
    _alert(conn, alert_id)
    entry = AuditEntry(now, "commented", actor, _required(text, "the comment"), alert_id=alert_id)
    storage.add_audit(conn, [entry])
    return entry


def resolve(conn: sqlite3.Connection, engine: AlertEngine, alert_id: str, actor: str, now: float,
            reason: str) -> Alert:
    """Close an alert by hand, with a reason (e.g. a false alarm confirmed on site)."""
    alert = _alert(conn, alert_id)
    if alert.state is AlertState.RESOLVED:
        raise ActionError(409, f"alert {alert_id} is already resolved ({alert.resolved_by})")
    engine.commit(conn, model.resolve(alert, now, actor, _required(reason, "a reason")), now)
    return _alert(conn, alert_id)


def create_silence(conn: sqlite3.Connection, matchers: Matchers, starts_ts: float, ends_ts: float, reason: str,
                   actor: str, now: float) -> Silence:
    """Mute matching alerts from starts_ts to ends_ts."""
    if not (matchers.kinds or matchers.subjects or matchers.areas):
        raise ActionError(422, "a silence needs at least one of kinds, subjects or areas: it must not mute everything")
    if ends_ts <= max(starts_ts, now):
        raise ActionError(422, "the silence must end after it starts and in the future")
    if ends_ts - max(starts_ts, now) > MAX_SILENCE_S:
        raise ActionError(422, f"a silence may last at most {MAX_SILENCE_S // 86400} days")
    s = Silence(f"s-{secrets.token_urlsafe(9)}", matchers, starts_ts, ends_ts, _required(reason, "a reason"), actor,
                now)
    storage.save_silence(conn, s)
    storage.add_audit(conn, [AuditEntry(now, "silence.created", actor, s.reason, {"matchers": matchers.model_dump(),
                                                                                   "starts_ts": starts_ts,
                                                                                   "ends_ts": ends_ts},
                                        silence_id=s.id)])
    return s


def expire_silence(conn: sqlite3.Connection, engine: AlertEngine, silence_id: str, actor: str, now: float) -> Silence:
    """End a silence now; what it muted is notified right away."""
    s = storage.get_silence(rows_of(conn), silence_id)
    if s is None:
        raise ActionError(404, f"no silence with id {silence_id!r}")
    if s.expired_ts is not None or s.ends_ts <= now:
        raise ActionError(409, f"silence {silence_id} has already ended")
    expired, entry = model.expire_silence(s, now, actor, "ended early")
    storage.save_silence(conn, expired)
    storage.add_audit(conn, [entry])
    engine.notify(conn, storage.open_alerts(rows_of(conn)), now)
    return expired
