"""Public read-only station and reading endpoints."""
from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from tichwatch.api.latest import Current, Rejected, current, rejected_between, spans_over
from tichwatch.api.pagination import CURSOR_QUERY, decode_cursor, paginate
from tichwatch.api.problems import ApiProblem
from tichwatch.api.query_time import parse_query_time
from tichwatch.api.state import service_of as _service
from tichwatch.config.schema import StationConfig
from tichwatch.core.links import reading_permalink
from tichwatch.core.samples import Reading
from tichwatch.core.timefmt import iso_local, iso_utc
from tichwatch.detectors.flood.rejections import classify
from tichwatch.detectors.flood.status import StationStatus
from tichwatch.residents.impact import impact_at, impact_document, level_rank
from tichwatch.residents.impact_areas import areas_geojson, areas_or_none
from tichwatch.store.overrides import AlarmOverride

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    from tichwatch.app.service import Service
    from tichwatch.app.stations import StationEntry

router = APIRouter(prefix="/api/v1", tags=["stations"])

PUBLIC_SHORT_CACHE = "public, max-age=10"
"""Cache lifetime of live public data: short, so a cited figure is fresh, but a crowd does not hit the store."""
PUBLIC_LONG_CACHE = "public, max-age=86400, immutable"
"""Cache lifetime of data that cannot change (a reading at a past time)."""
MAX_RAW_PAGE = 20_000
"""Most raw readings one page holds (30 days of one-minute readings fill two pages); `points` downsamples instead."""
MIN_MARKERS = 200
"""Fewest rejected readings a downsampled answer lists as markers (more when `points` asks for more)."""



def _entry(service: Service, station_id: str) -> StationEntry:
    """A station as it runs now (alarm levels in force, who set them); 404 for an unknown id."""
    entry = service.stations.table().entry(station_id)
    if entry is None:
        raise ApiProblem(404, "Unknown station", f"no station with id {station_id!r}; see /api/v1/stations")
    return entry


def permalink(service: Service, r: Reading) -> str:
    """The URL that returns exactly this reading, for citing it."""
    return reading_permalink(service.settings.http.public_url, r)


def reading_json(service: Service, r: Reading) -> dict[str, Any]:
    """A reading as the API shows it."""
    tz = service.settings.timezone
    out: dict[str, Any] = {"station_id": r.station_id, "ts": iso_utc(r.ts), "ts_local": iso_local(r.ts, tz),
                           "level_m": r.level_m, "permalink": permalink(service, r)}
    if r.battery_v is not None:
        out["battery_v"] = r.battery_v
    return out


def rejected_json(service: Service, rejected: Rejected) -> dict[str, Any]:
    """A rejected reading as the API shows it: the reading and why the detector left it out (`reason`)."""
    return {**reading_json(service, rejected.reading), "reason": rejected.reason}


def status_json(service: Service, station: StationStatus) -> dict[str, Any]:
    """A station's flood status: alarm level, distance to the next level, trend, forecast (with band), faults;
    `level_m` and `ts` are the latest accepted reading's (see tichwatch.api.latest)."""
    status = station.to_dict()
    status.pop("station_id"), status.pop("name")
    ts = status.pop("ts")
    status["ts"] = iso_utc(ts) if ts is not None else None
    eta = status["eta_s"]
    status["eta_at"] = iso_utc(ts + eta) if ts is not None and eta is not None else None
    return status


def station_json(service: Service, s: StationConfig, state: Current, override: AlarmOverride | None) -> dict[str, Any]:
    """A station with its alarm levels (and who set them, when edited at run time), its latest accepted reading, the
    newest rejected one of the last day (`latest_rejected`, with its reason), its status, and what its alarm level
    means for the hamlets (`impact`)."""
    tz = service.settings.timezone
    return {
        "id": s.id, "name": s.name, "river": s.river, "lat": s.lat, "lon": s.lon, "datum": s.datum,
        "alarm_levels_m": s.alarm.named(),
        "alarm_levels_set": {"source": "officer", "by": override.updated_by, "ts": iso_utc(override.updated_ts),
                             "ts_local": iso_local(override.updated_ts, tz)} if override else {"source": "config"},
        "expected_interval_s": s.expected_interval_s,
        "rain_gauges": list(service.settings.gauges_for(s.id)),
        "latest": reading_json(service, state.latest) if state.latest else None,
        "latest_rejected": rejected_json(service, state.latest_rejected) if state.latest_rejected else None,
        "status": status_json(service, state.status),
        "impact": impact_json(service, s.id, state.status.alarm_level),
    }


