"""The flood-risk detector: alarm levels, rapid rise, early warning and sensor health for every station.

It composes the pure parts (levels, trend, forecast, warning, health) and keeps their state per station. A faulty
reading (out of range, spike, stuck sensor) only ever moves sensor-health detections; the flood detections see clean
readings only. Readings not newer than the station's last one (duplicates of an at-least-once delivery) are ignored.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, cast

import numpy as np

from tichwatch.config.flood import FloodSettings
from tichwatch.config.rain import RainGaugeConfig
from tichwatch.config.schema import StationConfig
from tichwatch.core.detection import TAKEN_OVER_BY, Detection, Severity
from tichwatch.core.samples import RainReading, Reading
from tichwatch.detectors.flood import health
from tichwatch.detectors.flood.features import HORIZONS_S, Upstream, feature_matrix, rising_near
from tichwatch.detectors.flood.forecast import Forecast, ForecastModel, model_forecast, trend_forecast, upstream_rise
from tichwatch.detectors.flood.history import LevelHistory
from tichwatch.detectors.flood.learnt import GATE_MAX_DIST, LearntModel, StationCalibration, shipped_model
from tichwatch.detectors.flood.levels import Ladder, LevelChange, LevelState, severity_of, step_level, warning_severity
from tichwatch.detectors.flood.rain import RainHistory
from tichwatch.detectors.flood.status import CommuneStatus, StationStatus, commune_status, station_status
from tichwatch.detectors.flood.trend import Trend, rapid_rise, theil_sen, window_trend
from tichwatch.detectors.flood.warning import WarningState, step_warning

LEVEL = "flood.level"
"""The alarm level (BD1/BD2/BD3/RECORD) a station is at: raised, moved up or down, cleared below BD1."""
RAPID_RISE = "flood.rapid_rise"
"""The river rises faster than `rapid_rise_m_per_h` near flood levels."""
FORECAST = "flood.forecast"
"""Early warning: the next alarm level is predicted within the horizon with enough confidence."""
FLOOD_KINDS: tuple[str, ...] = (LEVEL, RAPID_RISE, FORECAST)
"""Every flood detection kind."""
_LEARNT_LOOKBACK_S = 2 * 86400.0  # the learnt forecast's longest look back (time since the rise began)


class _Station:
    """One station's state across readings."""

    def __init__(self, cfg: StationConfig, settings: FloodSettings, keep_s: float) -> None:
        self.cfg = cfg
        self.ladder = Ladder.from_alarm(cfg.alarm)
        self.history = LevelHistory(keep_s)
        self.level = LevelState()
        self.warning = WarningState()
        n_features = 1 + len(settings.forecast_feature_windows_s) + len(cfg.upstream)
        # A training target interpolated across more than two reporting steps would be a guess, not an observation.
        max_gap_s = 2 * max(cfg.expected_interval_s, settings.forecast_step_s)
        self.model = ForecastModel(settings, n_features, max_gap_s)
        self.calibration = StationCalibration(settings.forecast_online_rate, settings.forecast_step_s)
        self.run: health.FlatRun | None = None
        self.outliers: list[tuple[float, float]] = []
        self.offsets: deque[float] = deque(maxlen=settings.clock_skew_readings)  # one per receive batch
        self.last_received_ts: float | None = None
        self.shift_ts: float | None = None  # start of the last confirmed level shift
        self.faults: dict[str, Detection] = {}
        self.rapid = False
        self.trend: Trend | None = None
        self.forecast: Forecast | None = None
        self.long_rates: list[float] = []
        self.long_rates_ts: float | None = None
        self.last_ts: float | None = None
        self.last_seen_ts: float | None = None

    def copy(self) -> _Station:
        """An independent copy (a checkpoint, taken before every committed batch: cheap). What is edited in place is
        copied; the configuration, the settings (inside the model) and the frozen values (level, warning, run, trend,
        forecast, their arrays read-only) are shared. A fault's detection is copied with its evidence (flat values),
        which the pipeline may add to."""
        new = _Station.__new__(_Station)
        new.cfg, new.ladder, new.level, new.warning = self.cfg, self.ladder, self.level, self.warning
        new.history, new.model, new.calibration = self.history.copy(), self.model.copy(), self.calibration.copy()
        new.run, new.outliers, new.offsets = self.run, self.outliers.copy(), self.offsets.copy()
        new.last_received_ts, new.shift_ts = self.last_received_ts, self.shift_ts
        new.faults = {k: replace(d, evidence=dict(d.evidence)) for k, d in self.faults.items()}
        new.rapid, new.trend, new.forecast = self.rapid, self.trend, self.forecast
        new.long_rates, new.long_rates_ts = self.long_rates.copy(), self.long_rates_ts
        new.last_ts, new.last_seen_ts = self.last_ts, self.last_seen_ts
        return new

    def next_level(self) -> tuple[str, float] | None:
        """The next alarm level up and its threshold, None at the top."""
        nxt = self.level.index + 1
        name, thr = self.ladder.name(nxt) if nxt <= self.ladder.top else None, self.ladder.threshold(nxt)
        return (name, thr) if name is not None and thr is not None else None


