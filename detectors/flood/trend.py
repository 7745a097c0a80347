"""Robust rate of rise: Theil-Sen (median of pairwise slopes), which shrugs off spikes and uneven steps."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tichwatch.detectors.flood.history import LevelHistory

_MAD_TO_SIGMA = 1.4826  # makes the median absolute deviation estimate a standard deviation for normal noise


@dataclass(frozen=True, slots=True)
class Trend:
    """A robust straight line through recent readings."""

    rate_m_per_h: float  # median of pairwise slopes
    slopes_m_per_h: np.ndarray  # all pairwise slopes, sorted (their spread is the rate's uncertainty); read-only
    level_m: float  # the line's value at `ts` (robust to a spike in the newest reading)
    ts: float
    n: int
    span_s: float
    scatter_m: float  # robust standard deviation of the readings about the line (1.4826 x MAD)

    def quantile(self, q: float) -> float:
        """A quantile of the pairwise slopes (linear interpolation), metres per hour."""
        s = self.slopes_m_per_h
        pos = q * (len(s) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(s) - 1)
        return float(s[lo] + (s[hi] - s[lo]) * (pos - lo))


def _median_sorted(v: np.ndarray) -> float:
    n = len(v)
    return 0.5 * float(v[(n - 1) // 2] + v[n // 2])


@lru_cache(maxsize=256)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, k=1)


def theil_sen(ts: np.ndarray, levels: np.ndarray) -> Trend | None:
    """The Theil-Sen line through (ts, levels) with strictly increasing ts; None with fewer than two readings."""
    n = len(ts)
    if n < 2:
        return None
    i, j = _pairs(n)
    slopes = (levels[j] - levels[i]) / (ts[j] - ts[i])
    slopes.sort()
    rate_s = _median_sorted(slopes)
    t_end = float(ts[-1])
    offsets = levels - rate_s * (ts - t_end)
    offsets.sort()
    level = _median_sorted(offsets)
    deviations = np.abs(offsets - level)
    deviations.sort()
    scatter = _MAD_TO_SIGMA * _median_sorted(deviations)
    slopes_m_per_h = slopes * 3600.0
    slopes_m_per_h.setflags(write=False)  # a Trend is shared by the detector's checkpoints: never edited in place
    return Trend(rate_s * 3600.0, slopes_m_per_h, level, t_end, n, float(ts[-1] - ts[0]), scatter)


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


def rapid_rise(active: bool, rate_m_per_h: float | None, near_flood: bool, raise_m_per_h: float,
               clear_ratio: float) -> bool:
    """Is the river rising rapidly? Raised only near flood levels; once raised, it clears when the rate falls below
    `clear_ratio` of the raise rate (hysteresis, so a rate wobbling around the limit does not flap)."""
    if rate_m_per_h is None:
        return active
    if active:
        return rate_m_per_h >= raise_m_per_h * clear_ratio
    return near_flood and rate_m_per_h >= raise_m_per_h
