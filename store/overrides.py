"""Alarm levels edited by an administrator at run time, as the store keeps them: the table and its SQL only. What
an override means (checking it against the station, applying it, auditing it) is the station registry's
(`tichwatch.app.stations`)."""
from __future__ import annotations

from dataclasses import dataclass

from tichwatch.config.schema import AlarmLevels
from tichwatch.store.database import Connection
from tichwatch.store.rows import Query

OVERRIDES_SCHEMA = """
CREATE TABLE station_overrides (
    station_id TEXT PRIMARY KEY,
    alarm TEXT NOT NULL,
    updated_ts REAL NOT NULL,
    updated_by TEXT NOT NULL
);
"""
"""Store table of alarm-level overrides (migration 5 of tichwatch.store.migrations)."""


@dataclass(frozen=True)
class AlarmOverride:
    """A station's alarm levels as an administrator set them, by whom and when."""

    station_id: str
    alarm: AlarmLevels
    updated_ts: float
    updated_by: str


def load(query: Query) -> dict[str, AlarmOverride]:
    """Every stored override, by station id."""
    return {r["station_id"]: AlarmOverride(r["station_id"], AlarmLevels.model_validate_json(r["alarm"]),
                                           r["updated_ts"], r["updated_by"])
            for r in query("SELECT * FROM station_overrides", ())}


def save(conn: Connection, override: AlarmOverride) -> None:
    """Store a station's alarm levels (replacing an earlier override)."""
    conn.execute("INSERT INTO station_overrides (station_id, alarm, updated_ts, updated_by) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (station_id) DO UPDATE SET alarm = excluded.alarm, updated_ts = excluded.updated_ts, "
                 "updated_by = excluded.updated_by",
                 (override.station_id, override.alarm.model_dump_json(), override.updated_ts, override.updated_by))


def delete(conn: Connection, station_id: str) -> None:
    """Drop a station's override (back to the configuration file's levels)."""
    conn.execute("DELETE FROM station_overrides WHERE station_id = ?", (station_id,))
