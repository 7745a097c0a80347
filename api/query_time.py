"""Times in HTTP queries: what people send (RFC 3339 or epoch seconds), within the years the API can show."""
from __future__ import annotations

from datetime import UTC, datetime

from tichwatch.ingest.contract import parse_time

EARLIEST_QUERY_TS = datetime(1900, 1, 1, tzinfo=UTC).timestamp()
LATEST_QUERY_TS = datetime(5000, 1, 1, tzinfo=UTC).timestamp()
"""Times a request may name: far enough inside the years datetime can show (1–9999) that a range or a duration added
to them still renders in UTC and in any zone."""


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
