"""Public station endpoints against the real app and a real SQLite store (no broker needed)."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support import make_settings
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.core.samples import Reading

NOW = 1_790_000_000.0


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Service]]:
    svc = Service(make_settings(tmp_path / "data"), clock=lambda: NOW)
    svc.store.append_readings([Reading("st1", NOW - 3600 + 60 * i, 5.0 + i / 100) for i in range(60)])
    with TestClient(create_app(svc, manage_lifecycle=False)) as c:
        yield c, svc
    svc.store.close()


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
