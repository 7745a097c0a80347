"""Subscriber rows in the store: reading them (on a read connection or inside a transaction) and changing them
(inside the caller's transaction). No decisions here: registration.py and management.py make them."""
from __future__ import annotations

from dataclasses import dataclass

from tichwatch.store.database import Connection, Row
from tichwatch.store.rows import Query

STATUSES = ("pending", "active", "unsubscribed")
"""A subscriber's states."""
CHANNELS = ("zns", "sms")
"""How a subscriber is reached: Zalo ZNS (SMS where it fails) or SMS."""


@dataclass(frozen=True)
class Subscriber:
    """One subscriber row (the phone is personal data: only admins see it whole)."""

    id: int
    phone: str
    hamlet_id: str
    lang: str
    channel: str
    status: str
    consent_ts: float
    consent_text: str
    consent_version: str
    registered_by: str
    created_ts: float
    updated_ts: float
    unsubscribed_ts: float | None
    unsubscribe_via: str | None


@dataclass(frozen=True)
class PendingCode:
    """A confirmation code waiting for its subscriber, with what the registration asks for."""

    subscriber_id: int
    code_hash: str
    expires_ts: float
    attempts: int
    hamlet_id: str
    lang: str
    channel: str
    consent_ts: float
    consent_text: str
    consent_version: str
    created_ts: float


_COLUMNS = ("id, phone, hamlet_id, lang, channel, status, consent_ts, consent_text, consent_version, registered_by, "
            "created_ts, updated_ts, unsubscribed_ts, unsubscribe_via")


def _subscriber(r: Row) -> Subscriber:
    return Subscriber(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), float(r[6]), str(r[7]),
                      str(r[8]), str(r[9]), float(r[10]), float(r[11]), r[12], r[13])


def get(query: Query, subscriber_id: int) -> Subscriber | None:
    """A subscriber by id."""
    rows = query(f"SELECT {_COLUMNS} FROM subscribers WHERE id = ?", (subscriber_id,))
    return _subscriber(rows[0]) if rows else None


def by_phone(query: Query, e164: str) -> Subscriber | None:
    """A subscriber by phone number (E.164)."""
    rows = query(f"SELECT {_COLUMNS} FROM subscribers WHERE phone = ?", (e164,))
    return _subscriber(rows[0]) if rows else None


def page(query: Query, limit: int, after_id: int | None = None, hamlet_id: str | None = None,
         status: str | None = None, channel: str | None = None, phone: str | None = None) -> list[Subscriber]:
    """Subscribers by id, filtered, `limit` of them after `after_id`."""
    where: list[str] = ["id > ?"]
    params: list[object] = [after_id or 0]
    for column, value in (("hamlet_id", hamlet_id), ("status", status), ("channel", channel), ("phone", phone)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = query(f"SELECT {_COLUMNS} FROM subscribers WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
                 (*params, limit))
    return [_subscriber(r) for r in rows]


def counts(query: Query) -> list[tuple[str, str, str, int]]:
    """(hamlet, status, channel, how many) for every combination present."""
    rows = query("SELECT hamlet_id, status, channel, COUNT(*) FROM subscribers GROUP BY hamlet_id, status, channel "
                 "ORDER BY hamlet_id, status, channel", ())
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]


def insert(conn: Connection, phone: str, hamlet_id: str, lang: str, channel: str, status: str,
           consent_ts: float, consent_text: str, consent_version: str, registered_by: str, now: float) -> int:
    """A new subscriber; its id."""
    cur = conn.execute("INSERT INTO subscribers (phone, hamlet_id, lang, channel, status, consent_ts, consent_text, "
                       "consent_version, registered_by, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                       "RETURNING id",
                       (phone, hamlet_id, lang, channel, status, consent_ts, consent_text, consent_version,
                        registered_by, now, now))
    return int(cur.fetchone()[0])


def activate(conn: Connection, subscriber_id: int, hamlet_id: str, lang: str, channel: str,
             consent_ts: float, consent_text: str, consent_version: str, registered_by: str, now: float) -> None:
    """Make a subscriber active with (new) details and consent."""
    conn.execute("UPDATE subscribers SET hamlet_id = ?, lang = ?, channel = ?, status = 'active', consent_ts = ?, "
                 "consent_text = ?, consent_version = ?, registered_by = ?, updated_ts = ?, unsubscribed_ts = NULL, "
                 "unsubscribe_via = NULL WHERE id = ?",
                 (hamlet_id, lang, channel, consent_ts, consent_text, consent_version, registered_by, now,
                  subscriber_id))


def make_pending(conn: Connection, subscriber_id: int, hamlet_id: str, lang: str, channel: str,
                 now: float) -> None:
    """A registration still pending is made again: the new details. An active or unsubscribed record is left as it
    is until the new code is confirmed (its pending code holds what was asked), so a stranger typing a number
    changes nothing about its resident."""
    conn.execute("UPDATE subscribers SET hamlet_id = ?, lang = ?, channel = ?, updated_ts = ? "
                 "WHERE id = ? AND status = 'pending'", (hamlet_id, lang, channel, now, subscriber_id))


