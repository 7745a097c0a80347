"""The forecast learnt across rivers: probability of reaching the next alarm level within 1/2/3/6 h and the level
change with a conformal band, from the transferable features of `features.py`.

Per horizon, a logistic regression gives the probability (its log-loss fit keeps it calibrated; the horizons are
then made monotone: reaching a level within 2 h implies within 3 h), and a ridge regression the level change, whose
band comes from split-conformal quantiles of the residuals scaled by the current rate (a fast river errs more).
The file is plain JSON: the feature names and version it was trained for, standardisation, coefficients and quantiles;
loading refuses a file made for another feature set. Prediction is a few small matrix products (numpy only).
"""
from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tichwatch.detectors.flood.features import FEATURE_NAMES, FEATURE_VERSION, HORIZONS_S

FORMAT = "tichwatch-flood-forecast"
"""The `format` field of a model file."""
SHIPPED_MODEL = Path(__file__).with_name("forecast_model.json")
"""The model shipped with the package (written by tools/flood_train.py)."""
BAND_QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
"""Quantiles of the scaled residuals kept per horizon (the level band)."""
_RATE_COL = FEATURE_NAMES.index("rate_3h")
_DIST_COL = FEATURE_NAMES.index("dist_next")
_R1_COL = FEATURE_NAMES.index("rate_1h")
_SQUARED = tuple(FEATURE_NAMES.index(n) for n in
                 ("dist_next", "rate_1h", "rate_3h", "excess_r1_3h", "excess_r3_3h", "excess_r3_6h"))
GATE_MAX_DIST = 3.0
"""The probability model is fitted and used only where the water rises (1-hour or 3-hour rate above 0) within this
many alarm spacings of the next level; elsewhere the probability is 0. Fitted on the rows that matter, the logistic
regression is sharp where a warning is decided instead of being dominated by calm water."""


def gated(x: np.ndarray) -> np.ndarray:
    """Rows (of a 2-d feature array) where the probability model applies."""
    result: np.ndarray = (x[:, _DIST_COL] <= GATE_MAX_DIST) & ((x[:, _R1_COL] > 0) | (x[:, _RATE_COL] > 0))
    return result


def expand(x: np.ndarray) -> np.ndarray:
    """The probability model's inputs: the features, squares of the main ones and distance x rate interactions."""
    return np.hstack([x, x[:, _SQUARED] ** 2, (x[:, _DIST_COL] * x[:, _R1_COL])[:, None],
                      (x[:, _DIST_COL] * x[:, _RATE_COL])[:, None]])


N_EXPANDED = len(FEATURE_NAMES) + len(_SQUARED) + 2
"""Number of inputs of the probability model."""


class ModelMismatch(ValueError):
    """A model file made for another feature set or format."""


def _scale(rate_3h: np.ndarray, horizon_s: float) -> np.ndarray:
    """Scale of the level error: a floor plus the current rate times the horizon (alarm spacings)."""
    result: np.ndarray = 0.05 + np.abs(rate_3h) * (horizon_s / 3600.0)
    return result


@dataclass(frozen=True)
class LearntPrediction:
    """Probabilities of reaching the next level within each horizon and the predicted level change with its band."""

    horizons_s: tuple[float, ...]
    p_reach: np.ndarray  # (H,) monotone non-decreasing
    change: np.ndarray  # (H,) alarm spacings
    band: np.ndarray  # (len(BAND_QUANTILES), H) alarm spacings, change + scaled residual quantiles

    def p_within(self, window_s: float) -> float:
        """Probability of reaching the next level within `window_s` (interpolated between horizons, 0 at 0 s)."""
        xs = (0.0, *self.horizons_s)
        return float(np.interp(window_s, xs, (0.0, *self.p_reach.tolist())))

    def time_at(self, p: float) -> float | None:
        """Time by which the probability of having reached the level is `p` (a quantile of the arrival time);
        None when it is not that likely within the longest horizon."""
        ps = (0.0, *self.p_reach.tolist())
        xs = (0.0, *self.horizons_s)
        for k in range(1, len(ps)):
            if ps[k] >= p:
                lo, hi = ps[k - 1], ps[k]
                return xs[k - 1] + (xs[k] - xs[k - 1]) * ((p - lo) / (hi - lo) if hi > lo else 1.0)
        return None


