"""What a report says, as figures: pure aggregation over the rows read from the store for its period (rows.py reads
them). No I/O and no clock: the same rows give the same report.

- Alerts opened in the period, by kind and highest level reached (a flood.level alert rising from BĐ I to BĐ III
  counts once, at BĐ III), and per station or camera.
- Response times: opened → acknowledged (median, 90th percentile by nearest rank, maximum), and how many were never
  acknowledged.
- Availability: readings (stations) and judged frames (cameras) received in the period against those expected from
  each one's expected_interval_s, and the longest silence.
- Dust episodes per site: dust alerts opened in the period, their total duration inside the period (an episode still
  open at the end counts to the end), and how many officers confirmed (a 'dust' label) or marked false alarms.
- Bulletins published in the period, and their deliveries per receiver from the outbox (delivered, failed, waiting).
- Daily figures for the charts (each station's highest level per local day, alerts per day), and notable events.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from tichwatch.config.schema import CameraConfig, StationConfig
from tichwatch.detectors.flood.levels import LEVEL_NAMES
from tichwatch.residents.reports.period import Period

FLOOD_LEVEL_KIND = "flood.level"
"""The alert kind of the official alarm levels."""
DUST_PREFIX = "dust."
"""Alert kinds of dust episodes."""
GROUPS = ("flood", "dust", "sensor", "camera")
"""Alert kinds by their first word, as the per-day chart stacks them (anything else counts as 'other')."""
NOTABLE_FROM_LEVEL = "BD2"
"""flood.level alerts at this level or above are notable events."""


@dataclass(frozen=True)
class AlertRow:
    """An alert opened in the period; `levels` are every level it had (from its audit log and its row)."""

    id: str
    kind: str
    subject: str
    severity: int
    opened_ts: float
    acknowledged_ts: float | None
    resolved_ts: float | None
    levels: tuple[str, ...] = ()

    @property
    def highest_level(self) -> str | None:
        """The highest alarm level it reached (None for alerts without one)."""
        known = [lv for lv in self.levels if lv in LEVEL_NAMES]
        return max(known, key=LEVEL_NAMES.index) if known else (self.levels[0] if self.levels else None)


@dataclass(frozen=True)
class DeliveryRow:
    """One outbox row of a bulletin published in the period."""

    bulletin_id: str
    receiver: str
    channel: str
    state: str  # pending, sent, failed


@dataclass(frozen=True)
class ReportRows:
    """Everything a report is computed from, as read from the store."""

    period: Period
    timezone: str
    stations: Sequence[StationConfig]
    cameras: Sequence[CameraConfig]
    alerts: Sequence[AlertRow]
    readings: Mapping[str, Sequence[tuple[float, float]]]  # station id -> (ts, level_m) in the period, by time
    frames: Mapping[str, Sequence[float]]  # camera id -> judged frame times in the period, by time
    bulletins: Sequence[tuple[str, float, str]]  # (id, published_ts, kind) of bulletins published in the period
    deliveries: Sequence[DeliveryRow]
    false_alarms: frozenset[str] = frozenset()  # alert ids officers marked false alarms
    confirmed: frozenset[str] = frozenset()  # alert ids officers labelled as real dust
    as_of_ts: float | None = None  # when the rows were read: a period not over yet counts only up to then

    @property
    def end_ts(self) -> float:
        """Where the period's figures end: its end, or the time the rows were read when that is earlier."""
        return self.period.end_ts if self.as_of_ts is None else min(self.period.end_ts, self.as_of_ts)


@dataclass(frozen=True)
class AlertCount:
    """Alerts of one kind and highest level: how many, and how many per station or camera."""

    kind: str
    level: str | None
    count: int
    by_subject: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Response:
    """How fast alerts of a kind (or all: kind None) were acknowledged, seconds."""

    kind: str | None
    opened: int
    acknowledged: int
    median_s: float | None
    p90_s: float | None
    max_s: float | None

    @property
    def unacknowledged(self) -> int:
        """Alerts never acknowledged (resolved on their own, or still open)."""
        return self.opened - self.acknowledged


@dataclass(frozen=True)
class Availability:
    """Samples a station or camera sent in the period against those expected; the longest silence, seconds."""

    subject: str
    name: str
    received: int
    expected: int
    longest_gap_s: float
    longest_gap_from_ts: float = 0.0  # when the longest silence began (the period's start, or the last sample before)

    @property
    def ratio(self) -> float:
        """Received / expected, at most 1 (a gateway's resent backlog never makes it more than whole)."""
        return min(1.0, self.received / self.expected) if self.expected else 0.0


@dataclass(frozen=True)
class DustSite:
    """Dust episodes at one camera's site."""

    camera_id: str
    site: str
    episodes: int
    duration_s: float
    confirmed: int
    false_alarms: int


