"""The topic contract's decoders: every kind of bad input gets its own reason; good input is read exactly."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.support import jpeg, make_settings
from tichwatch.ingest.contract import Rejection, Topics, decode_frame, decode_readings, encode_reading, parse_time
from tichwatch.ingest.jpeg import JpegError, check_jpeg, read_jpeg_header

NOW = 1_790_000_000.0
S = make_settings(Path("/tmp/unused"))


def forged_header(width: int, height: int) -> bytes:
    """A JPEG whose SOF0 header announces the given size (16 bits each: 65535 at most), then an end marker."""
    sof = bytes([0xFF, 0xC0, 0x00, 0x11, 0x08, height >> 8, height & 255, width >> 8, width & 255, 0x03]) + bytes(9)
    return b"\xff\xd8" + sof + b"\xff\xd9"


def reasons(payload: bytes, station: str = "st1") -> list[str]:
    return [r.reason for r in decode_readings(station, payload, S, NOW).rejections]


def test_single_object_is_read_exactly() -> None:
    out = decode_readings("st1", b'{"ts": "2026-09-20T01:00:00+07:00", "level_m": 7.31, "seq": 4, "battery_v": 12.1}',
                          S, parse_time("2026-09-20T00:00:00Z"))
    assert out.rejections == []
    (r,) = out.readings
    assert (r.station_id, r.level_m, r.seq, r.battery_v) == ("st1", 7.31, 4, 12.1)
    assert r.ts == parse_time("2026-09-19T18:00:00Z")


def test_batch_keeps_good_items_and_names_bad_ones() -> None:
    items = [{"ts": NOW - 60, "level_m": 5.0}, {"ts": NOW - 30, "level_m": "high"}, {"ts": NOW, "level_m": 5.2}]
    out = decode_readings("st1", json.dumps(items).encode(), S, NOW)
    assert [r.level_m for r in out.readings] == [5.0, 5.2]
    assert out.rejections == [Rejection("not_numeric", "level_m must be a number, got str", 1)]


def test_senml_with_base_fields_and_battery() -> None:
    payload = json.dumps([
        {"bn": "urn:dev:gw7:", "bt": NOW - 600, "n": "level", "u": "m", "v": 6.0},
        {"n": "level", "t": 300, "v": 6.1}, {"n": "battery", "t": 300, "u": "V", "v": 11.9},
    ]).encode()
    out = decode_readings("st1", payload, S, NOW)
    assert out.rejections == []
    assert [(r.ts, r.level_m, r.battery_v) for r in out.readings] == [(NOW - 600, 6.0, None), (NOW - 300, 6.1, 11.9)]


def test_senml_relative_time_is_relative_to_now() -> None:
    out = decode_readings("st1", b'[{"n": "level_m", "t": -60, "v": 5.5}]', S, NOW)
    assert [r.ts for r in out.readings] == [NOW - 60]


@pytest.mark.parametrize("payload, reason", [
    (b'{"ts": 1790000000, "level_m": 5}', None),
    (b"not json", "not_json"),
    (b"\xff\xfe", "not_json"),
    (b"[]", "bad_shape"),
    (b'"text"', "bad_shape"),
    (b'{"level_m": 5}', "missing_field"),
    (b'{"ts": 1790000000}', "missing_field"),
    (b'{"ts": 1790000000, "level_m": "5"}', "not_numeric"),
    (b'{"ts": 1790000000, "level_m": true}', "not_numeric"),
    (b'{"ts": 1790000000, "level_m": NaN}', "not_finite"),
    (b'{"ts": 1790000000, "level_m": Infinity}', "not_finite"),
    (b'{"ts": 1790000000, "level_m": 5, "battery_v": NaN}', "not_finite"),
    (b'{"ts": "yesterday", "level_m": 5}', "bad_timestamp"),
    (b'{"ts": "2026-09-20T01:00:00", "level_m": 5}', "bad_timestamp"),
    (b'{"ts": 1790000000000, "level_m": 5}', "bad_timestamp"),
    (b'{"ts": 1790003600, "level_m": 5}', "future_timestamp"),
    (b'{"ts": 1700000000, "level_m": 5}', "too_old"),
    (b'{"ts": 1790000000, "level_m": 40}', "out_of_range"),
    (b'{"ts": 1790000000, "level_m": -1}', "out_of_range"),
    (b'{"ts": 1790000000, "level_m": 5, "seq": 1.5}', "not_numeric"),
    (b'[{"n": "temperature", "v": 20}]', "bad_senml"),
    (b'[{"n": "level", "u": "cm", "v": 500, "t": 0}]', "bad_senml"),
])
def test_each_bad_input_has_its_reason(payload: bytes, reason: str | None) -> None:
    assert reasons(payload) == ([reason] if reason else [])


def test_unknown_station_and_size_limits() -> None:
    assert reasons(b'{"ts": 1790000000, "level_m": 5}', station="nowhere") == ["unknown_station"]
    big = b'{"ts": 1790000000, "level_m": 5, "pad": "' + b"x" * S.limits.max_reading_payload_bytes + b'"}'
    assert reasons(big) == ["too_large"]
    many = json.dumps([{"ts": NOW, "level_m": 5}] * (S.limits.max_batch_readings + 1)).encode()
    assert reasons(many) == ["too_many_items"]


def test_deeply_nested_json_is_rejected_not_crashing() -> None:
    assert reasons(b"[" * 100_000 + b"]" * 100_000) in (["not_json"], ["bad_shape"], ["too_large"])


def test_encode_reading_round_trips() -> None:
    out = decode_readings("st1", encode_reading(NOW - 5, 6.789, seq=3, battery_v=12.0), S, NOW)
    assert [(r.ts, r.level_m, r.seq, r.battery_v) for r in out.readings] == [(NOW - 5, 6.789, 3, 12.0)]


def test_topics() -> None:
    t = Topics("tich/v1")
    assert t.classify("tich/v1/water/st1/reading") == ("water", "st1")
    assert t.classify("tich/v1/camera/c/frame") == ("camera", "c")
    assert t.classify("tich/v1/water/st1/level") is None
    assert t.classify("other/water/st1/reading") is None
    assert t.deadletter("tich/v1/water/st1/reading") == "tich/v1/deadletter/water/st1/reading"


def test_jpeg_dimensions_from_header() -> None:
    assert read_jpeg_header(jpeg(320, 200)) == (320, 200)
    assert check_jpeg(jpeg(320, 200), 4096, 4096) == (320, 200)


@pytest.mark.parametrize("data, reason", [
    (b"GIF89a....", "not_jpeg"),
    (b"", "not_jpeg"),
    (forged_header(65_535, 65_535), "dimensions_too_large"),  # the most a JPEG header can announce
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0", "not_jpeg"),  # PNG, 100000x100000
    (forged_header(0, 480), "unsupported_jpeg"),  # size given later in the stream (DNL): not decoded
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "truncated_jpeg"),
    (b"\xff\xd8\x00\x00", "bad_jpeg_header"),
])
def test_bad_jpegs_are_refused_before_decoding(data: bytes, reason: str) -> None:
    with pytest.raises(JpegError) as exc:
        check_jpeg(data, 4096, 4096)
    assert exc.value.reason == reason


def test_truncated_jpeg_body_is_refused() -> None:
    data = jpeg(320, 200)
    with pytest.raises(JpegError) as exc:
        check_jpeg(data[: len(data) // 2], 4096, 4096)
    assert exc.value.reason == "truncated_jpeg"


def test_decode_frame_uses_capture_time_and_checks_camera() -> None:
    frame = decode_frame("cam1", jpeg(), "1789999990", S, NOW)
    assert not isinstance(frame, Rejection) and frame.ts == 1789999990 and (frame.width, frame.height) == (64, 48)
    assert decode_frame("cam1", jpeg(), None, S, NOW).ts == NOW  # type: ignore[union-attr]
    assert decode_frame("camX", jpeg(), None, S, NOW) == Rejection("unknown_camera", "camera 'camX' is not configured")
    assert decode_frame("cam1", jpeg(), "soon", S, NOW).reason == "bad_timestamp"  # type: ignore[union-attr]
    assert decode_frame("cam1", forged_header(65_535, 65_535), None, S, NOW).reason == "dimensions_too_large"  # type: ignore[union-attr]


def test_parse_time_forms() -> None:
    assert parse_time("1970-01-01T07:00:00+07:00") == 0.0
    assert parse_time("1970-01-01T00:00:10Z") == 10.0
    assert parse_time(12) == 12.0
    for bad in (True, None, math.nan, "1970-01-01 00:00"):
        with pytest.raises(ValueError):
            parse_time(bad)
