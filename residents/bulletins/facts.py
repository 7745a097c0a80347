"""The facts a bulletin states, derived from a snapshot without wording: where each level stands against its alarm
levels, the trend in cm/h, the forecast, the hamlets its level affects, dust incidents, availability, and every cited
figure with its permalink."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tichwatch.config.schema import AlarmLevels
from tichwatch.detectors.flood.levels import Ladder
from tichwatch.residents.bulletins.snapshot import BulletinKind, CameraData, Snapshot, StationData
from tichwatch.residents.impact import Impact, impact_at


@dataclass(frozen=True)
class Figure:
    """One cited figure: what it is, its value and unit, the time it refers to, and the URL that returns it."""

    key: str
    kind: str  # level, position, next_level, trend, eta, alerts, dust, stations_online, cameras_online
    subject: str | None
    value: float | int | None
    unit: str
    ts: float | None
    permalink: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Position:
    """A level against the alarm levels: the highest level reached (and by how much), the next one (and how far)."""

    above: str | None  # None below BD1
    above_by_m: float | None
    below: str | None  # None above the top level
    below_by_m: float | None
    below_threshold_m: float | None


@dataclass(frozen=True)
class Eta:
    """When the forecast has the water reach `level`, with the early and late ends of its band."""

    level: str
    ts: float
    low_ts: float | None
    high_ts: float | None


@dataclass(frozen=True)
class StationFacts:
    """A station's figures; `refs` number its cited figures (level, position, next_level, trend, eta)."""

    id: str
    name: str
    river: str
    level_m: float | None
    ts: float | None
    permalink: str | None
    rank: int  # 0 below BD1, 1 BD1 … 4 record
    position: Position | None
    rate_cm_h: int | None
    eta: Eta | None
    online: bool
    last_seen_ts: float | None
    faults: tuple[str, ...]
    record_year: int | None
    refs: dict[str, int]
    impact: Impact | None = None  # the hamlets its alarm level affects (None below BĐ I or when not configured)


@dataclass(frozen=True)
class DustFacts:
    """A camera's dust incidents in the window."""

    camera_id: str
    site: str
    count: int
    max_index: float | None
    last_ts: float | None
    evidence_url: str | None
    ref: int


@dataclass(frozen=True)
class Facts:
    """Everything a bulletin states, in order; `main` is the station the quotable sentence is about."""

    kind: BulletinKind
    now: float
    stations: tuple[StationFacts, ...]
    main: StationFacts | None
    dust: tuple[DustFacts, ...]
    stations_online: int
    cameras_online: int
    offline_cameras: tuple[str, ...]
    refs: dict[str, int]  # alerts, stations_online, cameras_online
    figures: tuple[Figure, ...]

    @property
    def rank(self) -> int:
        """The highest alarm rank of any station."""
        return max((s.rank for s in self.stations), default=0)


def position(level_m: float, alarm: AlarmLevels) -> tuple[int, Position]:
    """The alarm rank of a level and where it stands between the levels."""
    ladder = Ladder.from_alarm(alarm)
    index = ladder.index_of(level_m)
    below_thr = ladder.threshold(index + 1)
    above_thr = ladder.threshold(index)
    return index, Position(
        ladder.name(index), None if above_thr is None else round(level_m - above_thr, 3),
        ladder.name(index + 1) if below_thr is not None else None,
        None if below_thr is None else round(below_thr - level_m, 3), below_thr)


def rate_cm_h(rate_m_per_h: float | None) -> int | None:
    """A rate of rise in whole centimetres per hour (0 means steady)."""
    return None if rate_m_per_h is None else round(rate_m_per_h * 100)


def is_online(last_ts: float | None, now: float, expected_interval_s: float, factor: float) -> bool:
    """Has the subject reported within `factor` expected intervals?"""
    return last_ts is not None and now - last_ts <= factor * expected_interval_s


