"""Topic contract v1 and payload codecs: MQTT topic + bytes in, validated samples or rejections with a reason out.

Everything here is pure (time is passed in) and total: arbitrary bytes, numbers of any size and times of any year
produce readings safe to store or rejections whose reason is a key of REASONS, never exceptions. The values are read
by tichwatch.ingest.contract_values, SenML packs by tichwatch.ingest.senml.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tichwatch.config.rain import RainGaugeConfig
from tichwatch.config.schema import LimitsSettings, Settings, StationConfig
from tichwatch.core.samples import Frame, RainReading, Reading
from tichwatch.ingest.contract_values import (
    check_battery,
    check_interval,
    check_level,
    check_rain,
    check_window,
    field_number,
    load_json,
    number_from_text,
    parse_time,
    read_seq,
    read_time,
)
from tichwatch.ingest.jpeg import JpegError, check_jpeg
from tichwatch.ingest.outcomes import REASONS, Decoded, Invalid, Rejection
from tichwatch.ingest.senml import decode_rain_senml, decode_senml, is_senml

__all__ = ["CONTRACT_VERSION", "REASONS", "Decoded", "RainDecoded", "Rejection", "Topics", "decode_frame",
           "decode_rain", "decode_readings", "encode_rain", "encode_reading", "parse_time"]

CONTRACT_VERSION = "v1"


@dataclass(frozen=True)
class Topics:
    """The topics of the contract under one prefix."""

    prefix: str = "tich/v1"

    def reading(self, station_id: str) -> str:
        """Topic a gateway publishes a station's readings to."""
        return f"{self.prefix}/water/{station_id}/reading"

    def rain(self, gauge_id: str) -> str:
        """Topic a gateway publishes a rain gauge's readings to."""
        return f"{self.prefix}/rain/{gauge_id}/reading"

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
        return [f"{self.prefix}/water/+/reading", f"{self.prefix}/rain/+/reading", f"{self.prefix}/camera/+/frame"]

    def classify(self, topic: str) -> tuple[str, str] | None:
        """('water'|'rain'|'camera', subject id) for a contract topic, else None."""
        if not topic.startswith(self.prefix + "/"):
            return None
        parts = topic[len(self.prefix) + 1:].split("/")
        if len(parts) == 3 and parts[0] in ("water", "rain") and parts[2] == "reading" and parts[1]:
            return parts[0], parts[1]
        if len(parts) == 3 and parts[0] == "camera" and parts[2] == "frame" and parts[1]:
            return "camera", parts[1]
        return None


def _object_and_time(obj: Any) -> tuple[dict[str, Any], float]:
    """The first checks of every reading object (water or rain): a JSON object with a valid `ts`."""
    if not isinstance(obj, dict):
        raise Invalid("bad_shape", f"a reading must be a JSON object, got {type(obj).__name__}")
    if "ts" not in obj:
        raise Invalid("missing_field", "ts is missing")
    return obj, read_time(obj["ts"])


def _reading_from_object(obj: Any, station: StationConfig, now: float, limits: LimitsSettings) -> Reading:
    """Validate one JSON reading object of the contract."""
    obj, ts = _object_and_time(obj)
    level = field_number(obj, "level_m", required=True)
    assert level is not None
    battery = field_number(obj, "battery_v", required=False)
    seq = read_seq(obj.get("seq"))
    check_window(ts, now, limits)
    check_level(level, station)
    if battery is not None:
        check_battery(battery)
    return Reading(station.id, ts, level, seq, battery, now)


Items = list[tuple[int | None, Any]]
"""The items of a reading payload, each with its index in the batch (None for a lone object)."""


@dataclass(frozen=True)
class _Loaded:
    """A reading payload past the checks every kind shares: JSON items, or a SenML pack."""

    items: Items
    pack: list[dict[str, Any]] | None = None


