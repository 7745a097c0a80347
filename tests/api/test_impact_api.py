"""The public station document (and its snapshot) says which hamlets the station's level affects and what they must
do; /api/v1/hamlets.geojson gives the hamlet areas with the level affecting each, for maps. No personal data."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import NOW
from tests.residents.impact_fixtures import impact_with_areas
from tests.support import make_settings
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.core.samples import Reading


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Service]]:
    """The app with IMPACT and its areas; st1 read up to 7,40 m (báo động II) through the flood detector."""
    svc = Service(make_settings(tmp_path / "data", impact=impact_with_areas(tmp_path)), clock=lambda: NOW)
    readings = [Reading("st1", NOW - 3600 + 600 * i, round(6.8 + 0.1 * i, 2)) for i in range(7)]
    svc.store.append_readings(readings)
    for r in readings:
        svc.flood.update(r)
    with TestClient(create_app(svc, manage_lifecycle=False)) as c:
        yield c, svc
    svc.store.close()


def test_the_station_document_carries_the_impact_of_its_level(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    st1 = c.get("/api/v1/stations/st1").json()
    assert st1["status"]["alarm_level"] == "BD2"
    assert st1["impact"]["level"] == "BD2"
    assert st1["impact"]["hamlets"] == [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-2", "name": "Thôn 2"}]
    assert st1["impact"]["action"] == {"vi": "chuẩn bị di dời người già, trẻ em",
                                       "en": "get ready to move the elderly and children"}
    assert st1["impact"]["schools"] == ["Trường mầm non thôn 2"] and st1["impact"]["households"] == 120
    listed = {s["id"]: s for s in c.get("/api/v1/stations").json()["stations"]}  # served from a snapshot
    assert listed["st1"]["impact"] == st1["impact"] and listed["st2"]["impact"] is None
    geo = c.get("/api/v1/stations.geojson").json()
    assert next(f for f in geo["features"] if f["id"] == "st1")["properties"]["impact"]["level"] == "BD2"


def test_hamlet_areas_with_the_level_affecting_each(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    r = c.get("/api/v1/hamlets.geojson", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert r.headers["etag"] and r.headers["cache-control"].startswith("public")  # a snapshot: a crowd costs one build
    levels = {f["id"]: f["properties"]["level"] for f in r.json()["features"]}
    assert levels == {"thon-1": "BD2", "thon-2": "BD2", "thon-3": None}
    feature = r.json()["features"][0]
    assert feature["geometry"]["type"] == "Polygon" and set(feature["properties"]) == {
        "id", "name", "households", "level", "stations"}
    assert c.post("/api/v1/hamlets.geojson").status_code == 405  # read-only


def test_without_areas_the_map_document_is_empty(api_now: tuple[TestClient, Service]) -> None:
    c, _ = api_now
    assert c.get("/api/v1/hamlets.geojson").json() == {"type": "FeatureCollection", "features": []}
    assert c.get("/api/v1/stations/st1").json()["impact"] is None
