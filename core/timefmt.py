"""Times shown to people: UTC and local (Asia/Ho_Chi_Minh) RFC 3339 forms."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def iso_utc(ts: float) -> str:
    """RFC 3339 in UTC with a Z: 2026-11-26T01:00:00Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_local(ts: float, tz: str) -> str:
    """RFC 3339 in the given zone with its offset: 2026-11-26T08:00:00+07:00."""
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).isoformat(timespec="seconds")
