"""Issuing CAP messages: each public change of an alert gets its message once, and its bytes are stored for good.

The alert engine calls `CapIssuer.record` inside the transaction of every alert change it records (a recorder the
composition root registers), so a message is rendered from the alert as that change left it — the level, figure,
threshold and sample time of that moment, the settings and templates of that moment — and commits or rolls back with
the change. Nothing ever renders it again: the feeds serve the stored bytes.

Changes that have no message yet — alerts from before this table existed (an older database), or a change whose
message failed to render (logged, never blocking the alert) — are issued by `catch_up`, from the figures their audit
entries recorded, the first time a feed or a later change of the alert needs them; from then on they are fixed too.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tichwatch.alerts.model import Alert, Change
from tichwatch.alerts.storage import audit_of, rows_of
from tichwatch.alerts.templates import Composer
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.config.schema import Settings
from tichwatch.residents.bulletins.gather import is_public
from tichwatch.residents.feeds import cap
from tichwatch.residents.feeds.cap import PUBLIC_ACTIONS, at_change, cap_reference, replayed
from tichwatch.residents.feeds.issued import IssuedMessage, issued_of, log_ids, message_id, save_issued
from tichwatch.store.database import Connection
from tichwatch.store.rows import Query

log = logging.getLogger(__name__)


@contextmanager
def _savepoint(conn: Connection) -> Iterator[None]:
    """A nested transaction: what fails inside it is undone without touching the caller's transaction."""
    conn.execute("SAVEPOINT cap_issue")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO cap_issue")
        conn.execute("RELEASE cap_issue")
        raise
    conn.execute("RELEASE cap_issue")


def pending(query: Query, alert_id: str) -> bool:
    """Does the alert have a public change after its last issued message?"""
    actions = tuple(PUBLIC_ACTIONS)
    marks = ", ".join("?" for _ in actions)
    rows = query(f"SELECT 1 FROM alert_log WHERE alert_id = ? AND action IN ({marks}) AND id > "
                 "COALESCE((SELECT MAX(log_id) FROM cap_messages WHERE alert_id = ?), 0) LIMIT 1",
                 (alert_id, *actions, alert_id))
    return bool(rows)


class CapIssuer:
    """Renders and stores the CAP messages of public alert changes (one per change, never again)."""

    def __init__(self, settings: Settings, bulletins: BulletinSettings, composer: Composer):
        self.settings = settings
        self.bulletins = bulletins
        self.composer = composer

    def is_public(self, alert: Alert) -> bool:
        """Is the alert of a kind the public hears of (bulletins.public_kinds)?"""
        return is_public(alert.kind, self.bulletins.public_kinds)

    def record(self, conn: Connection, change: Change, now: float) -> None:
        """Alert-engine recorder: issue the message of a public change in the change's own transaction. A failure is
        logged and undone alone (the alert change still commits); the message is then issued from the audit log by
        the next `catch_up`."""
        alert = change.alert
        if alert is None or not self.is_public(alert) or not any(e.action in PUBLIC_ACTIONS for e in change.audit):
            return
        try:
            with _savepoint(conn):
                self._issue(conn, alert, live=True)
        except Exception:
            log.exception("the CAP message of alert %s (%s) was not issued; it will be made from the audit log",
                          alert.id, alert.kind)

    def catch_up(self, conn: Connection, alert: Alert) -> list[IssuedMessage]:
        """Issue the alert's public changes that have no message yet, from their audit entries; returns all its
        issued messages."""
        return self._issue(conn, alert, live=False)

    def _issue(self, conn: Connection, alert: Alert, live: bool) -> list[IssuedMessage]:
        """Issue what is pending; with `live`, the last pending change is the one being committed and its facts are
        the alert as it now stands."""
        query = rows_of(conn)
        issued = issued_of(query, alert.id)
        done = issued[-1].log_id if issued else 0
        audit, ids = audit_of(query, alert.id), log_ids(query, alert.id)
        todo = [(ids[i], change) for i, change in replayed(alert, audit) if ids[i] > done]
        for k, (log_id, change) in enumerate(todo):
            if live and k == len(todo) - 1:
                change = at_change(alert, audit[ids.index(log_id)])
            msg_id = message_id(alert.id, len(issued) + 1)
            xml = cap.cap_xml(msg_id, change, [m.reference for m in issued], self.settings, self.bulletins,
                          self.composer)
            message = IssuedMessage(msg_id, alert.id, len(issued) + 1, log_id, change.sent_ts, change.msg_type,
                                    cap_reference(msg_id, change, self.settings, self.bulletins), xml)
            save_issued(conn, message)
            issued.append(message)
        return issued
