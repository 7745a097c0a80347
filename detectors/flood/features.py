"""Inputs of the forecast learnt across rivers: facts about a station's recent water that mean the same on any river.

Levels are measured in the station's own alarm spacing (half the BD1..BD3 gap), so 0.5 m/h on a river whose levels
are 1 m apart and 0.5 m/h on one whose levels are 3 m apart are different things, as they are for the people there.
Every feature at reading i uses readings at or before i only (causal), so the same function serves training on
recorded series (all positions at once) and the detector (its newest reading).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

FEATURE_VERSION = 1
"""Bumped whenever a feature's meaning changes: a model file for another version is refused."""
FEATURE_NAMES: tuple[str, ...] = (
    "dist_next", "log_dist_next", "pos_bd1", "rate_1h", "rate_3h", "rate_6h", "rate_12h", "accel_3h",
    "excess_r1_1h", "excess_r1_2h", "excess_r1_3h", "excess_r1_6h", "excess_r3_1h", "excess_r3_2h", "excess_r3_3h",
    "excess_r3_6h", "rise_age_d", "season_sin", "season_cos", "log_step_h",
    "upstream_rise", "upstream_over_bd2", "rain_3h", "rain_24h", "rain_known",
)
"""Names of the features, in the order of the matrix columns (stored in the model file and checked on load)."""
HORIZONS_S: tuple[float, ...] = (3600.0, 7200.0, 10800.0, 21600.0)
"""Horizons of the learnt probabilities and level changes: 1, 2, 3 and 6 hours."""
RATE_WINDOWS_S: tuple[float, ...] = (3600.0, 10800.0, 21600.0, 43200.0)
_H = 3600.0
_DAY = 86400.0
_YEAR = 365.2425 * _DAY
_CLIP_REACH = 5.0
_RISE_LOOKBACK_S = 2 * _DAY
RainSource = Callable[[float, float], float | None]
"""Rain that fell at a station's gauges in (end_ts - window_s, end_ts], mm, None when unknown: f(end_ts, window_s)."""


def spacing_m(thresholds: Sequence[float]) -> float:
    """A station's alarm spacing: half the BD1..BD3 gap (at least 5 cm), the unit of every level feature."""
    return max((thresholds[2] - thresholds[0]) / 2.0, 0.05)


def next_threshold(level_m: float, thresholds: Sequence[float]) -> tuple[int, float] | None:
    """(1-based index, threshold) of the lowest alarm level above `level_m`; None at or above the top one."""
    for k, thr in enumerate(thresholds, start=1):
        if level_m < thr:
            return k, thr
    return None


@dataclass(frozen=True, slots=True)
class Upstream:
    """An upstream station's readings (oldest first), its alarm levels and the travel time of a wave from it."""

    ts: np.ndarray
    levels: np.ndarray
    thresholds: tuple[float, ...]
    lag_s: float
    max_age_s: float


def _rates(ts: np.ndarray, lv: np.ndarray, at: np.ndarray, w: float) -> np.ndarray:
    """Rate (m/h) over the `w` before each time in `at` (a reading time), from the interpolated level `w` earlier;
    with a reading gap longer than `w`, the chord from the previous reading; from the first reading when the record
    is shorter."""
    if len(ts) < 2:
        return np.zeros(len(at))
    now = np.interp(at, ts, lv)
    start = np.maximum(at - w, ts[0])
    span = at - start
    past = np.interp(start, ts, lv)
    out = np.zeros(len(at))
    ok = span > 0
    out[ok] = (now[ok] - past[ok]) / (span[ok] / _H)
    return out


def feature_matrix(
    ts: np.ndarray, lv: np.ndarray, idx: np.ndarray, thresholds: Sequence[float], step_s: float,
    upstream: Sequence[Upstream] = (), rain: Sequence[tuple[float | None, float | None]] | None = None,
) -> np.ndarray:
    """Features (columns as FEATURE_NAMES) at readings `idx` of a station's series `ts`/`lv` (time order). Positions
    at or above the top alarm level get the top level as their next one (their rows are not used). `rain` gives
    (mm in 3 h, mm in 24 h) per position, None where unknown."""
    sp = spacing_m(thresholds)
    at, level = ts[idx], lv[idx]
    thr = np.asarray(thresholds, dtype=float)
    k = np.minimum(np.searchsorted(thr, level, side="right"), len(thr) - 1)
    dist = np.maximum((thr[k] - level) / sp, 0.0)
    rates = [_rates(ts, lv, at, w) / sp for w in RATE_WINDOWS_S]
    r1, r3, r6, r12 = rates
    # The rate over the three hours before the last three: a rise that quickens is the start of a flood wave.
    prior = _rates(ts, lv, np.maximum(at - 3 * _H, ts[0]), 3 * _H) / sp
    accel = r3 - prior

    def excess(rate: np.ndarray, hours: float) -> np.ndarray:
        # How far above the next level the current rate would take the water in `hours` (spacings): the straight
        # line's answer, which the model weighs against everything else.
        result: np.ndarray = np.clip(rate * hours - dist, -_CLIP_REACH, _CLIP_REACH)
        return result

    age = np.zeros(len(idx))
    for j, i in enumerate(idx.tolist()):
        lo = int(np.searchsorted(ts, ts[i] - _RISE_LOOKBACK_S, side="left"))
        m = lo + int(np.argmin(lv[lo : i + 1]))
        age[j] = (ts[i] - ts[m]) / _DAY
    doy = 2 * math.pi * ((at % _YEAR) / _YEAR)
    up_rise, up_over = _upstream(at, upstream)
    rain3 = np.zeros(len(idx))
    rain24 = np.zeros(len(idx))
    known = np.zeros(len(idx))
    for j, (a, b) in enumerate(rain or ()):
        if a is not None or b is not None:
            known[j] = 1.0
            rain3[j] = math.log1p(max(a or 0.0, 0.0))
            rain24[j] = math.log1p(max(b or 0.0, 0.0))
    return np.column_stack([
        np.minimum(dist, 10.0), np.log(dist + 0.02), np.clip((level - thr[0]) / sp, -10.0, 10.0),
        np.clip(r1, -3, 3), np.clip(r3, -3, 3), np.clip(r6, -3, 3), np.clip(r12, -3, 3), np.clip(accel, -3, 3),
        *(excess(r, h / _H) for r in (r1, r3) for h in HORIZONS_S), np.minimum(age, 2.0), np.sin(doy), np.cos(doy),
        np.full(len(idx), math.log1p(step_s / _H)), up_rise, up_over, rain3, rain24, known,
    ])


