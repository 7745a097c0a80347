"""Rows of `roster_overrides` ↔ `roster.Override`. Writes take the caller's transaction; reads take a `Query`."""
from __future__ import annotations

from dataclasses import astuple, fields

from tichwatch.alerts.roster import CHAIN_HORIZON_S, Override
from tichwatch.store.database import Connection, Row
from tichwatch.store.rows import Query

_COLUMNS = tuple(f.name for f in fields(Override))
MAX_LISTED = 500
"""Most overrides read at once (a roster has a handful a week; the bound keeps a flood of them from costing much)."""


def _override(row: Row) -> Override:
    return Override(**{c: row[c] for c in _COLUMNS})


def save(conn: Connection, o: Override) -> None:
    """Insert an override, or record its cancellation."""
    conn.execute(f"INSERT INTO roster_overrides ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "
                 "ON CONFLICT (id) DO UPDATE SET cancelled_ts = excluded.cancelled_ts, "
                 "cancelled_by = excluded.cancelled_by", astuple(o))


def get(query: Query, override_id: str) -> Override | None:
    """The override with this id, or None."""
    rows = query("SELECT * FROM roster_overrides WHERE id = ?", (override_id,))
    return _override(rows[0]) if rows else None


def in_force(query: Query, from_ts: float, to_ts: float) -> list[Override]:
    """Overrides not cancelled that overlap [from_ts, to_ts), oldest first."""
    return [_override(r) for r in query(
        "SELECT * FROM roster_overrides WHERE cancelled_ts IS NULL AND ends_ts > ? AND starts_ts < ? "
        "ORDER BY created_ts, id LIMIT ?", (from_ts, to_ts, MAX_LISTED))]


def count_in_force(query: Query, from_ts: float) -> int:
    """How many overrides not cancelled end after `from_ts` (to bound how many can be made)."""
    return int(query("SELECT COUNT(*) FROM roster_overrides WHERE cancelled_ts IS NULL AND ends_ts > ?",
                     (from_ts,))[0][0])


def for_routing(query: Query, now: float) -> list[Override]:
    """The overrides the duty chain at `now` can depend on (those overlapping its horizon)."""
    return in_force(query, now, now + CHAIN_HORIZON_S)
