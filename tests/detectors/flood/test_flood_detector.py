"""The ReadingDetector contract: warm is silent, order and duplicates, unknown stations, any input is survivable."""
from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections import deque
from typing import Any, cast

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from tests.detectors.flood.flood_support import HOUR, T0, feed, kinds, make_station
from tichwatch.config.flood import FloodSettings
from tichwatch.core.detection import Detection, ReadingDetector
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood import health
from tichwatch.detectors.flood.detector import LEVEL, FloodDetector, _Station
from tichwatch.detectors.flood.forecast import ForecastModel
from tichwatch.detectors.flood.history import LevelHistory


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


def _three_batches() -> tuple[list[Reading], list[Reading], list[Reading]]:
    """R1: two days of tide, then a rise towards BD1 and a spike as its last reading (an outlier kept, `sensor.spike`
    raised); R2: a fast rise through BD1..BD3 from a gateway with a low battery and a clock 15 minutes off; R3: a
    slower rise over the same times from a healthy gateway (what is taken instead of R2 when R2 is not committed)."""
    def readings(t0: float, levels: list[float], battery_v: float, delay_s: float) -> list[Reading]:
        return [Reading("tich1", t0 + i * 600, lv, battery_v=battery_v, received_ts=t0 + i * 600 + delay_s)
                for i, lv in enumerate(levels)]
    n = 300
    r1 = [0.4 + 0.3 * math.sin(2 * math.pi * i * 600 / (12.4 * HOUR)) + 0.012 * max(0, i - 250) for i in range(n)]
    r1[-1] += 2.0
    t2 = T0 + n * 600
    return (readings(T0, r1, 12.6, 5.0), readings(t2, [r1[-2] + 0.03 * i for i in range(1, 73)], 11.0, 900.0),
            readings(t2, [r1[-2] + 0.012 * i for i in range(1, 73)], 12.6, 5.0))


def _settings(learnt: bool) -> FloodSettings:
    """Small training buffer (it wraps around) and hourly refits, so a batch changes the model's training state."""
    return FloodSettings(forecast_learnt=learnt, forecast_min_train_samples=8, forecast_max_train_samples=64,
                         refit_interval_s=HOUR)


def _reachable(roots: list[Any], enter_not: set[int]) -> dict[int, Any]:
    """Every object reachable from `roots` through attributes (`__dict__`, `__slots__`), containers and the memory an
    array views (its base), by id; objects in `enter_not` are listed but not entered."""
    found: dict[int, Any] = {}
    todo = list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in found or obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, enum.Enum,
                                                               np.generic)):
            continue
        found[id(obj)] = obj
        if id(obj) in enter_not:
            continue
        if isinstance(obj, dict):
            todo += [*obj.keys(), *obj.values()]
        elif isinstance(obj, (list, tuple, set, frozenset, deque)):
            todo += list(obj)
        elif isinstance(obj, np.ndarray):
            assert obj.dtype != object, "object arrays are not walked"
            todo.append(obj.base)
        else:
            todo += list(getattr(obj, "__dict__", {}).values())
            for cls in type(obj).__mro__:
                slots = getattr(cls, "__slots__", ())
                for name in (slots,) if isinstance(slots, str) else slots:
                    if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                        todo.append(getattr(obj, name))
    return found


def _mutable(obj: Any) -> bool:
    """Can this object be changed in place?"""
    if isinstance(obj, np.ndarray):
        return bool(obj.flags.writeable)
    if isinstance(obj, (tuple, frozenset)):
        return False
    if dataclasses.is_dataclass(obj):
        return not cast(Any, obj).__dataclass_params__.frozen
    return True  # list, dict, set, deque, bytearray, and an instance of any class that does not promise otherwise