class FloodDetector:
    """Flood-risk and sensor-health detector over water-level readings (implements `ReadingDetector`)."""

    def __init__(self, stations: Sequence[StationConfig], settings: FloodSettings,
                 rain_gauges: Sequence[RainGaugeConfig] = (), model: LearntModel | None = None) -> None:
        self.settings = settings
        self.learnt = (model or shipped_model()) if settings.forecast_learnt else None
        """The forecast learnt across rivers (None: each station's own model and the trend)."""
        self.rain = RainHistory.from_config(rain_gauges)
        """Recent rain of the gauges upstream and the rainfall forecast per station (fed by `observe_rain`)."""
        s = settings
        max_lag = max((u.lag_s for st in stations for u in st.upstream), default=0)
        keep_s = max(2 * s.trend_max_span_s, s.forecast_horizon_s + 4 * s.forecast_step_s, max_lag + s.trend_window_s,
                     *s.forecast_feature_windows_s, _LEARNT_LOOKBACK_S)
        self._stations = {st.id: _Station(st, s, 2 * keep_s) for st in stations}
        self._first_tick_ts: float | None = None

    def observe_rain(self, reading: RainReading) -> None:
        """Take one stored rain-gauge reading (in time order per gauge; late and repeated ones are ignored)."""
        self.rain.add(reading)

    @property
    def station_ids(self) -> tuple[str, ...]:
        """Ids of the configured stations."""
        return tuple(self._stations)

    def set_station(self, cfg: StationConfig) -> None:
        """Take a station's new configuration (alarm levels edited at run time); the levels apply from its next
        reading, with the usual hysteresis when the river is now below its current level."""
        st = self._stations[cfg.id]
        st.cfg = cfg
        st.ladder = Ladder.from_alarm(cfg.alarm)
        if st.level.index > st.ladder.top:  # the record level was removed
            st.level = LevelState(st.ladder.top, st.level.below_since[: st.ladder.top])

    def warm(self, history: Sequence[Reading]) -> None:
        """Load recent history (oldest first) at start-up without emitting detections."""
        for reading in history:
            self._process(reading)

    def checkpoint(self, station_ids: Iterable[str] | None = None) -> object:
        """A copy of these stations' state (all when None) and of the first tick's time, to `restore` when what was
        detected after it could not be committed. Taken before every committed batch, so cheap (`_Station.copy`):
        about 12-16 µs a station, most of it the model's training samples (a deep copy took 150 µs)."""
        ids = self._stations if station_ids is None else [i for i in station_ids if i in self._stations]
        return {i: self._stations[i].copy() for i in ids}, self._first_tick_ts

    def restore(self, checkpoint: object) -> None:
        """Put back a `checkpoint`; each station keeps its current configuration (an alarm-level edit made since
        stays in force)."""
        stations, first_tick_ts = cast(tuple[dict[str, _Station], float | None], checkpoint)
        for station_id, state in stations.items():
            current = self._stations[station_id].cfg
            self._stations[station_id] = state
            self.set_station(current)
        self._first_tick_ts = first_tick_ts

    def update(self, reading: Reading) -> list[Detection]:
        """Take one accepted reading (in time order per station) and return what changed."""
        return self._process(reading)

    def tick(self, now: float) -> list[Detection]:
        """Raise `sensor.offline` for stations silent too long (a never-heard station counts from the first tick)."""
        if self._first_tick_ts is None:
            self._first_tick_ts = now
        out: list[Detection] = []
        for st in self._stations.values():
            last = st.last_seen_ts if st.last_seen_ts is not None else self._first_tick_ts
            interval = st.cfg.expected_interval_s
            if health.OFFLINE in st.faults or not health.is_offline(now, last, interval, self.settings):
                continue
            silence = now - last
            evidence = {"last_seen_ts": st.last_seen_ts, "silence_s": round(silence, 1),
                        "expected_interval_s": interval, "offline_after_s": self.settings.offline_factor * interval,
                        "alarm_level": st.ladder.name(st.level.index)}
            severity = Severity.CRITICAL if st.level.index > 0 else Severity.WARNING  # a dark gauge in a flood is worse
            out += self._set_fault(st, health.OFFLINE, True, now, "no reading for too long", severity, silence / 3600,
                                   "h", lambda: evidence)  # noqa: B023 (called before the loop moves on)
        return out

    def status(self, station_id: str) -> StationStatus:
        """The station's current status (KeyError for an unknown station)."""
        st = self._stations[station_id]
        return station_status(
            st.cfg.id, st.cfg.name, st.history.last(), st.ladder.name(st.level.index), st.next_level(),
            None if st.trend is None else round(st.trend.rate_m_per_h, 4), st.forecast, st.warning.active, st.rapid,
            [k for k in health.HEALTH_KINDS if k in st.faults],
        )

    def holds(self, kind: str, subject: str, now: float) -> bool | None:
        """Does the detector hold the condition (kind, subject) now, as its state stands (after warming from the
        stored readings at a restart)? None when it cannot tell: not one of its stations or kinds, or a station it
        has no reading of (nothing to judge by)."""
        st = self._stations.get(subject)
        if st is None or st.last_seen_ts is None:
            return None
        if kind == health.OFFLINE:
            return health.OFFLINE in st.faults or health.is_offline(now, st.last_seen_ts, st.cfg.expected_interval_s,
                                                                    self.settings)
        if kind in health.HEALTH_KINDS:
            return kind in st.faults
        flood = {LEVEL: st.level.index > 0, RAPID_RISE: st.rapid, FORECAST: st.warning.active}
        return flood.get(kind)

    def commune_status(self) -> CommuneStatus:
        """The status of every station and the commune's summary."""
        return commune_status([self.status(i) for i in self._stations])

    # --- readings -----------------------------------------------------------------------------------------------

    def _process(self, reading: Reading) -> list[Detection]:
        st = self._stations.get(reading.station_id)
        if st is None or (st.last_ts is not None and reading.ts <= st.last_ts):
            return []
        st.last_ts = reading.ts
        seen = reading.received_ts if reading.received_ts is not None else reading.ts
        st.last_seen_ts = seen if st.last_seen_ts is None else max(st.last_seen_ts, seen)
        out = self._set_fault(st, health.OFFLINE, False, reading.ts, "reading received")
        out += self._station_faults(st, reading)
        clean = self._screen(st, reading, out)
        for ts, level in clean:
            out += self._flood(st, ts, level)
        return out

    def _station_faults(self, st: _Station, r: Reading) -> list[Detection]:
        """Battery and clock: faults of the gateway, not of the reading (its level is still used)."""
        s = self.settings
        out: list[Detection] = []
        if r.battery_v is not None:
            low = health.battery_low(health.BATTERY in st.faults, r.battery_v, s)
            out += self._set_fault(st, health.BATTERY, low, r.ts, "battery low" if low else "battery recovered",
                                   Severity.WARNING, r.battery_v, "V",
                                   lambda: {"battery_v": r.battery_v, "battery_low_v": s.battery_low_v,
                                            "battery_ok_v": s.battery_ok_v})
        if r.received_ts is not None:
            # Readings received together are one batch (a backlog after an outage): only its newest reading's delay
            # says anything about the gateway's clock.
            if st.offsets and r.received_ts == st.last_received_ts:
                st.offsets[-1] = r.received_ts - r.ts
            else:
                st.offsets.append(r.received_ts - r.ts)
            st.last_received_ts = r.received_ts
            skewed = health.clock_skewed(st.offsets, s)
            offset = health.clock_offset_s(st.offsets)
            out += self._set_fault(st, health.CLOCK, skewed, r.ts, "gateway clock off" if skewed else "clock in step",
                                   Severity.WARNING, offset, "s",
                                   lambda: {"offset_s": round(offset, 1), "clock_skew_max_s": s.clock_skew_max_s})
        return out

    def _screen(self, st: _Station, r: Reading, out: list[Detection]) -> list[tuple[float, float]]:
        """Range, stuck and spike checks; returns the clean readings to feed the flood logic (none if faulty)."""
        s, ts, level = self.settings, r.ts, r.level_m
        if health.out_of_range(level, st.cfg):
            shown = level if math.isfinite(level) else None  # JSON has no NaN or infinity
            out += self._set_fault(st, health.RANGE, True, ts, "reading outside the possible range", Severity.WARNING,
                                   shown, "m", lambda: {"level_m": shown, "min_level_m": st.cfg.min_level_m,
                                                        "max_level_m": st.cfg.max_level_m})
            return []
        out += self._set_fault(st, health.RANGE, False, ts, "reading in range")
        st.run = run = health.extend_run(st.run, ts, level, s.stuck_tolerance_m)
        stuck = health.is_stuck(run, s)
        out += self._set_fault(st, health.STUCK, stuck, ts, "identical readings" if stuck else "readings move again",
                               Severity.WARNING, level, "m",
                               lambda: {"level_m": level, "since_ts": run.since_ts, "readings": run.count,
                                        "stuck_window_s": s.stuck_window_s})
        if stuck:
            return []
        verdict = health.spike_verdict(ts, level, self._spike_reference(st, ts), s)
        if verdict is None or not verdict.spike:
            st.outliers.clear()
            out += self._set_fault(st, health.SPIKE, False, ts, "reading consistent again")
            return [(ts, level)]
        st.outliers.append((ts, level))
        if health.confirms_shift(st.outliers, s):
            # Several outliers that agree are a real jump of the level (e.g. a fast rise after a gap), not spikes.
            shift, st.outliers = st.outliers, []
            st.shift_ts = shift[0][0]
            out += self._set_fault(st, health.SPIKE, False, ts, "level shift confirmed")
            return shift
        out += self._set_fault(st, health.SPIKE, True, ts, "spike", Severity.INFO, level, "m",
                               lambda: {"level_m": level, "expected_m": round(verdict.expected_m, 3),
                                        "deviation_m": round(verdict.deviation_m, 3),
                                        "limit_m": round(verdict.limit_m, 3)})
        return []

    def _spike_reference(self, st: _Station, ts: float) -> Trend | None:
        """The line a reading is judged against: the trend, but only through the readings since a level shift while
        the trend window still reaches back before it (the old level would make every new reading look like a spike)."""
        if st.shift_ts is None or st.shift_ts <= ts - self.settings.trend_window_s:
            return st.trend
        t, y = st.history.since(st.shift_ts)
        return theil_sen(t, y)

    def _set_fault(self, st: _Station, kind: str, active: bool, ts: float, reason: str,
                   severity: Severity = Severity.INFO, value: float | None = None, unit: str = "",
                   evidence: Callable[[], dict[str, Any]] | None = None) -> list[Detection]:
        """Raise or clear a health fault; a detection only when its state changes (the evidence is built only then:
        this runs for every reading)."""
        if active == (kind in st.faults):
            return []
        det = Detection(kind, st.cfg.id, ts, active, severity if active else Severity.INFO, value, unit,
                        reason=reason, evidence=evidence() if evidence else {})
        if active:
            st.faults[kind] = det
        else:
            del st.faults[kind]
        return [det]

    # --- flood --------------------------------------------------------------------------------------------------

    def _flood(self, st: _Station, ts: float, level: float) -> list[Detection]:
        s = self.settings
        st.history.append(ts, level)
        st.level, change = step_level(st.level, ts, level, st.ladder, s.hysteresis_m, s.dwell_s)
        st.trend = window_trend(st.history, s.trend_window_s, s.trend_min_points, s.trend_max_span_s)
        st.forecast = self._forecast(st, ts, level)
        out: list[Detection] = []
        if change is not None:
            out.append(self._level_detection(st, ts, level, change))
        out += self._rapid_rise(st, ts, level)
        out += self._warning(st, ts)
        return out

    def _forecast(self, st: _Station, ts: float, level: float) -> Forecast | None:
        s = self.settings
        if st.trend is None:
            return None
        if self.learnt is not None:
            return self._learnt_forecast(st, self.learnt, ts, level, st.trend.rate_m_per_h)
        features = np.array([st.trend.rate_m_per_h] + self._long_rates(st, ts) + [
            upstream_rise(self._stations[u.station_id].history, ts, max(u.lag_s, s.trend_window_s),
                          3 * self._stations[u.station_id].cfg.expected_interval_s)
            if u.station_id in self._stations else 0.0
            for u in st.cfg.upstream
        ])
        st.model.observe(ts, level, features, st.history)
        st.model.maybe_refit(ts)
        nxt = st.next_level()
        if nxt is None:
            return None
        # The model learns the river's everyday behaviour (tides, releases); once in flood (at BD1 or above) the water
        # is beyond what it learnt from, and the robust trend is the better guess.
        pred = st.model.predict(features) if s.forecast_use_model and st.level.index == 0 else None
        if pred is None:
            return trend_forecast(ts, level, st.trend, nxt[0], nxt[1], s)
        return model_forecast(ts, level, st.trend.rate_m_per_h, pred, nxt[0], nxt[1], s)

    def _learnt_forecast(self, st: _Station, model: LearntModel, ts: float, level: float,
                         rate_m_per_h: float) -> Forecast | None:
        """The cross-river model's forecast of the next level, corrected by the station's own outcomes."""
        s = self.settings
        st.calibration.observe(ts, level)
        nxt = st.next_level()
        if nxt is None:
            return None
        hts, hlv = st.history.ts, st.history.levels
        if not rising_near(hts, hlv, st.ladder.thresholds_m, GATE_MAX_DIST):
            # Calm or falling water far from the next level: the model's answer is 0 there (its gate); skip the work.
            return Forecast(ts, level, nxt[0], nxt[1], rate_m_per_h, 0.0, None, None, None, "learnt",
                            tuple((h, 0.0) for h in HORIZONS_S), s.forecast_warning_window_s)
        x = feature_matrix(hts, hlv, np.array([len(hts) - 1]), st.ladder.thresholds_m, st.cfg.expected_interval_s,
                           self._upstream_inputs(st), [self._rain_pair(st, ts)])[0]
        pred = model.predict(x, st.calibration.bias)
        st.calibration.remember(ts, nxt[1], pred.p_reach)
        q = s.forecast_band_quantile
        return Forecast(ts, level, nxt[0], nxt[1], rate_m_per_h, pred.p_within(s.forecast_warning_window_s),
                        pred.time_at(0.5), pred.time_at(1 - q), pred.time_at(q), "learnt",
                        tuple(zip(HORIZONS_S, pred.p_reach.tolist())), s.forecast_warning_window_s)

    def _basis(self, st: _Station, fc: Forecast, ts: float) -> dict[str, Any]:
        """What an early warning rests on, for its text: the rain upstream in the last 3 hours (when gauges feed the
        station), the upstream stations already at BD2 or above, and the probability within its window."""
        rain = self.rain.station_total_mm(st.cfg.id, ts, 3 * 3600.0)
        over = [{"station_id": up.cfg.id, "station_name": up.cfg.name, "level": up.ladder.name(up.level.index)}
                for u in st.cfg.upstream if (up := self._stations.get(u.station_id)) is not None
                and up.level.index >= 2]
        window = fc.window_s if fc.window_s is not None else self.settings.forecast_horizon_s
        return {"rain_mm_3h": None if rain is None else round(rain, 1), "rain_window_s": 3 * 3600.0,
                "upstream_over": over, "p_window": round(fc.p_reach, 3), "window_s": window}

    def _upstream_inputs(self, st: _Station) -> list[Upstream]:
        out = []
        for u in st.cfg.upstream:
            up = self._stations.get(u.station_id)
            if up is not None:
                out.append(Upstream(up.history.ts, up.history.levels, up.ladder.thresholds_m, float(u.lag_s),
                                    max(3.0 * up.cfg.expected_interval_s, 6 * 3600.0)))
        return out

    def _rain_pair(self, st: _Station, ts: float) -> tuple[float | None, float | None]:
        return self.rain.station_total_mm(st.cfg.id, ts, 3 * 3600.0), self.rain.station_total_mm(st.cfg.id, ts, 86400.0)

    def _long_rates(self, st: _Station, ts: float) -> list[float]:
        """The rates over the longer feature windows, recomputed once per forecast step: they barely move within one,
        and on 10-minute data they are most of the detector's cost."""
        s = self.settings
        if st.long_rates_ts is not None and ts - st.long_rates_ts < s.forecast_step_s:
            return st.long_rates
        rates: list[float] = []
        last = st.trend.rate_m_per_h if st.trend is not None else 0.0
        for w in s.forecast_feature_windows_s:
            longer = window_trend(st.history, w, s.trend_min_points, max(w, s.trend_max_span_s))
            last = longer.rate_m_per_h if longer is not None else last
            rates.append(last)
        st.long_rates, st.long_rates_ts = rates, ts
        return rates

    def _flood_evidence(self, st: _Station, level: float) -> dict[str, Any]:
        nxt = st.next_level()
        fc = st.forecast if st.forecast is not None and nxt is not None and st.forecast.next_level == nxt[0] else None
        forecast = fc.evidence() if fc is not None else {}  # its times are absolute: a message never goes stale
        return {
            "station_name": st.cfg.name,
            "level_m": level,
            "level": st.ladder.name(st.level.index),
            "threshold_m": st.ladder.threshold(st.level.index),
            "next_level": nxt[0] if nxt else None,
            "next_threshold_m": nxt[1] if nxt else None,
            "distance_m": round(nxt[1] - level, 3) if nxt else None,
            "rate_m_per_h": None if st.trend is None else round(st.trend.rate_m_per_h, 3),
            "eta_s": None if fc is None or fc.eta_s is None else round(fc.eta_s, 1),
            "eta_low_s": None if fc is None or fc.eta_low_s is None else round(fc.eta_low_s, 1),
            "eta_high_s": None if fc is None or fc.eta_high_s is None else round(fc.eta_high_s, 1),
            **{k: forecast.get(k) for k in ("eta_ts", "eta_low_ts", "eta_high_ts", "forecast_ts")},
            "record_m": st.cfg.alarm.record_m,
        }

    def _level_detection(self, st: _Station, ts: float, level: float, change: LevelChange) -> Detection:
        ev = self._flood_evidence(st, level)
        ev["previous_level"] = st.ladder.name(change.old)
        ev["direction"] = "up" if change.new > change.old else "down"
        if change.new < change.old:
            ev["fell_below_m"] = st.ladder.threshold(change.old)
        return Detection(LEVEL, st.cfg.id, ts, change.new > 0, severity_of(change.new), level, "m",
                         st.ladder.name(change.new), change.reason, ev)

    def _rapid_rise(self, st: _Station, ts: float, level: float) -> list[Detection]:
        s = self.settings
        rate = None if st.trend is None else st.trend.rate_m_per_h
        near = level >= st.cfg.alarm.bd1_m - s.rapid_rise_max_below_bd1_m
        now = rapid_rise(st.rapid, rate, near, s.rapid_rise_m_per_h, s.rapid_rise_clear_ratio)
        if now == st.rapid:
            return []
        st.rapid = now
        ev = self._flood_evidence(st, level)
        ev.update({"rapid_rise_m_per_h": s.rapid_rise_m_per_h, "trend_window_s": s.trend_window_s})
        return [Detection(RAPID_RISE, st.cfg.id, ts, now, Severity.WARNING if now else Severity.INFO, rate, "m/h",
                          st.ladder.name(st.level.index), "rising fast" if now else "rise slowed", ev)]

    def _warning(self, st: _Station, ts: float) -> list[Detection]:
        """The early warning's step. A warning ends when its level is reached: the `flood.level` alert takes the
        situation over, so the forecast's clear says so (TAKEN_OVER_BY: its alert resolves at once, no hold, and
        no bulletin or radio script reads a forecast of a level already reached); a warning of the next level up,
        if one qualifies, is then a new warning, not the old one renamed."""
        warned = st.warning.level
        step = step_warning(st.warning, st.forecast, ts, self.settings)
        st.warning = step.state
        if step.action is None:
            return []
        fc = st.forecast
        reached = warned is not None and warned in st.ladder.names and st.level.index >= st.ladder.names.index(
            warned) + 1
        out: list[Detection] = []
        if step.action == "clear" or fc is None or reached:
            ev = fc.evidence() if fc else {}
            ev.update({"withdrawn_level": warned, "station_name": st.cfg.name})
            reason = step.reason
            if reached:
                ev[TAKEN_OVER_BY] = LEVEL
                reason = f"{warned} reached: the level alert takes over"
            out.append(Detection(FORECAST, st.cfg.id, ts, False, Severity.INFO, None, "h", None, reason, ev))
        if step.action == "clear" or fc is None:
            return out
        ev = fc.evidence()
        ev.update({"horizon_s": self.settings.forecast_horizon_s, "warning_since_ts": step.state.since_ts,
                   "station_name": st.cfg.name, **self._basis(st, fc, ts)})
        severity = warning_severity(st.ladder.names.index(fc.next_level) + 1)
        value = None if fc.eta_s is None else round(fc.eta_s / 3600, 2)
        return [*out, Detection(FORECAST, st.cfg.id, ts, True, severity, value, "h", fc.next_level, step.reason, ev)]
