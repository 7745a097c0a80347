"""The rejected readings read back from the recorded faults are exactly the readings the detector left out."""
from __future__ import annotations

import math
import random

import pytest

from tests.detectors.flood.flood_support import T0
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.health import RANGE, SPIKE, STUCK
from tichwatch.detectors.flood.rejections import SHIFT_CONFIRMED, FaultMark, RejectedSpan, classify, rejected_spans


def _series(seed: int, stuck_n: int) -> list[float]:
    """A noisy river with lone and paired spikes, impossible values, and a stuck spell."""
    rng = random.Random(seed)
    level, out = 0.5, []
    for i in range(400):
        level += rng.gauss(0.0, 0.004) + (0.002 if 150 < i < 250 else 0.0)
        value = round(level + rng.gauss(0.0, 0.01), 3)
        roll = rng.random()
        if roll < 0.03:
            value += rng.choice((-1, 1)) * rng.uniform(1.5, 4.0)  # a spike
        elif roll < 0.04:
            value = rng.choice((42.0, -7.0))  # out of the gauge's range
        out.append(value)
    out[100:100 + stuck_n] = [out[99]] * stuck_n  # a stuck sensor
    return out


def _judge(det, levels: list[float], step_s: float) -> tuple[list[str | None], list[bool]]:
    """Feed the levels; return what the recorded faults say of each reading, and whether the flood logic got it."""
    history = det._stations["tich1"].history
    fed: set[float] = set()  # what the flood logic was given: the ground truth of "accepted"
    append = history.append
    history.append = lambda ts, level: (fed.add(ts), append(ts, level))[1]
    marks, times = [], []
    for i, level in enumerate(levels):
        r = Reading("tich1", T0 + i * step_s, level)
        marks += [FaultMark(d.kind, d.ts, d.active, d.reason) for d in det.update(r)]
        times.append(r.ts)
    return classify(times, rejected_spans(marks, det.status("tich1").faults)), [ts in fed for ts in times]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_rejected_readings_are_exactly_what_the_detector_left_out(detector, settings, seed):
    verdicts, fed = _judge(detector(), _series(seed, int(settings.stuck_window_s // 600) + 8), 600.0)
    assert [v is None for v in verdicts] == fed
    assert {v for v in verdicts if v} == {RANGE, STUCK, SPIKE}
    assert sum(fed) > 300


def test_outliers_confirmed_as_a_level_shift_are_accepted_after_all(detector):
    verdicts, fed = _judge(detector(), [0.5] * 10 + [2.6, 2.62, 2.61, 2.63, 7.9, 2.64], 60.0)
    assert verdicts == [None] * 14 + [SPIKE, None]  # the detector's reason is the one the reader expects
    assert fed == [v is None for v in verdicts]


def test_a_fault_without_its_clear_covers_its_own_reading_only_unless_still_held():
    # A spike raised before a restart whose clear was never recorded, then raised again; a stuck spell still on.
    marks = [FaultMark(SPIKE, 100.0, True, "spike"), FaultMark(SPIKE, 500.0, True, "spike"),
             FaultMark(SPIKE, 600.0, False, "reading consistent again"), FaultMark(STUCK, 700.0, True, "stuck"),
             FaultMark(RANGE, 800.0, True, "range")]
    spans = rejected_spans(marks, held={STUCK})
    assert spans[:2] == [RejectedSpan(SPIKE, 100.0, math.nextafter(100.0, math.inf)), RejectedSpan(SPIKE, 500.0, 600.0)]
    times = [100.0, 200.0, 500.0, 550.0, 600.0, 700.0, 800.0, 900.0, 1e12]
    assert classify(times, spans) == [SPIKE, None, SPIKE, SPIKE, None, STUCK, RANGE, STUCK, STUCK]


def test_a_clear_without_its_raise_and_other_kinds_are_ignored():
    marks = [FaultMark(SPIKE, 50.0, False, "reading consistent again"), FaultMark("sensor.offline", 60.0, True, "x"),
             FaultMark(SPIKE, 70.0, True, "spike"), FaultMark(SPIKE, 90.0, False, SHIFT_CONFIRMED)]
    assert rejected_spans(marks, held=set()) == []
    assert classify([50.0, 60.0, 70.0, 80.0], []) == [None] * 4


def test_one_hour_of_one_minute_readings_is_judged_in_one_sweep():
    spans = [RejectedSpan(SPIKE, T0 + i * 600, T0 + i * 600 + 60) for i in range(6)]
    verdicts = classify([T0 + i * 60 for i in range(60)], spans)
    assert [i for i, v in enumerate(verdicts) if v] == [0, 10, 20, 30, 40, 50]
