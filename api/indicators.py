"""The commune's indicators: sensor and camera availability, alerts acknowledged within the target, time to acknowledge,
and false alarms per station and camera.

`commune_indicators` reads the store (its latest readings and frames, one query of the alerts); the figures
themselves are pure functions over plain values.
"""
from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tichwatch.alerts.false_alarms import SubjectCount, counts_by_subject
from tichwatch.config.schema import CameraConfig, IndicatorSettings, StationConfig
from tichwatch.core.detection import Severity
from tichwatch.store.rows import Query
from tichwatch.store.store import Store


@dataclass(frozen=True)
class AckStats:
    """How quickly warnings were acknowledged over a period."""

    alerts: int
    acknowledged_within_target: float | None  # share 0..1, None when no alert needed acknowledging
    median_ack_s: float | None


def availability(last_ts: Sequence[float | None], expected_s: Sequence[float], now: float,
                 factor: float) -> float | None:
    """Share of subjects whose last sample is recent (within factor × expected interval); None with no subjects."""
    if not expected_s:
        return None
    up = sum(1 for ts, exp in zip(last_ts, expected_s) if ts is not None and now - ts <= factor * exp)
    return up / len(expected_s)


def ack_stats(alerts: Sequence[tuple[float, float | None]], now: float, target_s: float) -> AckStats:
    """From (firing since, acknowledged at or None) of warnings: the share acknowledged in time and the median delay.

    An alert still unacknowledged counts as late once the target has passed, and is left out while it still has time.
    """
    delays = [ack - start for start, ack in alerts if ack is not None]
    decided = [(start, ack) for start, ack in alerts if ack is not None or now - start > target_s]
    in_time = sum(1 for start, ack in decided if ack is not None and ack - start <= target_s)
    return AckStats(len(alerts), in_time / len(decided) if decided else None,
                    statistics.median(delays) if delays else None)


@dataclass(frozen=True)
class FalseAlarms:
    """Alerts of one station or camera over the period, and how many an officer marked as false alarms."""

    kind: str  # "station" or "camera"
    subject: str
    name: str
    alerts: int
    false_alarms: int


def false_alarm_table(counts: Mapping[str, SubjectCount], stations: Sequence[StationConfig],
                      cameras: Sequence[CameraConfig]) -> list[FalseAlarms]:
    """Every station, then every camera, with its alerts and false alarms (zero when it had none)."""
    none = SubjectCount("", 0, 0)
    return ([FalseAlarms("station", s.id, s.name, counts.get(s.id, none).alerts, counts.get(s.id, none).false_alarms)
             for s in stations]
            + [FalseAlarms("camera", c.id, c.site, counts.get(c.id, none).alerts, counts.get(c.id, none).false_alarms)
               for c in cameras])


@dataclass(frozen=True)
class Indicators:
    """The commune's indicators now."""

    sensor_availability: float | None
    camera_availability: float | None
    acks: AckStats
    false_alarms: list[FalseAlarms]


def warning_ack_times(query: Query, since_ts: float) -> list[tuple[float, float | None]]:
    """(firing since, acknowledged at or None) of every warning or worse that started since `since_ts`."""
    rows = query("SELECT firing_since_ts, acknowledged_ts FROM alerts WHERE started_ts >= ? AND severity >= ?",
                 (since_ts, int(Severity.WARNING)))
    return [(r[0], r[1]) for r in rows]


def commune_indicators(store: Store, stations: Sequence[StationConfig], cameras: Sequence[CameraConfig],
                       cfg: IndicatorSettings, now: float) -> Indicators:
    """Sensor and camera availability now; acknowledgements and false alarms over `cfg.window_days`."""
    latest = store.latest_readings()
    sensor = availability([latest[s.id].ts if s.id in latest else None for s in stations],
                          [s.expected_interval_s for s in stations], now, cfg.available_within_factor)
    frames = [store.latest_frame(c.id) for c in cameras]
    camera = availability([f.ts if f else None for f in frames], [c.expected_interval_s for c in cameras], now,
                          cfg.available_within_factor)
    since = now - cfg.window_days * 86400
    acks = ack_stats(warning_ack_times(store.query_all, since), now, cfg.ack_target_s)
    return Indicators(sensor, camera, acks, false_alarm_table(counts_by_subject(store.query_all, since), stations,
                                                              cameras))
