"""RainHistory: totals over windows (cut readings prorated), coverage, bounded memory, the forecast, and the flood
detector's observe_rain."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import make_settings
from tichwatch.core.samples import RainReading
from tichwatch.detectors.flood.detector import FloodDetector
from tichwatch.detectors.flood.rain import COVERAGE_MIN, RainHistory

T0 = 1_790_000_000.0


def hourly(history: RainHistory, gauge: str, amounts: list[float], start: float = T0) -> None:
    """One reading per hour, each over the hour ending at its time."""
    for i, mm in enumerate(amounts):
        history.add(RainReading(gauge, start + 3600 * (i + 1), mm, 3600))


def test_total_sums_whole_readings_and_prorates_cut_ones() -> None:
    h = RainHistory()
    hourly(h, "g", [10, 20, 30])
    assert h.total_mm(["g"], T0 + 3 * 3600, 3 * 3600) == pytest.approx(60)
    assert h.total_mm(["g"], T0 + 3 * 3600, 2 * 3600) == pytest.approx(50)
    # (T0 + 1.5 h, T0 + 3 h]: half of the second hour's 20 mm, all of the third hour's 30 mm
    assert h.total_mm(["g"], T0 + 3 * 3600, 1.5 * 3600) == pytest.approx(10 + 30)
    assert h.latest_ts("g") == T0 + 3 * 3600 and h.latest_ts("other") is None


def test_no_data_covering_the_window_is_none_not_dry() -> None:
    h = RainHistory()
    hourly(h, "g", [5, 5])
    assert h.total_mm(["g"], T0 + 2 * 3600, 6 * 3600) is None  # only a third of the window covered
    assert h.total_mm(["g"], T0 + 10 * 3600, 3600) is None  # after the gauge went silent
    assert h.total_mm(["nothing"], T0 + 3600, 3600) is None
    assert h.total_mm([], T0 + 3600, 3600) is None
    hourly(h, "dry", [0, 0])
    assert h.total_mm(["dry"], T0 + 2 * 3600, 2 * 3600) == 0.0


def test_mean_over_the_gauges_that_cover_the_window() -> None:
    h = RainHistory()
    hourly(h, "a", [10, 10])
    hourly(h, "b", [30, 30])
    hourly(h, "late", [99], start=T0 + 3600)  # covers only the second hour of the window
    assert h.total_mm(["a", "b", "late", "unknown"], T0 + 2 * 3600, 2 * 3600) == pytest.approx(40)


def test_late_and_repeated_readings_are_ignored_and_intervals_never_overlap() -> None:
    h = RainHistory()
    assert h.add(RainReading("g", T0 + 600, 2.0, 600))
    assert not h.add(RainReading("g", T0 + 600, 2.0, 600))  # redelivered
    assert not h.add(RainReading("g", T0 + 300, 9.0, 600))  # late
    # a reading claiming a longer interval than the gap since the last one counts only from that one
    assert h.add(RainReading("g", T0 + 1200, 6.0, 3600))
    assert h.total_mm(["g"], T0 + 1200, 1200) == pytest.approx(8.0)
    assert h.total_mm(["g"], T0 + 1200, 900) == pytest.approx(1.0 + 6.0)


def test_memory_is_bounded_by_count_and_age() -> None:
    h = RainHistory(keep_s=86400, max_readings=100)
    for i in range(1000):
        h.add(RainReading("g", T0 + 60 * i, 0.1, 60))
    assert h.kept("g") == 100
    h2 = RainHistory(keep_s=3600, max_readings=10_000)
    hourly(h2, "g", [1.0] * 48)
    assert h2.kept("g") <= 2
    assert h2.total_mm(["g"], T0 + 48 * 3600, 3600) == pytest.approx(1.0)


def test_forecast_totals_and_coverage() -> None:
    h = RainHistory({"st1": ("g",)})
    assert h.gauges_for("st1") == ("g",) and h.gauges_for("st2") == ()
    h.set_forecast("st1", T0, [(T0 + 3600 * (i + 1), float(i)) for i in range(6)])  # 0, 1, ..., 5 mm
    assert h.forecast_issued_ts("st1") == T0
    assert h.forecast_mm("st1", T0, T0 + 3 * 3600) == pytest.approx(0 + 1 + 2)
    assert h.forecast_mm("st1", T0 + 5400, T0 + 3 * 3600) == pytest.approx(0.5 + 2)
    assert h.forecast_mm("st1", T0, T0 + 12 * 3600) is None  # beyond the forecast's end
    assert h.forecast_mm("st2", T0, T0 + 3600) is None
    h.clear_forecast("st1")
    assert h.forecast_mm("st1", T0, T0 + 3600) is None and h.forecast_issued_ts("st1") is None


def test_flood_detector_observes_rain_for_its_stations() -> None:
    s = make_settings(Path("/tmp/unused"), rain_gauges=[
        {"id": "rg1", "name": "Mưa 1", "lat": 21.1, "lon": 105.5, "stations": ["st1", "st2"]},
        {"id": "rg2", "name": "Mưa 2", "lat": 21.2, "lon": 105.5, "stations": ["st1"], "lag_s": 7200}])
    det = FloodDetector(s.stations, s.flood, s.rain_gauges)
    assert det.rain.gauges_for("st1") == ("rg1", "rg2") == s.gauges_for("st1")
    assert det.rain.gauges_for("st2") == ("rg1",)
    assert (det.rain.lag_s("rg1"), det.rain.lag_s("rg2")) == (None, 7200.0)
    det.observe_rain(RainReading("rg1", T0 + 600, 4.0, 600))
    det.observe_rain(RainReading("rg2", T0 + 600, 8.0, 600))
    assert det.rain.station_total_mm("st1", T0 + 600, 600) == pytest.approx(6.0)
    assert det.rain.station_total_mm("st2", T0 + 600, 600) == pytest.approx(4.0)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 7200), st.floats(0, 50), st.integers(1, 7200)), min_size=1, max_size=40),
       st.integers(-3600, 200_000), st.integers(1, 100_000))
def test_window_totals_equal_a_brute_force_sum(steps: list[tuple[int, float, int]], end_off: int,
                                               window: int) -> None:
    """Running sums and cut spans give what adding up each reading's overlapping share gives."""
    h = RainHistory(keep_s=1e9, max_readings=10_000)
    spans, t, prev = [], T0, None
    for gap, mm, interval in steps:
        t += gap
        h.add(RainReading("g", t, mm, interval))
        start = t - interval if prev is None else max(t - interval, prev)
        spans.append((start, t, mm))
        prev = t
    lo, hi = T0 + end_off - window, T0 + end_off
    mm = sum(m * max(0.0, min(e, hi) - max(s, lo)) / (e - s) for s, e, m in spans)
    covered = sum(max(0.0, min(e, hi) - max(s, lo)) for s, e, _ in spans)
    got = h.gauge_total_mm("g", hi, window)
    if covered >= COVERAGE_MIN * window * (1 + 1e-9):
        assert got == pytest.approx(mm, abs=1e-6)
    elif covered < COVERAGE_MIN * window * (1 - 1e-9):
        assert got is None
