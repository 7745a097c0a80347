"""SenML packs (RFC 8428, versions as RFC 9100 defines them) of water-level and rain-gauge readings.

What a conformant receiver must do, it does: base fields apply to their record and the records after it (name = bn + n,
time = bt + t, value = bv + v, unit = u or bu); a resolved time below 2**28 is relative to now (negative: in the past);
a pack whose bver is above 10 or that carries a label ending in `_` (must-understand) is not used at all. Each record is
checked on its own, so a bad record costs only itself and the records that take a bad base field from it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tichwatch.config.schema import LimitsSettings, StationConfig
from tichwatch.core.samples import RainReading, Reading
from tichwatch.ingest.contract_values import (
    Unrepresentable,
    check_battery,
    check_level,
    check_window,
    epoch_seconds,
    finite_sum,
    shorten,
    to_float,
)
from tichwatch.ingest.outcomes import Decoded, Invalid, Rejection

SUPPORTED_VERSION = 10
"""The SenML version this receiver implements (RFC 8428 is 10; RFC 9100 features above it are not supported)."""
RELATIVE_TIME_LIMIT_S = 2**28
"""RFC 8428 §4.5.3: a resolved time below 2**28 is relative to now (negative values are in the past)."""
LEVEL_NAMES = frozenset({"level", "level_m", "water_level"})
"""Record names (the last segment after the base name) taken as the water level, in metres."""
RAIN_NAMES = frozenset({"rain", "rain_mm", "precipitation"})
"""Record names taken as a rain gauge's rainfall over its interval, in millimetres."""
BATTERY_NAMES = frozenset({"battery", "battery_v"})
"""Record names taken as the gateway's battery voltage, in volts."""