def _load_items(payload: bytes, limits: LimitsSettings) -> _Loaded | Rejection:
    """The size, JSON and batch checks every reading payload passes: its items or SenML pack, or why the whole
    payload is refused."""
    if len(payload) > limits.max_reading_payload_bytes:
        return Rejection("too_large", f"payload of {len(payload)} bytes exceeds {limits.max_reading_payload_bytes}")
    try:
        doc = load_json(payload.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return Rejection("not_json", f"payload is not UTF-8 JSON: {str(exc)[:120]}")
    if not isinstance(doc, list):
        return _Loaded([(None, doc)])
    if len(doc) > limits.max_batch_readings:
        return Rejection("too_many_items", f"batch of {len(doc)} readings exceeds {limits.max_batch_readings}")
    if not doc:
        return Rejection("bad_shape", "empty array")
    if is_senml(doc):
        return _Loaded([], doc)
    return _Loaded(list(enumerate(doc)))


def decode_readings(station_id: str, payload: bytes, settings: Settings, now: float) -> Decoded:
    """Decode a reading payload (object, array or SenML) for a station; never raises."""
    limits = settings.limits
    station = settings.station(station_id)
    if station is None:
        return Decoded(rejections=[Rejection("unknown_station", f"station {station_id[:64]!r} is not configured")])
    loaded = _load_items(payload, limits)
    if isinstance(loaded, Rejection):
        return Decoded(rejections=[loaded])
    if loaded.pack is not None:
        return decode_senml(loaded.pack, station, now, limits)
    out = Decoded()
    for idx, obj in loaded.items:
        try:
            out.readings.append(_reading_from_object(obj, station, now, limits))
        except Invalid as bad:
            out.rejections.append(bad.rejection(idx))
    return out


@dataclass
class RainDecoded:
    """What a rain-gauge payload yielded: the accepted readings and the rejected items."""

    readings: list[RainReading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _rain_from_object(obj: Any, gauge: RainGaugeConfig, now: float, limits: LimitsSettings) -> RainReading:
    """Validate one JSON rain reading object of the contract."""
    obj, ts = _object_and_time(obj)
    rain = field_number(obj, "rain_mm", required=True)
    assert rain is not None
    interval = field_number(obj, "interval_s", required=False)
    battery = field_number(obj, "battery_v", required=False)
    seq = read_seq(obj.get("seq"))
    check_window(ts, now, limits)
    check_rain(rain, gauge)
    if interval is None:
        interval = float(gauge.expected_interval_s)
    check_interval(interval)
    if battery is not None:
        check_battery(battery)
    return RainReading(gauge.id, ts, rain, interval, seq, battery, now)


def decode_rain(gauge_id: str, payload: bytes, settings: Settings, now: float) -> RainDecoded:
    """Decode a rain-gauge payload (object, array or SenML) for a gauge; never raises."""
    gauge = settings.rain_gauge(gauge_id)
    if gauge is None:
        return RainDecoded(rejections=[Rejection("unknown_station", f"rain gauge {gauge_id[:64]!r} is not "
                                                 "configured")])
    loaded = _load_items(payload, settings.limits)
    if isinstance(loaded, Rejection):
        return RainDecoded(rejections=[loaded])
    if loaded.pack is not None:
        readings, rejections = decode_rain_senml(loaded.pack, gauge.id,
                                                 float(gauge.expected_interval_s), lambda v: check_rain(v, gauge),
                                                 now, settings.limits)
        return RainDecoded(readings, rejections)
    out = RainDecoded()
    for idx, obj in loaded.items:
        try:
            out.readings.append(_rain_from_object(obj, gauge, now, settings.limits))
        except Invalid as bad:
            out.rejections.append(bad.rejection(idx))
    return out


def decode_frame(camera_id: str, payload: bytes, capture_ts: Any, settings: Settings, now: float) -> Frame | Rejection:
    """Check a JPEG frame's size, header dimensions and capture time (MQTT 5 user property `ts`: epoch seconds or
    RFC 3339, read like a reading's ts); never raises."""
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
            ts = read_time(number_from_text(capture_ts) if isinstance(capture_ts, str) else capture_ts)
            check_window(ts, now, limits)
        except Invalid as bad:
            return bad.rejection()
    return Frame(camera_id, ts, payload, width, height, now)


def encode_rain(ts: float, rain_mm: float, interval_s: float | None = None, seq: int | None = None) -> bytes:
    """The contract's JSON for one rain reading (what a rain gateway sends)."""
    obj: dict[str, Any] = {"ts": datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z"),
                           "rain_mm": round(rain_mm, 2)}
    if interval_s is not None:
        obj["interval_s"] = interval_s
    if seq is not None:
        obj["seq"] = seq
    return json.dumps(obj, separators=(",", ":")).encode()


def encode_reading(ts: float, level_m: float, seq: int | None = None, battery_v: float | None = None) -> bytes:
    """The contract's JSON for one reading (what a gateway sends)."""
    obj: dict[str, Any] = {"ts": datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z"),
                           "level_m": round(level_m, 4)}
    if seq is not None:
        obj["seq"] = seq
    if battery_v is not None:
        obj["battery_v"] = battery_v
    return json.dumps(obj, separators=(",", ":")).encode()
