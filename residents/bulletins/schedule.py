"""When a bulletin is due: hourly (on the local hour) while a flood.level alert at the hourly level or above is open,
else daily at the configured local time. Pure functions of the times; the desk asks them on every tick."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tichwatch.detectors.flood.levels import LEVEL_NAMES

FLOOD_LEVEL_KIND = "flood.level"
"""The alert kind whose level decides hourly bulletins."""


def is_emergency(open_alerts: Iterable[tuple[str, str | None]], from_level: str) -> bool:
    """True when any open (kind, level) is a flood.level alert at `from_level` or above."""
    floor = LEVEL_NAMES.index(from_level)
    return any(kind == FLOOD_LEVEL_KIND and level in LEVEL_NAMES and LEVEL_NAMES.index(level) >= floor
               for kind, level in open_alerts)


def last_slot(now: float, emergency: bool, daily_local: str, timezone: str) -> float:
    """The latest scheduled time at or before `now`: the last full local hour in an emergency, else the last daily
    time."""
    local = datetime.fromtimestamp(now, ZoneInfo(timezone))
    if emergency:
        return local.replace(minute=0, second=0, microsecond=0).timestamp()
    hour, minute = (int(part) for part in daily_local.split(":"))
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot > local:
        slot -= timedelta(days=1)
    return slot.timestamp()


def is_due(now: float, last_scheduled_ts: float | None, emergency: bool, daily_local: str, timezone: str) -> bool:
    """True when no scheduled bulletin was made since the latest slot (a missed slot is made up once, at once)."""
    return last_scheduled_ts is None or last_scheduled_ts < last_slot(now, emergency, daily_local, timezone)