def impact_json(service: Service, station_id: str, alarm_level: str | None) -> dict[str, Any] | None:
    """What the station's alarm level means for the hamlets (configured under `impact:`; no personal data): the
    hamlets that must act, roads, schools, households and the action in Vietnamese and English; None when none."""
    impact = impact_at(service.settings.impact, station_id, level_rank(alarm_level))
    return None if impact.empty else impact_document(impact)


def one_station_json(service: Service, s: StationConfig, override: AlarmOverride | None) -> dict[str, Any]:
    """`station_json` of one station as it is now."""
    return station_json(service, s, current(service, s.id, service.station_status(s.id)), override)


def _all_stations(service: Service) -> list[dict[str, Any]]:
    summary = service.commune_status()  # every station's status taken at once
    statuses = {s.station_id: s for s in summary.stations}
    return [station_json(service, e.config, current(service, e.config.id, statuses[e.config.id]), e.override)
            for e in service.stations.table().entries]


@router.get("/stations", summary="All stations with alarm levels and their latest reading")
def list_stations(request: Request, response: Response) -> dict[str, Any]:
    """Every configured station."""
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    return {"stations": _all_stations(_service(request))}


@router.get("/stations.geojson", summary="Stations as a GeoJSON FeatureCollection (for maps)",
            response_class=Response, responses={200: {"content": {"application/geo+json": {}}}})
