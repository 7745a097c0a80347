"""Robust rate of rise: Theil-Sen (median of pairwise slopes), which shrugs off spikes and uneven steps."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from detectors.flood.history import LevelHistory


@dataclass(frozen=True, slots=True)
class Trend:
    """A robust straight line through recent readings."""

    rate_m_per_h: float  # median of pairwise slopes
    slopes_m_per_h: np.ndarray  # all pairwise slopes, sorted (their spread is the rate's uncertainty)
    level_m: float  # the line's value at `ts` (robust to a spike in the newest reading)
    ts: float
    n: int
    span_s: float

    def quantile(self, q: float) -> float:
        """A quantile of the pairwise slopes, metres per hour."""
        return float(np.quantile(self.slopes_m_per_h, q))


def median(values: np.ndarray) -> float:
    """Median of a small array (np.median's generality costs more than the sort for a few dozen values)."""
    v = np.sort(values)
    n = len(v)
    return 0.5 * float(v[(n - 1) // 2] + v[n // 2])


@lru_cache(maxsize=256)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, k=1)


def theil_sen(ts: np.ndarray, levels: np.ndarray) -> Trend | None:
    """The Theil-Sen line through (ts, levels), None with fewer than two distinct times."""
    n = len(ts)
    if n < 2 or ts[-1] <= ts[0]:
        return None
    i, j = _pairs(n)
    dt = ts[j] - ts[i]
    ok = dt > 0
    slopes = (levels[j][ok] - levels[i][ok]) / dt[ok]
    slopes.sort()
    m = len(slopes)
    rate_s = 0.5 * float(slopes[(m - 1) // 2] + slopes[m // 2])
    t_end = float(ts[-1])
    level = median(levels - rate_s * (ts - t_end))
    return Trend(rate_s * 3600.0, slopes * 3600.0, level, t_end, n, float(ts[-1] - ts[0]))


def window_trend(
    history: LevelHistory, window_s: float, min_points: int, max_span_s: float, max_points: int = 40
) -> Trend | None:
    """The trend over the last `window_s`; with too few readings there, the newest `min_points` if they span at most
    `max_span_s` (sparse stations report every few hours); None when even that is missing. Long windows of frequent
    readings are thinned to about `max_points` (the newest always kept): pairs grow with the square of the count."""
    last = history.last()
    if last is None:
        return None
    ts, lv = history.since(last[0] - window_s)
    if len(ts) < min_points:
        ts, lv = history.tail(min_points)
        if len(ts) < min_points or last[0] - ts[0] > max_span_s:
            return None
    if len(ts) > max_points:
        stride = -(-len(ts) // max_points)
        ts, lv = ts[::-stride][::-1], lv[::-stride][::-1]
    return theil_sen(ts, lv)


def rapid_rise(active: bool, rate_m_per_h: float | None, raise_m_per_h: float, clear_ratio: float) -> bool:
    """Is the river rising rapidly (with hysteresis: once raised, it clears below `clear_ratio` of the raise rate)?"""
    if rate_m_per_h is None:
        return active
    return rate_m_per_h >= (raise_m_per_h * clear_ratio if active else raise_m_per_h)
