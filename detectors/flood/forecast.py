"""Forecast of the time until the next alarm level, with an uncertainty band and a probability of getting there.

Two methods, one result type:
* `ForecastModel`: per station, a multi-horizon ridge regression (scikit-learn) of the level change at each step of the
  horizon from robust rates over several windows (and upstream stations' rises over their lag), learnt from the
  history the detector has seen and refitted every `refit_interval_s`; its residuals give the band and the
  probability. It learns a river's everyday behaviour (tides, releases), so it is trusted only within the range of
  rates it learnt from (and, in the detector, only below BD1).
* `trend_forecast`: robust extrapolation of the Theil-Sen rate, letting the rise decay with a persistence time; the
  fallback with too little history and for water beyond the model's experience (floods). The spread of the pairwise
  slopes gives the band and the probability.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import Ridge

from tichwatch.config.flood import FloodSettings
from tichwatch.detectors.flood.history import LevelHistory
from tichwatch.detectors.flood.trend import Trend

_RESIDUAL_QUANTILES = np.linspace(0.02, 0.98, 49)  # how finely the residual distribution is kept per horizon


@dataclass(frozen=True, slots=True)
class Forecast:
    """When the water is predicted to reach the next alarm level (times relative to `ts`, None = not within the
    horizon), and how likely it is to get there within the horizon."""

    ts: float
    level_m: float
    next_level: str
    threshold_m: float
    rate_m_per_h: float
    p_reach: float
    eta_s: float | None
    eta_low_s: float | None
    eta_high_s: float | None
    method: str  # "learnt", "model" or "trend"
    p_by_horizon: tuple[tuple[float, float], ...] = ()  # learnt: (horizon s, probability of reaching it by then)
    window_s: float | None = None  # learnt: the window `p_reach` is for

    @property
    def distance_m(self) -> float:
        """Metres still to rise to the next level."""
        return self.threshold_m - self.level_m

    def evidence(self) -> dict[str, Any]:
        """JSON-serialisable facts for messages."""
        return {
            "level_m": round(self.level_m, 3),
            "next_level": self.next_level,
            "threshold_m": self.threshold_m,
            "distance_m": round(self.distance_m, 3),
            "rate_m_per_h": round(self.rate_m_per_h, 3),
            "confidence": round(self.p_reach, 3),
            "eta_s": _round(self.eta_s),
            "eta_low_s": _round(self.eta_low_s),
            "eta_high_s": _round(self.eta_high_s),
            "eta_ts": _round(None if self.eta_s is None else self.ts + self.eta_s),
            "eta_low_ts": _round(None if self.eta_low_s is None else self.ts + self.eta_low_s),
            "eta_high_ts": _round(None if self.eta_high_s is None else self.ts + self.eta_high_s),
            "forecast_ts": self.ts,  # the reading it was made from: the "as of" of every time above
            "method": self.method,
            **({"p_by_horizon": [{"horizon_s": h, "p": round(p, 3)} for h, p in self.p_by_horizon],
                "window_s": self.window_s} if self.p_by_horizon else {}),
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _eta_from_rate(distance_m: float, rate_m_per_h: float, settings: FloodSettings) -> float | None:
    """Time to rise `distance_m` when the rate decays with the persistence time constant; None beyond the horizon."""
    if distance_m <= 0:
        return 0.0
    tau_h = settings.forecast_trend_persistence_s / 3600.0
    reach_m = rate_m_per_h * tau_h  # the most a decaying rise can still add
    if reach_m <= distance_m:
        return None
    eta = -tau_h * math.log(1.0 - distance_m / reach_m) * 3600.0
    return eta if eta <= settings.forecast_horizon_s else None


def trend_forecast(
    ts: float, level_m: float, trend: Trend, next_level: str, threshold_m: float, settings: FloodSettings
) -> Forecast:
    """Extrapolate the robust rate, decaying with `forecast_trend_persistence_s` (rises end, and a straight line
    overstates the far end); the share of pairwise slopes that get there within the horizon is the probability."""
    dist = threshold_m - level_m
    tau_h = settings.forecast_trend_persistence_s / 3600.0
    gain_h = tau_h * (1.0 - math.exp(-settings.forecast_horizon_s / 3600.0 / tau_h))  # rise within horizon per m/h
    slopes = trend.slopes_m_per_h
    if dist > slopes[-1] * gain_h:
        # Out of reach even at the steepest pairwise slope: the common case, answered without the details.
        return Forecast(ts, level_m, next_level, threshold_m, trend.rate_m_per_h, 0.0, None, None, None, "trend")
    p = 1.0 if dist <= 0 else float(len(slopes) - np.searchsorted(slopes, dist / gain_h, side="left")) / len(slopes)
    q = settings.forecast_band_quantile
    return Forecast(
        ts, level_m, next_level, threshold_m, trend.rate_m_per_h, p,
        _eta_from_rate(dist, trend.rate_m_per_h, settings),
        _eta_from_rate(dist, trend.quantile(q), settings),
        _eta_from_rate(dist, trend.quantile(1 - q), settings),
        "trend",
    )


def first_crossing(horizons_s: np.ndarray, rise_m: np.ndarray, distance_m: float) -> float | None:
    """First time the predicted rise path (0 at time 0) reaches `distance_m`, interpolated; None if it never does."""
    if distance_m <= 0:
        return 0.0
    above = np.nonzero(rise_m >= distance_m)[0]
    if len(above) == 0:
        return None
    k = int(above[0])
    h0, r0 = (0.0, 0.0) if k == 0 else (float(horizons_s[k - 1]), float(rise_m[k - 1]))
    h1, r1 = float(horizons_s[k]), float(rise_m[k])
    return h0 + (h1 - h0) * (distance_m - r0) / (r1 - r0) if r1 > r0 else h1


@dataclass(frozen=True, slots=True)
class ModelPrediction:
    """The model's predicted rise at each horizon and the residual quantiles around it."""

    horizons_s: np.ndarray  # (K,)
    rise_m: np.ndarray  # (K,)
    residual_q: np.ndarray  # (len(_RESIDUAL_QUANTILES), K)
    band_lo_m: np.ndarray  # (K,) lower band quantile of the residuals
    band_hi_m: np.ndarray  # (K,) upper band quantile of the residuals


