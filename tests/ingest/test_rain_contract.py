"""The rain-gauge reading kind: JSON and SenML read exactly, every bad input refused with its reason, and arbitrary
bytes never crash the decoder nor yield a value the store must not keep."""
from __future__ import annotations

import json
import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import make_settings
from tichwatch.ingest.contract import Topics, decode_rain, encode_rain, parse_time
from tichwatch.ingest.outcomes import REASONS

NOW = 1_790_000_000.0
GAUGE = {"id": "rg1", "name": "Đo mưa thử", "lat": 21.1, "lon": 105.5, "expected_interval_s": 600,
         "stations": ["st1"], "max_rain_mm": 200}
S = make_settings(Path("/tmp/unused"), rain_gauges=[GAUGE])


def reasons(payload: bytes | str, gauge: str = "rg1") -> list[str]:
    raw = payload.encode() if isinstance(payload, str) else payload
    return [r.reason for r in decode_rain(gauge, raw, S, NOW).rejections]


def test_topic_is_classified_as_rain_and_subscribed() -> None:
    t = Topics("tich/v1")
    assert t.classify(t.rain("rg1")) == ("rain", "rg1")
    assert t.classify("tich/v1/rain/rg1/frame") is None
    assert "tich/v1/rain/+/reading" in t.subscriptions


def test_json_object_is_read_exactly_with_its_interval() -> None:
    out = decode_rain("rg1", b'{"ts": "2026-09-20T01:00:00+07:00", "rain_mm": 12.4, "interval_s": 300, "seq": 9, '
                             b'"battery_v": 12.2}', S, parse_time("2026-09-20T00:00:00Z"))
    assert out.rejections == []
    (r,) = out.readings
    assert (r.gauge_id, r.rain_mm, r.interval_s, r.seq, r.battery_v) == ("rg1", 12.4, 300.0, 9, 12.2)
    assert r.ts == parse_time("2026-09-19T18:00:00Z")


def test_interval_defaults_to_the_gauges_and_encode_round_trips() -> None:
    (r,) = decode_rain("rg1", encode_rain(NOW - 60, 3.25), S, NOW).readings
    assert (r.ts, r.rain_mm, r.interval_s) == (NOW - 60, 3.25, 600.0)


def test_batch_keeps_good_items_and_names_bad_ones() -> None:
    items = [{"ts": NOW - 1200, "rain_mm": 0}, {"ts": NOW - 600, "rain_mm": -0.2}, {"ts": NOW, "rain_mm": 4.0},
             {"ts": NOW, "rain_mm": 250.0}, {"ts": NOW, "rain_mm": 1, "interval_s": 0},
             {"ts": NOW, "level_m": 3.0}, {"ts": NOW, "rain_mm": "3"}, {"ts": NOW + 3600, "rain_mm": 1},
             {"ts": NOW - 40 * 86400, "rain_mm": 1}, {"rain_mm": 1}, {"ts": NOW, "rain_mm": 1, "seq": -1}]
    out = decode_rain("rg1", json.dumps(items).encode(), S, NOW)
    assert [r.rain_mm for r in out.readings] == [0.0, 4.0]
    assert [(r.item, r.reason) for r in out.rejections] == [
        (1, "out_of_range"), (3, "out_of_range"), (4, "out_of_range"), (5, "missing_field"), (6, "not_numeric"),
        (7, "future_timestamp"), (8, "too_old"), (9, "missing_field"), (10, "out_of_range")]
    assert "rain_mm 250.0" in out.rejections[1].detail and "rg1" in out.rejections[1].detail


