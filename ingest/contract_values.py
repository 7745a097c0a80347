"""The values inside contract payloads: JSON numbers of any size, times of any year, and the ranges a reading must fit
to be stored.

Every reader here returns a usable value or raises Invalid with a reason code: a number of 400 digits, 1e400, a seq
of 2**64 or the year 0001 at +14:00 is a rejection, never an OverflowError. What passes is safe for SQLite: finite
floats, a seq within its signed 64-bit INTEGER, a time inside the accepted window.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tichwatch.config.rain import RainGaugeConfig
from tichwatch.config.schema import LimitsSettings, StationConfig
from tichwatch.ingest.outcomes import Invalid

MAX_FLOAT_DIGITS = 309
"""Digits of the largest finite 64-bit float (1.8e308): a longer integer literal cannot be a float (nor a seq), so it
is kept as text instead of being parsed (which also keeps Python's 4,300-digit int limit out of json.loads)."""
SEQ_MAX = 2**63 - 1
"""Largest seq: the gateway's counter is stored in SQLite's signed 64-bit INTEGER, and a counter is never negative."""
BATTERY_RANGE_V = (0.0, 100.0)
"""Plausible battery voltages of a gateway (12 V and 24 V systems, with margin): outside is a broken sensor."""
INTERVAL_RANGE_S = (1.0, 86400.0)
"""Intervals a rain reading may cover: a second (a tipping-bucket event) to a day (a daily manual gauge)."""
MAX_EPOCH_S = 1e11
"""Epoch seconds this large (the year 5138) are milliseconds sent by mistake, or garbage."""

_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SHOWN_CHARS = 24  # how much of a huge number a detail repeats


@dataclass(frozen=True)
class Unrepresentable:
    """A JSON number no 64-bit float holds (1e400, an integer of more than 309 digits), kept as its text."""

    text: str

    def __str__(self) -> str:
        return shorten(self.text)


def shorten(text: str) -> str:
    """A number's text cut to a readable length for a detail, with its full length: 123456…(400 chars)."""
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}…({len(text)} chars)"


def _parse_int(text: str) -> int | Unrepresentable:
    """json.loads hook for integer literals."""
    return Unrepresentable(text) if len(text.lstrip("-")) > MAX_FLOAT_DIGITS else int(text)


def _parse_float(text: str) -> float | Unrepresentable:
    """json.loads hook for literals with a fraction or exponent: one that overflows to infinity stays text."""
    value = float(text)
    return value if math.isfinite(value) else Unrepresentable(text)


def load_json(text: str) -> Any:
    """JSON text → Python values, numbers of any size included (see Unrepresentable); ValueError or RecursionError
    for text that is not JSON. NaN and Infinity literals load as float NaN/inf (refused later as not_finite)."""
    return json.loads(text, parse_int=_parse_int, parse_float=_parse_float)


def number_from_text(text: str) -> Any:
    """A string holding a JSON number (an MQTT user property) as that number; any other string unchanged."""
    stripped = text.strip()
    if not _JSON_NUMBER.fullmatch(stripped):
        return text
    return _parse_int(stripped) if stripped.lstrip("-").isdigit() else _parse_float(stripped)


def is_number(value: Any) -> bool:
    """True for a JSON number of any size (not a boolean)."""
    return isinstance(value, (int, float, Unrepresentable)) and not isinstance(value, bool)


def to_float(value: Any, label: str) -> float:
    """A JSON number as a finite float; Invalid not_numeric, bad_number or not_finite otherwise."""
    if not is_number(value):
        raise Invalid("not_numeric", f"{label} must be a number, got {type(value).__name__}")
    if isinstance(value, Unrepresentable):
        raise Invalid("bad_number", f"{label} {value} is beyond what a 64-bit float holds (±1.8e308)")
    try:
        result = float(value)
    except OverflowError:
        raise Invalid("bad_number", f"{label} {shorten(str(value))} is beyond what a 64-bit float holds "
                                    "(±1.8e308)") from None
    if not math.isfinite(result):
        raise Invalid("not_finite", f"{label} must be finite (NaN/Infinity are refused)")
    return result


def field_number(obj: dict[str, Any], key: str, required: bool) -> float | None:
    """obj[key] as a finite float, None when absent and optional; Invalid (missing_field, ...) otherwise."""
    if key not in obj or obj[key] is None:
        if required:
            raise Invalid("missing_field", f"{key} is missing")
        return None
    return to_float(obj[key], key)


def finite_sum(base: float, value: float, label: str) -> float:
    """base + value (a SenML base field and its record's field); Invalid bad_number when the sum overflows."""
    total = base + value
    if not math.isfinite(total):
        raise Invalid("bad_number", f"{label} overflows a 64-bit float")
    return total