def model_forecast(
    ts: float, level_m: float, rate_m_per_h: float, pred: ModelPrediction, next_level: str, threshold_m: float,
    settings: FloodSettings,
) -> Forecast:
    """Read the ETA, its band and the probability of reaching the level off the model's prediction."""
    dist = threshold_m - level_m
    if dist > float(np.max(pred.rise_m + pred.residual_q[-1])):
        # Out of reach even for the model's worst errors: the common case, answered without the details.
        return Forecast(ts, level_m, next_level, threshold_m, rate_m_per_h, 0.0, None, None, None, "model")
    if dist <= 0:
        p = 1.0
    else:
        # Per horizon, the share of past errors that would have put the water at the level; the best horizon bounds
        # the probability of getting there at some time within the horizon from below.
        p = float(np.max(np.mean(pred.residual_q >= dist - pred.rise_m, axis=0)))
    return Forecast(
        ts, level_m, next_level, threshold_m, rate_m_per_h, p,
        first_crossing(pred.horizons_s, pred.rise_m, dist),
        first_crossing(pred.horizons_s, pred.rise_m + pred.band_hi_m, dist),
        first_crossing(pred.horizons_s, pred.rise_m + pred.band_lo_m, dist),
        "model",
    )


def _quantiles_of_sorted(sorted_cols: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Quantiles (linear interpolation, as numpy's default) of each column of an array sorted along axis 0; one sort
    serves all quantiles, where np.quantile would partition again for each."""
    pos = qs * (len(sorted_cols) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(sorted_cols) - 1)
    w = (pos - lo)[:, None]
    result: np.ndarray = sorted_cols[lo] * (1 - w) + sorted_cols[hi] * w
    return result


def _read_only(a: np.ndarray) -> np.ndarray:
    """`a`, made read-only: an array held by state that checkpoints share must never be written in place."""
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True)
class _Fit:
    """One fit of the model, as plain read-only arrays (shared by the model's copies)."""

    coef: np.ndarray  # (K, features)
    intercept: np.ndarray  # (K,)
    residual_q: np.ndarray  # (len(_RESIDUAL_QUANTILES), K)
    band: np.ndarray  # (2, K): lower and upper band quantiles of the residuals
    trusted: np.ndarray  # (2, features): the range of each feature the model learnt from


class ForecastModel:
    """One station's learnt forecast: ridge regression of the rise at each forecast step from the current features.

    Training samples are the features seen at most every `forecast_step_s`; each becomes a sample once the history
    holds the levels a whole horizon later. Only the newest `forecast_max_train_samples` are kept.
    """

    def __init__(self, settings: FloodSettings, n_features: int, max_gap_s: float) -> None:
        self.settings = settings
        k = int(np.ceil(settings.forecast_horizon_s / settings.forecast_step_s))
        self.horizons_s = _read_only(settings.forecast_step_s * np.arange(1, k + 1))
        self.max_gap_s = max_gap_s
        cap = settings.forecast_max_train_samples
        self._x = np.empty((cap, n_features))
        self._y = np.empty((cap, k))
        self._n = 0
        self._next = 0
        self._pending: deque[tuple[float, float, np.ndarray]] = deque()  # features read-only: shared by copies
        self._fit: _Fit | None = None  # frozen, its arrays read-only: shared by copies
        self.fitted_ts: float | None = None

    def copy(self) -> ForecastModel:
        """An independent copy (a checkpoint): the training samples and the queue copied; the settings, the horizons,
        the queued features and the fit (all read-only) shared."""
        new = ForecastModel.__new__(ForecastModel)
        new.settings, new.horizons_s, new.max_gap_s = self.settings, self.horizons_s, self.max_gap_s
        n = new._n = self._n
        new._next = self._next
        new._x, new._y = np.empty_like(self._x), np.empty_like(self._y)
        new._x[:n], new._y[:n] = self._x[:n], self._y[:n]  # rows from `_n` on were never written (nor are read)
        new._pending, new._fit, new.fitted_ts = self._pending.copy(), self._fit, self.fitted_ts
        return new

    def observe(self, ts: float, level_m: float, features: np.ndarray, history: LevelHistory) -> None:
        """Queue the features seen now as a future training sample and complete the samples whose horizon has passed."""
        if not self._pending or ts - self._pending[-1][0] >= self.settings.forecast_step_s:
            self._pending.append((ts, level_m, _read_only(features.copy())))
        horizon = float(self.horizons_s[-1])
        while self._pending and self._pending[0][0] + horizon <= ts:
            t0, level0, x = self._pending.popleft()
            y = self._targets(t0, level0, history)
            if y is not None:
                self._add(x, y)

    def _targets(self, t0: float, level0: float, history: LevelHistory) -> np.ndarray | None:
        hts, hlv = history.since(t0)
        when = t0 + self.horizons_s
        idx = np.searchsorted(hts, when, side="left")
        if len(hts) < 2 or idx[-1] >= len(hts) or idx[0] == 0:
            return None
        # A target interpolated across a long gap is a guess, not an observation.
        if np.any(hts[idx] - hts[idx - 1] > self.max_gap_s):
            return None
        result: np.ndarray = np.interp(when, hts, hlv) - level0
        return result

    def _add(self, x: np.ndarray, y: np.ndarray) -> None:
        self._x[self._next] = x
        self._y[self._next] = y
        self._next = (self._next + 1) % len(self._x)
        self._n = min(self._n + 1, len(self._x))

    def maybe_refit(self, ts: float) -> bool:
        """Refit when enough samples are held and `refit_interval_s` has passed since the last fit."""
        s = self.settings
        if self._n < s.forecast_min_train_samples:
            return False
        if self.fitted_ts is not None and ts - self.fitted_ts < s.refit_interval_s:
            return False
        x, y = self._x[: self._n], self._y[: self._n]
        model = Ridge(alpha=s.forecast_ridge_alpha).fit(x, y)
        # Keep plain arrays: predicting with numpy is far cheaper per reading than Ridge.predict's input validation.
        coef = np.array(model.coef_, dtype=float)  # copies: their own memory, made read-only below
        intercept = np.array(model.intercept_, dtype=float)
        residuals = np.sort(y - (x @ coef.T + intercept), axis=0)
        q, t = s.forecast_band_quantile, s.forecast_model_trust_quantile
        self._fit = _Fit(
            _read_only(coef), _read_only(intercept), _read_only(_quantiles_of_sorted(residuals, _RESIDUAL_QUANTILES)),
            _read_only(_quantiles_of_sorted(residuals, np.array([1 - q, q]))),
            _read_only(_quantiles_of_sorted(np.sort(x, axis=0), np.array([t, 1 - t]))),
        )
        self.fitted_ts = ts
        return True

    def predict(self, features: np.ndarray) -> ModelPrediction | None:
        """The predicted rise path; None before the first fit and when the rates lie outside what the model learnt
        from (a flood rising faster than anything in its history: a regression fitted on calmer water would damp it,
        so the robust trend is the better guess)."""
        f = self._fit
        if f is None or (features < f.trusted[0]).any() or (features > f.trusted[1]).any():
            return None
        return ModelPrediction(self.horizons_s, f.coef @ features + f.intercept, f.residual_q, f.band[0], f.band[1])


def upstream_rise(history: LevelHistory, ts: float, lag_s: float, max_age_s: float) -> float:
    """How much an upstream station rose over the `lag_s` before `ts` (0 when its readings do not cover that span:
    a missing upstream must not look like a flood wave)."""
    hts, hlv = history.ts, history.levels
    if len(hts) < 2 or hts[0] > ts - lag_s or ts - hts[-1] > max_age_s:
        return 0.0
    start, end = np.interp([ts - lag_s, min(ts, float(hts[-1]))], hts, hlv)
    return float(end - start)
