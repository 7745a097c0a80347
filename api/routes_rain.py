"""Public read-only rain-gauge endpoints: the gauges, their readings (raw pages or hourly sums) and the rainfall
forecast per station (when the provider is on)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query, Request, Response

from tichwatch.api.pagination import CURSOR_QUERY, decode_cursor, paginate
from tichwatch.api.problems import ApiProblem
from tichwatch.api.routes_stations import PUBLIC_SHORT_CACHE, query_range
from tichwatch.api.state import service_of as _service
from tichwatch.config.rain import RainGaugeConfig
from tichwatch.core.samples import RainReading
from tichwatch.core.timefmt import iso_local, iso_utc
from tichwatch.store.rain import latest_rain_readings, rain_buckets, rain_readings, rain_total_mm

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    from tichwatch.app.service import Service

router = APIRouter(prefix="/api/v1", tags=["rain"])

MAX_RAW_PAGE = 20_000
"""Most raw rain readings one page holds."""
TOTAL_WINDOWS_H = (1, 3, 24)
"""The recent totals each gauge shows, hours."""
MAX_BUCKETS = 5000
"""Most sums one answer holds (a range and bucket_s that ask for more are refused)."""


def _gauge(service: Service, gauge_id: str) -> RainGaugeConfig:
    """A configured gauge; 404 for an unknown id."""
    gauge = service.settings.rain_gauge(gauge_id)
    if gauge is None:
        raise ApiProblem(404, "Unknown rain gauge", f"no rain gauge with id {gauge_id[:64]!r}; see "
                                                    "/api/v1/rain-gauges")
    return gauge


def rain_json(service: Service, r: RainReading) -> dict[str, Any]:
    """A rain reading as the API shows it."""
    out: dict[str, Any] = {"gauge_id": r.gauge_id, "ts": iso_utc(r.ts), "ts_local": iso_local(r.ts,
                           service.settings.timezone), "rain_mm": r.rain_mm, "interval_s": r.interval_s}
    if r.battery_v is not None:
        out["battery_v"] = r.battery_v
    return out


def gauge_json(service: Service, g: RainGaugeConfig, latest: RainReading | None, now: float) -> dict[str, Any]:
    """A gauge with the stations it feeds, its newest reading and its totals over the last 1, 3 and 24 hours (from
    the readings whose interval ends inside the window)."""
    totals = {f"{h}h": round(rain_total_mm(service.store, g.id, now - h * 3600, now)[0], 2)
              for h in TOTAL_WINDOWS_H}
    return {"id": g.id, "name": g.name, "lat": g.lat, "lon": g.lon, "expected_interval_s": g.expected_interval_s,
            "stations": list(g.stations), "lag_s": g.lag_s,
            "latest": rain_json(service, latest) if latest else None, "totals_mm": totals}


@router.get("/rain-gauges", summary="All rain gauges with the stations they feed, latest reading and recent totals")
def list_rain_gauges(request: Request, response: Response) -> dict[str, Any]:
    """Every configured rain gauge."""
    service = _service(request)
    latest = latest_rain_readings(service.store)
    now = service.clock()
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    return {"rain_gauges": [gauge_json(service, g, latest.get(g.id), now) for g in service.settings.rain_gauges]}


@router.get("/rain-gauges/{gauge_id}", summary="One rain gauge with its latest reading and recent totals")
def get_rain_gauge(request: Request, response: Response, gauge_id: str) -> dict[str, Any]:
    """One rain gauge."""
    service = _service(request)
    gauge = _gauge(service, gauge_id)
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    return gauge_json(service, gauge, latest_rain_readings(service.store).get(gauge.id), service.clock())


@router.get("/rain-gauges/{gauge_id}/readings", summary="Rain readings over a time range: raw pages, or sums per "
                                                         "bucket with the running total")
def get_rain_readings(
    request: Request, response: Response, gauge_id: str,
    start: str | None = Query(None, description="Range start, RFC 3339 or epoch seconds (default: end − 24 h)."),
    end: str | None = Query(None, description="Range end, RFC 3339 or epoch seconds (default: now)."),
    bucket_s: int | None = Query(None, ge=60, le=86400, description="Sum the rain per bucket of this many seconds "
                                 "(3600: mm per hour, what the dashboard's bars show), with the running total."),
    limit: int = Query(MAX_RAW_PAGE, ge=1, le=MAX_RAW_PAGE, description="Raw readings per page."),
    cursor: str | None = CURSOR_QUERY,
) -> dict[str, Any]:
    """Raw readings a page at a time, oldest first (`next` and the Link header give the following page), or the rain
    per bucket (a reading counts in the bucket its interval ends in) with `accumulated_mm` from the range's start."""
    service = _service(request)
    gauge = _gauge(service, gauge_id)
    t0, t1 = query_range(service, start, end)
    tz = service.settings.timezone
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    if bucket_s is not None:
        if (t1 - t0) / bucket_s > MAX_BUCKETS:
            raise ApiProblem(400, "Too many buckets", f"the range holds more than {MAX_BUCKETS} buckets of "
                                                      f"{bucket_s} s; widen bucket_s or narrow the range")
        total = 0.0
        buckets = []
        for b in rain_buckets(service.store, gauge.id, t0, t1, bucket_s):
            total += b.rain_mm
            buckets.append({"ts": iso_utc(b.start_ts), "ts_local": iso_local(b.start_ts, tz),
                            "rain_mm": round(b.rain_mm, 2), "accumulated_mm": round(total, 2), "count": b.count})
        return {"gauge_id": gauge.id, "start": iso_utc(t0), "end": iso_utc(t1), "bucket_s": bucket_s,
                "buckets": buckets, "total_mm": round(total, 2)}
    after = decode_cursor(cursor, (float,))
    first = math.nextafter(after[0], math.inf) if after else t0
    rows, next_url = paginate(request, response, rain_readings(service.store, gauge.id, max(t0, first), t1,
                                                               limit + 1), limit, lambda r: (r.ts,))
    return {"gauge_id": gauge.id, "start": iso_utc(t0), "end": iso_utc(t1),
            "readings": [rain_json(service, r) for r in rows], "next": next_url}


@router.get("/rain-forecast", summary="Rainfall forecast per station (Open-Meteo, when enabled)")
def get_rain_forecast(request: Request, response: Response) -> dict[str, Any]:
    """Each station's latest rainfall forecast: when it was fetched, the totals over the next 3, 6 and 24 hours and
    the hourly amounts; `enabled: false` when the provider is off."""
    service = _service(request)
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    provider = service.rain_forecast
    if provider is None:
        return {"enabled": False, "stations": {}}
    now = service.clock()
    out: dict[str, Any] = {}
    for sid, fc in provider.forecasts().items():
        ahead = [(ts, mm) for ts, mm in fc.hourly if ts > now]
        out[sid] = {"issued": iso_utc(fc.issued_ts), "stale": fc.stale(now),
                    "next_mm": {f"{h}h": round(sum(mm for ts, mm in ahead if ts <= now + h * 3600), 2)
                                for h in (3, 6, 24)},
                    "hourly": [{"ts": iso_utc(ts), "rain_mm": mm} for ts, mm in ahead[:72]]}
    return {"enabled": True, "stations": out}
