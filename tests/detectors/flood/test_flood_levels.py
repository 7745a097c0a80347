"""Alarm-level crossings: immediate upward, hysteresis and dwell downward, one situation, record level."""
from __future__ import annotations

import math

from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from tests.detectors.flood.flood_support import HOUR, feed, kinds, make_station
from tichwatch.config.schema import AlarmLevels
from tichwatch.core.detection import Severity
from tichwatch.detectors.flood.detector import LEVEL
from tichwatch.detectors.flood.levels import Ladder, LevelState, step_level


def test_wobble_around_a_level_raises_once_and_does_not_flap(detector):
    det = detector()
    levels = [0.5, 0.8, 0.99, 1.01, 0.99, 1.02, 0.98, 1.01, 0.97, 1.03, 0.99] * 3
    dets = kinds(feed(det, "tich1", levels), LEVEL)
    assert [(d.active, d.level) for d in dets] == [(True, "BD1")]
    assert dets[0].ts == 1_760_000_000.0 + 3 * 600  # the reading that crossed


def test_rise_bd1_bd2_bd3_updates_one_situation_with_rising_severity(detector):
    det = detector()
    dets = kinds(feed(det, "tich1", [0.5, 1.2, 1.5, 2.1, 2.5, 3.2]), LEVEL)
    assert [d.level for d in dets] == ["BD1", "BD2", "BD3"]
    assert {(d.kind, d.subject) for d in dets} == {(LEVEL, "tich1")}
    assert [d.severity for d in dets] == [Severity.WARNING, Severity.CRITICAL, Severity.EMERGENCY]
    assert all(d.active for d in dets)
    assert dets[1].evidence["previous_level"] == "BD1" and dets[1].evidence["direction"] == "up"
    assert dets[2].evidence["threshold_m"] == 3.0 and dets[2].evidence["next_level"] is None


def test_a_jump_over_two_levels_is_one_update(detector):
    det = detector()
    dets = kinds(feed(det, "tich1", [0.5, 2.4]), LEVEL)
    assert [(d.level, d.reason) for d in dets] == [("BD2", "crossed BD2 upward")]


def test_fall_lowers_after_dwell_and_clears_below_bd1(detector, settings):
    det = detector()
    up = feed(det, "tich1", [2.5], step_s=HOUR)
    down = feed(det, "tich1", [1.5] * 4 + [0.5] * 4, step_s=HOUR, t0=1_760_000_000.0 + HOUR)
    ups, downs = kinds(up, LEVEL), kinds(down, LEVEL)
    assert [d.level for d in ups] == ["BD2"]
    assert [(d.active, d.level) for d in downs] == [(True, "BD1"), (False, None)]
    lowered, cleared = downs
    # below BD2 - hysteresis from the first 1.5 reading; lowered once the dwell has passed, not before
    assert lowered.ts - (1_760_000_000.0 + HOUR) == settings.dwell_s
    assert lowered.severity == Severity.WARNING and lowered.evidence["direction"] == "down"
    assert cleared.reason == "fell below BD1"


def test_dip_within_hysteresis_does_not_lower(detector):
    det = detector()
    dets = kinds(feed(det, "tich1", [2.2] + [1.97] * 20, step_s=HOUR), LEVEL)
    assert [d.level for d in dets] == ["BD2"]


def test_record_level_is_a_level_of_its_own(detector):
    det = detector(make_station(record_m=4.0))
    dets = kinds(feed(det, "tich1", [2.5, 3.5, 4.2]), LEVEL)
    assert [d.level for d in dets] == ["BD2", "BD3", "RECORD"]
    assert dets[-1].severity == Severity.EMERGENCY and dets[-1].evidence["record_m"] == 4.0
    assert det.status("tich1").alarm_level == "RECORD" and det.status("tich1").next_level is None


LADDER = Ladder.from_alarm(AlarmLevels(bd1_m=1.0, bd2_m=2.0, bd3_m=3.0, record_m=4.0))


@hyp_settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(1, 7200), st.floats(-5, 10, allow_nan=False)), min_size=1, max_size=120),
    hysteresis=st.floats(0, 0.3),
    dwell=st.floats(0, 4 * 3600),
)
def test_no_level_is_lowered_sooner_than_dwell_after_it_was_raised(steps, hysteresis, dwell):
    state, ts = LevelState(), 0.0
    raised_at: dict[int, float] = {}
    for dt, level in steps:
        ts += dt
        state, change = step_level(state, ts, level, LADDER, hysteresis, dwell)
        if change is None:
            continue
        if change.new > change.old:
            assert change.new == LADDER.index_of(level)  # upward is immediate and exact
            for k in range(change.old + 1, change.new + 1):
                raised_at[k] = ts
        else:
            for k in range(change.new + 1, change.old + 1):
                assert ts - raised_at.get(k, -math.inf) >= dwell
                assert level < LADDER.thresholds_m[k - 1] - hysteresis
