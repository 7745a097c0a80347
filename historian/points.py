"""The historian's measurements: pure functions from samples, detections and alert events to InfluxDB line protocol.

A point's identity is its measurement, tags and timestamp (milliseconds). The same input always yields the same
identity, so a point sent twice (a retry after a lost response) overwrites itself instead of being counted twice.
"""
from __future__ import annotations

from dataclasses import dataclass

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from tichwatch.core.detection import Detection
from tichwatch.core.samples import Reading


@dataclass(frozen=True)
class Measurement:
    """One measurement of the historian: its tags (the series key) and fields (the values), for docs and dashboards."""

    name: str
    tags: tuple[str, ...]
    fields: tuple[str, ...]


WATER_LEVEL = Measurement("water_level", ("station_id", "river"), ("level_m", "battery_v", "seq"))
DUST = Measurement("dust", ("camera_id", "site"), ("dust_index", "status"))
DETECTION = Measurement("detection", ("kind", "subject"), ("active", "severity", "value", "level", "reason"))
ALERT_EVENT = Measurement("alert_event", ("alert_id", "kind", "subject", "state"), ("severity", "actor"))
MEASUREMENTS = (WATER_LEVEL, DUST, DETECTION, ALERT_EVENT)
"""Every measurement the historian writes."""


def epoch_ms(ts: float) -> int:
    """UTC epoch seconds → the integer milliseconds a point is stamped with (its identity, so always rounded alike)."""
    return round(ts * 1000)


def _line(point: Point, ts: float) -> str:
    line: str = point.time(epoch_ms(ts), WritePrecision.MS).to_line_protocol()
    return line


def _text(value: str) -> str:
    """A string field on one line: a newline would end the point in line protocol (and some servers split on it)."""
    return " ".join(value.splitlines())


def reading_line(reading: Reading, river: str) -> str:
    """A water-level reading as a `water_level` point."""
    p = Point(WATER_LEVEL.name).tag("station_id", reading.station_id).tag("river", river)
    p.field("level_m", float(reading.level_m))
    if reading.battery_v is not None:
        p.field("battery_v", float(reading.battery_v))
    if reading.seq is not None:
        p.field("seq", int(reading.seq))
    return _line(p, reading.ts)


def dust_line(camera_id: str, site: str, ts: float, index: float | None, status: str) -> str:
    """A camera's dust index (absent while it is not judged) and status as a `dust` point."""
    p = Point(DUST.name).tag("camera_id", camera_id).tag("site", site).field("status", _text(status))
    if index is not None:
        p.field("dust_index", float(index))
    return _line(p, ts)


def detection_line(detection: Detection) -> str:
    """A detection as a `detection` point; `active` false marks the moment a situation cleared."""
    d = detection
    p = Point(DETECTION.name).tag("kind", d.kind).tag("subject", d.subject)
    p.field("active", bool(d.active)).field("severity", int(d.severity)).field("reason", _text(d.reason))
    if d.value is not None:
        p.field("value", float(d.value))
    if d.level is not None:
        p.field("level", _text(d.level))
    return _line(p, d.ts)


def alert_event_line(alert_id: str, kind: str, subject: str, state: str, severity: int, ts: float,
                     actor: str | None, action: str | None = None) -> str:
    """One change of an alert's state (firing, acknowledged, resolved) as an `alert_event` point. The change's
    `action` (opened, raised, acknowledged, …) is a tag: two changes of one alert at the same instant (opened, then
    raised, in one batch) are two points, not one overwriting the other."""
    p = Point(ALERT_EVENT.name).tag("alert_id", alert_id).tag("kind", kind).tag("subject", subject).tag("state", state)
    if action:
        p.tag("action", action)
    p.field("severity", int(severity)).field("actor", _text(actor or "system"))
    return _line(p, ts)
