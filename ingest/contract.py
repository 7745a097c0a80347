"""Topic contract v1 and payload codecs: MQTT topic + bytes in, validated samples or rejections with a reason out.

Everything here is pure (time is passed in) and total: arbitrary bytes, numbers of any size and times of any year
produce readings safe to store or rejections whose reason is a key of REASONS, never exceptions. The values are read
by tichwatch.ingest.contract_values, SenML packs by tichwatch.ingest.senml.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tichwatch.config.schema import LimitsSettings, Settings, StationConfig
from tichwatch.core.samples import Frame, Reading
from tichwatch.ingest.contract_values import (
    check_battery,
    check_level,
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
from tichwatch.ingest.senml import decode_senml, is_senml

__all__ = ["CONTRACT_VERSION", "REASONS", "Decoded", "Rejection", "Topics", "decode_frame", "decode_readings",
           "encode_reading", "parse_time"]

CONTRACT_VERSION = "v1"


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


def _reading_from_object(obj: Any, station: StationConfig, now: float, limits: LimitsSettings) -> Reading:
    """Validate one JSON reading object of the contract."""
    if not isinstance(obj, dict):
        raise Invalid("bad_shape", f"a reading must be a JSON object, got {type(obj).__name__}")
    if "ts" not in obj:
        raise Invalid("missing_field", "ts is missing")
    ts = read_time(obj["ts"])
    level = field_number(obj, "level_m", required=True)
    assert level is not None
    battery = field_number(obj, "battery_v", required=False)
    seq = read_seq(obj.get("seq"))
    check_window(ts, now, limits)
    check_level(level, station)
    if battery is not None:
        check_battery(battery)
    return Reading(station.id, ts, level, seq, battery, now)


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
        doc = load_json(payload.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return Decoded(rejections=[Rejection("not_json", f"payload is not UTF-8 JSON: {str(exc)[:120]}")])
    if isinstance(doc, list):
        if len(doc) > limits.max_batch_readings:
            return Decoded(rejections=[Rejection(
                "too_many_items", f"batch of {len(doc)} readings exceeds {limits.max_batch_readings}")])
        if not doc:
            return Decoded(rejections=[Rejection("bad_shape", "empty array")])
        if is_senml(doc):
            return decode_senml(doc, station, now, limits)
        items: Iterable[tuple[int | None, Any]] = enumerate(doc)
    else:
        items = [(None, doc)]
    out = Decoded()
    for idx, obj in items:
        try:
            out.readings.append(_reading_from_object(obj, station, now, limits))
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


def encode_reading(ts: float, level_m: float, seq: int | None = None, battery_v: float | None = None) -> bytes:
    """The contract's JSON for one reading (what a gateway sends)."""
    obj: dict[str, Any] = {"ts": datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z"),
                           "level_m": round(level_m, 4)}
    if seq is not None:
        obj["seq"] = seq
    if battery_v is not None:
        obj["battery_v"] = battery_v
    return json.dumps(obj, separators=(",", ":")).encode()
