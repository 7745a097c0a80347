"""The schedule's periods in Hà Nội time: the week before each Monday's slot, the month before each 1st's slot,
across month and year ends, before and after the slot's time of day."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tichwatch.residents.reports.period import Period, latest_monthly, latest_weekly, of_days

TZ = "Asia/Ho_Chi_Minh"


def at(text: str) -> float:
    """A local time 'YYYY-MM-DD HH:MM' in Hà Nội as UTC seconds."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(TZ)).timestamp()


def days(p: Period) -> tuple[str, str]:
    """The first and last local day of a period."""
    return p.first_day(TZ).isoformat(), p.last_day(TZ).isoformat()


@pytest.mark.parametrize(("now", "first", "last"), [
    ("2026-11-30 07:00", "2026-11-23", "2026-11-29"),  # Monday at the slot: the week before
    ("2026-11-30 06:59", "2026-11-16", "2026-11-22"),  # a minute early: still the week before that
    ("2026-12-03 15:00", "2026-11-23", "2026-11-29"),  # mid-week: the latest slot's week
    ("2027-01-04 07:00", "2026-12-28", "2027-01-03"),  # the week across the new year
    ("2026-12-06 23:59", "2026-11-23", "2026-11-29"),  # Sunday night local (16:59 UTC): not yet the next week
])
def test_weekly_reports_the_monday_to_sunday_before_the_latest_monday_slot(now: str, first: str, last: str) -> None:
    p = latest_weekly(at(now), "07:00", TZ)
    assert p.kind == "weekly" and days(p) == (first, last)
    assert p.start_ts == at(f"{first} 00:00") and p.end_ts - p.start_ts == 7 * 86400


@pytest.mark.parametrize(("now", "first", "last"), [
    ("2026-12-01 07:00", "2026-11-01", "2026-11-30"),
    ("2026-12-01 06:00", "2026-10-01", "2026-10-31"),  # before the slot on the 1st
    ("2027-01-01 07:30", "2026-12-01", "2026-12-31"),  # across the year end
    ("2028-03-01 07:00", "2028-02-01", "2028-02-29"),  # a leap February
    ("2027-03-15 12:00", "2027-02-01", "2027-02-28"),
])
def test_monthly_reports_the_calendar_month_before_the_latest_first_of_month_slot(now: str, first: str,
                                                                                  last: str) -> None:
    p = latest_monthly(at(now), "07:00", TZ)
    assert p.kind == "monthly" and days(p) == (first, last)
    assert p.start_ts == at(f"{first} 00:00")


def test_a_period_of_days_is_local_midnight_to_midnight_and_lists_its_days() -> None:
    p = of_days(date(2026, 12, 30), date(2027, 1, 2), TZ)
    assert p.start_ts == at("2026-12-30 00:00") and p.end_ts == at("2027-01-03 00:00")
    assert [d.isoformat() for d in p.days(TZ)] == ["2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"]
    with pytest.raises(ValueError):
        of_days(date(2026, 12, 2), date(2026, 12, 1), TZ)
