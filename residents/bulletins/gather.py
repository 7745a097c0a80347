"""Gather a bulletin's snapshot from the store and the flood detector: the only I/O before composing."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from tichwatch.alerts.model import Alert, kind_matches
from tichwatch.alerts.storage import open_alerts
from tichwatch.alerts.views import alert_url, subject_name
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.config.schema import CameraConfig, Settings, StationConfig
from tichwatch.core.links import evidence_url
from tichwatch.core.samples import Reading
from tichwatch.detectors.dust.detector import DUST_KIND
from tichwatch.detectors.flood.status import StationStatus
from tichwatch.residents.bulletins.schedule import is_emergency
from tichwatch.residents.bulletins.snapshot import (
    AlertData,
    BulletinKind,
    CameraData,
    DustIncident,
    Snapshot,
    StationData,
)
from tichwatch.store.store import Store

ReadingLink = Callable[[Reading], str]
"""The permalink of a reading (tichwatch.api.routes_stations.permalink bound to the service)."""

StationsNow = Callable[[], Sequence[StationConfig]]
"""The stations with the alarm levels in force now (the station registry's `stations`)."""

DAY_S = 86400.0
WEEK_S = 7 * DAY_S
CHART_POINTS = 600
"""About how many points a chart series has (readings are averaged into buckets beyond that)."""


class FloodStatusSource(Protocol):
    """What bulletins need of the flood detector (tichwatch.detectors.flood.detector.FloodDetector has it)."""

    def status(self, station_id: str) -> StationStatus:
        """The station's current status (KeyError for an unknown station)."""


def new_bulletin_id(now: float, timezone: str) -> str:
    """A URL-safe bulletin id that sorts by time: local YYYYMMDD-HHMM and a random suffix."""
    return f"{datetime.fromtimestamp(now, ZoneInfo(timezone)):%Y%m%d-%H%M}-{secrets.token_hex(3)}"


def is_public(kind: str, kinds: list[str]) -> bool:
    """Is an alert kind one the public hears of (bulletins.public_kinds: flood and dust by default)?"""
    return any(kind_matches(k, kind) for k in kinds)


def public_alerts(store: Store, kinds: list[str]) -> list[Alert]:
    """Open alerts of the public kinds, oldest first."""
    return [a for a in open_alerts(store.query_all) if is_public(a.kind, kinds)]


def despike(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Each level replaced by the median of three neighbouring ones: a lone spike (which the detector rejects too)
    is not drawn, a real rise is."""
    levels = [v for _, v in points]
    if len(levels) < 3:
        return tuple(points)
    out = []
    for i, (ts, _) in enumerate(points):
        start = min(max(0, i - 1), len(levels) - 3)
        out.append((ts, sorted(levels[start:start + 3])[1]))
    return tuple(out)


def _series(store: Store, station_id: str, now: float, span_s: float) -> tuple[tuple[float, float], ...]:
    buckets = store.downsample(station_id, now - span_s, now + 1e-3, span_s / CHART_POINTS)
    return despike([((b.first_ts + b.last_ts) / 2, b.mean_m) for b in buckets])


def gather_station(store: Store, station: StationConfig, now: float, span_s: float, reading_link: ReadingLink,
                   flood: FloodStatusSource | None) -> StationData:
    """A station's cited reading (the detector's last clean one, else the newest), its status and level series."""
    status = None
    if flood is not None:
        try:
            status = flood.status(station.id)
        except KeyError:
            status = None
    row = store.query_one("SELECT MAX(ts) FROM readings WHERE station_id = ? AND ts <= ?", (station.id, now))
    newest = store.reading_at(station.id, row[0]) if row is not None and row[0] is not None else None
    cited = store.reading_at(station.id, status.ts) if status is not None and status.ts is not None else None
    reading = cited or newest
    return StationData(station, reading, reading_link(reading) if reading else None,
                       newest.ts if newest else None, status, _series(store, station.id, now, span_s))


def _camera(store: Store, settings: Settings, camera: CameraConfig, now: float, window_s: float) -> CameraData:
    frame = store.latest_frame(camera.id)
    latest = store.latest_dust_index(camera.id)
    onsets = [row for row in store.detections(now - window_s, camera.id) if row["kind"] == DUST_KIND
              and row["active"] and row["ts"] <= now]
    incidents = tuple(DustIncident(row["ts"], row["value"], evidence_url(settings.http.public_url, row["evidence_id"])
                                   if row["evidence_id"] else None) for row in reversed(onsets))
    return CameraData(camera, frame.ts if frame else None, latest[2] if latest else None, incidents)


def _alert(settings: Settings, a: Alert) -> AlertData:
    return AlertData(a.id, a.kind, a.subject, subject_name(settings, a.subject), a.level, a.severity.name.lower(),
                     a.value, a.unit, a.state.value, a.started_ts, alert_url(settings, a.id))


def gather_snapshot(settings: Settings, bulletins: BulletinSettings, store: Store, now: float,
                    reading_link: ReadingLink, flood: FloodStatusSource | None = None,
                    kind: BulletinKind | None = None, *, stations: Sequence[StationConfig]) -> Snapshot:
    """Everything a bulletin needs as of `now`; the kind is emergency while a flood alert at the hourly level is
    open, unless given. `stations` are the stations with the alarm levels in force (the station registry's table,
    not the configuration file's)."""
    alerts = public_alerts(store, bulletins.public_kinds)
    if kind is None:
        kind = "emergency" if is_emergency(((a.kind, a.level) for a in alerts), bulletins.hourly_from_level) \
            else "routine"
    return Snapshot(
        id=new_bulletin_id(now, settings.timezone), kind=kind, now=now, commune=settings.commune,
        timezone=settings.timezone, public_url=settings.http.public_url, source_name=bulletins.source_name,
        stations=tuple(gather_station(store, s, now, DAY_S, reading_link, flood) for s in stations),
        cameras=tuple(_camera(store, settings, c, now, DAY_S) for c in settings.cameras),
        alerts=tuple(_alert(settings, a) for a in alerts),
        station_offline_factor=settings.flood.offline_factor, camera_offline_factor=settings.dust.offline_factor,
        quote_station=bulletins.quote_station, impact=settings.impact)
