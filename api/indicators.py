"""The commune's indicators: sensor and camera availability, alerts acknowledged within the target, time to acknowledge.

Pure functions over plain values; `routes_indicators` gathers them from the store.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class AckStats:
    """How quickly warnings were acknowledged over a period."""

    alerts: int
    acknowledged_within_target: float | None  # share 0..1, None when no alert needed acknowledging
    median_ack_s: float | None


def availability(last_ts: Sequence[float | None], expected_s: Sequence[float], now: float, factor: float) -> float | None:
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