def update(conn: Connection, subscriber_id: int, changes: dict[str, str], now: float) -> None:
    """Change a subscriber's hamlet, language or channel (keys of `changes`: hamlet_id, lang, channel)."""
    allowed = {k: v for k, v in changes.items() if k in ("hamlet_id", "lang", "channel")}
    if allowed:
        sets = ", ".join(f"{k} = ?" for k in allowed)
        conn.execute(f"UPDATE subscribers SET {sets}, updated_ts = ? WHERE id = ?",
                     (*allowed.values(), now, subscriber_id))


def unsubscribe(conn: Connection, subscriber_id: int, via: str, now: float) -> bool:
    """Unsubscribe (pending or active); False when already unsubscribed or gone. Any pending code goes too."""
    conn.execute("DELETE FROM subscriber_codes WHERE subscriber_id = ?", (subscriber_id,))
    cur = conn.execute("UPDATE subscribers SET status = 'unsubscribed', unsubscribed_ts = ?, unsubscribe_via = ?, "
                       "updated_ts = ? WHERE id = ? AND status != 'unsubscribed'", (now, via, now, subscriber_id))
    return cur.rowcount > 0


def delete(conn: Connection, subscriber_id: int) -> bool:
    """Delete a subscriber and their pending code; False when there was none."""
    conn.execute("DELETE FROM subscriber_codes WHERE subscriber_id = ?", (subscriber_id,))
    return conn.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,)).rowcount > 0


def expired_pending(conn: Connection, before_ts: float, limit: int = 500) -> list[int]:
    """Ids of subscribers pending since before `before_ts` (registered, or registered again, and never confirmed)."""
    rows = conn.execute("SELECT id FROM subscribers WHERE status = 'pending' AND updated_ts < ? ORDER BY updated_ts "
                        "LIMIT ?", (before_ts, limit)).fetchall()
    return [int(r[0]) for r in rows]


# -- confirmation codes ---------------------------------------------------------------------------------------------
def save_code(conn: Connection, code: PendingCode) -> None:
    """Keep a code (replacing the subscriber's previous one)."""
    conn.execute("DELETE FROM subscriber_codes WHERE subscriber_id = ?", (code.subscriber_id,))
    conn.execute("INSERT INTO subscriber_codes (subscriber_id, code_hash, expires_ts, attempts, hamlet_id, "
                 "lang, channel, consent_ts, consent_text, consent_version, created_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                 (code.subscriber_id, code.code_hash, code.expires_ts, code.attempts, code.hamlet_id, code.lang,
                  code.channel, code.consent_ts, code.consent_text, code.consent_version, code.created_ts))


def code_of(query: Query, subscriber_id: int) -> PendingCode | None:
    """The subscriber's pending code."""
    rows = query("SELECT subscriber_id, code_hash, expires_ts, attempts, hamlet_id, lang, channel, consent_ts, "
                 "consent_text, consent_version, created_ts FROM subscriber_codes WHERE subscriber_id = ?",
                 (subscriber_id,))
    if not rows:
        return None
    r = rows[0]
    return PendingCode(int(r[0]), str(r[1]), float(r[2]), int(r[3]), str(r[4]), str(r[5]), str(r[6]), float(r[7]),
                       str(r[8]), str(r[9]), float(r[10]))


def count_wrong(conn: Connection, subscriber_id: int) -> None:
    """One more wrong code."""
    conn.execute("UPDATE subscriber_codes SET attempts = attempts + 1 WHERE subscriber_id = ?", (subscriber_id,))


def drop_code(conn: Connection, subscriber_id: int) -> None:
    """Forget a subscriber's code."""
    conn.execute("DELETE FROM subscriber_codes WHERE subscriber_id = ?", (subscriber_id,))


# -- codes sent per phone -------------------------------------------------------------------------------------------
def sends_since(conn: Connection, phone_key: str, since: float) -> int:
    """Codes sent to a phone (by its key) since a time."""
    return int(conn.execute("SELECT COUNT(*) FROM subscription_sends WHERE phone_key = ? AND ts >= ?",
                            (phone_key, since)).fetchone()[0])


def all_sends_since(conn: Connection, since: float) -> int:
    """Codes sent to any phone since a time (the deployment-wide limit)."""
    return int(conn.execute("SELECT COUNT(*) FROM subscription_sends WHERE ts >= ?", (since,)).fetchone()[0])


def record_send(conn: Connection, phone_key: str, now: float, keep_s: float) -> None:
    """Count a code sent; forget counts older than `keep_s`."""
    conn.execute("DELETE FROM subscription_sends WHERE ts < ?", (now - keep_s,))
    conn.execute("INSERT INTO subscription_sends (phone_key, ts) VALUES (?, ?)", (phone_key, now))


def forget_sends(conn: Connection, phone_key: str) -> None:
    """Forget the codes sent to a phone (on erasure)."""
    conn.execute("DELETE FROM subscription_sends WHERE phone_key = ?", (phone_key,))

