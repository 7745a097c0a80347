"""Keyset pagination of the list endpoints against the real app and store: every item once, in order, while new
items arrive; the next page in the body and the Link header; bad cursors refused."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tichwatch.api.pagination import decode_cursor, encode_cursor
from tichwatch.api.problems import ApiProblem
from tichwatch.app.service import Service
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.samples import Reading

NOW = 1_790_000_000.0


@pytest.fixture
def api(api_now: tuple[TestClient, Service]) -> tuple[TestClient, Service]:
    """The app, not started, at NOW (tests/api/conftest.py)."""
    return api_now


def _open_alerts(svc: Service, n: int, start_ts: float) -> None:
    """n alerts, two of them per start time (so the cursor's tie-break on id matters)."""
    kinds = ("sensor.stuck", "sensor.spike")
    dets = [Detection(kinds[i % 2], "st1" if i % 4 < 2 else "st2", start_ts + 60 * (i // 2), True, Severity.WARNING,
                      None, "", None, "test") for i in range(n)]
    with svc.store.transaction() as conn:
        svc.alerts.engine.apply(conn, dets, NOW)


def _walk(client: TestClient, url: str, params: dict[str, Any], items: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    r = client.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        seen += body[items]
        if body["next"] is None:
            assert "link" not in r.headers
            return seen
        assert r.headers["link"] == f'<{body["next"]}>; rel="next"'
        r = client.get(body["next"])


def test_alert_pages_hold_every_alert_once_newest_first(api: tuple[TestClient, Service]) -> None:
    client, svc = api
    _open_alerts(svc, 4, NOW - 3600)  # 4 distinct (kind, subject) pairs, 2 per start time
    everything = client.get("/api/v1/alerts", params={"state": "all", "limit": 1000}).json()["alerts"]
    assert len(everything) == 4 and everything[0]["started_at"] >= everything[-1]["started_at"]
    pages = _walk(client, "/api/v1/alerts", {"state": "all", "limit": 3}, "alerts")
    assert [a["id"] for a in pages] == [a["id"] for a in everything]
    one_by_one = _walk(client, "/api/v1/alerts", {"state": "all", "limit": 1, "subject": "st1"}, "alerts")
    assert [a["id"] for a in one_by_one] == [a["id"] for a in everything if a["subject"] == "st1"]


def test_a_new_alert_does_not_shift_the_next_page(api: tuple[TestClient, Service]) -> None:
    client, svc = api
    _open_alerts(svc, 4, NOW - 3600)
    first = client.get("/api/v1/alerts", params={"state": "all", "limit": 2}).json()
    with svc.store.transaction() as conn:  # arrives between the two page requests, newest of all
        svc.alerts.engine.apply(conn, [Detection("sensor.battery", "st1", NOW - 10, True, Severity.WARNING, None, "",
                                                 None, "test")], NOW)
    second = client.get(first["next"]).json()
    ids = [a["id"] for a in first["alerts"] + second["alerts"]]
    assert len(ids) == len(set(ids)) == 4  # no repeat, no skip of the older alerts


def test_raw_readings_page_in_time_order_json_and_csv(api: tuple[TestClient, Service]) -> None:
    client, svc = api
    svc.store.append_readings([Reading("st1", NOW - 3600 + 60 * i, 5.0 + i / 100) for i in range(60)])
    params = {"start": NOW - 3600, "end": NOW, "limit": 25}
    readings = _walk(client, "/api/v1/stations/st1/readings", params, "readings")
    assert [r["level_m"] for r in readings] == [5.0 + i / 100 for i in range(60)]
    r = client.get("/api/v1/stations/st1/readings", params={**params, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 25 and 'rel="next"' in r.headers["link"] and "format=csv" in r.headers["link"]


def test_bad_cursors_are_refused_with_a_problem(api: tuple[TestClient, Service]) -> None:
    client, _ = api
    for cursor in ("not-a-cursor!", encode_cursor(["x"]), encode_cursor([1.0, "a", 3]), "", "%%%"):
        r = client.get("/api/v1/alerts", params={"cursor": cursor})
        assert r.status_code == 400, cursor
        assert r.headers["content-type"] == "application/problem+json" and "cursor" in r.json()["detail"]
    assert client.get("/api/v1/stations/st1/readings", params={"cursor": encode_cursor(["1"])}).status_code == 400


def test_cursor_round_trip_checks_types() -> None:
    assert decode_cursor(encode_cursor([1.5, "ab"]), (float, str)) == (1.5, "ab")
    assert decode_cursor(encode_cursor([2]), (float,)) == (2,)  # an integral time is still a time
    assert decode_cursor(None, (int,)) is None
    with pytest.raises(ApiProblem):
        decode_cursor(encode_cursor([True]), (int,))  # JSON true is not an id
