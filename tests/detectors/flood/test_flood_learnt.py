"""The forecast learnt across rivers: model file, features, on-line correction, detector output and explanations."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.detectors.flood.flood_support import HOUR, T0, feed, kinds, make_station
from tichwatch.config.flood import FloodSettings
from tichwatch.config.rain import RainGaugeConfig
from tichwatch.config.schema import UpstreamLink
from tichwatch.core.samples import RainReading, Reading
from tichwatch.detectors.flood.detector import FORECAST, FloodDetector
from tichwatch.detectors.flood.features import FEATURE_NAMES, HORIZONS_S, feature_matrix, rising_near
from tichwatch.detectors.flood.learnt import (
    GATE_MAX_DIST,
    SHIPPED_MODEL,
    LearntModel,
    ModelMismatch,
    StationCalibration,
    gated,
    shipped_model,
)

THRESHOLDS = (1.0, 2.0, 3.0)


def _series(seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = np.cumsum(rng.uniform(600, 4 * 3600, n)) + T0
    lv = np.cumsum(rng.normal(0, 0.08, n)) + 1.5
    return ts, lv


def test_the_shipped_model_loads_and_gives_the_same_output_for_the_same_input():
    model = LearntModel.load(SHIPPED_MODEL)
    ts, lv = _series(1)
    x = feature_matrix(ts, lv, np.arange(2, len(ts)), THRESHOLDS, 3600.0)
    assert x.shape[1] == len(FEATURE_NAMES)
    p1, c1 = model.predict_many(x)
    p2, c2 = LearntModel.from_json(model.to_json()).predict_many(x)
    assert np.array_equal(p1, p2) and np.array_equal(c1, c2)
    assert np.all(np.diff(p1, axis=1) >= 0)  # reaching a level within 2 h implies within 3 h
    assert p1.max() > 0.05 and p1.min() == 0.0  # it does tell rising water near a level from calm water
    one = model.predict(x[-1])
    assert np.allclose(one.p_reach, p1[-1]) and np.allclose(one.change, c1[-1])


@pytest.mark.parametrize("change", ["names", "version", "format", "shape"])
def test_a_model_for_another_feature_set_is_refused(change):
    doc = json.loads(SHIPPED_MODEL.read_text(encoding="utf-8"))
    if change == "names":
        doc["feature_names"] = [*doc["feature_names"][:-1], "rain_72h"]
    elif change == "version":
        doc["feature_version"] += 1
    elif change == "format":
        doc["format"] = "something-else"
    else:
        doc["mean"] = doc["mean"][:-1]
    with pytest.raises(ModelMismatch):
        LearntModel.from_json(json.dumps(doc))


def test_features_are_causal_and_the_quick_gate_agrees_with_the_model_gate():
    for seed in range(3):
        ts, lv = _series(seed)
        full = feature_matrix(ts, lv, np.arange(1, len(ts)), THRESHOLDS, 3600.0)
        for i in (5, 50, 120, len(ts) - 1):
            # What the detector computes from the history up to reading i is what training saw at reading i.
            alone = feature_matrix(ts[: i + 1], lv[: i + 1], np.array([i]), THRESHOLDS, 3600.0)[0]
            assert np.allclose(alone, full[i - 1])
            assert rising_near(ts[: i + 1], lv[: i + 1], THRESHOLDS, GATE_MAX_DIST) == bool(gated(full[i - 1:i])[0])


def test_a_station_whose_floods_come_sooner_than_predicted_corrects_the_model_upward():
    cal = StationCalibration(rate=0.2, step_s=1800)
    for k in range(20):
        t0 = T0 + k * 8 * HOUR
        cal.observe(t0, 1.0)
        cal.remember(t0, 2.0, np.array([0.1, 0.2, 0.3, 0.4]))
        cal.observe(t0 + 0.5 * HOUR, 2.2)  # reached within half an hour every time
        cal.observe(t0 + 7 * HOUR, 1.0)
    assert np.all(cal.bias > 0.5)
    still = StationCalibration(rate=0.0, step_s=1800)
    still.remember(T0, 2.0, np.array([0.1, 0.2, 0.3, 0.4]))
    still.observe(T0 + 7 * HOUR, 3.0)
    assert np.all(still.bias == 0)


def test_a_steady_rise_is_warned_with_its_probabilities_before_the_crossing():
    det = FloodDetector([make_station(interval_s=3600)], FloodSettings(forecast_learnt=True))
    out = feed(det, "tich1", [0.2 + 0.12 * i for i in range(20)], step_s=HOUR)
    warn = [d for d in kinds(out, FORECAST) if d.active]
    level = [d for d in kinds(out, "flood.level") if d.active]
    assert warn and level and warn[0].ts < level[0].ts
    ev = warn[0].evidence
    assert ev["method"] == "learnt" and ev["p_window"] >= FloodSettings(forecast_learnt=True).forecast_min_confidence
    assert [h["horizon_s"] for h in ev["p_by_horizon"]] == list(HORIZONS_S)
    assert ev["eta_ts"] is not None and ev["eta_ts"] > warn[0].ts
    assert ev["rain_mm_3h"] is None and ev["upstream_over"] == []


def test_the_warning_says_the_rain_upstream_and_an_upstream_station_over_bd2():
    up = make_station("up", interval_s=3600)
    down = make_station("down", interval_s=3600, upstream=[UpstreamLink(station_id="up", lag_s=3 * 3600)])
    gauge = RainGaugeConfig(id="g1", name="Gauge", lat=21.0, lon=105.6, expected_interval_s=3600, stations=["down"])
    det = FloodDetector([up, down], FloodSettings(forecast_learnt=True), [gauge])
    out = []
    for i in range(20):
        t = T0 + i * HOUR
        det.observe_rain(RainReading("g1", t, 20.0, 3600.0))
        out += det.update(Reading("up", t, 0.5 + 0.25 * i))
        out += det.update(Reading("down", t, 0.2 + 0.12 * i))
    warn = [d for d in kinds(out, FORECAST) if d.active and d.subject == "down"]
    late = [d for d in warn if d.evidence["upstream_over"]]
    assert late, "no warning while the upstream station stood over BD2"
    ev = late[0].evidence
    assert ev["upstream_over"][0]["station_name"] == "Station up" and ev["upstream_over"][0]["level"] in ("BD2", "BD3")
    assert ev["rain_mm_3h"] == pytest.approx(60.0)


def test_the_shipped_model_is_small_and_read_once():
    assert SHIPPED_MODEL.stat().st_size < 1_000_000
    assert shipped_model() is shipped_model()
