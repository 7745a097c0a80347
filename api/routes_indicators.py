"""Public commune indicators for the dashboard."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response

from tichwatch.api.indicators import commune_indicators
from tichwatch.api.routes_stations import PUBLIC_SHORT_CACHE
from tichwatch.api.state import service_of

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    pass

router = APIRouter(prefix="/api/v1", tags=["indicators"])


@router.get("/indicators", summary="Sensor and camera availability; alerts acknowledged in time; time to acknowledge; "
                                   "false alarms per station and camera")
def indicators(request: Request, response: Response) -> dict[str, Any]:
    """The commune's indicators now (acknowledgement and false-alarm figures over `indicators.window_days`: per
    station and camera, the alerts that started in it and how many of them officers marked as false alarms)."""
    service = service_of(request)
    cfg = service.settings.indicators
    found = commune_indicators(service.store, service.stations.stations(), service.settings.cameras, cfg,
                               service.clock())
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    return {"sensor_availability": found.sensor_availability, "camera_availability": found.camera_availability,
            "alerts": found.acks.alerts, "ack_within_target": found.acks.acknowledged_within_target,
            "median_ack_s": found.acks.median_ack_s, "ack_target_s": cfg.ack_target_s,
            "window_days": cfg.window_days,
            "false_alarms": [{"kind": f.kind, "subject": f.subject, "name": f.name, "alerts": f.alerts,
                              "false_alarms": f.false_alarms} for f in found.false_alarms]}
