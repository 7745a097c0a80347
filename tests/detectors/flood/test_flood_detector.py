"""The ReadingDetector contract: warm is silent, order and duplicates, unknown stations, any input is survivable."""
from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from tests.detectors.flood.flood_support import HOUR, T0, feed, kinds, make_station
from tichwatch.config.flood import FloodSettings
from tichwatch.core.detection import Detection, ReadingDetector
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.detector import LEVEL, FloodDetector


def test_implements_the_reading_detector_protocol():
    det: ReadingDetector = FloodDetector([make_station()], FloodSettings())
    assert det.warm([]) is None
    assert det.update(Reading("tich1", T0, 0.5)) == []
    assert det.tick(T0) == []


def test_warm_loads_state_without_detections_and_then_only_changes_are_emitted(detector):
    det = detector()
    history = [Reading("tich1", T0 + i * 600, 0.5 + 0.3 * i) for i in range(8)]  # up to 2.6 m: BD2
    assert det.warm(history) is None
    assert det.status("tich1").alarm_level == "BD2"
    dets = feed(det, "tich1", [2.6, 3.2], t0=T0 + 8 * 600)
    assert [d.level for d in kinds(dets, LEVEL)] == ["BD3"]


def test_duplicates_old_and_unknown_readings_are_ignored(detector):
    det = detector()
    assert [d.level for d in det.update(Reading("tich1", T0, 1.5))] == ["BD1"]
    assert det.update(Reading("tich1", T0, 3.5)) == []  # duplicate (at-least-once delivery)
    assert det.update(Reading("tich1", T0 - 600, 3.5)) == []  # older than the last
    assert det.update(Reading("other", T0, 3.5)) == []
    assert det.status("tich1").level_m == 1.5


def test_detections_carry_json_serialisable_evidence(detector):
    det = detector(make_station(record_m=4.0))
    dets = feed(det, "tich1", [0.2 + 0.45 * i for i in range(10)] + [2.0, 1.0, 0.5, 0.2] * 3, step_s=HOUR)
    assert {d.kind for d in dets} >= {"flood.level", "flood.forecast", "flood.rapid_rise"}
    for d in dets:
        assert isinstance(d, Detection) and d.subject == "tich1"
        json.dumps(d.evidence, allow_nan=False)
    level = kinds(dets, LEVEL)
    assert {"level_m", "level", "threshold_m", "next_level", "next_threshold_m", "distance_m", "rate_m_per_h", "eta_s",
            "eta_low_s", "eta_high_s", "previous_level", "direction"} <= level[0].evidence.keys()


@hyp_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.floats(0, 6 * 3600),
            st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(math.nan), st.just(math.inf)),
            st.one_of(st.none(), st.floats(0, 20)),
            st.one_of(st.none(), st.floats(-1e5, 1e5)),
        ),
        max_size=80,
    )
)
def test_arbitrary_input_never_raises_and_flood_kinds_never_see_faults(steps):
    det = FloodDetector([make_station()], FloodSettings(forecast_min_train_samples=8, refit_interval_s=HOUR))
    ts = T0
    for dt, level, volts, delay in steps:
        ts += dt
        received = None if delay is None else ts + delay
        for d in det.update(Reading("tich1", ts, level, battery_v=volts, received_ts=received)):
            json.dumps(d.evidence, allow_nan=False)
            if d.kind.startswith("flood.") and d.kind == LEVEL and d.active:
                assert math.isfinite(d.value) and -1.0 <= d.value <= 10.0
        det.tick(ts + 600)
    det.commune_status()



def test_a_restored_checkpoint_detects_as_if_the_failed_batch_never_came():
    """What the pipeline does when a batch cannot be committed: restore the checkpoint taken before it, then take its
    readings again, in halves. The detector must then say (and forecast) what one that never saw the failed batch
    says, through history compaction, training samples wrapping around a small buffer and frequent refits (three days
    of tide, then a flood)."""
    settings = FloodSettings(forecast_min_train_samples=8, forecast_max_train_samples=16, refit_interval_s=HOUR)
    n_tide, n_rise = 480, 120
    levels = [0.4 + 0.3 * math.sin(2 * math.pi * i * 600 / (12.4 * HOUR)) for i in range(n_tide)]
    levels += [levels[-1] + 0.025 * i for i in range(1, n_rise + 1)]
    readings = [Reading("tich1", T0 + i * 600, lv) for i, lv in enumerate(levels)]
    reference = FloodDetector([make_station()], settings)
    det = FloodDetector([make_station()], settings)
    said: list[Detection] = []
    for n, start in enumerate(range(0, len(readings), 24)):
        batch = readings[start:start + 24]
        if n % 2:  # this batch fails once: detected, not committed, put back; then its halves go through
            saved = det.checkpoint(["tich1"])
            for r in batch:
                det.update(r)
            det.restore(saved)
        for part in (batch[:12], batch[12:]) if n % 2 else (batch,):
            det.checkpoint(["tich1"])
            for r in part:
                got, expected = det.update(r), reference.update(r)
                assert got == expected, f"reading at {r.ts}"
                assert det.status("tich1") == reference.status("tich1"), f"reading at {r.ts}"
                said += got
    assert {"flood.level", "flood.forecast"} <= {d.kind for d in said}
    assert det._stations["tich1"].model.fitted_ts == reference._stations["tich1"].model.fitted_ts is not None