_VALUE_LABELS = ("v", "vs", "vb", "vd")
_SENML_LABELS = frozenset({"bn", "bt", "bu", "bv", "bs", "bver", "n", "v", "vs", "vb", "vd", "s"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-:./_]*\Z")  # RFC 8428 §4.5.1, on the concatenated name


@dataclass(frozen=True)
class Quantity:
    """The measurement a kind of gateway sends in SenML: its label, its record names and its unit."""

    label: str
    names: frozenset[str]
    unit: str


LEVEL = Quantity("level", LEVEL_NAMES, "m")
"""A water-level gauge's level records."""
RAIN = Quantity("rain", RAIN_NAMES, "mm")
"""A rain gauge's rainfall records."""
Resolved = tuple[float, float, float | None]
"""A resolved measurement: (time, value, battery voltage of the same time or None)."""


def is_senml(items: list[Any]) -> bool:
    """A JSON array is SenML when its records use SenML labels instead of the contract's fields."""
    return bool(items) and all(isinstance(i, dict) for i in items) and not any(
        "level_m" in i or "rain_mm" in i or "ts" in i for i in items) and any(
        k in _SENML_LABELS for i in items for k in i)


def decode_senml(items: list[dict[str, Any]], station: StationConfig, now: float, limits: LimitsSettings) -> Decoded:
    """Resolve a SenML pack into a station's readings; battery records attach to the level of the same time."""
    found, rejections = resolve_senml(items, LEVEL, lambda v: check_level(v, station), now, limits)
    return Decoded([Reading(station.id, ts, v, None, bat, now) for ts, v, bat in found], rejections)


def decode_rain_senml(items: list[dict[str, Any]], gauge_id: str, interval_s: float, check: Callable[[float], None],
                      now: float, limits: LimitsSettings) -> tuple[list[RainReading], list[Rejection]]:
    """Resolve a SenML pack into a rain gauge's readings (each over the gauge's configured interval)."""
    found, rejections = resolve_senml(items, RAIN, check, now, limits)
    return [RainReading(gauge_id, ts, v, interval_s, None, bat, now) for ts, v, bat in found], rejections


def resolve_senml(items: list[dict[str, Any]], quantity: Quantity, check: Callable[[float], None], now: float,
                  limits: LimitsSettings) -> tuple[list[Resolved], list[Rejection]]:
    """The pack's measurements of `quantity` (each passed to `check`, which raises Invalid) with the battery
    voltage of the same time, and the rejected records."""
    refused = _pack_refusal(items)
    if refused is not None:
        return [], [refused]
    rejections: list[Rejection] = []
    base = _Base()
    values: list[tuple[float, float]] = []
    battery: dict[float, float] = {}
    for idx, rec in enumerate(items):
        try:
            base.update(rec, idx)
            found = _measurement(rec, base, now, limits, quantity)
            if found is None:
                continue
            kind, ts, value = found
            if kind == quantity.label:
                check(value)
                values.append((ts, value))
            else:
                check_battery(value)
                battery[ts] = value
        except Invalid as bad:
            rejections.append(bad.rejection(idx))
    if not values and not rejections:
        names = "/".join(sorted(quantity.names))
        rejections.append(Rejection("bad_senml", f"no SenML record named {names}"))
    return [(ts, value, battery.get(ts)) for ts, value in values], rejections


def _pack_refusal(items: list[dict[str, Any]]) -> Rejection | None:
    """Why the whole pack must not be used (RFC 8428 §4.4): a must-understand label, or a version it cannot read."""
    version: int | None = None
    current = SUPPORTED_VERSION  # a record before any bver has the default version
    for idx, rec in enumerate(items):
        label = next((k for k in rec if k.endswith("_")), None)
        if label is not None:
            return Rejection("unsupported_senml", f"label {label[:40]!r} ends in _: it must be understood "
                                                  "(RFC 8428 §4.4) and this service does not know it", idx)
        if "bver" in rec:
            refused = _version_refusal(rec["bver"], idx)
            if refused is not None:
                return refused
            current = rec["bver"]
        if version is not None and current != version:
            return Rejection("bad_senml", f"bver {current} differs from {version} of the records before: all "
                                          "records of a pack have the same version", idx)
        version = current
    return None


def _version_refusal(bver: Any, idx: int) -> Rejection | None:
    """Why a bver cannot be read: not a positive integer, or a version above the supported one."""
    if isinstance(bver, Unrepresentable):
        return Rejection("bad_number", f"bver {bver} is beyond any version number", idx)
    if isinstance(bver, bool) or not isinstance(bver, int) or bver < 1:
        return Rejection("bad_senml", f"bver must be a positive integer, got {shorten(str(bver))}", idx)
    if bver > SUPPORTED_VERSION:
        return Rejection("unsupported_senml", f"bver {shorten(str(bver))} asks for SenML features beyond "
                                              f"version {SUPPORTED_VERSION} (RFC 8428 §4.4, RFC 9100)", idx)
    return None


class _Base:
    """The base fields in force: each a value, or the failure of the record that set it (with its index)."""

    def __init__(self) -> None:
        self._fields: dict[str, Any] = {"bn": "", "bt": 0.0, "bu": None, "bv": 0.0, "bs": 0.0}

    def update(self, rec: dict[str, Any], idx: int) -> None:
        """Take the base fields a record sets; raise the first bad one (later records that use it fail too)."""
        first: Invalid | None = None
        for label in self._fields:
            if label not in rec:
                continue
            read = _text if label in ("bn", "bu") else to_float
            try:
                self._fields[label] = read(rec[label], label)
            except Invalid as bad:
                self._fields[label] = (bad, idx)
                first = first or bad
        if first is not None:
            raise first

    def get(self, label: str) -> Any:
        """A base field's value; Invalid when the record that set it had it wrong."""
        value = self._fields[label]
        if isinstance(value, tuple):
            bad, idx = value
            raise Invalid(bad.reason, f"{bad.detail} (base field of record {idx})")
        return value


def _text(value: Any, label: str) -> str:
    """A SenML string field; Invalid bad_senml otherwise."""
    if not isinstance(value, str):
        raise Invalid("bad_senml", f"{label} must be a string, got {type(value).__name__}")
    return value


def _measurement(rec: dict[str, Any], base: _Base, now: float, limits: LimitsSettings, quantity: Quantity
                 ) -> tuple[str, float, float] | None:
    """(quantity label or 'battery', time, value) of a record this service uses; None for a record of another
    sensor or one that only sets base fields."""
    values = [label for label in _VALUE_LABELS if label in rec]
    if not values and "s" not in rec:
        if "n" in rec:
            raise Invalid("bad_senml", f"record {str(rec['n'])[:60]!r} has no value field (v, vs, vb, vd or s)")
        return None
    if len(values) > 1:
        raise Invalid("bad_senml", f"a record has one value field, this one has {', '.join(values)}")
    name = base.get("bn") + _text(rec.get("n", ""), "n")
    if not _NAME.match(name):
        raise Invalid("bad_senml", f"name {name[:60]!r} breaks RFC 8428 §4.5.1 (letters, digits and - : . / _, "
                                   "starting with a letter or digit)")
    short = name.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    kind = quantity.label if short in quantity.names else "battery" if short in BATTERY_NAMES else None
    if kind is None:
        return None
    if values != ["v"]:
        raise Invalid("not_numeric" if values else "bad_senml",
                      f"{short} must be a number in v, got {values[0] if values else 'a sum (s)'}")
    unit = _text(rec["u"], "u") if "u" in rec else base.get("bu")
    expected = quantity.unit if kind == quantity.label else "V"
    if unit not in (None, expected):
        raise Invalid("bad_senml", f"{short} unit must be {expected!r}, got {str(unit)[:20]!r}")
    value = finite_sum(base.get("bv"), to_float(rec["v"], "v"), "bv + v")
    return kind, _time(rec, base, now, limits), value


def _time(rec: dict[str, Any], base: _Base, now: float, limits: LimitsSettings) -> float:
    """The record's resolved time (bt + t, relative to now below 2**28), checked against the accepted window."""
    t = finite_sum(base.get("bt"), to_float(rec["t"], "t") if "t" in rec else 0.0, "bt + t")
    if t < RELATIVE_TIME_LIMIT_S:
        ts = now + t
    else:
        try:
            ts = epoch_seconds(t, t)
        except ValueError as exc:
            raise Invalid("bad_timestamp", str(exc)) from None
    check_window(ts, now, limits)
    return ts
