"""Public read-only station and reading endpoints."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from api.problems import ApiProblem
from api.service import Service
from api.timefmt import iso_local, iso_utc, parse_query_time
from config.schema import StationConfig
from ingest.samples import Reading

router = APIRouter(prefix="/api/v1", tags=["stations"])

MAX_RAW_POINTS = 20_000
"""Most raw readings one request returns; ask for downsampling (points/bucket_s) beyond that."""


def _service(request: Request) -> Service:
    return request.app.state.service


def _station(service: Service, station_id: str) -> StationConfig:
    station = service.settings.station(station_id)
    if station is None:
        raise ApiProblem(404, "Unknown station", f"no station with id {station_id!r}; see /api/v1/stations")
    return station


def reading_json(r: Reading, tz: str) -> dict[str, Any]:
    """A reading as the API shows it."""
    out: dict[str, Any] = {"station_id": r.station_id, "ts": iso_utc(r.ts), "ts_local": iso_local(r.ts, tz),
                           "level_m": r.level_m}
    if r.battery_v is not None:
        out["battery_v"] = r.battery_v
    return out


def station_json(s: StationConfig, latest: Reading | None, tz: str) -> dict[str, Any]:
    """A station with its alarm levels and latest reading."""
    return {
        "id": s.id, "name": s.name, "river": s.river, "lat": s.lat, "lon": s.lon, "datum": s.datum,
        "alarm_levels_m": {"BD1": s.alarm.bd1_m, "BD2": s.alarm.bd2_m, "BD3": s.alarm.bd3_m,
                           "record": s.alarm.record_m},
        "expected_interval_s": s.expected_interval_s,
        "latest": reading_json(latest, tz) if latest else None,
    }


@router.get("/stations", summary="All stations with alarm levels and their latest reading")
def list_stations(request: Request) -> dict[str, Any]:
    """Every configured station."""
    service = _service(request)
    latest = service.store.latest_readings()
    tz = service.settings.timezone
    return {"stations": [station_json(s, latest.get(s.id), tz) for s in service.settings.stations]}


@router.get("/stations/{station_id}", summary="One station with alarm levels and its latest reading")
def get_station(request: Request, station_id: str) -> dict[str, Any]:
    """One station."""
    service = _service(request)
    station = _station(service, station_id)
    return station_json(station, service.store.latest_readings().get(station_id), service.settings.timezone)


def _range(service: Service, start: str | None, end: str | None) -> tuple[float, float]:
    """Parse start/end (default: the last 24 hours)."""
    try:
        t1 = parse_query_time(end) if end else service.clock()
        t0 = parse_query_time(start) if start else t1 - 86400
    except ValueError as exc:
        raise ApiProblem(400, "Invalid time", str(exc)) from None
    if t0 >= t1:
        raise ApiProblem(400, "Invalid range", "start must be before end")
    return t0, t1


@router.get("/stations/{station_id}/readings", summary="Readings over a time range, raw or downsampled")
def get_readings(
    request: Request, station_id: str,
    start: str | None = Query(None, description="Range start, RFC 3339 or epoch seconds (default: end − 24 h)."),
    end: str | None = Query(None, description="Range end, RFC 3339 or epoch seconds (default: now)."),
    points: int | None = Query(None, ge=2, le=5000, description="Downsample to about this many min/mean/max buckets."),
) -> dict[str, Any]:
    """Raw readings, or min/mean/max buckets when `points` is given."""
    service = _service(request)
    _station(service, station_id)
    t0, t1 = _range(service, start, end)
    tz = service.settings.timezone
    if points:
        bucket_s = max(1.0, (t1 - t0) / points)
        buckets = service.store.downsample(station_id, t0, t1, bucket_s)
        return {"station_id": station_id, "start": iso_utc(t0), "end": iso_utc(t1), "bucket_s": bucket_s,
                "buckets": [{"ts": iso_utc(b.start_ts), "ts_local": iso_local(b.start_ts, tz), "min_m": b.min_m,
                             "mean_m": round(b.mean_m, 4), "max_m": b.max_m, "count": b.count} for b in buckets]}
    rows = service.store.readings(station_id, t0, t1, limit=MAX_RAW_POINTS + 1)
    if len(rows) > MAX_RAW_POINTS:
        raise ApiProblem(400, "Too many readings", f"more than {MAX_RAW_POINTS} readings in range: narrow the "
                                                   "range or ask for downsampling with ?points=N")
    return {"station_id": station_id, "start": iso_utc(t0), "end": iso_utc(t1),
            "readings": [reading_json(r, tz) for r in rows]}
