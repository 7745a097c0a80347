"""Report endpoints for officers: the list of reports to the People's Committee, each one's PDF and DOCX, and a
report asked for on demand (queued, made by the report desk's background thread, audited). Reports are not public:
every endpoint needs the officer role."""
from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from tichwatch.api.auth import Principal, Role, require_role
from tichwatch.api.pagination import CURSOR_QUERY, decode_cursor, paginate
from tichwatch.api.problems import ApiProblem
from tichwatch.api.routes_dashboard import SECURITY_HEADERS, STATIC_DIR
from tichwatch.api.state import service_of
from tichwatch.core.timefmt import iso_local
from tichwatch.residents.reports.desk import ReportDesk, RequestRefused
from tichwatch.residents.reports.storage import FILES, ReportRecord

router = APIRouter(prefix="/api/v1", tags=["reports"])
pages = APIRouter(include_in_schema=False)

READER = Role.OFFICER
"""Who may see and ask for reports: duty officers and administrators."""
PRIVATE = {"Cache-Control": "private, no-store"}


def _desk(request: Request) -> ReportDesk:
    return service_of(request).reports


def _document(desk: ReportDesk, r: ReportRecord) -> dict[str, Any]:
    tz = desk.settings.timezone
    period = r.period
    files = {fmt: f"/api/v1/reports/{r.id}/report.{fmt}" for fmt in FILES} if r.state == "done" else {}
    return {"id": r.id, "kind": r.kind, "origin": r.origin, "state": r.state,
            "first_day": period.first_day(tz).isoformat(), "last_day": period.last_day(tz).isoformat(),
            "start": iso_local(r.start_ts, tz), "end": iso_local(r.end_ts, tz),
            "requested": iso_local(r.requested_ts, tz), "requested_by": r.requested_by,
            "done": iso_local(r.done_ts, tz) if r.done_ts is not None else None, "error": r.error,
            "number": r.number, "pages": r.pages, "summary": r.summary or {}, "files": files}


@router.get("/reports", summary="Reports to the People's Committee, newest first (officer)")
def list_reports(request: Request, response: Response, limit: int = Query(20, ge=1, le=100),
                 cursor: str | None = CURSOR_QUERY,
                 principal: Principal = Depends(require_role(READER))) -> dict[str, Any]:
    """Scheduled (weekly, monthly) and on-demand reports, with their state, period and file links."""
    desk = _desk(request)
    after = decode_cursor(cursor, (float, str))
    rows, next_url = paginate(request, response, desk.newest(limit + 1, (after[0], after[1]) if after else None),
                              limit, lambda r: (r.requested_ts, r.id))
    response.headers.update(PRIVATE)
    return {"reports": [_document(desk, r) for r in rows], "next": next_url,
            "max_period_days": desk.reports.max_period_days}


def _report(desk: ReportDesk, report_id: str) -> ReportRecord:
    record = desk.get(report_id) if len(report_id) <= 80 else None
    if record is None:
        raise ApiProblem(404, "No such report", f"no report {report_id!r}; see /api/v1/reports")
    return record


@router.get("/reports/{report_id}", summary="One report (officer)")
def get_report(request: Request, response: Response, report_id: str,
               principal: Principal = Depends(require_role(READER))) -> dict[str, Any]:
    """A report's state, period, summary and file links."""
    desk = _desk(request)
    response.headers.update(PRIVATE)
    return _document(desk, _report(desk, report_id))


@router.get("/reports/{report_id}/report.{fmt}", summary="A report's PDF or DOCX (officer)",
            response_class=FileResponse, responses={200: {"content": {t: {} for _, t in FILES.values()}}})
def report_file(request: Request, report_id: str, fmt: Literal["pdf", "docx"],
                principal: Principal = Depends(require_role(READER))) -> FileResponse:
    """The report as PDF (to print and sign) or DOCX (to edit first); 404 until it is made."""
    desk = _desk(request)
    record = _report(desk, report_id)
    path = desk.files.path(record.id, fmt)
    if record.state != "done" or not path.exists():
        raise ApiProblem(404, "Not available", f"report {record.id} is {record.state}; its files come when it is "
                                               "made", code="not_made")
    tz = desk.settings.timezone
    name = f"bao-cao-{record.period.first_day(tz):%Y%m%d}-{record.period.last_day(tz):%Y%m%d}.{fmt}"
    return FileResponse(path, media_type=FILES[fmt][1], filename=name, headers=PRIVATE)


class ReportRequest(BaseModel):
    """The local days a report on demand covers (both included)."""

    first_day: date = Field(examples=["2026-11-01"])
    last_day: date = Field(examples=["2026-11-30"])


@router.post("/reports", status_code=202, summary="Ask for a report of any days (officer; made in the background)")
def request_report(request: Request, body: ReportRequest,
                   principal: Principal = Depends(require_role(READER))) -> dict[str, Any]:
    """Queue a report of `first_day` to `last_day` (Vietnam time; at most `reports.max_period_days` days, not after
    today); it is made in the background and appears in the list as done. The request is in the officer audit log."""
    desk = _desk(request)
    try:
        record = desk.request(body.first_day, body.last_day, principal.username)
    except RequestRefused as exc:
        raise ApiProblem(422, "Report refused", str(exc), code="refused") from exc
    return _document(desk, record)


@pages.get("/reports")
def reports_page() -> FileResponse:
    """The reports page for officers (the page asks to sign in; the API checks the role)."""
    return FileResponse(STATIC_DIR / "reports.html", headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})
