"""Commune indicators: pure counting rules."""
from __future__ import annotations

from tichwatch.api.indicators import ack_stats, availability


def test_availability_counts_recent_subjects() -> None:
    assert availability([100.0, 0.0, None], [10, 10, 10], now=110, factor=3) == 1 / 3
    assert availability([], [], now=0, factor=3) is None


def test_ack_stats_share_in_time_and_median() -> None:
    rows = [(0.0, 300.0), (0.0, 1200.0), (0.0, None), (5000.0, None)]  # in time, late, never (late), still has time
    stats = ack_stats(rows, now=5100.0, target_s=900)
    assert stats.alerts == 4
    assert stats.acknowledged_within_target == 1 / 3
    assert stats.median_ack_s == 750.0
    assert ack_stats([], now=0, target_s=900).acknowledged_within_target is None
