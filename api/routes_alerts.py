"""Alert endpoints: the public read-only alert list and detail (with the audit log), officers' actions (acknowledge,
comment, resolve, silences), and the acknowledge link of messages (GET confirms, POST acknowledges).

Every alert, audit entry and delivery status leaves through the deployment's redactor: no receiver's address, phone
number, chat or user id, webhook URL or acknowledge link, even from rows written before errors were redacted."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from tichwatch.alerts import outbox, storage
from tichwatch.alerts.ack_links import InvalidLink
from tichwatch.alerts.actions import ActionError
from tichwatch.alerts.false_alarms import with_marks
from tichwatch.alerts.model import Alert, AlertState
from tichwatch.alerts.runtime import AlertRuntime
from tichwatch.alerts.templates import choose_language
from tichwatch.alerts.views import alert_document, audit_document, silence_document
from tichwatch.api.auth import Principal, Role, require_role
from tichwatch.api.pagination import CURSOR_QUERY, decode_cursor, paginate
from tichwatch.api.problems import ApiProblem
from tichwatch.api.query_time import parse_query_time
from tichwatch.api.state import service_of
from tichwatch.config.alerts import Matchers, SeverityName, severity_of
from tichwatch.residents.subscriptions.sending import summary as residents_told

router = APIRouter(prefix="/api/v1", tags=["alerts"])

_TITLES = {404: "Not found", 409: "Conflict", 422: "Invalid request"}

T = TypeVar("T")


def _runtime(request: Request) -> AlertRuntime:
    return service_of(request).alerts


def _time(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_query_time(value)
    except ValueError as exc:
        raise ApiProblem(400, "Bad request", f"{name}: {exc}") from None


def _problem(exc: ActionError) -> ApiProblem:
    return ApiProblem(exc.status, _TITLES.get(exc.status, "Error"), str(exc))


def _document(rt: AlertRuntime, alert: Alert, title: str | None = None) -> dict[str, Any]:
    """An alert as JSON, redacted (a delivery.failed alert's evidence names a receiver's error)."""
    document: dict[str, Any] = rt.redactor.document(alert_document(alert, rt.settings, title))
    return document


LANG_QUERY = Query(None, description="Language of the titles: `vi` or `en`; else the Accept-Language header's, else "
                                     "the deployment's.")
"""The `lang` query parameter of the alert endpoints."""


def _lang(rt: AlertRuntime, request: Request, response: Response, lang: str | None) -> str:
    """The language to render titles in (`?lang=`, else Accept-Language, else the deployment's); the answer then
    varies with the header, and says so to caches."""
    if lang is None:
        response.headers["Vary"] = "Accept-Language"
    return choose_language(lang, request.headers.get("accept-language"), rt.settings.language)


@router.get("/alerts", summary="Alerts: open ones most severe first, then newest first; or history, newest first "
                               "(public)")
def list_alerts(request: Request, response: Response,
                state: Literal["active", "firing", "acknowledged", "resolved", "all"] = Query(
                    "active", description="`active`: firing or acknowledged."),
                kind: str | None = Query(None, description="Exact kind, or a prefix ending in a dot (`flood.`)."),
                subject: str | None = Query(None, description="Station or camera id."),
                min_severity: SeverityName | None = Query(None),
                since: str | None = Query(None, description="Started at or after (RFC 3339 or epoch seconds)."),
                until: str | None = Query(None, description="Started before (RFC 3339 or epoch seconds)."),
                limit: int = Query(100, ge=1, le=1000, description="Alerts per page."),
                cursor: str | None = CURSOR_QUERY,
                lang: Literal["vi", "en"] | None = LANG_QUERY) -> dict[str, Any]:
    """Open alerts (`active`, `firing`, `acknowledged`) most severe first and, within a severity, newest first, as
    a duty officer works through them; history (`resolved`, `all`) newest first. A page at a time: `next` (and the
    Link header) gives the following page. Titles in the language asked for."""
    rt = _runtime(request)
    by_severity = state in ("active", "firing", "acknowledged")
    after = decode_cursor(cursor, (int, float, str) if by_severity else (float, str))
    f = storage.AlertFilter(None if state == "all" else state, kind, subject,
                            severity_of(min_severity) if min_severity else None, _time(since, "since"),
                            _time(until, "until"), limit + 1, after, by_severity)
    found, next_url = paginate(request, response, storage.find_alerts(rt.store.query_all, f), limit,
                               lambda a: storage.sort_key(a, by_severity))
    now, language = rt.clock(), _lang(rt, request, response, lang)
    documents = [_document(rt, a, rt.composer.title_of(a, now, language)) for a in found]
    # false alarms: routes_desk; a mark's note is an officer's free text, redacted like the log
    return {"alerts": rt.redactor.document(with_marks(rt.store.query_all, documents, rt.settings.timezone)),
            "count": len(found), "next": next_url}


@router.get("/alerts/{alert_id}", summary="One alert with its audit log and notifications (public)")
def get_alert(request: Request, response: Response, alert_id: str,
              lang: Literal["vi", "en"] | None = LANG_QUERY) -> dict[str, Any]:
    """The alert, what happened to it (who, when, why) and what was sent to whom; its title and `message` (the body
    officers are sent, line by line: figures, trend, forecast and its basis, a dust detection's evidence) in the
    language asked for; `evidence_url`: a dust detection's outlined snapshot; `residents`: how many messages to
    subscribed residents are in each state, by channel (counts only)."""
    rt = _runtime(request)
    alert = storage.get_alert(rt.store.query_all, alert_id)
    if alert is None:
        raise ApiProblem(404, "Unknown alert", f"no alert with id {alert_id!r}; see /api/v1/alerts")
    tz, now, language = rt.settings.timezone, rt.clock(), _lang(rt, request, response, lang)
    document = _document(rt, alert, rt.composer.title_of(alert, now, language))
    document["message"] = rt.composer.body_of(alert, now, language)
    return {"alert": rt.redactor.document(with_marks(rt.store.query_all, [document], tz)[0]),
            "log": rt.redactor.document([audit_document(e, tz) for e in storage.audit_of(rt.store.query_all,
                                                                                         alert_id)]),
            "notifications": rt.redactor.document(outbox.of_alert(rt.store.query_all, alert_id)),
            "residents": residents_told(rt.store.query_all, alert_id=alert_id)}


class AckBody(BaseModel):
    """An acknowledgement, optionally with a note."""

    comment: str = Field("", max_length=2000, examples=["Đang ra hiện trường"])


class CommentBody(BaseModel):
    """A remark for the alert's log."""

    text: str = Field(min_length=1, max_length=2000, examples=["Nước đã tràn qua ngầm thôn Đông"])


class ResolveBody(BaseModel):
    """Why an officer closes the alert."""

    reason: str = Field(min_length=1, max_length=2000, examples=["Cảm biến bị rác che, đã vệ sinh"])


def _act(action: Callable[..., T], *args: Any) -> T:
    """Run one of the runtime's actions (a transaction of its own, published and delivered after the commit),
    mapping refusals to problems."""
    try:
        return action(*args)
    except ActionError as exc:
        raise _problem(exc) from None


@router.post("/alerts/{alert_id}/ack", summary="Acknowledge: stop repeats and escalation (officer)")
def ack(request: Request, alert_id: str, body: AckBody | None = None,
        principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Take the alert on."""
    rt = _runtime(request)
    alert = _act(rt.actions.acknowledge, alert_id, principal.username, rt.clock(),
                 body.comment if body else "")
    return {"alert": _document(rt, alert)}


@router.post("/alerts/{alert_id}/comment", summary="Add a remark to the alert's log (officer)", status_code=201)
def add_comment(request: Request, alert_id: str, body: CommentBody,
                principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Record a remark."""
    rt = _runtime(request)
    entry = _act(rt.actions.comment, alert_id, principal.username, rt.clock(), body.text)
    return {"entry": audit_document(entry, rt.settings.timezone)}


@router.post("/alerts/{alert_id}/resolve", summary="Resolve by hand, with a reason (officer)")
def resolve(request: Request, alert_id: str, body: ResolveBody,
            principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Close the alert."""
    rt = _runtime(request)
    alert = _act(rt.actions.resolve, alert_id, principal.username, rt.clock(), body.reason)
    return {"alert": _document(rt, alert)}


@router.get("/silences", summary="Silences not yet over (public)")
def list_silences(request: Request) -> dict[str, Any]:
    """Active and upcoming silences, soonest end first."""
    rt = _runtime(request)
    now = rt.clock()
    return {"silences": [silence_document(s, now, rt.settings.timezone)
                         for s in storage.live_silences(rt.store.query_all, now)]}


class SilenceBody(BaseModel):
    """A new silence: what it mutes, until when, and why."""

    matchers: Matchers = Field(description="Which alerts it mutes (kinds, subjects, areas, severities).")
    starts_at: str | None = Field(None, description="Start (RFC 3339 or epoch seconds); now when empty.")
    ends_at: str | None = Field(None, description="End (RFC 3339 or epoch seconds).")
    duration_s: float | None = Field(None, gt=0, description="Length, seconds (instead of ends_at).")
    reason: str = Field(min_length=1, max_length=2000, examples=["Thay cảm biến trạm Cầu Kiều Phú"])


@router.post("/silences", summary="Create a silence (officer)", status_code=201)
def create_silence(request: Request, body: SilenceBody,
                   principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """Mute matching alerts for a while."""
    rt = _runtime(request)
    now = rt.clock()
    starts = _time(body.starts_at, "starts_at") or now
    ends = _time(body.ends_at, "ends_at")
    if (ends is None) == (body.duration_s is None):
        raise ApiProblem(422, "Invalid request", "give either ends_at or duration_s")
    ends = ends if ends is not None else starts + (body.duration_s or 0)
    s = _act(rt.actions.create_silence, body.matchers, starts, ends, body.reason, principal.username, now)
    return {"silence": silence_document(s, now, rt.settings.timezone)}


@router.delete("/silences/{silence_id}", summary="End a silence now (officer)")
def expire_silence(request: Request, silence_id: str,
                   principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """End the silence; what it muted is notified."""
    rt = _runtime(request)
    now = rt.clock()
    s = _act(rt.actions.expire_silence, silence_id, principal.username, now)
    return {"silence": silence_document(s, now, rt.settings.timezone)}


def _ack_page(rt: AlertRuntime, stage: str, alert_id: str | None = None, detail: str = "",
              status: int = 200) -> HTMLResponse:
    alert = storage.get_alert(rt.store.query_all, alert_id) if alert_id else None
    page = rt.composer.env.get_template(f"{rt.settings.language}/ack_page.html.j2").render(
        commune=rt.settings.commune, stage=stage, detail=detail,
        alert=_document(rt, alert) if alert else None)
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store",
                                                           "Referrer-Policy": "no-referrer"})


_ACK_PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": what, "content": {"text/html": {}}} for status, what in (
        (400, "The link is damaged or not one of ours (a page saying so)."),
        (404, "The alert the link names no longer exists (a page saying so)."),
        (409, "The alert was resolved before the link was used (a page saying so)."),
        (410, "The link has expired (a page saying so)."))}
"""Acknowledge links are opened by people in a browser: their errors are HTML pages, not problem documents."""


@router.get("/ack/{token}", summary="Acknowledge link: a confirmation page (does not acknowledge)",
            response_class=HTMLResponse, responses=_ACK_PAGE_ERRORS)
def ack_link_page(request: Request, token: str) -> HTMLResponse:
    """Mail scanners follow links: GET only shows the button that POSTs."""
    rt = _runtime(request)
    try:
        claim = rt.ack_links.verify(token, rt.clock())
    except InvalidLink as exc:
        return _ack_page(rt, "invalid", detail=exc.reason, status=400 if exc.reason != "expired" else 410)
    alert = storage.get_alert(rt.store.query_all, claim.alert_id)
    if alert is None:
        return _ack_page(rt, "invalid", detail="unknown", status=404)
    stage = {AlertState.FIRING: "confirm", AlertState.ACKNOWLEDGED: "already"}.get(alert.state, "resolved")
    return _ack_page(rt, stage, alert.id)


@router.post("/ack/{token}", summary="Acknowledge link: acknowledge (once)", response_class=HTMLResponse,
             responses=_ACK_PAGE_ERRORS)
def ack_link_use(request: Request, token: str) -> HTMLResponse:
    """Acknowledge as the receiver the link was sent to; the link then stops working."""
    rt = _runtime(request)
    now = rt.clock()
    try:
        claim = rt.ack_links.verify(token, now)
        actor = f"link:{claim.receiver}"
        before = rt.actions.acknowledge_link(claim, actor, now)
    except InvalidLink as exc:
        return _ack_page(rt, "invalid", detail=exc.reason, status=400 if exc.reason != "expired" else 410)
    except ActionError as exc:
        return _ack_page(rt, "resolved" if exc.status == 409 else "invalid", claim.alert_id, "unknown",
                         status=exc.status)
    stage = "already" if before is not None and before.state is AlertState.ACKNOWLEDGED else "done"
    return _ack_page(rt, stage, claim.alert_id)
