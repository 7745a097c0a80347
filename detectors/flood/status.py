"""What the API and bulletins read about a station and the commune: plain frozen values, built by pure functions."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tichwatch.detectors.flood.forecast import Forecast


@dataclass(frozen=True, slots=True)
class StationStatus:
    """A station now: its last clean level, alarm level, distance to the next level, trend, forecast and health."""

    station_id: str
    name: str
    level_m: float | None  # last clean reading
    ts: float | None  # its time, UTC epoch seconds
    alarm_level: str | None  # "BD1", "BD2", "BD3", "RECORD" or None below BD1
    next_level: str | None  # the next level up, None at the top
    next_threshold_m: float | None
    distance_m: float | None  # metres still to rise to the next level
    rate_m_per_h: float | None  # robust rate of rise (negative: falling)
    eta_s: float | None  # predicted time to the next level (None: not within the forecast horizon)
    eta_low_s: float | None  # early end of the band
    eta_high_s: float | None  # late end of the band (None: possibly not within the horizon)
    confidence: float | None  # probability of reaching the next level within the horizon
    forecast_method: str | None  # "learnt" (across rivers), "model" (the station's own) or "trend"
    early_warning: bool  # is `flood.forecast` active
    rapid_rise: bool  # is `flood.rapid_rise` active
    faults: tuple[str, ...]  # active sensor-health kinds, e.g. ("sensor.offline",)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        d = asdict(self)
        d["faults"] = list(self.faults)
        return d


def station_status(
    station_id: str,
    name: str,
    last: tuple[float, float] | None,
    alarm_level: str | None,
    next_level: tuple[str, float] | None,
    rate_m_per_h: float | None,
    forecast: Forecast | None,
    early_warning: bool,
    rapid_rise: bool,
    faults: Sequence[str],
) -> StationStatus:
    """Assemble a station's status from the detector's parts."""
    ts, level = last if last is not None else (None, None)
    nxt, thr = next_level if next_level is not None else (None, None)
    fc = forecast if forecast is not None and forecast.next_level == nxt else None
    return StationStatus(
        station_id=station_id,
        name=name,
        level_m=level,
        ts=ts,
        alarm_level=alarm_level,
        next_level=nxt,
        next_threshold_m=thr,
        distance_m=None if level is None or thr is None else round(thr - level, 3),
        rate_m_per_h=rate_m_per_h,
        eta_s=fc.eta_s if fc else None,
        eta_low_s=fc.eta_low_s if fc else None,
        eta_high_s=fc.eta_high_s if fc else None,
        confidence=fc.p_reach if fc else None,
        forecast_method=fc.method if fc else None,
        early_warning=early_warning,
        rapid_rise=rapid_rise,
        faults=tuple(faults),
    )


_RANK = {None: 0, "BD1": 1, "BD2": 2, "BD3": 3, "RECORD": 4}


@dataclass(frozen=True, slots=True)
class CommuneStatus:
    """The commune now: the worst station, the soonest predicted level, every station's status."""

    alarm_level: str | None  # highest alarm level at any station
    worst_station_id: str | None  # the station at that level (the soonest ETA breaks ties), None if all are calm
    soonest_eta_s: float | None  # soonest predicted time to a next level at any station
    soonest_station_id: str | None
    early_warning: bool  # any `flood.forecast` active
    stations_with_faults: tuple[str, ...]
    stations: tuple[StationStatus, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "alarm_level": self.alarm_level,
            "worst_station_id": self.worst_station_id,
            "soonest_eta_s": self.soonest_eta_s,
            "soonest_station_id": self.soonest_station_id,
            "early_warning": self.early_warning,
            "stations_with_faults": list(self.stations_with_faults),
            "stations": [s.to_dict() for s in self.stations],
        }


def commune_status(stations: Sequence[StationStatus]) -> CommuneStatus:
    """Summarise the stations of the commune."""
    with_eta = [s for s in stations if s.eta_s is not None]
    soonest = min(with_eta, key=lambda s: s.eta_s or 0.0) if with_eta else None
    worst = max(
        (s for s in stations if s.alarm_level is not None),
        key=lambda s: (_RANK[s.alarm_level], -(s.eta_s if s.eta_s is not None else float("inf"))),
        default=None,
    )
    return CommuneStatus(
        alarm_level=worst.alarm_level if worst else None,
        worst_station_id=worst.station_id if worst else None,
        soonest_eta_s=soonest.eta_s if soonest else None,
        soonest_station_id=soonest.station_id if soonest else None,
        early_warning=any(s.early_warning for s in stations),
        stations_with_faults=tuple(s.station_id for s in stations if s.faults),
        stations=tuple(stations),
    )