def test_whole_payload_refusals() -> None:
    assert reasons(b'{"ts": 1, "rain_mm": 1}', gauge="nope") == ["unknown_station"]
    assert reasons(b"\xff\xfe") == ["not_json"]
    assert reasons("[]") == ["bad_shape"]
    assert reasons("[1, 2]") == ["bad_shape", "bad_shape"]
    assert reasons(b" " * (S.limits.max_reading_payload_bytes + 1)) == ["too_large"]
    assert reasons(json.dumps([{"ts": NOW, "rain_mm": 1}] * (S.limits.max_batch_readings + 1))) == ["too_many_items"]
    assert reasons('{"ts": NaN, "rain_mm": 1}') == ["not_finite"]
    assert reasons('{"ts": 1790000000, "rain_mm": Infinity}') == ["not_finite"]
    assert reasons('{"ts": 1790000000, "rain_mm": 1e400}') == ["bad_number"]
    assert reasons('{"ts": 1790000000000, "rain_mm": 1}') == ["bad_timestamp"]
    assert set(reasons('{"ts": "yesterday", "rain_mm": 1}')) <= set(REASONS)


def test_senml_pack_of_rain_with_battery() -> None:
    pack = [{"bn": "urn:dev:rg-01:", "bt": NOW - 600, "n": "rain", "u": "mm", "v": 2.5},
            {"n": "battery", "u": "V", "v": 12.6},
            {"n": "rain_mm", "t": 600, "v": 0.5},
            {"n": "temperature", "u": "Cel", "v": 24}]
    out = decode_rain("rg1", json.dumps(pack).encode(), S, NOW)
    assert out.rejections == []
    assert [(r.ts, r.rain_mm, r.interval_s, r.battery_v) for r in out.readings] == [
        (NOW - 600, 2.5, 600.0, 12.6), (NOW, 0.5, 600.0, None)]


def test_senml_bad_records_cost_only_themselves() -> None:
    pack = [{"n": "rain", "u": "m", "v": 2.0, "t": -60},  # rain in metres: wrong unit
            {"n": "rain", "vs": "3", "t": -30},  # a string value
            {"n": "rain", "s": 4.0},  # a sum
            {"n": "rain", "v": -1.0},  # negative
            {"n": "rain", "v": 1.5}]
    out = decode_rain("rg1", json.dumps(pack).encode(), S, NOW)
    assert [r.rain_mm for r in out.readings] == [1.5]
    assert [(r.item, r.reason) for r in out.rejections] == [
        (0, "bad_senml"), (1, "not_numeric"), (2, "bad_senml"), (3, "out_of_range")]


def test_senml_without_rain_record_or_must_understand_is_refused() -> None:
    assert reasons(json.dumps([{"n": "level", "u": "m", "v": 3.0}])) == ["bad_senml"]
    assert reasons(json.dumps([{"n": "rain", "v": 1.0, "foo_": 1}])) == ["unsupported_senml"]
    assert reasons(json.dumps([{"bver": 11, "n": "rain", "v": 1.0}])) == ["unsupported_senml"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["ts", "rain_mm", "interval_s", "seq", "battery_v", "n", "v", "t", "bt", "u", "bn"]),
        inner, max_size=6),
    max_leaves=12)


def _safe(readings: list) -> bool:
    return all(r.gauge_id == "rg1" and math.isfinite(r.ts) and 0 <= r.rain_mm <= 200 and 1 <= r.interval_s <= 86400
               and NOW - S.limits.max_age_s <= r.ts <= NOW + S.limits.max_future_s
               and (r.battery_v is None or 0 <= r.battery_v <= 100) for r in readings)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_nor_store_a_bad_value(payload: bytes) -> None:
    out = decode_rain("rg1", payload, S, NOW)
    assert _safe(out.readings)
    assert all(r.reason in REASONS for r in out.rejections)
    assert out.readings or out.rejections


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES)
def test_arbitrary_json_never_crashes_nor_stores_a_bad_value(doc: object) -> None:
    out = decode_rain("rg1", json.dumps(doc).encode(), S, NOW)
    assert _safe(out.readings)
    assert all(r.reason in REASONS for r in out.rejections)
    assert out.readings or out.rejections