def stations_geojson(request: Request) -> Response:
    """Every station as a GeoJSON point with its properties."""
    features = [{"type": "Feature", "id": s["id"], "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                 "properties": s} for s in _all_stations(_service(request))]
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    return Response(body, media_type="application/geo+json", headers={"Cache-Control": PUBLIC_SHORT_CACHE})


@router.get("/hamlets.geojson", summary="Hamlet areas with the alarm level affecting each now (for maps)",
            response_class=Response, responses={200: {"content": {"application/geo+json": {}}}})
def hamlets_geojson(request: Request) -> Response:
    """The hamlet areas of `impact.areas_geojson` as a GeoJSON FeatureCollection: each hamlet's name, households,
    the highest alarm level affecting it now (`level`, null when none) and the stations that bring it."""
    service = _service(request)
    levels = {s.station_id: level_rank(s.alarm_level) for s in service.commune_status().stations}
    doc = areas_geojson(service.settings.impact, areas_or_none(service.settings.impact), levels)
    return Response(json.dumps(doc, ensure_ascii=False), media_type="application/geo+json",
                    headers={"Cache-Control": PUBLIC_SHORT_CACHE})


@router.get("/status", summary="The commune's flood status: worst station, soonest forecast, every station")
def commune(request: Request, response: Response) -> dict[str, Any]:
    """The commune summary for dashboards and bulletins."""
    service = _service(request)
    summary = service.commune_status()
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    return {"alarm_level": summary.alarm_level, "worst_station_id": summary.worst_station_id,
            "soonest_eta_s": summary.soonest_eta_s, "soonest_station_id": summary.soonest_station_id,
            "early_warning": summary.early_warning, "stations_with_faults": list(summary.stations_with_faults),
            "stations": {s.station_id: status_json(service, current(service, s.station_id, s).status)
                         for s in summary.stations}}


@router.get("/stations/{station_id}", summary="One station with alarm levels and its latest reading")
def get_station(request: Request, response: Response, station_id: str) -> dict[str, Any]:
    """One station."""
    service = _service(request)
    entry = _entry(service, station_id)
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    return one_station_json(service, entry.config, entry.override)


def query_range(service: Service, start: str | None, end: str | None) -> tuple[float, float]:
    """Parse start/end (default: the last 24 hours); 400 for a bad time or an empty range."""
    try:
        t1 = parse_query_time(end) if end else service.clock()
        t0 = parse_query_time(start) if start else t1 - 86400
    except ValueError as exc:
        raise ApiProblem(400, "Invalid time", str(exc)) from None
    if t0 >= t1:
        raise ApiProblem(400, "Invalid range", "start must be before end")
    return t0, t1


def thinned(items: list[Rejected], most: int) -> list[Rejected]:
    """At most `most` of the items, evenly spread over them (the first and the last kept)."""
    if len(items) <= most:
        return items
    step = (len(items) - 1) / (most - 1)
    return [items[round(i * step)] for i in range(most)]


def _csv(header: list[str], rows: list[list[Any]], filename: str) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": PUBLIC_SHORT_CACHE})


@router.get("/stations/{station_id}/readings", summary="Readings over a time range, raw or downsampled, JSON or CSV")
def get_readings(
    request: Request, response: Response, station_id: str,
    start: str | None = Query(None, description="Range start, RFC 3339 or epoch seconds (default: end − 24 h).",
                              examples=["2026-09-20T00:00:00+07:00"]),
    end: str | None = Query(None, description="Range end, RFC 3339 or epoch seconds (default: now)."),
    points: int | None = Query(None, ge=2, le=5000, description="Downsample to about this many min/mean/max buckets."),
    format: Literal["json", "csv"] = Query("json", description="json, or csv for a spreadsheet."),
    rejected: Literal["include", "exclude"] = Query(
        "include", description="include: every stored reading (a rejected one carries its `rejected` reason); "
        "exclude: only the readings the flood detector accepted, what a chart's line draws. Either way the JSON's "
        "`rejected` lists the rejected readings of the answer with their reason (a chart's markers)."),
    limit: int = Query(MAX_RAW_PAGE, ge=1, le=MAX_RAW_PAGE, description="Raw readings per page."),
    cursor: str | None = CURSOR_QUERY,
) -> Any:
    """Raw readings a page at a time, oldest first (`next` and the Link header give the following page), or
    min/mean/max buckets when `points` is given; the readings the flood detector rejected (spikes, out of range,
    stuck) marked, or left out with `rejected=exclude`."""
    service = _service(request)
    _entry(service, station_id)
    t0, t1 = query_range(service, start, end)
    tz = service.settings.timezone
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    spans = spans_over(service, station_id, t0, t1, service.station_status(station_id).faults)
    if points:
        bucket_s = max(1.0, (t1 - t0) / points)
        bad = rejected_between(service, station_id, t0, t1, spans)
        buckets = service.store.downsample(station_id, t0, t1, bucket_s,
                                           [b.reading.ts for b in bad] if rejected == "exclude" else ())
        if format == "csv":
            return _csv(["ts_utc", "ts_local", "min_m", "mean_m", "max_m", "count"],
                        [[iso_utc(b.start_ts), iso_local(b.start_ts, tz), b.min_m, round(b.mean_m, 4), b.max_m,
                          b.count] for b in buckets], f"{station_id}-buckets.csv")
        markers = thinned(bad, max(points, MIN_MARKERS))
        return {"station_id": station_id, "start": iso_utc(t0), "end": iso_utc(t1), "bucket_s": bucket_s,
                "buckets": [{"ts": iso_utc(b.start_ts), "ts_local": iso_local(b.start_ts, tz), "min_m": b.min_m,
                             "mean_m": round(b.mean_m, 4), "max_m": b.max_m, "count": b.count} for b in buckets],
                "rejected": [rejected_json(service, b) for b in markers], "rejected_total": len(bad)}
    after = decode_cursor(cursor, (float,))
    first = math.nextafter(after[0], math.inf) if after else t0
    rows, next_url = paginate(request, response, service.store.readings(station_id, max(t0, first), t1, limit + 1),
                              limit, lambda r: (r.ts,))
    # Paged first, then split: a page of accepted readings may hold fewer than `limit`, but no reading is skipped.
    judged = list(zip(rows, classify([r.ts for r in rows], spans), strict=True))
    page = [(r, why) for r, why in judged if rejected == "include" or why is None]
    if format == "csv":
        csv_response = _csv(["ts_utc", "ts_local", "level_m", "rejected"],
                            [[iso_utc(r.ts), iso_local(r.ts, tz), r.level_m, why or ""] for r, why in page],
                            f"{station_id}-readings.csv")
        if next_url:
            csv_response.headers["Link"] = response.headers["Link"]
        return csv_response
    return {"station_id": station_id, "start": iso_utc(t0), "end": iso_utc(t1),
            "readings": [{**reading_json(service, r), **({"rejected": why} if why else {})} for r, why in page],
            "rejected": [rejected_json(service, Rejected(r, why)) for r, why in judged if why],
            "next": next_url}


@router.get("/stations/{station_id}/readings/{ts}", summary="Permalink: exactly one reading, for citing it")
def get_reading_at(request: Request, response: Response, station_id: str, ts: str) -> dict[str, Any]:
    """The reading of a station at exactly `ts` (RFC 3339 or epoch seconds), with its time and station."""
    service = _service(request)
    station = _entry(service, station_id).config
    try:
        at = parse_query_time(ts)
    except ValueError as exc:
        raise ApiProblem(400, "Invalid time", str(exc)) from None
    r = service.store.reading_at(station_id, at)
    if r is None:
        raise ApiProblem(404, "No such reading", f"station {station_id} has no reading at {iso_utc(at)}")
    response.headers["Cache-Control"] = PUBLIC_LONG_CACHE
    return {**reading_json(service, r), "station_name": station.name, "river": station.river,
            "datum": station.datum}
