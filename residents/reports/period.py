"""A report's period and when the schedule makes one: pure functions of the time, in the deployment's local time.

Weekly: on Monday at the configured local time, the previous Monday 00:00 to this Monday 00:00 (local). Monthly: on
the 1st at the configured local time, the previous month's 1st 00:00 to this month's 1st 00:00 (local). A missed slot
(the service was down) is made up once, at once; older missed slots are not.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

ReportKind = Literal["weekly", "monthly", "custom"]
"""What period a report covers: a week, a calendar month, or any days an officer asked for."""


@dataclass(frozen=True)
class Period:
    """A report's period: UTC seconds, `start_ts` inclusive, `end_ts` exclusive; both at local midnight."""

    kind: ReportKind
    start_ts: float
    end_ts: float

    def first_day(self, timezone: str) -> date:
        """The first local day of the period."""
        return datetime.fromtimestamp(self.start_ts, ZoneInfo(timezone)).date()

    def last_day(self, timezone: str) -> date:
        """The last local day of the period (the day before its end)."""
        return datetime.fromtimestamp(self.end_ts, ZoneInfo(timezone)).date() - timedelta(days=1)

    def days(self, timezone: str) -> list[date]:
        """Every local day of the period, in order."""
        first, last = self.first_day(timezone), self.last_day(timezone)
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def midnight(day: date, timezone: str) -> float:
    """UTC seconds of a local day's 00:00."""
    return datetime.combine(day, time(), ZoneInfo(timezone)).timestamp()


def of_days(first: date, last: date, timezone: str, kind: ReportKind = "custom") -> Period:
    """The period from local day `first` to local day `last`, both included (ValueError when last < first)."""
    if last < first:
        raise ValueError(f"the last day {last} is before the first day {first}")
    return Period(kind, midnight(first, timezone), midnight(last + timedelta(days=1), timezone))


def _hhmm(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return time(hour, minute)


def week_of(monday: date, timezone: str) -> Period:
    """The week starting on local Monday `monday`."""
    return of_days(monday, monday + timedelta(days=6), timezone, "weekly")


def month_of(first: date, timezone: str) -> Period:
    """The calendar month starting on local day `first` (the 1st)."""
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return of_days(first, following - timedelta(days=1), timezone, "monthly")


def latest_weekly(now: float, at_local: str, timezone: str) -> Period:
    """The week the latest weekly slot at or before `now` reports on (the Monday–Sunday before that slot's Monday)."""
    tz = ZoneInfo(timezone)
    local = datetime.fromtimestamp(now, tz)
    monday = local.date() - timedelta(days=local.weekday())
    if local < datetime.combine(monday, _hhmm(at_local), tz):
        monday -= timedelta(days=7)
    return week_of(monday - timedelta(days=7), timezone)


def latest_monthly(now: float, at_local: str, timezone: str) -> Period:
    """The month the latest monthly slot at or before `now` reports on (the month before that slot's month)."""
    tz = ZoneInfo(timezone)
    local = datetime.fromtimestamp(now, tz)
    first = local.date().replace(day=1)
    if local < datetime.combine(first, _hhmm(at_local), tz):
        first = (first - timedelta(days=1)).replace(day=1)
    return month_of((first - timedelta(days=1)).replace(day=1), timezone)
