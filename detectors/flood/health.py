"""Sensor-health decisions: range, spike (Hampel on the robust trend line), stuck, battery, clock skew, dead-man.

Each is a small pure function over plain values; the detector keeps the state and turns changes into detections.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tichwatch.config.flood import FloodSettings
from tichwatch.config.schema import StationConfig
from tichwatch.detectors.flood.trend import Trend

OFFLINE = "sensor.offline"
STUCK = "sensor.stuck"
SPIKE = "sensor.spike"
RANGE = "sensor.range"
BATTERY = "sensor.battery"
CLOCK = "sensor.clock"
HEALTH_KINDS: tuple[str, ...] = (OFFLINE, STUCK, SPIKE, RANGE, BATTERY, CLOCK)
"""Every sensor-health detection kind, in the order a status lists them."""


def out_of_range(level_m: float, station: StationConfig) -> bool:
    """Is the reading physically impossible for this station (or not a number)?"""
    return not (station.min_level_m <= level_m <= station.max_level_m)


@dataclass(frozen=True, slots=True)
class SpikeVerdict:
    """Whether a reading is a spike, with the figures that decided it."""

    spike: bool
    expected_m: float
    deviation_m: float
    limit_m: float


def spike_verdict(ts: float, level_m: float, trend: Trend | None, settings: FloodSettings) -> SpikeVerdict | None:
    """Compare a reading with the robust trend line through the clean readings before it (a Hampel filter on the
    residuals of that line); None when there is no line to judge by."""
    if trend is None or trend.n < 3:
        return None
    dt = max(0.0, ts - trend.ts)
    # Extrapolate the line no further than it was fitted over: after a long gap only the allowance below matters.
    expected = trend.level_m + trend.rate_m_per_h * min(dt, trend.span_s) / 3600.0
    noise = max(settings.spike_mad_k * trend.scatter_m, settings.spike_min_m)
    limit = noise + settings.spike_max_rate_m_per_h * dt / 3600.0
    deviation = level_m - expected
    return SpikeVerdict(abs(deviation) > limit, expected, deviation, limit)


def confirms_shift(outliers: Sequence[tuple[float, float]], settings: FloodSettings) -> bool:
    """Do these consecutive outliers (ts, level) agree with each other enough to be a real shift of the level?"""
    if len(outliers) < settings.spike_confirm_readings:
        return False
    levels = [lv for _, lv in outliers]
    span_h = (outliers[-1][0] - outliers[0][0]) / 3600.0
    return max(levels) - min(levels) <= settings.spike_min_m + settings.spike_max_rate_m_per_h * span_h


@dataclass(frozen=True, slots=True)
class FlatRun:
    """The current run of (nearly) identical readings."""

    since_ts: float
    last_ts: float
    low_m: float
    high_m: float
    count: int


def extend_run(run: FlatRun | None, ts: float, level_m: float, tolerance_m: float) -> FlatRun:
    """The flat run after this reading: extended when the reading stays within the tolerance, else a new run."""
    if run is not None and max(run.high_m, level_m) - min(run.low_m, level_m) <= tolerance_m:
        return FlatRun(run.since_ts, ts, min(run.low_m, level_m), max(run.high_m, level_m), run.count + 1)
    return FlatRun(ts, ts, level_m, level_m, 1)


def is_stuck(run: FlatRun | None, settings: FloodSettings) -> bool:
    """Has the sensor repeated one value for long enough to be stuck?"""
    return (
        run is not None
        and run.count >= settings.stuck_min_readings
        and run.last_ts - run.since_ts >= settings.stuck_window_s
    )


def battery_low(active: bool, battery_v: float, settings: FloodSettings) -> bool:
    """Is the battery low (with hysteresis: once low, it must recover to `battery_ok_v`)?"""
    return battery_v < (settings.battery_ok_v if active else settings.battery_low_v)


def clock_offset_s(offsets_s: Sequence[float]) -> float:
    """The gateway clock's offset: the smallest-magnitude receive delay among the recent receive batches (a network
    delay only ever adds to one; a clock that is off shifts them all)."""
    return min(offsets_s, key=abs)


def clock_skewed(offsets_s: Sequence[float], settings: FloodSettings) -> bool:
    """Is the gateway's clock off by more than the limit, by about the same amount, in each of the last receive batches?

    A clock that is off shifts every batch by the same offset; a backlog being delivered (after an outage, or a
    replay) arrives stale by an amount that shrinks from batch to batch, and is not a clock fault.
    """
    if len(offsets_s) < settings.clock_skew_readings:
        return False
    steady = max(offsets_s) - min(offsets_s) <= settings.clock_skew_max_s / 2
    return steady and abs(clock_offset_s(offsets_s)) > settings.clock_skew_max_s


def is_offline(now: float, last_seen_ts: float, expected_interval_s: float, settings: FloodSettings) -> bool:
    """Has the station been silent for longer than `offline_factor` expected intervals?"""
    return now - last_seen_ts > settings.offline_factor * expected_interval_s
