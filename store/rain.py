"""Rain-gauge readings in the store: their table (migration 13), inserts inside the pipeline's transaction, queries.

One row per (gauge, ts), like water-level readings: a resent reading is stored once. Retention removes them with the
water-level readings (`store.readings_retention_days`, tichwatch.store.pruning).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tichwatch.core.samples import RainReading
from tichwatch.store.database import Connection, Row, floor_div
from tichwatch.store.store import Store

RAIN_SCHEMA = """
    CREATE TABLE rain_readings (
        gauge_id TEXT NOT NULL,
        ts REAL NOT NULL,
        rain_mm REAL NOT NULL,
        interval_s REAL NOT NULL,
        seq INTEGER,
        battery_v REAL,
        received_ts REAL,
        PRIMARY KEY (gauge_id, ts)
    ) WITHOUT ROWID;
    CREATE INDEX rain_readings_ts ON rain_readings (ts);
"""
"""Migration 13: rain-gauge readings, one row per (gauge, ts)."""


@dataclass(frozen=True)
class RainBucket:
    """Rain summed over [start_ts, start_ts + bucket_s): millimetres, from `count` readings."""

    start_ts: float
    rain_mm: float
    count: int


def insert_rain_readings(conn: Connection, readings: Sequence[RainReading]) -> list[RainReading]:
    """Insert inside an open transaction; return the readings that were new (duplicates are skipped)."""
    new: list[RainReading] = []
    for r in readings:
        cur = conn.execute(
            "INSERT INTO rain_readings (gauge_id, ts, rain_mm, interval_s, seq, battery_v, received_ts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (r.gauge_id, r.ts, r.rain_mm, r.interval_s, r.seq, r.battery_v, r.received_ts))
        if cur.rowcount:
            new.append(r)
    return new


def rain_readings(store: Store, gauge_id: str, start: float, end: float, limit: int = 100_000) -> list[RainReading]:
    """Raw readings of a gauge with start <= ts < end, oldest first."""
    rows = store.query_all("SELECT * FROM rain_readings WHERE gauge_id = ? AND ts >= ? AND ts < ? ORDER BY ts "
                           "LIMIT ?", (gauge_id, start, end, limit))
    return [_rain(r) for r in rows]


def recent_rain_readings(store: Store, since: float) -> list[RainReading]:
    """All gauges' readings since `since`, oldest first (to warm the flood detector at start-up)."""
    return [_rain(r) for r in store.query_all("SELECT * FROM rain_readings WHERE ts >= ? ORDER BY ts", (since,))]


def latest_rain_readings(store: Store) -> dict[str, RainReading]:
    """The newest reading of every gauge that has one."""
    rows = store.query_all(
        "SELECT r.* FROM rain_readings r JOIN (SELECT gauge_id, MAX(ts) AS ts FROM rain_readings GROUP BY gauge_id) m "
        "ON r.gauge_id = m.gauge_id AND r.ts = m.ts")
    return {row["gauge_id"]: _rain(row) for row in rows}


def rain_total_mm(store: Store, gauge_id: str, start: float, end: float) -> tuple[float, int]:
    """(millimetres, readings) of a gauge's readings with start < ts <= end: the rain of (start, end] when the
    readings' intervals end on the window's edges."""
    row = store.query_one("SELECT COALESCE(SUM(rain_mm), 0), COUNT(*) FROM rain_readings WHERE gauge_id = ? AND "
                          "ts > ? AND ts <= ?", (gauge_id, start, end))
    return (float(row[0]), int(row[1])) if row is not None else (0.0, 0)


def rain_buckets(store: Store, gauge_id: str, start: float, end: float, bucket_s: float) -> list[RainBucket]:
    """Rain per bucket of `bucket_s` seconds over [start, end), oldest first (a reading counts in the bucket of its
    ts, the end of its interval); empty buckets omitted."""
    if bucket_s <= 0:
        raise ValueError("bucket_s must be positive")
    rows = store.query_all(
        f"SELECT {floor_div('ts - ?', '?', store.dialect)} AS b, SUM(rain_mm), COUNT(*) FROM rain_readings "
        "WHERE gauge_id = ? AND ts >= ? AND ts < ? GROUP BY b ORDER BY b", (start, bucket_s, gauge_id, start, end))
    return [RainBucket(start + r[0] * bucket_s, float(r[1]), int(r[2])) for r in rows]


def _rain(row: Row) -> RainReading:
    """A RainReading from a rain_readings row."""
    return RainReading(row["gauge_id"], row["ts"], row["rain_mm"], row["interval_s"], row["seq"], row["battery_v"],
                       row["received_ts"])
