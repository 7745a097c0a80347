"""Officer actions: acknowledge, comment, resolve, create and end silences, and acknowledge links.

`AlertActions` is what the API calls: one transaction per action, after whose commit the alert changes are published
on the bus and delivery is woken. The functions below it do the work inside a given transaction: each records who did
it and why in the audit log and queues the notifications the change causes; those that change an alert also return
its `AlertChanged` events for the caller to publish after the commit. Refusals raise ActionError with an HTTP-like
status and a message a person can act on.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import TypeVar

from tichwatch.alerts import model, storage
from tichwatch.alerts.ack_links import AckClaim, use_nonce
from tichwatch.alerts.engine import AlertEngine
from tichwatch.alerts.model import Alert, AlertState, AuditEntry, Silence
from tichwatch.alerts.storage import rows_of
from tichwatch.config.alerts import Matchers
from tichwatch.core.bus import EventBus
from tichwatch.core.events import AlertChanged
from tichwatch.store.database import Connection
from tichwatch.store.store import Store

T = TypeVar("T")

Acted = tuple[Alert, list[AlertChanged]]
"""An alert after an action, and the events of its changes (to publish once the transaction commits)."""

MAX_SILENCE_S = 30 * 86400
"""Longest silence an officer can create: a forgotten silence must not mute a flood season."""


class ActionError(Exception):
    """An action that cannot be done; `status` is 404, 409 or 422."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


def alert_of(conn: Connection, alert_id: str) -> Alert:
    """The alert with this id, read in the transaction; ActionError 404 when there is none."""
    alert = storage.get_alert(rows_of(conn), alert_id)
    if alert is None:
        raise ActionError(404, f"no alert with id {alert_id!r}")
    return alert


def required_text(text: str, what: str) -> str:
    """The text without surrounding blanks; ActionError 422 naming `what` when nothing is left."""
    text = text.strip()
    if not text:
        raise ActionError(422, f"{what} is required")
    return text


def acknowledge(conn: Connection, engine: AlertEngine, alert_id: str, actor: str, now: float,
                note: str = "") -> Acted:
    """Take an alert on: repeats and escalation stop. Acknowledging an acknowledged alert changes nothing."""
    alert = alert_of(conn, alert_id)
    if alert.state is AlertState.RESOLVED:
        raise ActionError(409, f"alert {alert_id} is already resolved ({alert.resolved_by}): nothing to acknowledge")
    changed = engine.commit(conn, alert, model.acknowledge(alert, now, actor, note.strip()), now)
    return alert_of(conn, alert_id), changed


def comment(conn: Connection, alert_id: str, actor: str, now: float, text: str) -> AuditEntry:
    """Add a remark to an alert's log (e.g. what was seen on site)."""
    alert_of(conn, alert_id)
    entry = AuditEntry(now, "commented", actor, required_text(text, "the comment"), alert_id=alert_id)
    storage.add_audit(conn, [entry])
    return entry


def resolve(conn: Connection, engine: AlertEngine, alert_id: str, actor: str, now: float,
            reason: str) -> Acted:
    """Close an alert by hand, with a reason (e.g. a false alarm confirmed on site)."""
    alert = alert_of(conn, alert_id)
    if alert.state is AlertState.RESOLVED:
        raise ActionError(409, f"alert {alert_id} is already resolved ({alert.resolved_by})")
    changed = engine.commit(conn, alert, model.resolve(alert, now, actor, required_text(reason, "a reason")), now)
    return alert_of(conn, alert_id), changed


