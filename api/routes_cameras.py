"""Public read-only camera endpoints: latest frame, dust index and status, evidence snapshots."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import FileResponse

from tichwatch.api.problems import ApiProblem
from tichwatch.api.routes_stations import PUBLIC_LONG_CACHE, PUBLIC_SHORT_CACHE
from tichwatch.api.state import service_of
from tichwatch.config.schema import CameraConfig
from tichwatch.core.links import camera_snapshot_url, evidence_url
from tichwatch.core.timefmt import iso_local, iso_utc
from tichwatch.detectors.dust.health import HEALTH_KINDS
from tichwatch.detectors.dust.state import camera_state

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    from tichwatch.app.service import Service

router = APIRouter(prefix="/api/v1", tags=["cameras"])

MAX_ID = 2**63 - 1
"""The largest row id SQLite has: a larger id cannot even be bound to a query (OverflowError)."""
CAMERA_STATES: tuple[str, ...] = ("dust", "clear", "warming up", "learning", "too dark", "camera fault",
                                   *HEALTH_KINDS)
"""Every state the dust detector gives a camera (tichwatch.detectors.dust.state.camera_state): a plume, none, why
judging is suspended, a health fault. The pages show each by its catalogue key, `camstate.` + `status_code`."""


def status_code(state: str) -> str:
    """A camera state as a catalogue-friendly code: "warming up" -> "warming_up", "camera.dark" unchanged."""
    return state.replace(" ", "_")



def camera_json(service: Service, cam: CameraConfig) -> dict[str, Any]:
    """A camera with its latest frame, its latest dust index (with its time) and its state now: the detector's,
    which knows of a camera gone silent since its last frame (`status`, and `status_code` for the pages)."""
    tz = service.settings.timezone
    frame = service.store.latest_frame(cam.id)
    latest = service.store.latest_dust_index(cam.id)
    live = service.dust.status(cam.id)
    status = camera_state(live) if live is not None else latest[2] if latest else None
    return {
        "id": cam.id, "site": cam.site, "lat": cam.lat, "lon": cam.lon,
        "expected_interval_s": cam.expected_interval_s,
        "last_frame_ts": iso_utc(frame.ts) if frame else None,
        "last_frame_ts_local": iso_local(frame.ts, tz) if frame else None,
        "snapshot_url": camera_snapshot_url("", cam.id) if frame else None,  # relative, as the dashboard uses it
        "dust_index": latest[1] if latest else None,
        "dust_index_ts": iso_utc(latest[0]) if latest else None,
        "status": status,
        "status_code": status_code(status) if status else None,
        "evidence_url": evidence_url("", latest[3]) if latest and latest[3] else None,
    }


def _camera(service: Service, camera_id: str) -> CameraConfig:
    cam = service.settings.camera(camera_id)
    if cam is None:
        raise ApiProblem(404, "Unknown camera", f"no camera with id {camera_id!r}; see /api/v1/cameras")
    return cam


@router.get("/cameras", summary="All cameras with their latest dust index, status and snapshot")
def list_cameras(request: Request, response: Response) -> dict[str, Any]:
    """Every configured camera."""
    service = service_of(request)
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    return {"cameras": [camera_json(service, c) for c in service.settings.cameras]}


@router.get("/cameras/{camera_id}", summary="One camera with its latest dust index, status and snapshot")
def get_camera(request: Request, response: Response, camera_id: str) -> dict[str, Any]:
    """One camera."""
    service = service_of(request)
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    return camera_json(service, _camera(service, camera_id))


@router.get("/cameras/{camera_id}/latest.jpg", summary="The camera's latest frame", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}}})
def latest_frame(request: Request, camera_id: str) -> FileResponse:
    """The newest stored JPEG of the camera."""
    service = service_of(request)
    _camera(service, camera_id)
    frame = service.store.latest_frame(camera_id)
    if frame is None or not frame.path.exists():
        raise ApiProblem(404, "No frame yet", f"camera {camera_id} has not sent a frame yet")
    return FileResponse(frame.path, media_type="image/jpeg", headers={"Cache-Control": PUBLIC_SHORT_CACHE})


@router.get("/evidence/{evidence_id}.jpg", summary="An evidence snapshot of a dust detection",
            response_class=FileResponse, responses={200: {"content": {"image/jpeg": {}}}})
def evidence(request: Request, evidence_id: int = Path(ge=1, le=MAX_ID)) -> FileResponse:
    """The annotated snapshot stored with a detection."""
    path = service_of(request).store.evidence_path(evidence_id)
    if path is None or not path.exists():
        raise ApiProblem(404, "No such evidence", f"evidence {evidence_id} does not exist or has expired")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": PUBLIC_LONG_CACHE})