class _Numbering:
    """Collects figures and numbers them [1], [2] … in the order the text cites them."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.figures: list[Figure] = []

    def add(self, key: str, kind: str, subject: str | None, value: float | int | None, unit: str, ts: float | None,
            permalink: str | None = None, **detail: Any) -> int:
        self.figures.append(Figure(key, kind, subject, value, unit, ts, permalink or self.snapshot.figure_url(key),
                                   detail))
        return len(self.figures)


def _eta(data: StationData) -> Eta | None:
    st = data.status
    if st is None or st.ts is None or st.eta_s is None or st.next_level is None:
        return None
    return Eta(st.next_level, st.ts + st.eta_s, None if st.eta_low_s is None else st.ts + st.eta_low_s,
               None if st.eta_high_s is None else st.ts + st.eta_high_s)


def _station(data: StationData, snap: Snapshot, n: _Numbering) -> StationFacts:
    cfg, r, st = data.config, data.reading, data.status
    online = is_online(data.last_seen_ts, snap.now, cfg.expected_interval_s, snap.station_offline_factor)
    faults = tuple(st.faults) if st is not None else ()
    if r is None:
        return StationFacts(cfg.id, cfg.name, cfg.river, None, None, None, 0, None, None, None, online,
                            data.last_seen_ts, faults, cfg.alarm.record_year, {})
    rank, pos = position(r.level_m, cfg.alarm)
    refs = {"level": n.add(f"{cfg.id}.level", "level", cfg.id, r.level_m, "m", r.ts, data.permalink)}
    if pos.above is not None:
        refs["position"] = n.add(f"{cfg.id}.position", "position", cfg.id, pos.above_by_m, "m", r.ts,
                                 relative_to=pos.above, level_m=r.level_m)
    if pos.below is not None:
        refs["next_level"] = n.add(f"{cfg.id}.next_level", "next_level", cfg.id, pos.below_by_m, "m", r.ts,
                                   level=pos.below, threshold_m=pos.below_threshold_m, level_m=r.level_m)
    rate = rate_cm_h(st.rate_m_per_h if st is not None else None)
    if rate is not None and st is not None:
        refs["trend"] = n.add(f"{cfg.id}.trend", "trend", cfg.id, rate, "cm/h", st.ts, rate_m_per_h=st.rate_m_per_h)
    eta = _eta(data)
    if eta is not None and st is not None:
        refs["eta"] = n.add(f"{cfg.id}.eta", "eta", cfg.id, round((eta.ts - snap.now) / 3600, 2), "h", st.ts,
                            level=eta.level, eta_ts=eta.ts, eta_low_ts=eta.low_ts, eta_high_ts=eta.high_ts,
                            confidence=st.confidence, method=st.forecast_method)
    impact = impact_at(snap.impact, cfg.id, min(rank, 3))
    return StationFacts(cfg.id, cfg.name, cfg.river, r.level_m, r.ts, data.permalink, rank, pos, rate, eta, online,
                        data.last_seen_ts, faults, cfg.alarm.record_year, refs, None if impact.empty else impact)


def _dust(cam: CameraData, n: _Numbering) -> DustFacts:
    indices = [i.dust_index for i in cam.incidents if i.dust_index is not None]
    last = cam.incidents[-1] if cam.incidents else None
    ref = n.add(f"dust.{cam.config.id}.incidents", "dust", cam.config.id, len(cam.incidents), "incidents",
                n.snapshot.now, window_s=n.snapshot.window_s, max_index=max(indices, default=None),
                incidents=[{"ts": i.ts, "dust_index": i.dust_index, "evidence_url": i.evidence_url}
                           for i in cam.incidents])
    return DustFacts(cam.config.id, cam.config.site, len(cam.incidents), max(indices, default=None),
                     last.ts if last else None, last.evidence_url if last else None, ref)


def _main(stations: tuple[StationFacts, ...], preferred: str | None) -> StationFacts | None:
    """The station to quote: the preferred one when it has data, else the highest alarm rank, then the least
    distance to its next level."""
    with_data = [s for s in stations if s.level_m is not None and s.position is not None]
    chosen = next((s for s in with_data if s.id == preferred), None)
    def rank(s: StationFacts) -> tuple[int, float]:
        below = s.position.below_by_m if s.position is not None else None
        return s.rank, -(below if below is not None else 0.0)
    return chosen or max(with_data, key=rank, default=None)


def derive(snap: Snapshot) -> Facts:
    """The facts of a snapshot, with every cited figure numbered in the order the text cites them."""
    n = _Numbering(snap)
    stations = tuple(_station(s, snap, n) for s in snap.stations)
    refs = {"alerts": n.add("alerts.active", "alerts", None, len(snap.alerts), "alerts", snap.now,
                            alerts=[a.id for a in snap.alerts])}
    dust = tuple(_dust(c, n) for c in snap.cameras)
    online = sum(s.online for s in stations)
    refs["stations_online"] = n.add("stations.online", "stations_online", None, online, "stations", snap.now,
                                    total=len(stations), offline=[s.id for s in stations if not s.online])
    cams_online = [is_online(c.last_frame_ts, snap.now, c.config.expected_interval_s, snap.camera_offline_factor)
                   for c in snap.cameras]
    offline_cams = tuple(c.config.site for c, ok in zip(snap.cameras, cams_online) if not ok)
    refs["cameras_online"] = n.add("cameras.online", "cameras_online", None, sum(cams_online), "cameras", snap.now,
                                   total=len(snap.cameras), offline=[c.config.id for c, ok in
                                                                     zip(snap.cameras, cams_online) if not ok])
    return Facts(snap.kind, snap.now, stations, _main(stations, snap.quote_station), dust, online, sum(cams_online),
                 offline_cams, refs, tuple(n.figures))
