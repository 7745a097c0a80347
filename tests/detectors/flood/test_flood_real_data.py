"""The targets on the shared real data (skipped where ../shared/data is absent), for the default forecast (each
station's own model and the trend, tuned on the Vietnamese gauges) and for the forecast learnt across rivers, scored
leave-one-basin-out (each basin replayed with a model fitted without it)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tichwatch.config.flood import FloodSettings
from tichwatch.tools.flood_evaluation import EvalReport, evaluate_flood

VN = "waterlevel-vndms-central-vn-2025"
HAN = "waterlevel-hanriver-seoul-2012-2022"


@pytest.fixture(scope="module", params=[(VN, False), (HAN, False), (VN, True), (HAN, True)],
                ids=["vn-default", "han-default", "vn-learnt", "han-learnt"])
def report(request: pytest.FixtureRequest, data_folder: Callable[[str], Path]) -> EvalReport:
    """One replay per data folder and forecast, shared by the tests of this module."""
    folder, learnt = request.param
    return evaluate_flood(data_folder(folder), FloodSettings(forecast_learnt=learnt))


def _learnt(report: EvalReport) -> bool:
    return bool(report.settings.get("forecast_learnt"))


def test_every_crossing_alerted_no_later_than_the_crossing_reading(report):
    crossings = sum(sc.crossings for sc in report.total_levels)
    assert crossings > 0
    assert all(d == 0 for sc in report.total_levels for d in sc.delays_s)


def test_at_most_1_2_alerts_per_crossing(report):
    alerts = sum(sc.alerts for sc in report.total_levels)
    crossings = sum(sc.crossings for sc in report.total_levels)
    assert alerts / crossings <= 1.2


LEAD_MISS = ("known miss (README, flood forecast figures): scored on basins it never saw, the learnt forecast warns "
             "fewer than 70 % of BD2/BD3 crossings at hourly gauges 2 h ahead; strict, so an improvement shows here")


def test_early_warning_2h_ahead_for_70_percent_of_bd2_bd3_crossings_at_hourly_stations(report, request):
    if _learnt(report):
        request.applymarker(pytest.mark.xfail(strict=True, reason=LEAD_MISS))
    leads = report.lead_hourly_s
    assert leads, "the data holds BD2/BD3 crossings at hourly stations"
    assert sum(x >= 2 * 3600 for x in leads) / len(leads) >= 0.7


def test_at_most_one_false_early_warning_per_station_month(report):
    assert report.total_warnings.false_per_month is not None and report.total_warnings.false_per_month <= 1.0


def test_han_river_quiet_seasons_at_most_two_false_early_warnings(report):
    if report.dataset != HAN:
        pytest.skip("the quiet-season target is about the Han River series")
    assert sum(len(s.quiet_years) for s in report.stations) >= 9
    assert report.total_warnings.false_in_quiet_years <= 2


KNOWN_MISSES = {(VN, True): {"lead_2h_share_hourly"},
                (HAN, True): {"lead_2h_share_hourly", "false_warning_share"},  # Han: 2 of its 4 warnings false
                (VN, False): {"false_warning_share"},  # 6 of 19 early warnings false (README)
                (HAN, False): set()}


def test_all_report_targets_but_the_known_misses_hold(report):
    miss = KNOWN_MISSES[report.dataset, _learnt(report)]
    assert {k: t["ok"] for k, t in report.targets.items() if k not in miss} == {
        k: True for k in report.targets if k not in miss}
