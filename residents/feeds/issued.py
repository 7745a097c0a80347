"""Issued CAP messages: the exact bytes of every CAP message, fixed when it is issued and never rendered again.

- `cap_messages`: one row per message of an alert (`<alert id>-<n>`, n from 1), the audit entry it announces
  (`log_id`, the alert_log row), when it was sent, its msgType, its `sender,identifier,sent` triple as later messages
  reference it, and its XML. A trigger refuses any UPDATE: an issued message never changes; a correction is a new
  message (an Update that references it). Rows go when retention deletes their alert (a trigger too, so the store's
  pruning needs no knowledge of this table).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tichwatch.store.database import Connection, Row, follow_delete, joined, refuse_update
from tichwatch.store.rows import Query

CAP_MESSAGES_SCHEMA = joined("""
CREATE TABLE cap_messages (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    n INTEGER NOT NULL CHECK (n >= 1),
    log_id INTEGER NOT NULL,
    sent_ts REAL NOT NULL,
    msg_type TEXT NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
    reference TEXT NOT NULL,
    xml BLOB NOT NULL,
    UNIQUE (alert_id, n)
);
""", refuse_update("cap_messages", "an issued CAP message never changes: issue an Update instead"),
    follow_delete("cap_messages", "alert_id", "alerts"))
"""Migration 9: the issued CAP messages (residents.feeds)."""


@dataclass(frozen=True)
class IssuedMessage:
    """A CAP message as it was issued: its bytes are served as they are, forever."""

    message_id: str
    alert_id: str
    n: int
    log_id: int
    sent_ts: float
    msg_type: str
    reference: str  # "sender,identifier,sent" exactly as issued, for later messages' <references>
    xml: bytes

    @property
    def etag(self) -> str:
        """A strong HTTP entity tag of the bytes."""
        return '"' + hashlib.sha256(self.xml).hexdigest()[:32] + '"'


def message_id(alert_id: str, n: int) -> str:
    """The id of an alert's n-th message (in URLs and the CAP identifier)."""
    return f"{alert_id}-{n}"


def _issued(row: Row) -> IssuedMessage:
    return IssuedMessage(row["id"], row["alert_id"], row["n"], row["log_id"], row["sent_ts"], row["msg_type"],
                         row["reference"], bytes(row["xml"]))


def issued_of(query: Query, alert_id: str) -> list[IssuedMessage]:
    """The issued messages of an alert, first first."""
    return [_issued(r) for r in query("SELECT * FROM cap_messages WHERE alert_id = ? ORDER BY n", (alert_id,))]


def issued_message(query: Query, msg_id: str) -> IssuedMessage | None:
    """One issued message by id, or None."""
    rows = query("SELECT * FROM cap_messages WHERE id = ?", (msg_id,))
    return _issued(rows[0]) if rows else None


def save_issued(conn: Connection, m: IssuedMessage) -> None:
    """Store a newly issued message (a second message with the same id or number is refused)."""
    conn.execute("INSERT INTO cap_messages (id, alert_id, n, log_id, sent_ts, msg_type, reference, xml) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (m.message_id, m.alert_id, m.n, m.log_id, m.sent_ts, m.msg_type, m.reference, m.xml))


def log_ids(query: Query, alert_id: str) -> list[int]:
    """The alert_log row ids of an alert's audit entries, in the order `alerts.storage.audit_of` returns them."""
    return [int(r[0]) for r in query("SELECT id FROM alert_log WHERE alert_id = ? ORDER BY id", (alert_id,))]