@dataclass(frozen=True)
class ChannelDeliveries:
    """Deliveries of the period's bulletins to one receiver."""

    receiver: str
    channel: str
    bulletins: int
    delivered: int
    failed: int
    waiting: int


@dataclass(frozen=True)
class Notable:
    """A notable event: its time, a catalogue key naming what happened, and the values the text needs."""

    ts: float
    key: str
    values: Mapping[str, str | float]


@dataclass(frozen=True)
class StationDays:
    """A station's highest level per local day (None: no reading that day) and its alarm levels."""

    station_id: str
    name: str
    daily_max_m: tuple[float | None, ...]
    levels: tuple[tuple[str, float], ...]
    peak: tuple[float, float] | None = None  # (ts, level_m) of the period's highest reading


@dataclass(frozen=True)
class ReportData:
    """The figures of one report."""

    period: Period
    timezone: str
    days: tuple[date, ...]
    alert_counts: tuple[AlertCount, ...]
    alerts_total: int
    responses: tuple[Response, ...]  # per kind, then all (kind None) last
    stations: tuple[Availability, ...]
    cameras: tuple[Availability, ...]
    dust: tuple[DustSite, ...]
    bulletins_published: int
    bulletins_by_kind: tuple[tuple[str, int], ...]
    channels: tuple[ChannelDeliveries, ...]
    station_days: tuple[StationDays, ...]
    alerts_per_day: tuple[tuple[str, tuple[int, ...]], ...]  # (group, count per day)
    notable: tuple[Notable, ...] = field(default_factory=tuple)

    @property
    def total_response(self) -> Response:
        """Acknowledgement figures of all alerts."""
        return self.responses[-1]


