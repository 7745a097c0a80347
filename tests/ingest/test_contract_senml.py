"""SenML (RFC 8428) as a conformant receiver reads it: base fields resolved, relative times, versions and
must-understand labels refused, each refusal with its reason."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import jpeg, make_settings
from tichwatch.core.samples import Reading
from tichwatch.ingest.contract import decode_frame, decode_readings
from tichwatch.ingest.outcomes import Rejection

NOW = 1_790_000_000.0
S = make_settings(Path("/tmp/unused"))


def decode(pack: list[dict[str, Any]]) -> tuple[list[Reading], list[tuple[str, int | None]]]:
    """Accepted readings and (reason, item) of each rejection of a SenML pack."""
    out = decode_readings("st1", json.dumps(pack).encode(), S, NOW)
    return out.readings, [(r.reason, r.item) for r in out.rejections]


def levels(pack: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(ts, level_m) of the readings of a pack that must be accepted whole."""
    readings, rejected = decode(pack)
    assert rejected == []
    return [(r.ts, r.level_m) for r in readings]


def test_base_value_is_added_to_the_value() -> None:
    assert levels([{"bn": "urn:dev:gw7:", "bt": NOW - 60, "bv": 4.0, "n": "level", "u": "m", "v": 0.83}]) == [
        (NOW - 60, 4.83)]


def test_base_value_applies_until_the_next_one_and_to_the_battery_too() -> None:
    readings, rejected = decode([
        {"bv": 4.0, "n": "level", "v": 0.8, "t": -120}, {"n": "level", "v": 0.9, "t": -60},
        {"n": "battery", "u": "V", "v": 8.0, "t": -60}, {"bv": 0, "n": "level", "v": 6.0}])
    assert rejected == []
    assert [(r.ts, r.level_m, r.battery_v) for r in readings] == [
        (NOW - 120, 4.8, None), (NOW - 60, 4.9, 12.0), (NOW, 6.0, None)]


def test_base_sum_does_not_change_a_value() -> None:
    assert levels([{"bs": 100.0, "n": "level", "v": 6.0}, {"n": "rain", "s": 3.5}]) == [(NOW, 6.0)]


@pytest.mark.parametrize("pack, reason, item", [
    ([{"bver": 11, "n": "level", "v": 6.0}], "unsupported_senml", 0),
    ([{"bver": 26, "n": "level", "v": 6.0}], "unsupported_senml", 0),  # RFC 9100: 10 + secondary units
    ([{"n": "level", "v": 6.0}, {"bver": 11, "n": "level", "v": 6.1, "t": -1}], "unsupported_senml", 1),
    ([{"n": "level", "v": 6.0, "custom_": 1}], "unsupported_senml", 0),
    ([{"n": "level", "v": 6.0, "t": -1}, {"bn": "urn:x:", "bmust_": "x"}], "unsupported_senml", 1),
    ([{"bver": 0, "n": "level", "v": 6.0}], "bad_senml", 0),
    ([{"bver": -1, "n": "level", "v": 6.0}], "bad_senml", 0),
    ([{"bver": "10", "n": "level", "v": 6.0}], "bad_senml", 0),
    ([{"bver": 10.5, "n": "level", "v": 6.0}], "bad_senml", 0),
    ([{"bver": True, "n": "level", "v": 6.0}], "bad_senml", 0),
    ([{"n": "level", "v": 6.0}, {"bver": 9, "n": "level", "v": 6.1, "t": -1}], "bad_senml", 1),  # default 10 first
])
def test_a_pack_the_receiver_must_not_use_is_refused_whole(pack: list[dict[str, Any]], reason: str,
                                                            item: int) -> None:
    assert decode(pack) == ([], [(reason, item)])


@pytest.mark.parametrize("bver", [10, 9, 1])
def test_supported_versions_are_read(bver: int) -> None:
    assert levels([{"bver": bver, "n": "level", "v": 6.0}, {"n": "level", "v": 6.1, "t": -1}]) == [
        (NOW, 6.0), (NOW - 1, 6.1)]


def test_bver_of_more_digits_than_any_float_is_a_bad_number() -> None:
    out = decode_readings("st1", ('[{"bver":' + "1" * 400 + ',"n":"level","v":6}]').encode(), S, NOW)
    assert [(r.reason, r.item) for r in out.rejections] == [("bad_number", 0)] and out.readings == []


