"""Trend, forecast and early warning: fires before the crossing, withdrawn when the river turns, learns tides."""
from __future__ import annotations

import math

import numpy as np

from tests.detectors.flood.flood_support import HOUR, T0, feed, kinds, make_station
from tichwatch.config.schema import UpstreamLink
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.detector import FORECAST, LEVEL, RAPID_RISE
from tichwatch.detectors.flood.forecast import first_crossing, upstream_rise
from tichwatch.detectors.flood.history import LevelHistory
from tichwatch.detectors.flood.trend import theil_sen


def test_theil_sen_shrugs_off_a_spike_and_uneven_steps():
    ts = np.array([0, 600, 1800, 2400, 3600, 4200, 7200], dtype=float)
    lv = 0.2 * ts / 3600 + 1.0
    lv[3] = 9.0
    trend = theil_sen(ts, lv)
    assert trend is not None
    assert math.isclose(trend.rate_m_per_h, 0.2, rel_tol=1e-9)
    assert math.isclose(trend.level_m, 1.4, rel_tol=1e-9)


def test_forecast_fires_before_the_crossing_and_is_withdrawn_when_the_river_turns(detector, settings):
    det = detector(make_station(interval_s=3600))
    rise = [0.2 + 0.1 * i for i in range(8)]  # 0.2 .. 0.9 m, 0.1 m/h, BD1 at 1.0
    fall = [0.85, 0.75, 0.65, 0.55]
    dets = feed(det, "tich1", rise + fall, step_s=HOUR)
    fc = kinds(dets, FORECAST)
    assert fc[0].active and fc[0].level == "BD1"
    assert not kinds(dets, LEVEL)  # it never got there
    ev = fc[0].evidence
    assert {"level_m", "next_level", "threshold_m", "distance_m", "rate_m_per_h", "eta_s", "eta_low_s", "eta_high_s",
            "eta_ts", "confidence", "horizon_s", "method"} <= ev.keys()
    assert ev["eta_s"] <= settings.forecast_horizon_s and ev["confidence"] >= settings.forecast_min_confidence
    assert ev["eta_low_s"] <= ev["eta_s"] and math.isclose(ev["rate_m_per_h"], 0.1)
    assert fc[-1].active is False and fc[-1].reason == "river no longer rising"
    assert not det.status("tich1").early_warning


def test_warning_comes_before_the_crossing_and_moves_on_to_the_next_level(detector):
    det = detector(make_station(interval_s=3600))
    dets = feed(det, "tich1", [0.2 + 0.25 * i for i in range(12)], step_s=HOUR)  # 0.25 m/h up through BD1, BD2
    level_ts = {d.level: d.ts for d in kinds(dets, LEVEL)}
    first_warning: dict[str | None, float] = {}
    for d in kinds(dets, FORECAST):
        if d.active:
            first_warning.setdefault(d.level, d.ts)
    assert first_warning["BD1"] < level_ts["BD1"]
    assert first_warning["BD2"] < level_ts["BD2"]
    assert level_ts["BD2"] - first_warning["BD2"] >= 2 * HOUR
    assert any(d.reason.startswith("BD1 reached") for d in kinds(dets, FORECAST))
    assert det.status("tich1").next_level == "BD3"


def test_warning_updates_are_bounded(detector, settings):
    det = detector(make_station(bd=(5.0, 6.0, 7.0), interval_s=600))
    levels = [3.0 + 0.02 * i * (1 + 0.3 * math.sin(i / 3)) for i in range(200)]
    fc = kinds(feed(det, "tich1", levels), FORECAST)
    announced = [d for d in fc if d.active]
    span_s = 200 * 600
    assert len(announced) <= 3 * (1 + span_s / settings.forecast_update_interval_s) / 3


def _tide(days: float, mean: float = 0.3, amp: float = 0.55, step_s: float = 600) -> tuple[np.ndarray, np.ndarray]:
    t = T0 + np.arange(0, days * 86400, step_s)
    phase = 2 * np.pi * (t - T0) / (12.42 * HOUR)
    return t, mean + amp * np.sin(phase) + 0.1 * np.sin(phase / 2 + 1)


