"""Property tests: arbitrary input never raises past a decoder."""
from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings, strategies as st

from ingest.contract import Decoded, Rejection, decode_frame, decode_readings, parse_time
from ingest.jpeg import JpegError, check_jpeg
from ingest.samples import Frame
from tests.support import make_settings

S = make_settings(Path("/tmp/unused"))
NOW = 1_790_000_000.0

json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["ts", "level_m", "seq", "battery_v", "n", "bn", "bt", "v", "t", "u", "bu", "x"]),
        children, max_size=6),
    max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048))
def test_reading_decoder_is_total_on_bytes(payload: bytes) -> None:
    out = decode_readings("st1", payload, S, NOW)
    assert isinstance(out, Decoded)
    assert out.readings or out.rejections


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_reading_decoder_is_total_on_json_shapes(doc: object) -> None:
    out = decode_readings("st1", json.dumps(doc).encode(), S, NOW)
    for r in out.readings:
        assert S.stations[0].min_level_m <= r.level_m <= S.stations[0].max_level_m
    assert all(isinstance(r, Rejection) for r in out.rejections)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=4096), st.one_of(st.none(), st.text(max_size=30)))
def test_frame_decoder_is_total(payload: bytes, ts: str | None) -> None:
    assert isinstance(decode_frame("cam1", b"\xff\xd8" + payload, ts, S, NOW), (Frame, Rejection))
    assert isinstance(decode_frame("cam1", payload, ts, S, NOW), (Frame, Rejection))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=4096))
def test_jpeg_header_parser_only_raises_jpeg_error(payload: bytes) -> None:
    try:
        check_jpeg(b"\xff\xd8" + payload, 4096, 4096)
    except JpegError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.floats(), st.integers(), st.none(), st.booleans()))
def test_parse_time_raises_only_value_error(value: object) -> None:
    try:
        parse_time(value)
    except ValueError:
        pass