def create_silence(conn: Connection, matchers: Matchers, starts_ts: float, ends_ts: float, reason: str,
                   actor: str, now: float) -> Silence:
    """Mute matching alerts from starts_ts to ends_ts."""
    if not (matchers.kinds or matchers.subjects or matchers.areas):
        raise ActionError(422, "a silence needs at least one of kinds, subjects or areas: it must not mute everything")
    if ends_ts <= max(starts_ts, now):
        raise ActionError(422, "the silence must end after it starts and in the future")
    if ends_ts - max(starts_ts, now) > MAX_SILENCE_S:
        raise ActionError(422, f"a silence may last at most {MAX_SILENCE_S // 86400} days")
    s = Silence(f"s-{secrets.token_urlsafe(9)}", matchers, starts_ts, ends_ts, required_text(reason, "a reason"),
                actor, now)
    storage.save_silence(conn, s)
    storage.add_audit(conn, [AuditEntry(now, "silence.created", actor, s.reason, {"matchers": matchers.model_dump(),
                                                                                   "starts_ts": starts_ts,
                                                                                   "ends_ts": ends_ts},
                                        silence_id=s.id)])
    return s


def expire_silence(conn: Connection, engine: AlertEngine, silence_id: str, actor: str, now: float) -> Silence:
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


def run_and_publish(store: Store, bus: EventBus,
                    work: Callable[[Connection], tuple[T, Sequence[AlertChanged]]]) -> T:
    """Run `work` in one transaction; after the commit, publish the alert changes it returns (never before: no
    listener hears of a change that was rolled back)."""
    with store.transaction() as conn:
        result, changed = work(conn)
    bus.publish_all(list(changed))
    return result


class AlertActions:
    """The officers' actions as the API calls them: each in one transaction, its alert changes published on the bus
    after the commit, and delivery woken for the notifications it queued."""

    def __init__(self, store: Store, engine: AlertEngine, bus: EventBus, wake: Callable[[], None]):
        self._store = store
        self._engine = engine
        self._bus = bus
        self._wake = wake

    def acknowledge(self, alert_id: str, actor: str, now: float, note: str = "") -> Alert:
        """Take an alert on (see `acknowledge`); returns the alert after."""
        return self._run(lambda conn: acknowledge(conn, self._engine, alert_id, actor, now, note))

    def acknowledge_link(self, claim: AckClaim, actor: str, now: float) -> Alert | None:
        """Acknowledge as an acknowledge link's receiver, using up the link in the same transaction; returns the
        alert as it was before (None when it is gone). InvalidLink when the link was used already."""
        def work(conn: Connection) -> tuple[Alert | None, list[AlertChanged]]:
            before = storage.get_alert(rows_of(conn), claim.alert_id)
            use_nonce(conn, claim, actor, now)
            _, changed = acknowledge(conn, self._engine, claim.alert_id, actor, now, "acknowledge link in the message")
            return before, changed
        return self._run(work)

    def comment(self, alert_id: str, actor: str, now: float, text: str) -> AuditEntry:
        """Add a remark to an alert's log (the alert itself does not change)."""
        return self._run(lambda conn: (comment(conn, alert_id, actor, now, text), []))

    def resolve(self, alert_id: str, actor: str, now: float, reason: str) -> Alert:
        """Close an alert by hand (see `resolve`); returns the alert after."""
        return self._run(lambda conn: resolve(conn, self._engine, alert_id, actor, now, reason))

    def create_silence(self, matchers: Matchers, starts_ts: float, ends_ts: float, reason: str, actor: str,
                       now: float) -> Silence:
        """Mute matching alerts for a while (see `create_silence`)."""
        return self._run(lambda conn: (create_silence(conn, matchers, starts_ts, ends_ts, reason, actor, now), []))

    def expire_silence(self, silence_id: str, actor: str, now: float) -> Silence:
        """End a silence now (see `expire_silence`)."""
        return self._run(lambda conn: (expire_silence(conn, self._engine, silence_id, actor, now), []))

    def _run(self, work: Callable[[Connection], tuple[T, list[AlertChanged]]]) -> T:
        """Run `work` in one transaction; after the commit, publish its changes and wake delivery."""
        result = run_and_publish(self._store, self._bus, work)
        self._wake()
        return result
