"""Public snapshots: a crowd's reads cost one build per refresh, answers carry ETag/304, gzip and Cache-Control, a
change is seen after the refresh time (an API write at once), officers' requests and errors pass through."""
from __future__ import annotations

import json
import time

import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from tests.api.conftest import NOW
from tichwatch.api.snapshots import DataChanges, PublicSnapshots, etag_matches, wants_gzip
from tichwatch.core.events import ReadingsStored
from tichwatch.core.samples import Reading


class Counter:
    """A tiny ASGI app answering its call count as JSON (400 for ?bad), like a public endpoint."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        status = 400 if b"bad" in scope["query_string"] else 200
        body = json.dumps({"calls": self.calls, "method": scope["method"]}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> tuple[TestClient, Counter, DataChanges, Clock]:
    inner, changes, clock = Counter(), DataChanges(), Clock()
    app = PublicSnapshots(inner, changes, refresh_s=1.0, max_age_s=30.0, client_max_age_s=5, clock=clock)
    return TestClient(app), inner, changes, clock


def test_a_crowd_costs_one_build_and_gets_etag_gzip_and_cache_headers(world) -> None:  # type: ignore[no-untyped-def]
    client, inner, _, _ = world
    answers = [client.get("/api/v1/status") for _ in range(50)]
    assert inner.calls == 1 and {a.json()["calls"] for a in answers} == {1}
    r = answers[0]
    assert r.headers["cache-control"] == "public, max-age=5, stale-while-revalidate=30"
    assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
    raw = client.get("/api/v1/status", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers and raw.json() == r.json()
    assert int(raw.headers["content-length"]) == len(raw.content)
    again = client.get("/api/v1/status", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == r.headers["etag"]
    assert client.head("/api/v1/status").content == b""
    assert inner.calls == 1  # the plain copy, the 304 and HEAD came from the same snapshot


def test_changes_rebuild_at_most_once_per_refresh_and_writes_at_once(world) -> None:  # type: ignore[no-untyped-def]
    client, _, changes, clock = world
    first = client.get("/api/v1/stations")
    for _ in range(100):  # readings arrive fast
        changes.touch()
    assert client.get("/api/v1/stations").json() == first.json()  # within the refresh time: the same bytes
    clock.now += 1.5
    assert client.get("/api/v1/stations").json()["calls"] == 2
    assert client.get("/api/v1/stations").json()["calls"] == 2  # no change since: kept
    clock.now += 29
    assert client.get("/api/v1/stations").json()["calls"] == 2
    clock.now += 2  # older than max_age_s: rebuilt even without a change (offline marks age)
    assert client.get("/api/v1/stations").json()["calls"] == 3
    client.post("/api/v1/alerts/x/false-alarm")  # an officer's write through the API ...
    assert client.get("/api/v1/stations").json()["calls"] == 5  # ... is seen by the very next read


def test_officers_errors_and_other_paths_pass_through(world) -> None:  # type: ignore[no-untyped-def]
    client, inner, _, _ = world
    client.get("/api/v1/status")
    calls = inner.calls
    assert client.get("/api/v1/status", headers={"Authorization": "Bearer t"}).json()["calls"] == calls + 1
    assert client.get("/api/v1/status", headers={"X-API-Key": "k"}).json()["calls"] == calls + 2
    assert client.get("/api/v1/stations/st1/readings").json()["calls"] == calls + 3
    bad = [client.get("/api/v1/status?bad=1") for _ in range(2)]
    assert [b.status_code for b in bad] == [400, 400] and inner.calls == calls + 5  # errors are never kept
    assert "etag" not in bad[0].headers


def test_header_rules() -> None:
    assert etag_matches('W/"abc", "def"', b'"abc"') and etag_matches("*", b'"x"')
    assert not etag_matches('"abd"', b'"abc"') and not etag_matches(None, b'"abc"')
    assert wants_gzip("gzip, deflate, br") and wants_gzip("*") and not wants_gzip("gzip;q=0")
    assert not wants_gzip(None) and not wants_gzip("br")


def test_the_real_station_list_follows_stored_readings(api_now) -> None:  # type: ignore[no-untyped-def]
    c, svc = api_now
    before = c.get("/api/v1/stations")
    assert c.get("/api/v1/stations", headers={"If-None-Match": before.headers["etag"]}).status_code == 304
    stored = (Reading("st1", NOW - 60, 6.5),)
    svc.store.append_readings(list(stored))
    svc.bus.publish(ReadingsStored(stored))  # the commit's event marks the snapshots due
    time.sleep(svc.settings.http.snapshot_refresh_s)
    after = c.get("/api/v1/stations", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    st1 = next(s for s in after.json()["stations"] if s["id"] == "st1")
    assert st1["latest"]["level_m"] == 6.5