def test_the_model_learns_the_tide_where_trend_extrapolation_cries_wolf(detector):
    t, y = _tide(9)
    warm = [Reading("tich1", ts, lv) for ts, lv in zip(t[: 6 * 144], y[: 6 * 144])]
    rest = list(zip(t[6 * 144 :], y[6 * 144 :]))
    warnings = {}
    for use_model in (True, False):
        det = detector(forecast_use_model=use_model)
        det.warm(warm)
        dets = [d for ts, lv in rest for d in det.update(Reading("tich1", ts, lv))]
        warnings[use_model] = [d for d in kinds(dets, FORECAST) if d.active]
        assert not kinds(dets, LEVEL)  # the tide stays below BD1
    assert warnings[False], "plain trend extrapolation warns on every rising tide"
    assert warnings[True] == []
    assert det.status("tich1").forecast_method == "trend"


def test_a_flood_on_top_of_the_tide_is_still_warned_before_the_crossing(detector):
    t, y = _tide(8)
    # the last day: from a low tide on, a rise faster than any tide it has seen (tidal rates peak near 0.3 m/h here)
    start = t[-144 + int(np.argmin(y[-144:-72]))]
    flood = np.clip((t - start) / HOUR, 0, None) * 0.5
    det = detector()
    det.warm([Reading("tich1", ts, lv) for ts, lv in zip(t[:-144], y[:-144])])
    dets = [d for ts, lv in zip(t[-144:], (y + flood)[-144:]) for d in det.update(Reading("tich1", ts, lv))]
    crossed = kinds(dets, LEVEL)[0].ts
    warned = [d for d in kinds(dets, FORECAST) if d.active and d.level == "BD1"]
    assert warned and warned[0].ts < crossed


def test_model_refits_periodically(detector, settings):
    det = detector()
    t, y = _tide(5)
    for ts, lv in zip(t, y):
        det.update(Reading("tich1", ts, lv))
    model = det._stations["tich1"].model
    assert model.fitted_ts is not None and t[-1] - model.fitted_ts < settings.refit_interval_s


def test_rapid_rise_raised_and_cleared(detector, settings):
    det = detector()
    up = [0.0 + 0.1 * i for i in range(12)]  # 0.6 m/h at 10-minute steps
    flat = [up[-1]] * 30
    rr = kinds(feed(det, "tich1", up + flat), RAPID_RISE)
    assert [d.active for d in rr] == [True, False]
    assert rr[0].value >= settings.rapid_rise_m_per_h and rr[0].unit == "m/h"


def test_first_crossing_interpolates():
    h = np.array([1800.0, 3600.0, 5400.0])
    assert first_crossing(h, np.array([0.1, 0.3, 0.5]), 0.2) == 2700.0
    assert first_crossing(h, np.array([0.1, 0.3, 0.5]), 0.6) is None
    assert first_crossing(h, np.array([0.1, 0.3, 0.5]), -0.1) == 0.0


def test_upstream_rise_covers_only_what_the_upstream_readings_cover():
    hist = LevelHistory(keep_s=86400)
    for i in range(7):
        hist.append(T0 + i * HOUR, 1.0 + 0.5 * i)
    assert upstream_rise(hist, T0 + 6 * HOUR, 2 * HOUR, 3 * HOUR) == 1.0
    assert upstream_rise(hist, T0 + 6 * HOUR, 10 * HOUR, 3 * HOUR) == 0.0  # not covered
    assert upstream_rise(hist, T0 + 12 * HOUR, 2 * HOUR, 3 * HOUR) == 0.0  # stale


def test_a_station_with_an_upstream_link_forecasts(detector):
    up = make_station("up1", interval_s=3600)
    down = make_station("down1", interval_s=3600, upstream=[UpstreamLink(station_id="up1", lag_s=3 * 3600)])
    det = detector(up, down, forecast_min_train_samples=8)
    for i in range(60):
        det.update(Reading("up1", T0 + i * HOUR, 0.3 + 0.2 * math.sin(i / 4)))
        det.update(Reading("down1", T0 + i * HOUR + 60, 0.2 + 0.2 * math.sin((i - 3) / 4)))
    status = det.status("down1")
    assert status.level_m is not None and status.rate_m_per_h is not None
    assert det._stations["down1"].model.fitted_ts is not None
