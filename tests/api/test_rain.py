"""Public rain-gauge endpoints against the real app and a real store: gauges with totals, raw pages, hourly sums,
the station naming its gauges, 404/400 answers, and the forecast from the provider."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import NOW
from tests.support import make_settings
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.core.samples import RainReading
from tichwatch.core.timefmt import iso_utc
from tichwatch.ingest.rain_forecast import StationForecast
from tichwatch.store.rain import insert_rain_readings

GAUGES = [{"id": "rg1", "name": "Mưa 1", "lat": 21.1, "lon": 105.5, "stations": ["st1"], "lag_s": 3600},
          {"id": "rg2", "name": "Mưa 2", "lat": 21.2, "lon": 105.4, "stations": ["st1", "st2"]}]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Service]]:
    """Two gauges; rg1 has six hours of 10-minute readings (1 mm each, 6 mm per hour) ending at NOW."""
    svc = Service(make_settings(tmp_path / "data", rain_gauges=GAUGES), clock=lambda: NOW)
    with svc.store.transaction() as conn:
        insert_rain_readings(conn, [RainReading("rg1", NOW - 600 * i, 1.0, 600) for i in range(36)])
    with TestClient(create_app(svc, manage_lifecycle=False)) as c:
        yield c, svc
    svc.store.close()


def test_gauges_with_their_stations_latest_and_totals(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    r = c.get("/api/v1/rain-gauges")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
    rg1, rg2 = r.json()["rain_gauges"]
    assert (rg1["id"], rg1["stations"], rg1["lag_s"]) == ("rg1", ["st1"], 3600)
    assert rg1["latest"]["ts"] == iso_utc(NOW) and rg1["latest"]["rain_mm"] == 1.0
    assert rg1["totals_mm"] == {"1h": 6.0, "3h": 18.0, "24h": 36.0}
    assert rg2["latest"] is None and rg2["totals_mm"]["24h"] == 0
    assert c.get("/api/v1/rain-gauges/rg2").json()["name"] == "Mưa 2"
    assert c.get("/api/v1/rain-gauges/nope").status_code == 404
    st1 = c.get("/api/v1/stations/st1").json()
    assert st1["rain_gauges"] == ["rg1", "rg2"]
    assert c.get("/api/v1/stations/st2").json()["rain_gauges"] == ["rg2"]


def test_raw_readings_page_through_without_gaps(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    seen: list[str] = []
    url: str | None = f"/api/v1/rain-gauges/rg1/readings?start={NOW - 6 * 3600}&end={NOW + 1}&limit=10"
    while url:
        page = c.get(url).json()
        seen += [r["ts"] for r in page["readings"]]
        url = page["next"]
    assert seen == [iso_utc(NOW - 600 * i) for i in reversed(range(36))]
    assert c.get("/api/v1/rain-gauges/rg1/readings?cursor=garbage").status_code == 400
    assert c.get("/api/v1/rain-gauges/rg1/readings?start=yesterday").status_code == 400


def test_hourly_sums_with_the_running_total(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    body = c.get(f"/api/v1/rain-gauges/rg1/readings?start={NOW - 3 * 3600}&end={NOW}&bucket_s=3600").json()
    # [NOW-3h, NOW): readings at NOW-3h … NOW-10min, six per hour
    assert [b["rain_mm"] for b in body["buckets"]] == [6.0, 6.0, 6.0]
    assert [b["accumulated_mm"] for b in body["buckets"]] == [6.0, 12.0, 18.0] and body["total_mm"] == 18.0
    assert c.get(f"/api/v1/rain-gauges/rg1/readings?start={NOW - 400 * 86400}&end={NOW}&bucket_s=60"
                 ).status_code == 400
    assert c.get("/api/v1/rain-gauges/rg1/readings?bucket_s=1").status_code == 422


def test_forecast_endpoint_off_and_on(client: tuple[TestClient, Service], tmp_path: Path) -> None:
    c, _ = client
    assert c.get("/api/v1/rain-forecast").json() == {"enabled": False, "stations": {}}
    svc = Service(make_settings(tmp_path / "on", rain_gauges=GAUGES, rain_forecast={"enabled": True}),
                  clock=lambda: NOW)
    assert svc.rain_forecast is not None
    hourly = [(NOW - 3600 + 3600 * i, float(i)) for i in range(30)]
    svc.rain_forecast._accept("st1", NOW - 600, hourly)  # as a successful poll would
    with TestClient(create_app(svc, manage_lifecycle=False)) as on:
        body = on.get("/api/v1/rain-forecast").json()
    svc.store.close()
    st1 = body["stations"]["st1"]
    assert body["enabled"] and st1["issued"] == iso_utc(NOW - 600) and not st1["stale"]
    assert st1["next_mm"] == {"3h": 2 + 3 + 4, "6h": sum(range(2, 8)), "24h": sum(range(2, 26))}
    assert st1["hourly"][0] == {"ts": iso_utc(NOW + 3600), "rain_mm": 2.0}
    # the provider's forecast reached the flood detector's rain history
    assert svc.flood.rain.forecast_mm("st1", NOW, NOW + 3 * 3600) == pytest.approx(9.0)
    assert isinstance(svc.rain_forecast.forecasts()["st1"], StationForecast)
