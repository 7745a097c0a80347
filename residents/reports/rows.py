"""Reads a report's rows from the store for its period (gather.py computes the figures from them).

Alerts are those opened in the period, each with every level its audit log recorded; readings and judged frames
those timed in the period; bulletins those published in it, with their outbox rows whatever their time.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from tichwatch.config.schema import CameraConfig, StationConfig
from tichwatch.residents.reports.gather import AlertRow, DeliveryRow, ReportRows
from tichwatch.residents.reports.period import Period
from tichwatch.store.rows import Query

MAX_ALERTS = 50_000
"""Alerts a report reads at most (a year of a storm of them is far fewer)."""
MAX_SAMPLES = 600_000
"""Readings or frames of one station or camera a report reads at most (a year at one a minute is 527,040)."""
MAX_BULLETINS = 20_000
"""Bulletins a report reads at most (hourly for a year is 8,784)."""


def _alerts(query: Query, p: Period) -> list[AlertRow]:
    levels: dict[str, list[str]] = defaultdict(list)
    for r in query("SELECT l.alert_id, json_extract(l.data, '$.level') AS level FROM alert_log l "
                   "JOIN alerts a ON a.id = l.alert_id WHERE a.opened_ts >= ? AND a.opened_ts < ? "
                   "AND json_valid(l.data) AND json_extract(l.data, '$.level') IS NOT NULL", (p.start_ts, p.end_ts)):
        levels[r["alert_id"]].append(str(r["level"]))
    rows = query("SELECT id, kind, subject, severity, level, opened_ts, acknowledged_ts, resolved_ts FROM alerts "
                 "WHERE opened_ts >= ? AND opened_ts < ? ORDER BY opened_ts, id LIMIT ?",
                 (p.start_ts, p.end_ts, MAX_ALERTS))
    return [AlertRow(r["id"], r["kind"], r["subject"], r["severity"], r["opened_ts"], r["acknowledged_ts"],
                     r["resolved_ts"], tuple(dict.fromkeys([*levels.get(r["id"], []),
                                                            *([r["level"]] if r["level"] else [])])))
            for r in rows]


def _marked(query: Query, sql: str, p: Period) -> frozenset[str]:
    return frozenset(r[0] for r in query(sql, (p.start_ts, p.end_ts)))


def read_rows(query: Query, period: Period, timezone: str, stations: Sequence[StationConfig],
              cameras: Sequence[CameraConfig], as_of_ts: float | None = None) -> ReportRows:
    """Every row the report of `period` needs, read at `as_of_ts` (a period not over yet counts up to then)."""
    p = period
    readings = {s.id: [(r[0], r[1]) for r in query(
        "SELECT ts, level_m FROM readings WHERE station_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?",
        (s.id, p.start_ts, p.end_ts, MAX_SAMPLES))] for s in stations}
    frames = {c.id: [r[0] for r in query(
        "SELECT ts FROM dust_index WHERE camera_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?",
        (c.id, p.start_ts, p.end_ts, MAX_SAMPLES))] for c in cameras}
    bulletins = [(r["id"], r["published_ts"], r["kind"]) for r in query(
        "SELECT id, published_ts, kind FROM bulletins WHERE state = 'published' AND published_ts >= ? "
        "AND published_ts < ? ORDER BY published_ts LIMIT ?", (p.start_ts, p.end_ts, MAX_BULLETINS))]
    deliveries = [DeliveryRow(r["bulletin_id"], r["receiver"], r["channel"], r["state"]) for r in query(
        "SELECT n.bulletin_id, n.receiver, n.channel, n.state FROM notifications n JOIN bulletins b "
        "ON b.id = n.bulletin_id WHERE b.state = 'published' AND b.published_ts >= ? AND b.published_ts < ?",
        (p.start_ts, p.end_ts))]
    in_period = "JOIN alerts a ON a.id = m.alert_id WHERE a.opened_ts >= ? AND a.opened_ts < ?"
    return ReportRows(
        period=p, timezone=timezone, stations=stations, cameras=cameras, alerts=_alerts(query, p),
        readings=readings, frames=frames, bulletins=bulletins, deliveries=deliveries,
        false_alarms=_marked(query, f"SELECT m.alert_id FROM false_alarms m {in_period}", p),
        confirmed=_marked(query, f"SELECT DISTINCT m.alert_id FROM dust_labels m {in_period} AND m.label = 'dust'", p),
        as_of_ts=as_of_ts)