def nearest_rank(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of sorted-or-not `values` (0 < share <= 1); ValueError when empty."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _response(kind: str | None, alerts: Sequence[AlertRow]) -> Response:
    waits = [a.acknowledged_ts - a.opened_ts for a in alerts if a.acknowledged_ts is not None]
    if not waits:
        return Response(kind, len(alerts), 0, None, None, None)
    return Response(kind, len(alerts), len(waits), float(statistics.median(waits)), nearest_rank(waits, 0.9),
                    max(waits))


def _availability(subject: str, name: str, times: Sequence[float], interval_s: int, period: Period,
                  end_ts: float) -> Availability:
    inside = sorted({t for t in times if period.start_ts <= t < end_ts})
    edges = [period.start_ts, *inside, end_ts]
    gap, since = max((b - a, a) for a, b in pairwise(edges))
    return Availability(subject, name, len(inside), int((end_ts - period.start_ts) // interval_s), gap, since)


def _local_day(ts: float, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(ts, tz).date()


def _station_days(s: StationConfig, readings: Sequence[tuple[float, float]], days: Sequence[date],
                  tz: ZoneInfo) -> StationDays:
    index = {d: i for i, d in enumerate(days)}
    highest: list[float | None] = [None] * len(days)
    for ts, level in readings:
        i = index.get(_local_day(ts, tz))
        if i is not None:
            current = highest[i]
            highest[i] = level if current is None else max(current, level)
    levels = [("BD1", s.alarm.bd1_m), ("BD2", s.alarm.bd2_m), ("BD3", s.alarm.bd3_m)]
    peak = max(readings, key=lambda r: r[1]) if readings else None
    return StationDays(s.id, s.name, tuple(highest), tuple(levels), peak)


def _group(kind: str) -> str:
    head = kind.split(".", 1)[0]
    return head if head in GROUPS else "other"


def _alert_counts(alerts: Sequence[AlertRow]) -> tuple[AlertCount, ...]:
    by_key: dict[tuple[str, str | None], Counter[str]] = defaultdict(Counter)
    for a in alerts:
        by_key[(a.kind, a.highest_level)][a.subject] += 1

    def order(key: tuple[str, str | None]) -> tuple[str, int, str]:
        kind, level = key
        return kind, LEVEL_NAMES.index(level) if level in LEVEL_NAMES else -1, level or ""
    return tuple(AlertCount(kind, level, sum(c.values()), tuple(sorted(c.items())))
                 for (kind, level), c in sorted(by_key.items(), key=lambda item: order(item[0])))


def _dust_sites(rows: ReportRows) -> tuple[DustSite, ...]:
    sites = []
    for cam in rows.cameras:
        episodes = [a for a in rows.alerts if a.kind.startswith(DUST_PREFIX) and a.subject == cam.id]
        duration = sum(min(a.resolved_ts if a.resolved_ts is not None else rows.end_ts, rows.end_ts)
                       - a.opened_ts for a in episodes)
        sites.append(DustSite(cam.id, cam.site, len(episodes), duration,
                              sum(a.id in rows.confirmed for a in episodes),
                              sum(a.id in rows.false_alarms for a in episodes)))
    return tuple(sites)


def _channels(rows: ReportRows) -> tuple[ChannelDeliveries, ...]:
    grouped: dict[tuple[str, str], list[DeliveryRow]] = defaultdict(list)
    for d in rows.deliveries:
        grouped[(d.receiver, d.channel)].append(d)
    return tuple(ChannelDeliveries(receiver, channel, len({d.bulletin_id for d in ds}),
                                   sum(d.state == "sent" for d in ds), sum(d.state == "failed" for d in ds),
                                   sum(d.state == "pending" for d in ds))
                 for (receiver, channel), ds in sorted(grouped.items()))


def _alerts_per_day(alerts: Sequence[AlertRow], days: Sequence[date],
                    tz: ZoneInfo) -> tuple[tuple[str, tuple[int, ...]], ...]:
    index = {d: i for i, d in enumerate(days)}
    counts = {g: [0] * len(days) for g in (*GROUPS, "other")}
    for a in alerts:
        i = index.get(_local_day(a.opened_ts, tz))
        if i is not None:
            counts[_group(a.kind)][i] += 1
    return tuple((g, tuple(c)) for g, c in counts.items() if any(c))


def _notable(rows: ReportRows, stations: Sequence[Availability], limit: int) -> tuple[Notable, ...]:
    names = {s.id: s.name for s in rows.stations} | {c.id: c.site for c in rows.cameras}
    floor = LEVEL_NAMES.index(NOTABLE_FROM_LEVEL)
    found: list[Notable] = []
    for a in rows.alerts:
        level = a.highest_level
        if a.kind == FLOOD_LEVEL_KIND and level in LEVEL_NAMES and LEVEL_NAMES.index(level) >= floor:
            end = a.resolved_ts if a.resolved_ts is not None else rows.end_ts
            peak = max((v for t, v in rows.readings.get(a.subject, ()) if a.opened_ts <= t <= end), default=None)
            found.append(Notable(a.opened_ts, "report.notable.flood", {
                "station": names.get(a.subject, a.subject), "level": level,
                **({"peak_m": peak} if peak is not None else {})}))
    for s in rows.stations:
        readings = rows.readings.get(s.id, ())
        if readings:
            ts, top = max(readings, key=lambda r: r[1])
            if top >= s.alarm.bd1_m:
                found.append(Notable(ts, "report.notable.peak", {"station": s.name, "level_m": top}))
    intervals = {s.id: s.expected_interval_s for s in rows.stations} | {c.id: c.expected_interval_s
                                                                         for c in rows.cameras}
    cameras = {c.id for c in rows.cameras}
    for a in rows.alerts:
        if a.acknowledged_ts is None and a.severity >= 3:
            found.append(Notable(a.opened_ts, "report.notable.unacknowledged",
                                 {"kind": a.kind, "subject": names.get(a.subject, a.subject)}))
    for av in stations:
        if av.longest_gap_s > 6 * intervals.get(av.subject, 600) and av.longest_gap_s >= 3600:
            found.append(Notable(av.longest_gap_from_ts, "report.notable.camera_gap" if av.subject in cameras
                                 else "report.notable.gap", {"subject": av.name, "gap_s": av.longest_gap_s}))
    found.sort(key=lambda n: n.ts)
    return tuple(found[:limit])


def gather(rows: ReportRows, max_notable: int = 20) -> ReportData:
    """The report's figures from its rows."""
    tz = ZoneInfo(rows.timezone)
    period = rows.period
    days = tuple(period.days(rows.timezone))
    by_kind: dict[str, list[AlertRow]] = defaultdict(list)
    for a in rows.alerts:
        by_kind[a.kind].append(a)
    responses = (*(_response(kind, alerts) for kind, alerts in sorted(by_kind.items())), _response(None, rows.alerts))
    stations = tuple(_availability(s.id, s.name, [t for t, _ in rows.readings.get(s.id, ())], s.expected_interval_s,
                                   period, rows.end_ts) for s in rows.stations)
    cameras = tuple(_availability(c.id, c.site, rows.frames.get(c.id, ()), c.expected_interval_s, period,
                                  rows.end_ts) for c in rows.cameras)
    kinds = Counter(kind for _, _, kind in rows.bulletins)
    return ReportData(
        period=period, timezone=rows.timezone, days=days, alert_counts=_alert_counts(rows.alerts),
        alerts_total=len(rows.alerts), responses=responses, stations=stations, cameras=cameras,
        dust=_dust_sites(rows), bulletins_published=len(rows.bulletins),
        bulletins_by_kind=tuple(sorted(kinds.items())), channels=_channels(rows),
        station_days=tuple(_station_days(s, rows.readings.get(s.id, ()), days, tz) for s in rows.stations),
        alerts_per_day=_alerts_per_day(rows.alerts, days, tz),
        notable=_notable(rows, stations + cameras, max_notable))
