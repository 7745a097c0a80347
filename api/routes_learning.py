"""A camera learns from the officers' answers: its learning state and recent frames (public, no personal data), and
the officers' labels, ignore regions, answers to dust alerts, training and rollback of its model (role officer,
audited)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from tichwatch.alerts.actions import ActionError
from tichwatch.alerts.false_alarms import MAX_NOTE_CHARS
from tichwatch.api.auth import Principal, Role, require_role
from tichwatch.api.desk import MAX_REASON_CHARS
from tichwatch.api.problems import ApiProblem
from tichwatch.api.routes_dashboard import SECURITY_HEADERS, STATIC_DIR
from tichwatch.api.routes_stations import PUBLIC_SHORT_CACHE
from tichwatch.api.state import service_of
from tichwatch.core.timefmt import iso_local, iso_utc
from tichwatch.learning.runtime import TRAINER, CameraLearning
from tichwatch.learning.versions import SHIPPED, Version

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    from tichwatch.app.service import Service

router = APIRouter(prefix="/api/v1", tags=["cameras"])
pages = APIRouter(include_in_schema=False)


@pages.get("/cameras/{camera_id}")
def camera_page(camera_id: str) -> FileResponse:
    """The camera's page: its latest frame with the grid, recent frames to label, ignore region, model versions."""
    return FileResponse(STATIC_DIR / "camera.html", headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})

MAX_CELLS = 64 * 64
"""Most cells one request may name (the largest grid the settings allow)."""
MAX_TS_MS = 253_402_300_799_000
"""The last millisecond of year 9999: a frame time beyond it names no frame."""
_TITLES = {404: "Not found", 409: "Conflict", 422: "Invalid request"}


def _learning(request: Request, camera_id: str) -> tuple[Service, CameraLearning]:
    service = service_of(request)
    if service.settings.camera(camera_id) is None:
        raise ApiProblem(404, "Unknown camera", f"no camera with id {camera_id!r}; see /api/v1/cameras")
    return service, service.learning


def _act(action: Any, *args: Any) -> Any:
    try:
        return action(*args)
    except ActionError as exc:
        raise ApiProblem(exc.status, _TITLES.get(exc.status, "Error"), str(exc)) from None


def _when(ts: float | None, tz: str) -> dict[str, str | None]:
    return {"at": iso_utc(ts) if ts else None, "at_local": iso_local(ts, tz) if ts else None}


def version_json(v: Version, tz: str) -> dict[str, Any]:
    """A model version as the public sees it: who trained it only as 'officer' or the learning loop."""
    return {"version": v.version, "state": v.state, "created": _when(v.created_ts, tz),
            "trigger": "automatic" if v.created_by == TRAINER else "officer", "counts": v.counts,
            "figures": v.figures, "decision": v.decision, "feature_set": v.feature_set}


@router.get("/cameras/{camera_id}/learning", summary="What a camera has learnt: learning period, recent frames, "
            "ignore region, model versions")
def camera_learning(request: Request, response: Response, camera_id: str) -> dict[str, Any]:
    """The camera page's data (public: no names of officers)."""
    service, learning = _learning(request, camera_id)
    tz = service.settings.timezone
    d = service.settings.dust
    labelled = {round(lab.frame_ts, 3): lab.label for lab in learning.labels(camera_id, 1000)}
    frames = [{"ts": iso_utc(j.ts), "ts_local": iso_local(j.ts, tz), "ts_ms": round(j.ts * 1000),
               "frame_ts": j.ts, "max_prob": round(float(j.probs.max()), 3) if j.probs.size else None,
               "jpeg_url": f"/api/v1/cameras/{camera_id}/frames/{round(j.ts * 1000)}.jpg" if j.jpeg else None,
               "label": labelled.get(round(j.ts, 3))}
              for j in reversed(learning.recent(camera_id))]
    period = learning.period(camera_id)
    ignore = learning.ignore_cells(camera_id)
    active = next((v.version for v in learning.versions(camera_id) if v.state == "active"), SHIPPED)
    response.headers["Cache-Control"] = "no-cache"
    return {"camera_id": camera_id, "grid": [d.grid_rows, d.grid_cols],
            "period": {**period, "first": _when(period.get("first_ts"), tz),  # type: ignore[arg-type]
                       "completed": _when(period.get("completed_ts"), tz)},  # type: ignore[arg-type]
            "training": learning.training(camera_id), "active_version": active,
            "ignore_cells": ignore["cells"] if ignore else [],
            "versions": [version_json(v, tz) for v in learning.versions(camera_id)],
            "frames": frames}