@dataclass(frozen=True)
class LearntModel:
    """A trained cross-river forecast (see the module docstring)."""

    mean: np.ndarray  # (N_EXPANDED,) standardisation of the probability model's inputs
    std: np.ndarray
    reg_mean: np.ndarray  # (F,) standardisation of the regression's inputs
    reg_std: np.ndarray
    logit_coef: np.ndarray  # (H, N_EXPANDED)
    logit_intercept: np.ndarray  # (H,)
    reg_coef: np.ndarray  # (H, F)
    reg_intercept: np.ndarray  # (H,)
    residual_q: np.ndarray  # (len(BAND_QUANTILES), H)
    info: dict[str, Any] = field(default_factory=dict)

    def predict(self, x: np.ndarray, bias: np.ndarray | None = None) -> LearntPrediction:
        """Prediction for one feature row; `bias` (H,) shifts the log-odds (a station's on-line correction)."""
        row = x[None, :]
        if gated(row)[0]:
            logit = self.logit_coef @ ((expand(row)[0] - self.mean) / self.std) + self.logit_intercept
            if bias is not None:
                logit = logit + bias
            p = np.maximum.accumulate(1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30))))
        else:
            p = np.zeros(len(HORIZONS_S))
        change = self.reg_coef @ ((x - self.reg_mean) / self.reg_std) + self.reg_intercept
        scale = np.array([_scale(np.array(x[_RATE_COL]), h) for h in HORIZONS_S], dtype=float).reshape(-1)
        return LearntPrediction(HORIZONS_S, p, change, change + self.residual_q * scale)

    def predict_many(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (n, H), monotone across horizons, and level changes (n, H) for many rows (evaluation)."""
        p = np.zeros((len(x), len(HORIZONS_S)))
        g = gated(x)
        if g.any():
            z = (expand(x[g]) - self.mean) / self.std
            p[g] = 1.0 / (1.0 + np.exp(-np.clip(z @ self.logit_coef.T + self.logit_intercept, -30, 30)))
        zr = (x - self.reg_mean) / self.reg_std
        return np.maximum.accumulate(p, axis=1), zr @ self.reg_coef.T + self.reg_intercept

    def to_json(self) -> str:
        """The model file's text."""
        doc = {
            "format": FORMAT, "feature_version": FEATURE_VERSION, "feature_names": list(FEATURE_NAMES),
            "horizons_s": list(HORIZONS_S), "band_quantiles": list(BAND_QUANTILES),
            "gate_max_dist": GATE_MAX_DIST, "mean": _r(self.mean), "std": _r(self.std),
            "reg_mean": _r(self.reg_mean), "reg_std": _r(self.reg_std), "logit_coef": _r(self.logit_coef),
            "logit_intercept": _r(self.logit_intercept), "reg_coef": _r(self.reg_coef),
            "reg_intercept": _r(self.reg_intercept), "residual_q": _r(self.residual_q), "info": self.info,
        }
        return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LearntModel:
        """Parse a model file; ModelMismatch when it was made for another format, feature version or feature set."""
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ModelMismatch("not a TichWatch flood forecast model")
        if doc.get("feature_version") != FEATURE_VERSION or tuple(doc.get("feature_names") or ()) != FEATURE_NAMES:
            raise ModelMismatch(f"model made for feature set v{doc.get('feature_version')} "
                                f"{doc.get('feature_names')}, this build computes v{FEATURE_VERSION} {FEATURE_NAMES}")
        if tuple(doc.get("horizons_s") or ()) != HORIZONS_S or tuple(doc.get("band_quantiles") or ()) != BAND_QUANTILES:
            raise ModelMismatch("model made for other horizons or band quantiles")
        if doc.get("gate_max_dist") != GATE_MAX_DIST:
            raise ModelMismatch("model made for another gate of the probability model")
        f, h = len(FEATURE_NAMES), len(HORIZONS_S)
        arrays = {k: np.asarray(doc[k], dtype=float) for k in
                  ("mean", "std", "reg_mean", "reg_std", "logit_coef", "logit_intercept", "reg_coef", "reg_intercept",
                   "residual_q")}
        e = N_EXPANDED
        shapes = {"mean": (e,), "std": (e,), "reg_mean": (f,), "reg_std": (f,), "logit_coef": (h, e),
                  "logit_intercept": (h,), "reg_coef": (h, f),
                  "reg_intercept": (h,), "residual_q": (len(BAND_QUANTILES), h)}
        for k, shape in shapes.items():
            if arrays[k].shape != shape or not np.all(np.isfinite(arrays[k])):
                raise ModelMismatch(f"model field {k} has shape {arrays[k].shape}, expected {shape} (finite)")
        return cls(**arrays, info=dict(doc.get("info") or {}))

    @classmethod
    def load(cls, path: Path) -> LearntModel:
        """Read a model file (see `from_json`)."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _r(a: np.ndarray) -> Any:
    return np.round(a, 6).tolist()


@lru_cache(maxsize=1)
def shipped_model() -> LearntModel:
    """The model shipped with the package, read once."""
    return LearntModel.load(SHIPPED_MODEL)


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
    std = x.std(axis=0) if len(x) else np.ones(x.shape[1])
    std[std < 1e-6] = 1.0
    return mean, std


def fit(x: np.ndarray, reach: np.ndarray, change: np.ndarray, *, weight: np.ndarray | None = None, c: float = 0.3,
        alpha: float = 1.0, seed: int = 0, info: dict[str, Any] | None = None) -> LearntModel:
    """Train on feature rows `x` (n, F), reach labels (n, H; -1 = unknown) and level changes (n, H; NaN = unknown);
    `weight` per row (e.g. so every station counts alike in the regression). The conformal quantiles come from a
    held-out fifth of the rows (chosen with `seed`)."""
    from sklearn.linear_model import LogisticRegression, Ridge  # training only: the service never imports these

    w = np.ones(len(x)) if weight is None else weight
    g = gated(x)
    xe = expand(x[g])
    mean, std = _standardise(xe)
    ze = (xe - mean) / std
    reg_mean, reg_std = _standardise(x)
    z = (x - reg_mean) / reg_std
    h = len(HORIZONS_S)
    lc, li = np.zeros((h, xe.shape[1])), np.zeros(h)
    rc, ri = np.zeros((h, x.shape[1])), np.zeros(h)
    rq = np.zeros((len(BAND_QUANTILES), h))
    rng = np.random.default_rng(seed)
    calib = rng.random(len(x)) < 0.2
    for k in range(h):
        ok = reach[g, k] >= 0
        y = reach[g, k][ok]
        if len(y) == 0 or y.min() == y.max():
            li[k] = 30.0 if len(y) and y[0] else -30.0
        else:
            m = LogisticRegression(C=c, max_iter=3000).fit(ze[ok], y)
            lc[k], li[k] = m.coef_[0], m.intercept_[0]
        ok = np.isfinite(change[:, k])
        fit_rows, cal_rows = ok & ~calib, ok & calib
        r = Ridge(alpha=alpha).fit(z[fit_rows], change[fit_rows, k], sample_weight=w[fit_rows])
        rc[k], ri[k] = r.coef_, r.intercept_
        resid = change[cal_rows, k] - (z[cal_rows] @ rc[k] + ri[k])
        scaled = resid / _scale(x[cal_rows, _RATE_COL], HORIZONS_S[k])
        rq[:, k] = np.quantile(scaled, BAND_QUANTILES) if len(scaled) else 0.0
    meta = {"rows": len(x), "positives": [int((reach[:, k] == 1).sum()) for k in range(h)], "seed": seed,
            "gated_rows": int(g.sum()), "c": c, "alpha": alpha, **(info or {})}
    return LearntModel(mean, std, reg_mean, reg_std, lc, li, rc, ri, rq, meta)


def logit(p: float) -> float:
    """Log-odds of a probability (clipped away from 0 and 1)."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


class StationCalibration:
    """A station's own correction of the model's log-odds, learnt on line from its outcomes (one stochastic
    gradient step of the log-loss per horizon when a forecast's horizon has passed), so a river the model misjudges
    is corrected as its own history grows. Bounded: at most `max_pending` forecasts wait for their outcome."""

    def __init__(self, rate: float, step_s: float, limit: float = 1.5, max_pending: int = 64) -> None:
        self.rate = rate
        self.step_s = step_s
        self.limit = limit
        self.bias = np.zeros(len(HORIZONS_S))
        self._pending: deque[tuple[float, float, np.ndarray, list[bool]]] = deque(maxlen=max_pending)
        self._peak: deque[tuple[float, float]] = deque()  # (ts, level) of readings since the oldest pending one

    def copy(self) -> StationCalibration:
        """An independent copy (a checkpoint): the bias, the queues and each pending forecast's resolved flags copied;
        its probabilities (read-only) shared."""
        new = StationCalibration.__new__(StationCalibration)
        new.rate, new.step_s, new.limit, new.bias = self.rate, self.step_s, self.limit, self.bias.copy()
        new._pending = deque(((t0, thr, p, done.copy()) for t0, thr, p, done in self._pending),
                             maxlen=self._pending.maxlen)
        new._peak = self._peak.copy()
        return new

    def observe(self, ts: float, level_m: float) -> None:
        """Take a clean reading: resolve the horizons that have passed."""
        if not self._pending:
            return
        self._peak.append((ts, level_m))
        while self._pending:
            t0, thr, p, done = self._pending[0]
            for k, h in enumerate(HORIZONS_S):
                if done[k] or ts < t0 + h:
                    continue
                reached = any(lv >= thr for t, lv in self._peak if t0 < t <= t0 + h)
                self.bias[k] = float(np.clip(self.bias[k] + self.rate * (float(reached) - p[k]), -self.limit,
                                             self.limit))
                done[k] = True
            if not all(done):
                break
            self._pending.popleft()
        oldest = self._pending[0][0] if self._pending else ts
        while self._peak and self._peak[0][0] <= oldest:
            self._peak.popleft()

    def remember(self, ts: float, threshold_m: float, p: np.ndarray) -> None:
        """Keep a forecast (probabilities per horizon of reaching `threshold_m`) to learn from when it resolves."""
        if self.rate <= 0 or (self._pending and ts - self._pending[-1][0] < self.step_s):
            return
        kept = p.copy()
        kept.setflags(write=False)  # shared by the copies (checkpoints)
        self._pending.append((ts, threshold_m, kept, [False] * len(HORIZONS_S)))
