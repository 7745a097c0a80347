"""Times at the HTTP edge: parse what people send, render UTC and local (Asia/Ho_Chi_Minh) forms."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from ingest.contract import parse_time

EARLIEST_QUERY_TS = datetime(1900, 1, 1, tzinfo=timezone.utc).timestamp()
LATEST_QUERY_TS = datetime(5000, 1, 1, tzinfo=timezone.utc).timestamp()
"""Times a request may name: far enough inside the years datetime can show (1–9999) that a range or a duration added
to them still renders in UTC and in any zone."""


def iso_utc(ts: float) -> str:
    """RFC 3339 in UTC with a Z: 2026-11-26T01:00:00Z."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_local(ts: float, tz: str) -> str:
    """RFC 3339 in the given zone with its offset: 2026-11-26T08:00:00+07:00."""
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).isoformat(timespec="seconds")


def parse_query_time(value: str) -> float:
    """A query parameter as RFC 3339 or epoch seconds → epoch seconds; ValueError with a reason otherwise (also for a
    time outside the years 1900–5000)."""
    try:
        number: float | None = float(value)
    except ValueError:
        number = None
    outside = ValueError(f"time {value[:40]!r} is outside the years 1900–5000 this API handles")
    try:
        ts = parse_time(value if number is None else number)
    except OverflowError:  # an offset that takes a local time out of datetime's years: 0001-01-01T00:00:00+01:00
        raise outside from None
    if not EARLIEST_QUERY_TS <= ts < LATEST_QUERY_TS:
        raise outside
    return ts
