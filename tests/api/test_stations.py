"""Public station endpoints against the real app and a real SQLite store (no broker needed)."""
from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import NOW
from tichwatch.app.service import Service
from tichwatch.core.samples import Reading
from tichwatch.core.timefmt import iso_utc
from tichwatch.store.store import Store


@pytest.fixture
def client(api_now: tuple[TestClient, Service]) -> tuple[TestClient, Service]:
    """An hour of readings at st1 stored without the detectors (the service not started)."""
    api_now[1].store.append_readings([Reading("st1", NOW - 3600 + 60 * i, 5.0 + i / 100) for i in range(60)])
    return api_now


def test_station_list_geojson_and_cache_headers(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    r = c.get("/api/v1/stations")
    assert r.headers["cache-control"] == "public, max-age=10"
    st1 = next(s for s in r.json()["stations"] if s["id"] == "st1")
    assert st1["latest"]["level_m"] == 5.59 and st1["alarm_levels_m"]["BD3"] == 8.0
    g = c.get("/api/v1/stations.geojson")
    assert g.headers["content-type"] == "application/geo+json"
    feature = g.json()["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [105.6, 21.0]}


def test_permalink_returns_exactly_the_cited_figure(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    latest = c.get("/api/v1/stations/st1").json()["latest"]
    path = latest["permalink"].removeprefix("http://127.0.0.1:8080")
    r = c.get(path)
    assert r.status_code == 200 and r.headers["cache-control"].endswith("immutable")
    body = r.json()
    assert (body["level_m"], body["ts"], body["station_name"]) == (5.59, latest["ts"], "Trạm thử")
    assert c.get("/api/v1/stations/st1/readings/2020-01-01T00:00:00Z").status_code == 404


def test_csv_export_raw_and_downsampled(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    r = c.get("/api/v1/stations/st1/readings", params={"format": "csv", "start": NOW - 3600, "end": NOW})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 60 and rows[0]["level_m"] == "5.0" and rows[0]["ts_local"].endswith("+07:00")
    r = c.get("/api/v1/stations/st1/readings", params={"format": "csv", "points": 6, "start": NOW - 3600, "end": NOW})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 6 and sum(int(x["count"]) for x in rows) == 60
    assert float(rows[0]["min_m"]) == 5.0 and float(rows[0]["max_m"]) == 5.09


def test_bad_requests_get_problem_documents(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    r = c.get("/api/v1/stations/st1/readings", params={"start": NOW, "end": NOW - 10})
    assert r.status_code == 400 and r.json()["detail"] == "start must be before end"
    r = c.get("/api/v1/stations/st1/readings", params={"format": "xml"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def _ingest(svc: Service, readings: list[Reading]) -> None:
    """What the pipeline does with each reading: the detectors judge it, then it is stored with their detections."""
    for r in readings:
        with svc.pipeline.detect_lock:
            found = svc.flood.update(r)
        with svc.store.transaction() as conn:
            Store.insert_readings(conn, [r])
            for d in found:
                svc.store.insert_detection(conn, d, None)


@pytest.fixture
def spiky(api_now: tuple[TestClient, Service]) -> tuple[TestClient, Service]:
    """st1 calm at about 4.8 m for two hours, then a spike to 8.20 m as its newest reading; st2 never reported."""
    levels = [4.8 + (0.01 if i % 2 else 0.0) for i in range(12)] + [8.2]
    _ingest(api_now[1], [Reading("st1", NOW - 600 * (len(levels) - i), lv) for i, lv in enumerate(levels)])
    return api_now


def test_a_rejected_spike_is_never_the_latest_level_anywhere(spiky: tuple[TestClient, Service]) -> None:
    c, _ = spiky
    spike_ts = NOW - 600
    listed = next(s for s in c.get("/api/v1/stations").json()["stations"] if s["id"] == "st1")
    one = c.get("/api/v1/stations/st1").json()
    commune = c.get("/api/v1/status").json()["stations"]["st1"]
    for station in (listed, one):
        latest, status = station["latest"], station["status"]
        assert (latest["level_m"], latest["ts"]) == (status["level_m"], status["ts"]) == (4.81, iso_utc(spike_ts - 600))
        assert status["alarm_level"] is None and "sensor.spike" in status["faults"]
        assert station["latest_rejected"] == {**station["latest_rejected"], "level_m": 8.2, "ts": iso_utc(spike_ts),
                                              "reason": "sensor.spike"}
        assert c.get(station["latest_rejected"]["permalink"].removeprefix("http://127.0.0.1:8080")).status_code == 200
    assert (commune["level_m"], commune["ts"]) == (4.81, iso_utc(spike_ts - 600))
    st2 = c.get("/api/v1/stations/st2").json()
    assert st2["latest"] is None and st2["latest_rejected"] is None and st2["status"]["level_m"] is None


def test_the_chart_gets_its_line_without_the_spike_and_the_spike_as_a_marker(
        spiky: tuple[TestClient, Service]) -> None:
    c, _ = spiky
    window = {"start": NOW - 7200, "end": NOW}
    line = c.get("/api/v1/stations/st1/readings", params={**window, "points": 6, "rejected": "exclude"}).json()
    assert max(b["max_m"] for b in line["buckets"]) == 4.81 and sum(b["count"] for b in line["buckets"]) == 11
    assert [(m["level_m"], m["reason"]) for m in line["rejected"]] == [(8.2, "sensor.spike")]
    assert line["rejected_total"] == 1
    every = c.get("/api/v1/stations/st1/readings", params={**window, "points": 6}).json()
    assert max(b["max_m"] for b in every["buckets"]) == 8.2  # include (the default): what was stored, all of it
    raw = c.get("/api/v1/stations/st1/readings", params=window).json()
    assert [r.get("rejected") for r in raw["readings"]][-2:] == [None, "sensor.spike"]
    assert [r["level_m"] for r in raw["rejected"]] == [8.2]
    clean = c.get("/api/v1/stations/st1/readings", params={**window, "rejected": "exclude"}).json()
    assert 8.2 not in [r["level_m"] for r in clean["readings"]] and len(clean["readings"]) == 11
    rows = list(csv.DictReader(io.StringIO(c.get("/api/v1/stations/st1/readings",
                                                 params={**window, "format": "csv"}).text)))
    assert [row["rejected"] for row in rows][-2:] == ["", "sensor.spike"]


def test_a_spike_cleared_by_the_next_reading_stays_a_marker_and_the_level_moves_on(
        spiky: tuple[TestClient, Service]) -> None:
    c, svc = spiky
    _ingest(svc, [Reading("st1", NOW - 1, 4.82)])
    station = c.get("/api/v1/stations/st1").json()
    assert station["latest"]["level_m"] == station["status"]["level_m"] == 4.82
    assert "sensor.spike" not in station["status"]["faults"]
    assert station["latest_rejected"]["level_m"] == 8.2  # still explained on the card: it is on the day's chart
    line = c.get("/api/v1/stations/st1/readings",
                 params={"start": NOW - 7200, "end": NOW, "points": 6, "rejected": "exclude"}).json()
    assert [m["level_m"] for m in line["rejected"]] == [8.2]
