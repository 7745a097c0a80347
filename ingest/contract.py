"""Topic contract v1 and payload codecs: MQTT topic + bytes in, validated samples or rejections with a reason out.

Everything here is pure (time is passed in) and total: arbitrary bytes produce rejections, never exceptions.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from config.schema import LimitsSettings, Settings, StationConfig
from ingest.jpeg import JpegError, check_jpeg
from ingest.samples import Frame, Reading

CONTRACT_VERSION = "v1"
LEVEL_NAMES = frozenset({"level", "level_m", "water_level"})
"""SenML record names (after the base name) taken as the water level, in metres."""
BATTERY_NAMES = frozenset({"battery", "battery_v"})
"""SenML record names taken as the gateway's battery voltage."""
SENML_RELATIVE_LIMIT = 2**28
"""RFC 8428 §4.5.3: a time below 2**28 is relative to now."""


@dataclass(frozen=True)
class Rejection:
    """Why a payload (or one item of a batch) was not accepted; `reason` is a stable code used as a metric label."""

    reason: str
    detail: str
    item: int | None = None  # index within a batch payload, when the rejection concerns one item


@dataclass
class Decoded:
    """What a reading payload yielded: the accepted readings and the rejected items."""

    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class Topics:
    """The topics of the contract under one prefix."""

    prefix: str = "tich/v1"

    def reading(self, station_id: str) -> str:
        """Topic a gateway publishes a station's readings to."""
        return f"{self.prefix}/water/{station_id}/reading"

    def frame(self, camera_id: str) -> str:
        """Topic a camera publishes its JPEG frames to."""
        return f"{self.prefix}/camera/{camera_id}/frame"

    @property
    def status(self) -> str:
        """Retained online/offline status of the service (birth and last will)."""
        return f"{self.prefix}/service/status"

    def alert(self, alert_id: str) -> str:
        """Retained JSON state of one alert."""
        return f"{self.prefix}/alerts/{alert_id}"

    def deadletter(self, topic: str) -> str:
        """Where a rejected payload from `topic` is reported."""
        rest = topic[len(self.prefix) + 1:] if topic.startswith(self.prefix + "/") else "foreign/" + topic.lstrip("/")
        return f"{self.prefix}/deadletter/{rest}"

    @property
    def subscriptions(self) -> list[str]:
        """Topic filters the service subscribes to."""
        return [f"{self.prefix}/water/+/reading", f"{self.prefix}/camera/+/frame"]

    def classify(self, topic: str) -> tuple[str, str] | None:
        """('water'|'camera', subject id) for a contract topic, else None."""
        if not topic.startswith(self.prefix + "/"):
            return None
        parts = topic[len(self.prefix) + 1:].split("/")
        if len(parts) == 3 and parts[0] == "water" and parts[2] == "reading" and parts[1]:
            return "water", parts[1]
        if len(parts) == 3 and parts[0] == "camera" and parts[2] == "frame" and parts[1]:
            return "camera", parts[1]
        return None


def parse_time(value: Any) -> float:
    """RFC 3339 string (with offset or Z) or epoch seconds → UTC epoch seconds; ValueError with a reason otherwise."""
    if isinstance(value, bool):
        raise ValueError("ts must be an RFC 3339 string or epoch seconds, not a boolean")
    if isinstance(value, (int, float)):
        ts = float(value)
        if not math.isfinite(ts):
            raise ValueError("ts is not a finite number")
        if ts > 1e11:
            raise ValueError(f"ts {value} looks like milliseconds; send epoch seconds")
        return ts
    if isinstance(value, str):
        text = value.strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"ts {value[:40]!r} is not an RFC 3339 time") from None
        if dt.tzinfo is None:
            raise ValueError(f"ts {value[:40]!r} has no UTC offset; add Z or +07:00")
        return dt.astimezone(timezone.utc).timestamp()
    raise ValueError("ts must be an RFC 3339 string or epoch seconds")


