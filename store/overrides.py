"""Alarm levels edited by an administrator at run time, kept in the store: they win over the configuration file
until reverted. The official levels do change (a new decision, a re-surveyed gauge), and a flood night is no time to
edit YAML and restart."""
from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Sequence

from pydantic import ValidationError

from tichwatch.config.schema import AlarmLevels, StationConfig
from tichwatch.store.rows import Query

log = logging.getLogger(__name__)

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


def with_alarm(station: StationConfig, alarm: AlarmLevels) -> StationConfig:
    """The station with other alarm levels, checked like the configuration file (ValueError naming the problem)."""
    try:
        return StationConfig.model_validate({**station.model_dump(), "alarm": alarm.model_dump()})
    except ValidationError as exc:
        raise ValueError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None


def load(query: Query) -> dict[str, AlarmOverride]:
    """Every stored override, by station id."""
    return {r["station_id"]: AlarmOverride(r["station_id"], AlarmLevels.model_validate_json(r["alarm"]),
                                           r["updated_ts"], r["updated_by"])
            for r in query("SELECT * FROM station_overrides", ())}


def save(conn: sqlite3.Connection, station_id: str, alarm: AlarmLevels, actor: str, now: float) -> None:
    """Store a station's alarm levels (replacing an earlier override)."""
    conn.execute("INSERT INTO station_overrides (station_id, alarm, updated_ts, updated_by) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (station_id) DO UPDATE SET alarm = excluded.alarm, updated_ts = excluded.updated_ts, "
                 "updated_by = excluded.updated_by", (station_id, alarm.model_dump_json(), now, actor))


def delete(conn: sqlite3.Connection, station_id: str) -> None:
    """Drop a station's override (back to the configuration file's levels)."""
    conn.execute("DELETE FROM station_overrides WHERE station_id = ?", (station_id,))


def apply(stations: Sequence[StationConfig],
          overrides: dict[str, AlarmOverride]) -> tuple[list[StationConfig], dict[str, AlarmOverride]]:
    """The stations with their overrides, and the overrides in force; one that no longer fits the file's station is
    skipped, loudly."""
    out, in_force = [], {}
    for station in stations:
        override = overrides.get(station.id)
        if override is not None:
            try:
                station = with_alarm(station, override.alarm)
                in_force[station.id] = override
            except ValueError as exc:
                log.error("alarm levels of %s set by %s are ignored (%s): the configuration file's apply",
                          station.id, override.updated_by, exc)
        out.append(station)
    return out, in_force


def alarm_json(alarm: AlarmLevels) -> dict[str, float | int | None]:
    """Alarm levels as the API and the audit log show them."""
    return {"BD1": alarm.bd1_m, "BD2": alarm.bd2_m, "BD3": alarm.bd3_m, "record": alarm.record_m,
            "record_year": alarm.record_year}
