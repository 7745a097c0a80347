"""Property tests: arbitrary input never raises past a decoder, and numbers of any length and times of any year in
every field of every payload kind end as a storable reading or a rejection with a listed reason."""
from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import jpeg, make_settings
from tichwatch.app.schema import open_store
from tichwatch.core.samples import Frame
from tichwatch.ingest.contract import Decoded, Rejection, decode_frame, decode_readings, parse_time
from tichwatch.ingest.contract_values import BATTERY_RANGE_V, SEQ_MAX
from tichwatch.ingest.jpeg import JpegError, check_jpeg
from tichwatch.ingest.outcomes import REASONS
from tichwatch.store.store import Store

S = make_settings(Path("/tmp/unused"))
NOW = 1_790_000_000.0
STATION = S.stations[0]
JPEG = jpeg()
FAST = settings(max_examples=100, deadline=None, derandomize=True)
TOTAL = settings(max_examples=100, deadline=None, derandomize=True)

json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["ts", "level_m", "seq", "battery_v", "n", "bn", "bt", "v", "t", "u", "bu", "bv", "bver",
                         "x_", "x"]), children, max_size=6),
    max_leaves=20)


@st.composite
def number_texts(draw: st.DrawFn) -> str:
    """A JSON number literal of any length: up to 450 integer digits, a fraction, an exponent of any size."""
    length = draw(st.integers(1, 450))
    seed = str(draw(st.integers(1, 10**18)))  # digits repeated to the length: cheap to draw, any size
    integer = draw(st.sampled_from(["0", (seed * (length // len(seed) + 1))[:length]]))
    fraction = draw(st.sampled_from(["", f".{draw(st.integers(0, 10**30))}"]))
    exponent = draw(st.sampled_from(["", f"e{draw(st.integers(-500, 500))}", f"E+{draw(st.integers(0, 500))}"]))
    return draw(st.sampled_from(["", "-"])) + integer + fraction + exponent


EDGE_NUMBERS = ["0", "-0", "1e400", "-1e400", "1e-400", "2e308", "1.7976931348623157e308", "9" * 400, "9" * 309,
                str(2**63 - 1), str(2**63), str(2**64), "-1", "1790000000", "1789999940.5", "1790000000000", "1e11",
                "268435455", "268435456", "-268435457", "4.0", "0.83", "12.4", "100", "100.0000001"]
numbers = st.one_of(number_texts(), st.sampled_from(EDGE_NUMBERS))


@st.composite
def rfc3339_times(draw: st.DrawFn) -> str:
    """An RFC 3339 time of any year 1–9999 with any offset −23:59…+23:59 (or Z), sometimes close to NOW."""
    far = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999))
    near = st.datetimes(min_value=datetime(2026, 8, 1), max_value=datetime(2026, 9, 23))
    local = draw(st.one_of(far, near))
    minutes = draw(st.integers(-(24 * 60 - 1), 24 * 60 - 1))
    sign, rest = ("-" if minutes < 0 else "+"), abs(minutes)
    offset = "Z" if minutes == 0 and draw(st.booleans()) else f"{sign}{rest // 60:02d}:{rest % 60:02d}"
    return local.isoformat() + offset


field_values = st.one_of(numbers, rfc3339_times().map(json.dumps),
                         st.sampled_from(["null", "true", '"7.5"', "NaN", "-Infinity", "[]", "{}"]))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A real store: what the decoders accept must insert into it."""
    s = open_store(tmp_path_factory.mktemp("contract-store"))
    yield s
    s.close()


def assert_storable(out: Decoded, store: Store) -> None:
    """Every rejection has a listed reason; every reading holds storable values and inserts into the store."""
    for rejection in out.rejections:
        assert rejection.reason in REASONS and len(rejection.detail) < 300
    for r in out.readings:
        assert math.isfinite(r.ts) and NOW - S.limits.max_age_s <= r.ts <= NOW + S.limits.max_future_s
        assert math.isfinite(r.level_m) and STATION.min_level_m <= r.level_m <= STATION.max_level_m
        assert r.seq is None or 0 <= r.seq <= SEQ_MAX
        assert r.battery_v is None or BATTERY_RANGE_V[0] <= r.battery_v <= BATTERY_RANGE_V[1]
    store.append_readings(out.readings)
    assert all(store.reading_at(r.station_id, r.ts) is not None for r in out.readings)


def decode(text: str) -> Decoded:
    return decode_readings("st1", text.encode(), S, NOW)


def contract_object(**fields: str) -> str:
    """A JSON reading object from raw JSON texts of its fields (good values unless given)."""
    raw = {"ts": "1789999910", "level_m": "6.5", "seq": "7", "battery_v": "12.4", **fields}
    return "{" + ",".join(f'"{key}":{value}' for key, value in raw.items()) + "}"


@FAST
@given(st.sampled_from(["ts", "level_m", "seq", "battery_v"]), field_values)
def test_any_value_in_any_field_of_a_reading_alone_or_in_a_backlog(store: Store, name: str, value: str) -> None:
    poison = contract_object(**{name: value})
    assert_storable(decode(poison), store)
    good = [contract_object(ts=str(NOW - 120)), contract_object(ts=str(NOW - 60), level_m="7.1")]
    out = decode(f"[{good[0]},{poison},{good[1]}]")
    assert_storable(out, store)
    assert {(r.ts, r.level_m) for r in out.readings} >= {(NOW - 120, 6.5), (NOW - 60, 7.1)}
    assert all(r.item == 1 for r in out.rejections)


SENML_FIELDS = [(0, "bt"), (0, "bv"), (0, "bs"), (0, "bver"), (0, "v"), (0, "t"), (1, "v"), (1, "t"), (2, "t")]


@FAST
@given(st.sampled_from(SENML_FIELDS), field_values)
def test_any_value_in_any_field_of_a_senml_pack(store: Store, where: tuple[int, str], value: str) -> None:
    records = [{"bn": '"urn:dev:gw7:"', "bt": str(NOW - 600), "n": '"level"', "u": '"m"', "v": "6.1"},
               {"n": '"battery"', "u": '"V"', "v": "12.2"}, {"n": '"level"', "v": "6.3", "t": "300"}]
    records[where[0]][where[1]] = value
    out = decode("[" + ",".join("{" + ",".join(f'"{k}":{v}' for k, v in r.items()) + "}" for r in records) + "]")
    assert_storable(out, store)


@FAST
@given(st.one_of(rfc3339_times(), numbers, st.text(max_size=30)))
def test_any_capture_time_of_a_frame(store: Store, ts: str) -> None:
    frame = decode_frame("cam1", JPEG, ts, S, NOW)
    if isinstance(frame, Rejection):
        assert frame.reason in REASONS
    else:
        assert math.isfinite(frame.ts) and NOW - S.limits.max_age_s <= frame.ts <= NOW + S.limits.max_future_s
        store.save_latest_frame(frame)


@FAST
@given(rfc3339_times())
def test_parse_time_reads_every_year_and_offset_exactly(text: str) -> None:
    local, offset = (text[:-1], "+00:00") if text.endswith("Z") else (text[:-6], text[-6:])
    sign = -1 if offset[0] == "-" else 1
    shift = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])) * sign
    expected = (datetime.fromisoformat(local) - shift - datetime(1970, 1, 1)) / timedelta(seconds=1)
    assert parse_time(text) == expected


@TOTAL
@given(st.binary(max_size=2048))
def test_reading_decoder_is_total_on_bytes(payload: bytes) -> None:
    out = decode_readings("st1", payload, S, NOW)
    assert isinstance(out, Decoded)
    assert out.readings or out.rejections


@TOTAL
@given(json_values)
def test_reading_decoder_is_total_on_json_shapes(store: Store, doc: object) -> None:
    assert_storable(decode_readings("st1", json.dumps(doc).encode(), S, NOW), store)


@TOTAL
@given(st.binary(max_size=4096), st.one_of(st.none(), st.text(max_size=30)))
def test_frame_decoder_is_total(payload: bytes, ts: str | None) -> None:
    for data in (b"\xff\xd8" + payload, payload):
        result = decode_frame("cam1", data, ts, S, NOW)
        assert isinstance(result, Frame) or (isinstance(result, Rejection) and result.reason in REASONS)


@TOTAL
@given(st.binary(max_size=4096))
def test_jpeg_header_parser_only_raises_jpeg_error(payload: bytes) -> None:
    try:
        check_jpeg(b"\xff\xd8" + payload, 4096, 4096)
    except JpegError as exc:
        assert exc.reason in REASONS


@TOTAL
@given(st.one_of(st.text(max_size=40), st.floats(), st.integers(), st.none(), st.booleans(), rfc3339_times()))
def test_parse_time_raises_only_value_error(value: object) -> None:
    with contextlib.suppress(ValueError):
        parse_time(value)
