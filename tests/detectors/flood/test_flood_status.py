"""Station and commune status: the figures the API and bulletins read."""
from __future__ import annotations

import json
import math

import pytest

from tests.detectors.flood.flood_support import HOUR, T0, feed, make_station
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.health import BATTERY, OFFLINE


def test_station_status_values(detector):
    det = detector(make_station(interval_s=3600))
    feed(det, "tich1", [1.2, 1.35, 1.5, 1.65, 1.8], step_s=HOUR)
    s = det.status("tich1")
    assert (s.station_id, s.name) == ("tich1", "Station tich1")
    assert s.level_m == 1.8 and s.ts == T0 + 4 * HOUR
    assert s.alarm_level == "BD1" and s.next_level == "BD2" and s.next_threshold_m == 2.0
    assert math.isclose(s.distance_m, 0.2) and math.isclose(s.rate_m_per_h, 0.15)
    assert s.eta_s is not None and s.eta_low_s is not None and s.eta_low_s <= s.eta_s
    assert s.eta_high_s is None or s.eta_high_s >= s.eta_s
    assert s.confidence == 1.0 and s.forecast_method == "trend" and s.early_warning
    assert s.faults == () and not s.rapid_rise
    json.dumps(s.to_dict(), allow_nan=False)


def test_status_before_any_reading_and_unknown_station(detector):
    det = detector()
    s = det.status("tich1")
    assert s.level_m is None and s.alarm_level is None and s.next_level == "BD1" and s.distance_m is None
    assert s.rate_m_per_h is None and s.eta_s is None and s.faults == ()
    with pytest.raises(KeyError):
        det.status("nope")


def test_faults_are_listed_and_the_last_clean_level_is_kept(detector):
    det = detector()
    feed(det, "tich1", [0.5, 0.5, 0.5], battery_v=11.0)
    det.update(Reading("tich1", T0 + 3 * 600, 42.0))
    det.tick(T0 + 10 * HOUR)
    s = det.status("tich1")
    assert s.level_m == 0.5 and s.ts == T0 + 2 * 600
    assert s.faults == (OFFLINE, "sensor.range", BATTERY)


def test_commune_status_picks_the_worst_station_and_the_soonest_eta(detector):
    a, b, c = make_station("a", interval_s=3600), make_station("b", interval_s=3600), make_station("c")
    det = detector(a, b, c)
    feed(det, "a", [2.3, 2.3, 2.3], step_s=HOUR)  # BD2, steady
    feed(det, "b", [0.5, 0.7, 0.9], step_s=HOUR)  # below BD1, rising fast toward it
    det.update(Reading("c", T0, 0.1, battery_v=10.0))
    cs = det.commune_status()
    assert cs.alarm_level == "BD2" and cs.worst_station_id == "a"
    assert cs.soonest_station_id == "b" and cs.soonest_eta_s is not None and cs.early_warning
    assert cs.stations_with_faults == ("c",)
    assert [s.station_id for s in cs.stations] == ["a", "b", "c"]
    json.dumps(cs.to_dict(), allow_nan=False)


def test_calm_commune(detector):
    det = detector()
    feed(det, "tich1", [0.2, 0.2, 0.2])
    cs = det.commune_status()
    assert cs.alarm_level is None and cs.worst_station_id is None and not cs.early_warning