def _upstream(at: np.ndarray, links: Sequence[Upstream]) -> tuple[np.ndarray, np.ndarray]:
    """Largest upstream rise over its lag (in its own spacing) and how far the highest upstream station stands above
    its BD2 (spacings, -2 = far below or unknown); a silent upstream station counts as no rise."""
    rise = np.zeros(len(at))
    over = np.full(len(at), -2.0)
    for u in links:
        if len(u.ts) < 2:
            continue
        sp = spacing_m(u.thresholds)
        last = np.searchsorted(u.ts, at, side="right") - 1
        ok = (last >= 0) & (at - u.ts[np.maximum(last, 0)] <= u.max_age_s) & (u.ts[0] <= at - u.lag_s)
        li = np.maximum(last, 0)
        now = u.levels[li]
        start = np.interp(np.minimum(at - u.lag_s, u.ts[li]), u.ts, u.levels)
        rise = np.where(ok, np.maximum(rise, np.clip((now - start) / sp, -3, 3)), rise)
        over = np.where(ok, np.maximum(over, np.clip((now - u.thresholds[1]) / sp, -2, 2)), over)
    return rise, over


def reach_targets(ts: np.ndarray, lv: np.ndarray, idx: np.ndarray, thresholds: Sequence[float],
                  max_gap_s: float) -> np.ndarray:
    """Per position and horizon: 1 when the water reaches the next alarm level within the horizon (a reading at or
    above it, or the level interpolated at the horizon's end), 0 when it does not, -1 when the record cannot tell
    (it ends, or a gap longer than `max_gap_s` spans the horizon's end)."""
    out = np.full((len(idx), len(HORIZONS_S)), -1, dtype=int)
    thr = np.asarray(thresholds, dtype=float)
    n = len(ts)
    for j, i in enumerate(idx.tolist()):
        k = int(np.searchsorted(thr, lv[i], side="right"))
        if k >= len(thr):
            continue
        target = thr[k]
        for h, horizon in enumerate(HORIZONS_S):
            end = ts[i] + horizon
            e = int(np.searchsorted(ts, end, side="right"))  # readings i+1 .. e-1 lie within the horizon
            if e > i + 1 and float(lv[i + 1 : e].max()) >= target:
                out[j, h:] = 1
                break
            if e >= n or ts[e] - ts[e - 1] > max_gap_s:
                break  # cannot tell this horizon (nor the longer ones, unless a reading reaches it: not checked)
            y_end = lv[e - 1] + (lv[e] - lv[e - 1]) * (end - ts[e - 1]) / (ts[e] - ts[e - 1])
            out[j, h] = int(y_end >= target)
    return out


def change_targets(ts: np.ndarray, lv: np.ndarray, idx: np.ndarray, thresholds: Sequence[float],
                   max_gap_s: float) -> np.ndarray:
    """Per position and horizon: the level change to the horizon's end in alarm spacings (interpolated between the
    readings around it), NaN when a gap longer than `max_gap_s` spans it or the record ends."""
    sp = spacing_m(thresholds)
    out = np.full((len(idx), len(HORIZONS_S)), np.nan)
    at = ts[idx]
    for h, horizon in enumerate(HORIZONS_S):
        end = at + horizon
        e = np.searchsorted(ts, end, side="left")
        ok = (e < len(ts)) & (e > 0)
        ec = np.clip(e, 1, len(ts) - 1)
        ok &= (ts[ec] - ts[ec - 1] <= max_gap_s) | (ts[ec] == end)
        val = np.interp(end, ts, lv)
        out[ok, h] = (val[ok] - lv[idx][ok]) / sp
    return out


def rising_near(ts: np.ndarray, lv: np.ndarray, thresholds: Sequence[float], max_dist: float) -> bool:
    """Is the newest reading within `max_dist` alarm spacings of the next level and rising over 1 or 3 hours (the
    same rates as `feature_matrix`)? The cheap test that lets a calm river skip the full feature computation."""
    n = len(ts)
    if n < 2:
        return False
    sp = spacing_m(thresholds)
    nxt = next_threshold(float(lv[-1]), thresholds)
    target = nxt[1] if nxt is not None else thresholds[-1]
    if (target - float(lv[-1])) / sp > max_dist:
        return False
    t = float(ts[-1])
    for w in RATE_WINDOWS_S[:2]:
        start = max(t - w, float(ts[0]))
        if start < t and float(lv[-1]) - float(np.interp(start, ts, lv)) > 0:
            return True
    return False