@pytest.mark.parametrize("learnt", [False, True], ids=["own-model", "learnt"])
def test_a_checkpoint_shares_nothing_mutable_with_the_live_detector(learnt):
    """A checkpoint is taken before every committed batch, so it is a cheap copy that shares what never changes in
    place. Anything mutable reachable both from it and from the live stations (a forgotten field, an array written in
    place) would let the next batch change the checkpoint too; only the settings and the station configurations are
    shared on purpose (immutable, and `restore` keeps the current ones)."""
    r1, _, _ = _three_batches()
    det = FloodDetector([make_station(), make_station("tich2", interval_s=3600)], _settings(learnt))
    for r in r1:
        det.update(r)
    det.update(Reading("tich2", T0, 0.5))
    live = det._stations["tich1"]
    assert live.trend is not None and live.forecast is not None and live.outliers and len(live.offsets) == 3
    assert health.SPIKE in live.faults
    if learnt:
        assert live.calibration._pending and live.calibration._peak and live.calibration.bias.any()
    else:
        assert live.model._fit is not None and live.model._pending and live.model._n == 64
    saved = cast(tuple[dict[str, _Station], object], det.checkpoint())[0]
    copies = list(saved.values())
    for original, copied in [(live, saved["tich1"]), (live.model, saved["tich1"].model),
                             (live.history, saved["tich1"].history), (live.calibration, saved["tich1"].calibration)]:
        assert copied is not original and vars(copied).keys() == vars(original).keys()
    on_purpose = {id(det.settings), *(id(s.cfg) for s in det._stations.values())}
    mine = _reachable(list(det._stations.values()), on_purpose)
    theirs = _reachable(copies, on_purpose)
    shared = [obj for i, obj in mine.items() if i in theirs and i not in on_purpose and _mutable(obj)]
    assert not shared, [type(obj).__name__ + ": " + repr(obj)[:80] for obj in shared]
    # The arrays inside the shared frozen values are read-only: an accidental write raises instead of corrupting.
    assert live.trend is saved["tich1"].trend
    with pytest.raises(ValueError, match="read-only"):
        live.trend.slopes_m_per_h[0] = 0.0


def _plain(obj: Any) -> Any:
    """A station's state as plain values to compare (buffers only as far as they hold data)."""
    if isinstance(obj, LevelHistory):
        return ["LevelHistory", obj.keep_s, obj._start, obj._end, obj.ts.tolist(), obj.levels.tolist()]
    if isinstance(obj, ForecastModel):
        return ["ForecastModel", _plain({**vars(obj), "_x": obj._x[:obj._n], "_y": obj._y[:obj._n]})]
    if isinstance(obj, FloodSettings):
        return "settings"
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, deque)):
        return [type(obj).__name__, getattr(obj, "maxlen", None), *map(_plain, obj)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [type(obj).__name__, {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}]
    if hasattr(obj, "__dict__") and not isinstance(obj, enum.Enum):
        return [type(obj).__name__, _plain(vars(obj))]
    return obj


@pytest.mark.parametrize("learnt", [False, True], ids=["own-model", "learnt"])
def test_a_restored_checkpoint_forgets_a_batch_that_moved_every_part_of_the_state(learnt):
    """R1, checkpoint, R2, restore, R3 detects and ends exactly as R1 then R3, when R2 moved the alarm level, the
    trend and forecast, the model's training (samples, queue, refit) or the on-line correction, the clock offsets,
    the outliers and the faults (spike cleared, battery and clock raised)."""
    r1, r2, r3 = _three_batches()
    a, b = FloodDetector([make_station()], _settings(learnt)), FloodDetector([make_station()], _settings(learnt))
    for r in r1:
        assert a.update(r) == b.update(r)
    before = _plain(a._stations["tich1"])
    saved = a.checkpoint(["tich1"])
    moved = [d for r in r2 for d in a.update(r)]
    assert {(d.kind, d.active) for d in moved} >= {(LEVEL, True), (health.SPIKE, False), (health.BATTERY, True),
                                                   (health.CLOCK, True)}
    assert _plain(a._stations["tich1"]) != before
    a.restore(saved)
    assert _plain(a._stations["tich1"]) == before
    said_a, said_b = [d for r in r3 for d in a.update(r)], [d for r in r3 for d in b.update(r)]
    assert said_a == said_b and {d.kind for d in said_b} >= {LEVEL, health.SPIKE}
    assert a.status("tich1") == b.status("tich1")
    assert _plain(a._stations["tich1"]) == _plain(b._stations["tich1"])
