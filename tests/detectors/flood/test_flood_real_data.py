"""The targets on the shared real data (skipped where ../shared/data is absent)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tichwatch.config.flood import FloodSettings
from tichwatch.tools.flood_evaluation import EvalReport, evaluate_flood

VN = "waterlevel-vndms-central-vn-2025"
HAN = "waterlevel-hanriver-seoul-2012-2022"


@pytest.fixture(scope="module", params=[VN, HAN])
def report(request: pytest.FixtureRequest, data_folder: Callable[[str], Path]) -> EvalReport:
    """One replay per data folder, shared by the tests of this module."""
    return evaluate_flood(data_folder(request.param), FloodSettings())


def test_every_crossing_alerted_no_later_than_the_crossing_reading(report):
    crossings = sum(sc.crossings for sc in report.total_levels)
    assert crossings > 0
    assert all(d == 0 for sc in report.total_levels for d in sc.delays_s)


def test_at_most_1_2_alerts_per_crossing(report):
    alerts = sum(sc.alerts for sc in report.total_levels)
    crossings = sum(sc.crossings for sc in report.total_levels)
    assert alerts / crossings <= 1.2


def test_early_warning_2h_ahead_for_70_percent_of_bd2_bd3_crossings_at_hourly_stations(report):
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


def test_all_report_targets_hold(report):
    assert {k: t["ok"] for k, t in report.targets.items()} == dict.fromkeys(report.targets, True)
