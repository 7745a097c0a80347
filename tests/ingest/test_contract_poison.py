"""Poison readings found against a real broker: numbers and times at the edges of what Python, JSON and SQLite hold
are rejections with a reason, never exceptions; what is accepted is storable."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import jpeg, make_settings
from tichwatch.app.schema import open_store
from tichwatch.core.samples import Reading
from tichwatch.ingest.contract import decode_frame, decode_readings, parse_time
from tichwatch.ingest.contract_values import SEQ_MAX
from tichwatch.ingest.outcomes import Rejection

NOW = 1_790_000_000.0
S = make_settings(Path("/tmp/unused"))
DIGITS_400 = "9" * 400


def outcome(payload: bytes | str) -> tuple[list[Reading], list[tuple[str, int | None]]]:
    """Accepted readings and (reason, item) of each rejection."""
    raw = payload.encode() if isinstance(payload, str) else payload
    out = decode_readings("st1", raw, S, NOW)
    return out.readings, [(r.reason, r.item) for r in out.rejections]


def reasons(payload: bytes | str) -> list[str]:
    return [reason for reason, _ in outcome(payload)[1]]


@pytest.mark.parametrize("payload, reason", [
    ('{"ts":"0001-01-01T00:00:00+14:00","level_m":6}', "too_old"),  # before the year 1 in UTC
    ('{"ts":"9999-12-31T23:59:59-14:00","level_m":6}', "future_timestamp"),  # after the year 9999 in UTC
    (f'{{"ts":{DIGITS_400},"level_m":6}}', "bad_number"),
    (f'{{"ts":-{DIGITS_400},"level_m":6}}', "bad_number"),
    (f'{{"ts":1790000000,"level_m":{DIGITS_400}}}', "bad_number"),
    (f'{{"ts":1790000000,"level_m":6,"battery_v":{DIGITS_400}}}', "bad_number"),
    (f'{{"ts":1790000000,"level_m":6,"seq":{DIGITS_400}}}', "bad_number"),
    (f'[{{"n":"level","v":{DIGITS_400}}}]', "bad_number"),
    ('{"ts":1e400,"level_m":6}', "bad_number"),
    ('{"ts":1790000000,"level_m":1e400}', "bad_number"),
    ('{"ts":1790000000,"level_m":-1e400}', "bad_number"),
    ('{"ts":1790000000,"level_m":6,"battery_v":1e400}', "bad_number"),
    (f'{{"ts":1790000000,"level_m":{"9" * 309}}}', "bad_number"),  # 309 digits parse as an int, 1e309 is no float
    (f'{{"ts":1790000000,"level_m":{"9" * 300}}}', "out_of_range"),  # 1e300 is a float, and no river level
    ('{"ts":1790000000,"level_m":6,"seq":18446744073709551616}', "out_of_range"),  # 2**64: SQLite cannot store it
    ('{"ts":1790000000,"level_m":6,"seq":9223372036854775808}', "out_of_range"),  # 2**63
    ('{"ts":1790000000,"level_m":6,"seq":-1}', "out_of_range"),
    ('{"ts":1790000000,"level_m":6,"seq":true}', "not_numeric"),
    ('{"ts":1790000000,"level_m":6,"battery_v":-0.1}', "out_of_range"),
    ('{"ts":1790000000,"level_m":6,"battery_v":100.5}', "out_of_range"),
    ('{"ts":1790000000,"level_m":6,"battery_v":1e300}', "out_of_range"),
    ('{"ts":1790000000,"level_m":6,"battery_v":"12"}', "not_numeric"),
    ('{"ts":NaN,"level_m":6}', "not_finite"),
    ('{"ts":-Infinity,"level_m":6}', "not_finite"),
    ('{"ts":1e-400,"level_m":6}', "too_old"),  # underflows to 0.0: a real (old) time
    ('{"ts":-1e300,"level_m":6}', "too_old"),
    ('{"ts":1790000000000,"level_m":6}', "bad_timestamp"),  # milliseconds
    ('{"ts":1e11,"level_m":6}', "bad_timestamp"),
    ('{"ts":"0000-12-31T23:00:00Z","level_m":6}', "bad_timestamp"),  # no year 0 in RFC 3339
    ('{"ts":"2026-09-20T01:00:00+24:00","level_m":6}', "bad_timestamp"),
    ('{"ts":true,"level_m":6}', "bad_timestamp"),
    ('{"ts":null,"level_m":6}', "bad_timestamp"),
])
def test_poison_reading_is_rejected_with_its_reason(payload: str, reason: str) -> None:
    readings, rejected = outcome(payload)
    assert readings == [] and [r for r, _ in rejected] == [reason]


def test_edges_that_are_valid_are_accepted_and_stored(tmp_path: Path) -> None:
    readings, rejected = outcome(json.dumps([
        {"ts": NOW - 60, "level_m": 2.0, "seq": 0, "battery_v": 0.0},
        {"ts": NOW - 30, "level_m": 12.0, "seq": SEQ_MAX, "battery_v": 100.0},
        {"ts": "2026-09-21T21:13:20.000001+07:00", "level_m": 6.0},  # NOW + 1 µs, written in Hanoi time
    ]))
    assert rejected == []
    assert [r.seq for r in readings] == [0, SEQ_MAX, None]
    assert readings[2].ts == pytest.approx(NOW + 1e-6, abs=1e-6)
    store = open_store(tmp_path)
    try:
        assert store.append_readings(readings) == readings
        assert store.reading_at("st1", NOW - 30) == readings[1]
    finally:
        store.close()


def test_good_items_beside_poison_items_are_accepted() -> None:
    payload = (f'[{{"ts":{NOW - 90},"level_m":6.0}},{{"ts":"0001-01-01T00:00:00+14:00","level_m":6}},'
               f'{{"ts":{NOW - 60},"level_m":{DIGITS_400}}},{{"ts":{NOW - 45},"level_m":6,"seq":18446744073709551616}},'
               f'{{"ts":1e400,"level_m":6}},{{"ts":{NOW - 30},"level_m":6.2,"seq":5}}]')
    readings, rejected = outcome(payload)
    assert [(r.ts, r.level_m, r.seq) for r in readings] == [(NOW - 90, 6.0, None), (NOW - 30, 6.2, 5)]
    assert rejected == [("too_old", 1), ("bad_number", 2), ("out_of_range", 3), ("bad_number", 4)]


def test_an_integer_longer_than_pythons_digit_limit_costs_only_its_item() -> None:
    """Python refuses to parse integers of more than 4,300 digits: that must not make the whole batch not_json."""
    payload = f'[{{"ts":{NOW},"level_m":6}},{{"ts":{NOW - 1},"level_m":{"1" * 5000}}}]'
    readings, rejected = outcome(payload)
    assert [r.ts for r in readings] == [NOW] and rejected == [("bad_number", 1)]


def test_details_stay_short_for_huge_numbers() -> None:
    out = decode_readings("st1", f'{{"ts":{NOW},"level_m":{"7" * 5000}}}'.encode(), S, NOW)
    (rejection,) = out.rejections
    assert len(rejection.detail) < 120 and "5000 chars" in rejection.detail


@pytest.mark.parametrize("payload, reason", [
    (b'{"ts": 1790000000, "level_m": 5} trailing', "not_json"),
    (b'{"ts": 1790000000, "level_m": 5}{"ts": 1790000000, "level_m": 5}', "not_json"),
    (b'[{"ts": 1790000000, "level_m": 5}] ]', "not_json"),
    (b'{"ts": 1790000000, "level_m": 5', "not_json"),
    (b'{"ts": 1790000000, "level_m": 05}', "not_json"),  # no leading zeros in JSON
    (b'{"ts": 1790000000, "level_m": 0x5}', "not_json"),
    (b'{"ts": 1790000000, "level_m": 5}\n', None),  # trailing white space is JSON
])
def test_trailing_garbage(payload: bytes, reason: str | None) -> None:
    assert reasons(payload) == ([reason] if reason else [])


def test_huge_arrays() -> None:
    limit = S.limits.max_batch_readings
    assert reasons("[" + ",".join(["0"] * (limit + 1)) + "]") == ["too_many_items"]
    senml = json.dumps([{"n": "level", "t": -i, "v": 6.0} for i in range(limit + 1)])
    assert reasons(senml) == ["too_many_items"]
    readings, rejected = outcome(json.dumps([{"ts": NOW - i, "level_m": 6.0} for i in range(limit)]))
    assert len(readings) == limit and rejected == []


@pytest.mark.parametrize("capture_ts, reason", [
    ("0001-01-01T00:00:00+14:00", "too_old"),
    ("0001-01-01T00:00:00+01:00", "too_old"),
    ("9999-12-31T23:59:59-14:00", "future_timestamp"),
    (DIGITS_400, "bad_number"),
    ("1e400", "bad_number"),
    ("1790000000000", "bad_timestamp"),  # milliseconds, as in a reading
    ("NaN", "bad_timestamp"),
    ("inf", "bad_timestamp"),
    ("", "bad_timestamp"),
    ("1_789_999_990", "bad_timestamp"),  # Python's float() would take it; JSON numbers do not
])
def test_poison_frame_capture_time(capture_ts: str, reason: str) -> None:
    frame = decode_frame("cam1", jpeg(), capture_ts, S, NOW)
    assert isinstance(frame, Rejection) and frame.reason == reason


@pytest.mark.parametrize("capture_ts, ts", [
    ("1789999990", 1789999990.0), (" 1789999990.5 ", 1789999990.5), ("2026-09-21T21:13:00+07:00", NOW - 20),
    ("2026-09-21T14:13:00Z", NOW - 20),
])
def test_frame_capture_time_forms(capture_ts: str, ts: float) -> None:
    frame = decode_frame("cam1", jpeg(), capture_ts, S, NOW)
    assert not isinstance(frame, Rejection) and frame.ts == ts


@pytest.mark.parametrize("text, ts", [
    ("0001-01-01T00:00:00+14:00", -62135596800.0 - 14 * 3600),
    ("9999-12-31T23:59:59-14:00", 253402300799.0 + 14 * 3600),
    ("1970-01-01T00:00:00.5+00:00", 0.5),
])
def test_parse_time_reaches_every_year_and_offset(text: str, ts: float) -> None:
    assert parse_time(text) == ts
