"""PostgreSQL only: readings partitioned by month of their time, so retention drops whole months.

`readings` is a table partitioned by range of `ts` with one partition per calendar month (UTC), named
`readings_pYYYYMM`, and a default partition for readings outside every month made so far (history replayed from long
ago, or a clock far in the future). Months are made ahead of time (`ensure_months`); a month whose rows already sit in
the default partition is not made (PostgreSQL would refuse it), so those rows stay there and are deleted row by row
like SQLite's. Retention drops every month that ends at or before its cut-off (`drop_months`): one catalogue change
instead of millions of deletes, and no table bloat.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

from tichwatch.store.database import Connection

PREFIX = "readings_p"
AHEAD_MONTHS = 2
"""Months made ahead of the current one (at start and at every retention run)."""
BEHIND_MONTHS = 1
"""Months made before the current one, for backlogs a gateway delivers after an outage or a restart of the service."""
_NAME = re.compile(rf"^{PREFIX}(\d{{4}})(\d{{2}})$")

READINGS_PARTITIONED = """
CREATE TABLE readings (
    station_id TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    level_m DOUBLE PRECISION NOT NULL,
    seq BIGINT,
    battery_v DOUBLE PRECISION,
    received_ts DOUBLE PRECISION,
    PRIMARY KEY (station_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE readings_default PARTITION OF readings DEFAULT;
"""
"""PostgreSQL's `readings` (the same columns as SQLite's), partitioned by time."""


def month_of(ts: float) -> tuple[int, int]:
    """(year, month) in UTC of a Unix time."""
    d = datetime.fromtimestamp(ts, UTC)
    return d.year, d.month


def month_bounds(year: int, month: int) -> tuple[float, float]:
    """[start, end) of a calendar month in UTC, as Unix times."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


def months(first: tuple[int, int], count: int) -> list[tuple[int, int]]:
    """`count` consecutive months from `first`."""
    year, month = first
    out = []
    for _ in range(count):
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def existing_months(conn: Connection) -> dict[tuple[int, int], str]:
    """The month partitions of `readings` in the current schema: (year, month) → table name."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('readings')").fetchall()
    found = {}
    for (name,) in rows:
        m = _NAME.match(name)
        if m:
            found[(int(m.group(1)), int(m.group(2)))] = name
    return found


def ensure_months(conn: Connection, now: float, ahead: int = AHEAD_MONTHS, behind: int = BEHIND_MONTHS) -> list[str]:
    """Make the partitions from `behind` months before the current one to `ahead` after it that do not exist yet
    (inside an open transaction); a month some of whose rows are already in the default partition is left to it.
    Returns the tables made."""
    have = existing_months(conn)
    made = []
    first = month_of(now)
    for _ in range(behind):
        first = (first[0] - 1, 12) if first[1] == 1 else (first[0], first[1] - 1)
    for year, month in months(first, behind + ahead + 1):
        if (year, month) in have:
            continue
        start, end = month_bounds(year, month)
        if conn.execute("SELECT 1 FROM readings_default WHERE ts >= ? AND ts < ? LIMIT 1", (start, end)).fetchone():
            continue
        name = f"{PREFIX}{year:04d}{month:02d}"
        conn.execute(f"CREATE TABLE {name} PARTITION OF readings FOR VALUES FROM ({start!r}) TO ({end!r})")
        made.append(name)
    return made


def drop_months(conn: Connection, before_ts: float) -> int:
    """Drop every month partition that ends at or before `before_ts` (inside an open transaction); the rows they
    held."""
    dropped = 0
    for (year, month), name in sorted(existing_months(conn).items()):
        if month_bounds(year, month)[1] <= before_ts:
            dropped += int(conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0])
            conn.execute(f"DROP TABLE {name}")
    return dropped
