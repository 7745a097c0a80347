"""Public commune indicators for the dashboard."""
from __future__ import annotations

from typing import Any, TYPE_CHECKING

from fastapi import APIRouter, Request, Response

from tichwatch.api.indicators import ack_stats, availability
from tichwatch.api.routes_stations import PUBLIC_SHORT_CACHE
from tichwatch.core.detection import Severity

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    from tichwatch.app.service import Service

router = APIRouter(prefix="/api/v1", tags=["indicators"])


@router.get("/indicators", summary="Sensor and camera availability; alerts acknowledged in time; time to acknowledge")
def indicators(request: Request, response: Response) -> dict[str, Any]:
    """The commune's indicators now (acknowledgement figures over `indicators.window_days`)."""
    service: Service = request.app.state.service
    cfg = service.settings.indicators
    now = service.clock()
    latest = service.store.latest_readings()
    stations = service.settings.stations
    sensor = availability([latest[s.id].ts if s.id in latest else None for s in stations],
                          [s.expected_interval_s for s in stations], now, cfg.available_within_factor)
    cams = service.settings.cameras
    frames = [service.store.latest_frame(c.id) for c in cams]
    camera = availability([f.ts if f else None for f in frames], [c.expected_interval_s for c in cams], now,
                          cfg.available_within_factor)
    rows = service.store.query_all(
        "SELECT firing_since_ts, acknowledged_ts FROM alerts WHERE started_ts >= ? AND severity >= ?",
        (now - cfg.window_days * 86400, int(Severity.WARNING)))
    acks = ack_stats([(r[0], r[1]) for r in rows], now, cfg.ack_target_s)
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    return {"sensor_availability": sensor, "camera_availability": camera, "alerts": acks.alerts,
            "ack_within_target": acks.acknowledged_within_target, "median_ack_s": acks.median_ack_s,
            "ack_target_s": cfg.ack_target_s, "window_days": cfg.window_days}
