"""The samples that flow from ingest to the detectors: water-level readings, rain-gauge readings and camera frames.

Times are UTC epoch seconds (float) everywhere inside the service; people see Asia/Ho_Chi_Minh only at the edges.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reading:
    """One water-level reading from a station's gauge."""

    station_id: str
    ts: float  # measurement time, UTC epoch seconds
    level_m: float
    seq: int | None = None
    battery_v: float | None = None
    received_ts: float | None = None  # when the service received it (for clock-skew checks)


@dataclass(frozen=True, slots=True)
class RainReading:
    """One rain-gauge reading: `rain_mm` fell during the `interval_s` seconds that end at `ts`."""

    gauge_id: str
    ts: float  # end of the measured interval, UTC epoch seconds
    rain_mm: float
    interval_s: float
    seq: int | None = None
    battery_v: float | None = None
    received_ts: float | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """One JPEG frame from a camera; `width`/`height` come from the JPEG header, read before any decoding."""

    camera_id: str
    ts: float  # capture time, UTC epoch seconds
    jpeg: bytes
    width: int
    height: int
    received_ts: float | None = None