def read_seq(value: Any) -> int | None:
    """The optional message counter: an integer in 0…SEQ_MAX (what SQLite's INTEGER stores) or None."""
    if value is None:
        return None
    if isinstance(value, Unrepresentable):
        raise Invalid("bad_number", f"seq {value} is beyond any integer the service stores")
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("not_numeric", "seq must be an integer")
    if not 0 <= value <= SEQ_MAX:
        raise Invalid("out_of_range", f"seq {shorten(str(value))} outside 0…{SEQ_MAX} (a counter stored as a "
                                      "signed 64-bit integer)")
    return value


def epoch_seconds(ts: float, shown: object) -> float:
    """A numeric time (JSON ts, resolved SenML time, frame property) checked as finite epoch seconds; ValueError if
    not."""
    if not math.isfinite(ts):
        raise ValueError("ts is not a finite number")
    if ts >= MAX_EPOCH_S:
        raise ValueError(f"ts {shorten(str(shown))} looks like milliseconds (epoch seconds stop at {MAX_EPOCH_S:.0e}, "
                         "the year 5138); send epoch seconds")
    return ts


def _rfc3339(value: str) -> float:
    """RFC 3339 with an offset → epoch seconds, for any year 1–9999 and any offset (no datetime overflow)."""
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"ts {value[:40]!r} is not an RFC 3339 time") from None
    offset = dt.utcoffset()
    if offset is None:
        raise ValueError(f"ts {value[:40]!r} has no UTC offset; add Z or +07:00")
    # In timedelta arithmetic: converting 0001-01-01T00:00+14:00 to a UTC datetime would fall before the year 1.
    return ((dt.replace(tzinfo=None) - _EPOCH) - offset) / _SECOND


def parse_time(value: Any) -> float:
    """RFC 3339 string (with offset or Z) or epoch seconds → UTC epoch seconds; ValueError with a reason otherwise
    (never OverflowError: the year 0001 at +14:00 is a number of seconds like any other)."""
    if isinstance(value, bool):
        raise ValueError("ts must be an RFC 3339 string or epoch seconds, not a boolean")
    if isinstance(value, (int, float)):
        try:
            return epoch_seconds(float(value), value)
        except OverflowError:
            raise ValueError(f"ts {shorten(str(value))} is not a usable number of seconds") from None
    if isinstance(value, str):
        return _rfc3339(value)
    raise ValueError("ts must be an RFC 3339 string or epoch seconds")


def read_time(value: Any, label: str = "ts") -> float:
    """A time field → epoch seconds; Invalid bad_number/not_finite for an unusable number, bad_timestamp otherwise."""
    if is_number(value):
        value = to_float(value, label)
    try:
        return parse_time(value)
    except ValueError as exc:
        raise Invalid("bad_timestamp", str(exc)) from None


def _amount(x: float) -> str:
    """A count for a detail: one decimal, or three significant digits when huge."""
    return f"{x:.1f}" if abs(x) < 1e9 else f"{x:.3g}"


def check_window(ts: float, now: float, limits: LimitsSettings) -> None:
    """Refuse times too far in the future or too old."""
    if ts > now + limits.max_future_s:
        raise Invalid("future_timestamp", f"ts is {_amount(ts - now)} s ahead of the service clock "
                                          f"(limit {limits.max_future_s} s)")
    if ts < now - limits.max_age_s:
        raise Invalid("too_old", f"ts is {_amount((now - ts) / 86400)} days old "
                                 f"(limit {limits.max_age_s / 86400:.0f} days)")


def check_level(level: float, station: StationConfig) -> None:
    """Refuse levels outside the station's physically possible range."""
    if not station.min_level_m <= level <= station.max_level_m:
        raise Invalid("out_of_range", f"level_m {level} outside the possible range "
                                      f"[{station.min_level_m}, {station.max_level_m}] of station {station.id}")


def check_battery(battery_v: float) -> None:
    """Refuse battery voltages outside BATTERY_RANGE_V."""
    low, high = BATTERY_RANGE_V
    if not low <= battery_v <= high:
        raise Invalid("out_of_range", f"battery_v {battery_v} outside the plausible range [{low:g}, {high:g}] V")


def check_rain(rain_mm: float, gauge: RainGaugeConfig) -> None:
    """Refuse rainfall below zero or above what the gauge can report in one reading."""
    if not 0.0 <= rain_mm <= gauge.max_rain_mm:
        raise Invalid("out_of_range", f"rain_mm {rain_mm} outside the possible range [0, {gauge.max_rain_mm:g}] of "
                                      f"rain gauge {gauge.id}")


def check_interval(interval_s: float) -> None:
    """Refuse a rain reading's interval outside INTERVAL_RANGE_S."""
    low, high = INTERVAL_RANGE_S
    if not low <= interval_s <= high:
        raise Invalid("out_of_range", f"interval_s {interval_s} outside [{low:g}, {high:g}] s")
