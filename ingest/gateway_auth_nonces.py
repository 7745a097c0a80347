"""The nonces of accepted signed messages, kept in SQLite so that a service restart forgets none of them.

One small file in the data directory (`gateway-nonces.sqlite3`), apart from the main store: a nonce is written on the
MQTT network thread as the message arrives, and must not wait behind the pipeline's batch transactions. One row per
accepted nonce (gateway/nonce, signature time, signature); rows leave when their signature is too old to be accepted
anyway, and the count is bounded: past `max_entries` the oldest row goes and no signature at or before its time is
accepted again (the "floor", kept in the file as well), so forgetting never lets a replay through.

Writes are autocommit INSERTs in WAL mode with synchronous=NORMAL: durable across a process crash (the committed
WAL frames are in the operating system's cache), not across a power cut (the last commits before one may be lost;
the nonces of those few seconds could then be replayed once).
"""
from __future__ import annotations

import hmac
import sqlite3
from pathlib import Path

NONCE_DB = "gateway-nonces.sqlite3"
"""File name of the nonce store in the data directory."""
PURGE_INTERVAL_S = 60.0
"""How often (in message time) rows too old to matter are deleted: one indexed DELETE instead of one per message."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nonces (
    nonce_key TEXT PRIMARY KEY,  -- "<gateway>/<nonce>": nonces are per gateway
    sig_ts REAL NOT NULL,        -- the signature's time (epoch seconds)
    sig TEXT NOT NULL            -- the verified signature: tells the broker's redelivery from a replay
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_by_time ON nonces (sig_ts);
CREATE TABLE IF NOT EXISTS nonce_floor (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    sig_ts REAL NOT NULL         -- signatures at or before this time may belong to a forgotten nonce
);
"""


def refusal(earlier_sig: str | None, sig_ts: float, sig: str, floor: float, redelivered: bool) -> str | None:
    """Why a nonce is refused, or None when its message may pass (pure; `earlier_sig`: the nonce's stored signature).

    The broker sets DUP when it sends again a message it had sent before and that was not acknowledged (after the
    service reconnects, e.g. following a crash between receiving and committing it): the same message, identical
    signature, is then accepted once more; the store ignores a reading it already holds. Anything else with a known
    nonce is a replay."""
    if earlier_sig is not None:
        return None if redelivered and hmac.compare_digest(earlier_sig, sig) else "nonce already used"
    if sig_ts <= floor:
        return "older than the oldest remembered nonce (replay cache full)"
    return None


class NonceStore:
    """Nonces seen within `max_age_s`, at most `max_entries` of them, in an SQLite file (":memory:" in tests).

    Not thread-safe on its own: the caller serialises calls (the verifier holds a lock)."""

    def __init__(self, path: Path | str, max_age_s: float, max_entries: int):
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._max_age_s = max_age_s
        self._max = max_entries
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._count: int = self._conn.execute("SELECT COUNT(*) FROM nonces").fetchone()[0]
        row = self._conn.execute("SELECT sig_ts FROM nonce_floor WHERE id = 0").fetchone()
        self._floor: float = row[0] if row else float("-inf")
        self._next_purge = float("-inf")

    def __len__(self) -> int:
        """Nonces remembered now."""
        return self._count

    def check_and_add(self, key: str, sig_ts: float, sig: str, now: float, redelivered: bool) -> str | None:
        """None (and the nonce is remembered, durably) when the message may pass, else why it is refused.

        sqlite3.Error propagates: the caller must then leave the message unacknowledged (it comes back later) rather
        than accept a nonce it could not record."""
        if now >= self._next_purge:
            self._purge(now - self._max_age_s)
            self._next_purge = now + PURGE_INTERVAL_S
        if sig_ts > self._floor and self._count < self._max:
            # The common case in one statement: a new nonce goes straight in; only a known one is looked up.
            if self._conn.execute("INSERT INTO nonces VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                  (key, sig_ts, sig)).rowcount:
                self._count += 1
                return None
        row = self._conn.execute("SELECT sig FROM nonces WHERE nonce_key = ?", (key,)).fetchone()
        refused = refusal(row[0] if row else None, sig_ts, sig, self._floor, redelivered)
        if refused is None and row is None:
            self._add_when_full(key, sig_ts, sig)
        return refused

    def _add_when_full(self, key: str, sig_ts: float, sig: str) -> None:
        # Full: the new nonce goes in and the oldest (perhaps the new one itself) goes out, in one transaction, and
        # the floor rises to its time so that a replay of it is still refused.
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("INSERT INTO nonces VALUES (?, ?, ?)", (key, sig_ts, sig))
            oldest_key, oldest_ts = self._conn.execute(
                "SELECT nonce_key, sig_ts FROM nonces ORDER BY sig_ts LIMIT 1").fetchone()
            self._conn.execute("DELETE FROM nonces WHERE nonce_key = ?", (oldest_key,))
            floor = max(self._floor, oldest_ts)
            self._conn.execute("INSERT INTO nonce_floor VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET "
                               "sig_ts = excluded.sig_ts", (floor,))
        self._floor = floor

    def _purge(self, before_ts: float) -> None:
        """Forget nonces whose signature is older than `before_ts`: such a message is refused as stale anyway."""
        self._count -= self._conn.execute("DELETE FROM nonces WHERE sig_ts < ?", (before_ts,)).rowcount

    def close(self) -> None:
        """Close the file."""
        self._conn.close()
