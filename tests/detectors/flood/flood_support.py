"""Helpers for the flood detector tests: station configs and feeding series (plain functions, no fixtures)."""
from __future__ import annotations

from collections.abc import Iterable

from tichwatch.config.schema import AlarmLevels, StationConfig, UpstreamLink
from tichwatch.core.detection import Detection
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.detector import FloodDetector

T0 = 1_760_000_000.0  # an arbitrary UTC epoch second to start synthetic series at
HOUR = 3600.0


def make_station(
    station_id: str = "tich1",
    bd: tuple[float, float, float] = (1.0, 2.0, 3.0),
    record_m: float | None = None,
    interval_s: int = 600,
    upstream: Iterable[UpstreamLink] = (),
) -> StationConfig:
    """A station with alarm levels `bd` (metres) on a -1..10 m gauge."""
    return StationConfig(
        id=station_id, name=f"Station {station_id}", lat=21.0, lon=105.6,
        alarm=AlarmLevels(bd1_m=bd[0], bd2_m=bd[1], bd3_m=bd[2], record_m=record_m),
        expected_interval_s=interval_s, min_level_m=-1.0, max_level_m=10.0, upstream=list(upstream),
    )


def feed(det: FloodDetector, station_id: str, levels: Iterable[float], step_s: float = 600.0,
         t0: float = T0, battery_v: float | None = None) -> list[Detection]:
    """Feed levels at a fixed step; return every detection in order."""
    out: list[Detection] = []
    for i, level in enumerate(levels):
        out += det.update(Reading(station_id, t0 + i * step_s, level, battery_v=battery_v))
    return out


def kinds(dets: Iterable[Detection], kind: str) -> list[Detection]:
    """The detections of one kind."""
    return [d for d in dets if d.kind == kind]