@router.get("/cameras/{camera_id}/frames/{ts_ms}.jpg", summary="A recently judged frame of the camera",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
def recent_frame(request: Request, camera_id: str, ts_ms: int = Path(ge=0, le=MAX_TS_MS)) -> Response:
    """The JPEG of a recent frame as received (the newest judged frames keep theirs)."""
    _, learning = _learning(request, camera_id)
    j = learning.judgement(camera_id, ts_ms / 1000)
    if j is None or not j.jpeg:
        raise ApiProblem(404, "No such frame", f"camera {camera_id} has no recent frame at {ts_ms} ms")
    return Response(j.jpeg, media_type="image/jpeg", headers={"Cache-Control": PUBLIC_SHORT_CACHE})


@router.get("/cameras/{camera_id}/labels", summary="The camera's labelled frames, with who labelled them (officer)")
def list_labels(request: Request, camera_id: str,
                _: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Labels newest first."""
    service, learning = _learning(request, camera_id)
    tz = service.settings.timezone
    return {"labels": [{"id": lab.id, "frame_ts": lab.frame_ts, "frame": _when(lab.frame_ts, tz), "label": lab.label,
                        "cells": lab.cells, "source": lab.source, "alert_id": lab.alert_id,
                        "created": _when(lab.created_ts, tz), "created_by": lab.created_by,
                        "has_jpeg": lab.has_jpeg, "feature_set": lab.feature_set}
                       for lab in learning.labels(camera_id)]}


class LabelBody(BaseModel):
    """A label of one recent frame."""

    frame_ts: float = Field(ge=0, le=MAX_TS_MS / 1000, description="The frame's capture time (epoch seconds, as "
                            "listed in /learning `frames[].frame_ts`).")
    label: Literal["dust", "clear"]
    cells: list[tuple[int, int]] | None = Field(None, max_length=MAX_CELLS, description="For dust: the (row, col) "
                                                "cells with dust; empty: the cells that visibly changed.")


@router.post("/cameras/{camera_id}/labels", summary="Label a recent frame dust or clear (officer)", status_code=201)
def add_label(request: Request, camera_id: str, body: LabelBody,
              principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Store the label with the frame's feature rows and JPEG (officer audit `camera.label`); enough new labels
    start a retraining."""
    _, learning = _learning(request, camera_id)
    label_id = _act(learning.label_frame, camera_id, body.frame_ts, body.label, body.cells, principal.username)
    return {"id": label_id, "camera_id": camera_id, "frame_ts": body.frame_ts, "label": body.label}


class IgnoreBody(BaseModel):
    """The cells to exclude from dust judging, and why."""

    cells: list[tuple[int, int]] = Field(max_length=MAX_CELLS, description="(row, col) cells; empty: none.")
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS, examples=["Ống khói trạm trộn bê tông"])


@router.put("/cameras/{camera_id}/ignore", summary="Set the camera's ignore region (officer)")
def set_ignore(request: Request, camera_id: str, body: IgnoreBody,
               principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Applied to the detector at once and kept (officer audit `camera.ignore`)."""
    _, learning = _learning(request, camera_id)
    cells = _act(learning.set_ignore, camera_id, body.cells, principal.username, body.reason)
    return {"camera_id": camera_id, "ignore_cells": cells}


@router.post("/cameras/{camera_id}/models/train", summary="Train the camera's model now (officer)", status_code=202)
def train_now(request: Request, camera_id: str,
              principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Queue a training in the background (officer audit `camera_model.train`); the outcome is a new version."""
    _, learning = _learning(request, camera_id)
    queued = learning.request_training(camera_id, principal.username)
    return {"camera_id": camera_id, "queued": queued, "training": learning.training(camera_id)}


class ReasonBody(BaseModel):
    """Why."""

    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS, examples=["Bản mới báo nhầm khói bếp"])


@router.post("/cameras/{camera_id}/models/{version}/activate", summary="Put a model version in service: a rollback "
             "(officer)")
def activate(request: Request, camera_id: str, body: ReasonBody, version: int = Path(ge=0, le=1_000_000),
             principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """At once, from the camera's next frame (0: the shipped model); officer audit `camera_model.activate`."""
    _, learning = _learning(request, camera_id)
    _act(learning.activate, camera_id, version, principal.username, body.reason)
    return {"camera_id": camera_id, "active_version": version}


class AnswerBody(BaseModel):
    """An officer's answer to a dust alert."""

    answer: Literal["confirmed", "false_alarm"]
    note: str = Field("", max_length=MAX_NOTE_CHARS, description="Why (required for a false alarm).")


@router.post("/alerts/{alert_id}/answer", summary="Answer a dust alert: confirmed or false alarm (officer)")
def answer(request: Request, alert_id: str, body: AnswerBody,
           principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """"confirmed" (in the alert's log as `alert.confirmed`) labels its frames dust; "false_alarm" marks it a false
    alarm (as `/false-alarm`) and labels its frames clear. Labels of frames still in the camera's recent ring."""
    learning = service_of(request).learning
    made = _act(learning.answer_alert, alert_id, body.answer, body.note, principal.username)
    return {"alert_id": alert_id, "answer": body.answer, "labels": made}
