"""The officer's desk: the duty roster (who is on duty now and next, the coming days, overrides) and false-alarm marks
on alerts. Everything here needs the officer role; every change is audited."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from tichwatch.alerts.actions import ActionError
from tichwatch.alerts.false_alarms import MAX_NOTE_CHARS, document
from tichwatch.api.auth import Principal, Role, require_role
from tichwatch.api.desk import MAX_REASON_CHARS, Desk
from tichwatch.api.problems import ApiProblem
from tichwatch.api.query_time import parse_query_time
from tichwatch.api.state import service_of

router = APIRouter(prefix="/api/v1", tags=["officer's desk"])

T = TypeVar("T")
_TITLES = {404: "Not found", 409: "Conflict", 422: "Invalid request"}


def _desk(request: Request) -> tuple[Desk, float]:
    service = service_of(request)
    return Desk(service.settings, service.store, service.alerts.bus), service.clock()


def _act(action: Callable[..., T], *args: Any) -> T:
    """Run a desk action, mapping its refusals to problem documents."""
    try:
        return action(*args)
    except ActionError as exc:
        raise ApiProblem(exc.status, _TITLES.get(exc.status, "Error"), str(exc)) from None


def _time(value: str, name: str) -> float:
    try:
        return parse_query_time(value)
    except ValueError as exc:
        raise ApiProblem(400, "Bad request", f"{name}: {exc}") from None


@router.get("/roster", summary="The duty roster: who is on duty now and next, and the coming days (officer)")
def get_roster(request: Request, days: int = Query(7, ge=1, le=14, description="Days ahead to list."),
               _: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Who is on duty now (`now`, officers first in line first) and next (`next`), the duty chain that
    `roster:on_duty` and `roster:next` reach (`chain`), the slots of the coming days (`slots`, `gaps` without anyone)
    and the overrides in force."""
    desk, now = _desk(request)
    return desk.roster_view(now, days)


class OverrideBody(BaseModel):
    """An override: who stands in for whom, from when to when, and why."""

    officer: str = Field(min_length=1, max_length=64, description="User name of the officer who takes the duty.",
                         examples=["truc.binh"])
    replaces: str | None = Field(None, max_length=64, description="User name of the officer replaced; empty: "
                                 "`officer` goes first in line.", examples=["truc.an"])
    starts_at: str | None = Field(None, max_length=64, description="Start (RFC 3339 or epoch seconds); now when "
                                  "empty.")
    ends_at: str = Field(max_length=64, description="End (RFC 3339 or epoch seconds).",
                         examples=["2026-09-22T07:00:00+07:00"])
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS, examples=["Đổi ca: anh An đi họp huyện"])


class ReasonBody(BaseModel):
    """Why."""

    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS, examples=["Anh An đã về"])


@router.post("/roster/overrides", summary="Swap a shift: an officer stands in for another for a while (officer)",
             status_code=201)
def add_override(request: Request, body: OverrideBody,
                 principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Record an override of the roster (in the officer audit log as `roster.override`)."""
    desk, now = _desk(request)
    starts = _time(body.starts_at, "starts_at") if body.starts_at else now
    ends = _time(body.ends_at, "ends_at")
    o = _act(desk.add_override, principal.username, body.officer, body.replaces or None, starts, ends, body.reason,
             now)
    return {"override": desk.override_document(o)}


@router.post("/roster/overrides/{override_id}/cancel", summary="Cancel a roster override (officer)")
def cancel_override(request: Request, override_id: str, body: ReasonBody,
                    principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """End an override now (in the officer audit log as `roster.override.cancel`)."""
    desk, now = _desk(request)
    o = _act(desk.cancel_override, principal.username, override_id, body.reason, now)
    return {"override": desk.override_document(o)}


class NoteBody(BaseModel):
    """A note: why it was (or was not) a false alarm."""

    note: str = Field(min_length=1, max_length=MAX_NOTE_CHARS, examples=["Rác mắc vào cảm biến, mực nước thật 4,8 m"])


@router.post("/alerts/{alert_id}/false-alarm", summary="Mark an alert as a false alarm, with a note (officer)",
             status_code=201)
def mark_false_alarm(request: Request, alert_id: str, body: NoteBody,
                     principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Mark an open or resolved alert (in its log as `false_alarm.marked`); counted on the indicators."""
    desk, now = _desk(request)
    mark = _act(desk.mark_false_alarm, alert_id, principal.username, body.note, now)
    return {"alert_id": alert_id, "false_alarm": document(mark, desk.tz)}


@router.post("/alerts/{alert_id}/false-alarm/withdraw", summary="Withdraw an alert's false-alarm mark (officer)")
def withdraw_false_alarm(request: Request, alert_id: str, body: NoteBody,
                         principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Withdraw the mark, with why (in the alert's log as `false_alarm.withdrawn`)."""
    desk, now = _desk(request)
    _act(desk.withdraw_false_alarm, alert_id, principal.username, body.note, now)
    return {"alert_id": alert_id, "false_alarm": None}
