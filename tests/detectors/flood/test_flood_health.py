"""Sensor health: spike, range, stuck, dead-man, battery, clock skew; faulty readings never move flood detections."""
from __future__ import annotations

import json
import math

from tests.detectors.flood.flood_support import HOUR, T0, feed, kinds, make_station
from tichwatch.core.detection import Severity
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.detector import FLOOD_KINDS, LEVEL
from tichwatch.detectors.flood.health import BATTERY, CLOCK, OFFLINE, RANGE, SPIKE, STUCK


def test_spike_raises_sensor_spike_not_a_flood_alert(detector):
    det = detector()
    base = [0.50, 0.51, 0.50, 0.52, 0.51, 0.50, 0.51, 0.52, 0.50, 0.51]
    dets = feed(det, "tich1", [*base, 3.4, 0.51, 0.5])
    assert not [d for d in dets if d.kind in FLOOD_KINDS]
    spikes = kinds(dets, SPIKE)
    assert [(d.active, d.ts) for d in spikes] == [(True, T0 + 10 * 600), (False, T0 + 11 * 600)]
    assert spikes[0].evidence["deviation_m"] > spikes[0].evidence["limit_m"] > 0
    # the spike is left out of the trend
    assert abs(det.status("tich1").rate_m_per_h or 0.0) < 0.05


def test_spike_does_not_clear_a_flood_either(detector):
    det = detector()
    dets = feed(det, "tich1", [2.5, 2.52, 2.51, 2.53, 2.52, 2.5, -0.5, 2.51])
    assert [d.level for d in kinds(dets, LEVEL)] == ["BD2"]
    assert det.status("tich1").alarm_level == "BD2"


def test_consistent_outliers_are_a_real_level_shift(detector):
    det = detector()
    dets = feed(det, "tich1", [0.5] * 10 + [2.6, 2.62, 2.61, 2.63], step_s=60)
    spikes = kinds(dets, SPIKE)
    assert [d.active for d in spikes] == [True, False] and spikes[1].reason == "level shift confirmed"
    assert [d.level for d in kinds(dets, LEVEL)] == ["BD2"]


def test_a_fast_real_rise_after_a_gap_is_not_a_spike(detector):
    det = detector()
    dets = feed(det, "tich1", [0.5, 0.6, 0.7, 0.8], step_s=HOUR)
    dets += det.update(Reading("tich1", T0 + 9 * HOUR, 3.3))  # five hours silent, then 2.5 m higher
    assert not kinds(dets, SPIKE)
    assert [d.level for d in kinds(dets, LEVEL)] == ["BD3"]


def test_out_of_range_reading_is_a_range_fault_only(detector):
    det = detector()
    dets = feed(det, "tich1", [0.5, 0.5, 42.0, math.nan, 0.5])
    ranges = kinds(dets, RANGE)
    assert [(d.active, d.ts) for d in ranges] == [(True, T0 + 1200), (False, T0 + 2400)]
    assert ranges[0].evidence == {"level_m": 42.0, "min_level_m": -1.0, "max_level_m": 10.0}
    assert not [d for d in dets if d.kind in FLOOD_KINDS]


def test_stuck_sensor_raised_and_cleared(detector, settings):
    det = detector()
    n = int(settings.stuck_window_s // HOUR) + 1
    dets = feed(det, "tich1", [0.73] * (n + 2) + [0.75], step_s=HOUR)
    stuck = kinds(dets, STUCK)
    assert [(d.active, d.ts) for d in stuck] == [(True, T0 + (n - 1) * HOUR), (False, T0 + (n + 2) * HOUR)]
    assert stuck[0].evidence["since_ts"] == T0 and stuck[0].severity == Severity.WARNING


def test_dead_man_raised_at_the_configured_time_and_cleared_by_the_next_reading(detector, settings):
    station = make_station(interval_s=600)
    det = detector(station)
    assert det.tick(T0) == []  # never heard: counts from the first tick
    feed(det, "tich1", [0.5], t0=T0 + 60)
    limit = settings.offline_factor * station.expected_interval_s
    assert det.tick(T0 + 60 + limit) == []
    raised = det.tick(T0 + 60 + limit + 1)
    assert [(d.kind, d.active, d.severity) for d in raised] == [(OFFLINE, True, Severity.WARNING)]
    assert raised[0].evidence["last_seen_ts"] == T0 + 60
    assert det.tick(T0 + 10 * limit) == []  # raised once, not on every tick
    assert det.status("tich1").faults == (OFFLINE,)
    cleared = det.update(Reading("tich1", T0 + 10 * limit, 0.5))
    assert [(d.kind, d.active) for d in cleared] == [(OFFLINE, False)]
    assert det.status("tich1").faults == ()


def test_a_station_never_heard_goes_offline_after_the_limit_from_the_first_tick(detector, settings):
    det = detector(make_station(interval_s=600))
    det.tick(T0)
    assert [d.kind for d in det.tick(T0 + settings.offline_factor * 600 + 1)] == [OFFLINE]


def test_offline_in_a_flood_is_critical(detector):
    det = detector()
    feed(det, "tich1", [1.5])
    assert det.tick(T0 + 10 * HOUR)[0].severity == Severity.CRITICAL


def test_battery_low_with_hysteresis(detector, settings):
    det = detector()
    volts = [12.4, 11.6, 11.4, 11.6, 11.7, 11.9]
    dets = []
    for i, v in enumerate(volts):
        dets += det.update(Reading("tich1", T0 + i * 600, 0.5, battery_v=v))
    bat = kinds(dets, BATTERY)
    assert [(d.active, d.value) for d in bat] == [(True, 11.4), (False, 11.9)]
    assert bat[0].evidence["battery_low_v"] == settings.battery_low_v


def test_clock_skew_raised_and_cleared_but_a_backlog_is_not_skew(detector, settings):
    det = detector()
    dets = []
    # a backlog after an outage: old timestamps, all received at once; the newest is fresh
    for i in range(5):
        dets += det.update(Reading("tich1", T0 + i * 600, 0.5, received_ts=T0 + 4 * 600 + 5))
    assert not kinds(dets, CLOCK)
    # the gateway clock runs 20 minutes behind
    for i in range(5, 5 + settings.clock_skew_readings):
        dets += det.update(Reading("tich1", T0 + i * 600, 0.5, received_ts=T0 + i * 600 + 1200))
    # and is fixed
    dets += det.update(Reading("tich1", T0 + 9 * 600, 0.5, received_ts=T0 + 9 * 600 + 2))
    clock = kinds(dets, CLOCK)
    assert [(d.active, d.value) for d in clock] == [(True, 1200.0), (False, 2.0)]
    assert det.status("tich1").faults == ()


def test_a_backlog_drained_one_reading_at_a_time_is_not_clock_skew(detector, settings):
    """A gateway (or a replay, or the simulator catching up) sends three days of readings one message at a time,
    ten times faster than they were taken: every reading is days old on arrival, but less so each time."""
    det = detector()
    start = T0 - 3 * 86400
    dets = []
    for i in range(60):
        dets += det.update(Reading("tich1", start + i * 600, 0.5, received_ts=T0 + i * 60))
    assert not kinds(dets, CLOCK)


def test_health_evidence_is_json_serialisable(detector):
    det = detector()
    dets = feed(det, "tich1", [0.5] * 10 + [9.0, 0.5, 42.0], battery_v=10.0)
    dets += det.tick(T0 + 100 * HOUR)
    assert {d.kind for d in dets} >= {SPIKE, RANGE, BATTERY, OFFLINE}
    json.dumps([d.evidence for d in dets], allow_nan=False)