def _number(obj: dict[str, Any], key: str, required: bool) -> float | None:
    """A finite number from obj[key]; raises _Bad (missing_field, not_numeric, not_finite) otherwise."""
    if key not in obj or obj[key] is None:
        if required:
            raise _Bad("missing_field", f"{key} is missing")
        return None
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad("not_numeric", f"{key} must be a number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise _Bad("not_finite", f"{key} must be finite (NaN/Infinity are refused)")
    return float(value)


class _Bad(Exception):
    """Internal: one item failed validation with this reason."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        self.detail = detail
        super().__init__(detail)


def _check_time(ts: float, now: float, limits: LimitsSettings) -> None:
    """Refuse timestamps too far in the future or too old."""
    if ts > now + limits.max_future_s:
        raise _Bad("future_timestamp", f"ts is {ts - now:.0f} s ahead of the service clock (limit {limits.max_future_s} s)")
    if ts < now - limits.max_age_s:
        raise _Bad("too_old", f"ts is {(now - ts) / 86400:.1f} days old (limit {limits.max_age_s / 86400:.0f} days)")


def _check_level(level: float, station: StationConfig) -> None:
    """Refuse levels outside the station's physically possible range."""
    if not station.min_level_m <= level <= station.max_level_m:
        raise _Bad("out_of_range", f"level_m {level} outside the possible range "
                                   f"[{station.min_level_m}, {station.max_level_m}] of station {station.id}")


def _reading_from_object(obj: Any, station: StationConfig, now: float, limits: LimitsSettings) -> Reading:
    """Validate one JSON reading object of the contract."""
    if not isinstance(obj, dict):
        raise _Bad("bad_shape", f"a reading must be a JSON object, got {type(obj).__name__}")
    if "ts" not in obj:
        raise _Bad("missing_field", "ts is missing")
    try:
        ts = parse_time(obj["ts"])
    except ValueError as exc:
        raise _Bad("bad_timestamp", str(exc)) from None
    level = _number(obj, "level_m", required=True)
    assert level is not None
    battery = _number(obj, "battery_v", required=False)
    seq = obj.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        raise _Bad("not_numeric", "seq must be an integer")
    _check_time(ts, now, limits)
    _check_level(level, station)
    return Reading(station.id, ts, level, seq, battery, now)


def _is_senml(items: list[Any]) -> bool:
    """A JSON array is SenML when its records use SenML labels instead of the contract's fields."""
    return bool(items) and all(isinstance(i, dict) for i in items) and not any("level_m" in i for i in items) and any(
        k in i for i in items for k in ("n", "bn", "v", "bt")
    )


def _senml_readings(items: list[dict[str, Any]], station: StationConfig, now: float,
                    limits: LimitsSettings) -> Decoded:
    """Resolve SenML records (RFC 8428 base fields) into readings; battery records attach to the same time."""
    out = Decoded()
    bn, bt, bu = "", 0.0, None
    levels: list[tuple[int, float, float]] = []
    battery: dict[float, float] = {}
    for idx, rec in enumerate(items):
        try:
            if "bn" in rec:
                if not isinstance(rec["bn"], str):
                    raise _Bad("bad_senml", "bn must be a string")
                bn = rec["bn"]
            if "bt" in rec:
                bt_val = _number(rec, "bt", required=True)
                assert bt_val is not None
                bt = bt_val
            if "bu" in rec:
                bu = rec["bu"]
            name = bn + rec.get("n", "") if isinstance(rec.get("n", ""), str) else None
            if name is None:
                raise _Bad("bad_senml", "n must be a string")
            if "v" not in rec:
                continue  # a record that only sets base values
            short = name.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            t = bt + (_number(rec, "t", required=False) or 0.0)
            ts = now + t if abs(t) < SENML_RELATIVE_LIMIT else t
            value = _number(rec, "v", required=True)
            assert value is not None
            unit = rec.get("u", bu)
            if short in LEVEL_NAMES:
                if unit not in (None, "m"):
                    raise _Bad("bad_senml", f"level unit must be 'm', got {unit!r}")
                levels.append((idx, ts, value))
            elif short in BATTERY_NAMES:
                battery[ts] = value
        except _Bad as bad:
            out.rejections.append(Rejection(bad.reason, bad.detail, idx))
    if not levels and not out.rejections:
        out.rejections.append(Rejection("bad_senml", "no SenML record named level/level_m/water_level"))
    for idx, ts, value in levels:
        try:
            _check_time(ts, now, limits)
            _check_level(value, station)
            out.readings.append(Reading(station.id, ts, value, None, battery.get(ts), now))
        except _Bad as bad:
            out.rejections.append(Rejection(bad.reason, bad.detail, idx))
    return out


def decode_readings(station_id: str, payload: bytes, settings: Settings, now: float) -> Decoded:
    """Decode a reading payload (object, array or SenML) for a station; never raises."""
    limits = settings.limits
    station = settings.station(station_id)
    if station is None:
        return Decoded(rejections=[Rejection("unknown_station", f"station {station_id[:64]!r} is not configured")])
    if len(payload) > limits.max_reading_payload_bytes:
        return Decoded(rejections=[Rejection(
            "too_large", f"payload of {len(payload)} bytes exceeds {limits.max_reading_payload_bytes}")])
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return Decoded(rejections=[Rejection("not_json", f"payload is not UTF-8 JSON: {str(exc)[:120]}")])
    if isinstance(doc, list):
        if len(doc) > limits.max_batch_readings:
            return Decoded(rejections=[Rejection(
                "too_many_items", f"batch of {len(doc)} readings exceeds {limits.max_batch_readings}")])
        if not doc:
            return Decoded(rejections=[Rejection("bad_shape", "empty array")])
        if _is_senml(doc):
            return _senml_readings(doc, station, now, limits)
        items: Iterable[tuple[int | None, Any]] = enumerate(doc)
    else:
        items = [(None, doc)]
    out = Decoded()
    for idx, obj in items:
        try:
            out.readings.append(_reading_from_object(obj, station, now, limits))
        except _Bad as bad:
            out.rejections.append(Rejection(bad.reason, bad.detail, idx))
    return out


def decode_frame(camera_id: str, payload: bytes, capture_ts: Any, settings: Settings, now: float) -> Frame | Rejection:
    """Check a JPEG frame's size, header dimensions and capture time (MQTT 5 user property `ts`); never raises."""
    limits = settings.limits
    if settings.camera(camera_id) is None:
        return Rejection("unknown_camera", f"camera {camera_id[:64]!r} is not configured")
    if len(payload) > limits.max_frame_bytes:
        return Rejection("too_large", f"frame of {len(payload)} bytes exceeds {limits.max_frame_bytes}")
    try:
        width, height = check_jpeg(payload, limits.max_frame_width_px, limits.max_frame_height_px)
    except JpegError as exc:
        return Rejection(exc.reason, str(exc))
    ts = now
    if capture_ts is not None:
        try:
            ts = parse_time(_maybe_number(capture_ts))
            _check_time(ts, now, limits)
        except ValueError as exc:
            return Rejection("bad_timestamp", str(exc))
        except _Bad as bad:
            return Rejection(bad.reason, bad.detail)
    return Frame(camera_id, ts, payload, width, height, now)


def _maybe_number(text: Any) -> Any:
    """User properties are strings: '1732600000' means epoch seconds, anything else is parsed as RFC 3339."""
    if isinstance(text, str):
        try:
            return float(text)
        except ValueError:
            return text
    return text


def encode_reading(ts: float, level_m: float, seq: int | None = None, battery_v: float | None = None) -> bytes:
    """The contract's JSON for one reading (what a gateway sends)."""
    obj: dict[str, Any] = {"ts": datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z"),
                           "level_m": round(level_m, 4)}
    if seq is not None:
        obj["seq"] = seq
    if battery_v is not None:
        obj["battery_v"] = battery_v
    return json.dumps(obj, separators=(",", ":")).encode()