@pytest.mark.parametrize("record, reason", [
    ({"n": "level", "vs": "6.0"}, "not_numeric"),
    ({"n": "level", "vb": True}, "not_numeric"),
    ({"n": "level", "vd": "AAE"}, "not_numeric"),
    ({"n": "level", "s": 6.0}, "bad_senml"),
    ({"n": "level", "v": 6.0, "vs": "6.0"}, "bad_senml"),
    ({"n": "level"}, "bad_senml"),
    ({"n": "level", "bv": 6.0}, "bad_senml"),  # a record has exactly one value field (RFC 8428 §4.2)
    ({"n": "level", "v": "6.0"}, "not_numeric"),
    ({"n": "level", "v": None}, "not_numeric"),
    ({"n": "level", "v": 6.0, "t": "now"}, "not_numeric"),
    ({"n": "level", "u": "cm", "v": 600}, "bad_senml"),
    ({"bu": "cm", "n": "level", "v": 600}, "bad_senml"),
    ({"n": "level", "u": 1, "v": 6.0}, "bad_senml"),
    ({"n": 5, "v": 6.0}, "bad_senml"),
    ({"bn": 5, "n": "level", "v": 6.0}, "bad_senml"),
    ({"bn": "urn dev:", "n": "level", "v": 6.0}, "bad_senml"),  # a space is outside RFC 8428's name characters
    ({"bn": "trạm:", "n": "level", "v": 6.0}, "bad_senml"),
    ({"n": "-level", "v": 6.0}, "bad_senml"),  # a name starts with a letter or digit
    ({"v": 6.0}, "bad_senml"),  # no name at all
    ({"n": "battery", "vs": "12 V"}, "not_numeric"),
    ({"n": "battery", "u": "mV", "v": 12000}, "bad_senml"),
    ({"n": "level", "v": 1e308, "bv": 1e308}, "bad_number"),
    ({"n": "level", "v": 6.0, "bt": 1e308, "t": 1e308}, "bad_number"),
])
def test_each_bad_record_has_its_reason(record: dict[str, Any], reason: str) -> None:
    assert decode([record]) == ([], [(reason, 0)])


def test_a_string_value_for_the_level_names_the_problem() -> None:
    out = decode_readings("st1", b'[{"n": "level", "vs": "6.0"}]', S, NOW)
    assert out.rejections == [Rejection("not_numeric", "level must be a number in v, got vs", 0)]


def test_milliseconds_are_bad_timestamp_in_senml_json_and_frames_alike() -> None:
    ms = 1_790_000_000_000
    assert decode([{"bt": ms, "n": "level", "v": 6.0}]) == ([], [("bad_timestamp", 0)])
    assert decode([{"n": "level", "t": ms, "v": 6.0}]) == ([], [("bad_timestamp", 0)])
    json_out = decode_readings("st1", json.dumps({"ts": ms, "level_m": 6.0}).encode(), S, NOW)
    assert [r.reason for r in json_out.rejections] == ["bad_timestamp"]
    frame = decode_frame("cam1", jpeg(), str(ms), S, NOW)
    assert isinstance(frame, Rejection) and frame.reason == "bad_timestamp"


@pytest.mark.parametrize("fields, outcome", [
    ({"t": -60}, NOW - 60),
    ({"bt": -3600, "t": 3540}, NOW - 60),
    ({"bt": NOW - 3600, "t": 3540}, NOW - 60),
    ({}, NOW),
    ({"t": 2**28 - 1}, "future_timestamp"),  # still relative: 8.5 years ahead
    ({"t": -300_000_000}, "too_old"),  # negative, so relative (9.5 years ago), not an absolute time in 1960
    ({"bt": 2**28}, "too_old"),  # absolute: 1978-07-04
    ({"bt": 2**28 - 10, "t": 20}, "too_old"),  # bt + t reaches 2**28: absolute
    ({"t": 301}, "future_timestamp"),
])
def test_time_is_bt_plus_t_and_relative_below_2_pow_28(fields: dict[str, Any], outcome: float | str) -> None:
    readings, rejected = decode([{**fields, "n": "level", "v": 6.0}])
    if isinstance(outcome, str):
        assert (readings, rejected) == ([], [(outcome, 0)])
    else:
        assert [r.ts for r in readings] == [outcome] and rejected == []


def test_unit_comes_from_u_else_bu() -> None:
    assert levels([{"bu": "cm", "n": "level", "u": "m", "v": 6.0}]) == [(NOW, 6.0)]
    assert levels([{"bu": "m", "n": "level", "v": 6.0}]) == [(NOW, 6.0)]


def test_records_of_other_sensors_are_ignored() -> None:
    assert levels([{"bn": "urn:dev:gw7:", "n": "temperature", "u": "Cel", "v": 31.5},
                   {"n": "door", "vb": False}, {"n": "level", "v": 6.0}]) == [(NOW, 6.0)]


def test_a_bad_base_field_costs_its_record_and_those_that_use_it_only() -> None:
    readings, rejected = decode([
        {"n": "level", "v": 6.0, "t": -120}, {"bt": "soon", "n": "level", "v": 6.1},
        {"n": "level", "v": 6.2, "t": -30}, {"bt": NOW - 10, "n": "level", "v": 6.3}])
    assert [(r.ts, r.level_m) for r in readings] == [(NOW - 120, 6.0), (NOW - 10, 6.3)]
    assert rejected == [("not_numeric", 1), ("not_numeric", 2)]


def test_battery_attaches_at_the_same_time_and_a_bad_one_costs_only_itself() -> None:
    readings, rejected = decode([{"bt": NOW - 60, "n": "level", "v": 6.0}, {"n": "battery", "u": "V", "v": 250},
                                 {"n": "level", "v": 6.1, "t": 30}, {"n": "battery", "v": 12.5, "t": 30}])
    assert [(r.level_m, r.battery_v) for r in readings] == [(6.0, None), (6.1, 12.5)]
    assert rejected == [("out_of_range", 1)]


def test_a_record_that_only_sets_base_fields_is_not_a_measurement() -> None:
    assert levels([{"bn": "urn:dev:gw7:", "bt": NOW - 60, "bu": "m"}, {"n": "level", "v": 6.0}]) == [(NOW - 60, 6.0)]
