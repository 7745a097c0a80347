"""Bulletin endpoints: published bulletins for the public (JSON, text, chart, card, radio audio, each cited figure),
the drafting workflow for communicators and officers, and the live level chart of any station.

Pictures and audio are drawn and synthesised in plain `def` endpoints, which FastAPI runs in its threadpool: never on
the event loop.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field, create_model

from tichwatch.api.auth import Principal, Role, require_role
from tichwatch.api.pagination import CURSOR_QUERY, decode_cursor, paginate
from tichwatch.api.problems import ApiProblem
from tichwatch.api.routes_stations import PUBLIC_LONG_CACHE, PUBLIC_SHORT_CACHE, permalink
from tichwatch.api.state import service_of
from tichwatch.core.links import bulletin_url
from tichwatch.residents.bulletins.compose import LANGUAGES, station_chart
from tichwatch.residents.bulletins.desk import BulletinDesk
from tichwatch.residents.bulletins.files import AUDIO_TYPES
from tichwatch.residents.bulletins.gather import DAY_S, WEEK_S, gather_station
from tichwatch.residents.bulletins.views import figure_document, log_document
from tichwatch.residents.bulletins.workflow import (
    EDITABLE,
    Authority,
    BulletinRecord,
    BulletinState,
    WorkflowError,
    publishing_authority,
)
from tichwatch.residents.pictures import chart_png

router = APIRouter(prefix="/api/v1", tags=["bulletins"])

DRAFTER = Role.COMMUNICATOR
"""Who may draft and edit bulletins: the communicator role (officers and admins include it)."""

Lang = Literal["vi", "en"]
SPANS = {"24h": DAY_S, "7d": WEEK_S}


def _desk(request: Request) -> BulletinDesk:
    return service_of(request).bulletins


def _published(desk: BulletinDesk, bulletin_id: str) -> BulletinRecord:
    record = desk.get(bulletin_id)
    if record is None or record.state is not BulletinState.PUBLISHED:
        raise ApiProblem(404, "No such bulletin", f"no published bulletin {bulletin_id!r}; see /api/v1/bulletins")
    return record


def _any(desk: BulletinDesk, bulletin_id: str) -> BulletinRecord:
    record = desk.get(bulletin_id)
    if record is None:
        raise ApiProblem(404, "No such bulletin", f"no bulletin {bulletin_id!r}; see /api/v1/bulletins/drafts")
    return record


def _summary(desk: BulletinDesk, r: BulletinRecord) -> dict[str, Any]:
    doc = desk.document(r)
    return {k: doc[k] for k in ("id", "kind", "state", "data_time", "published", "links")} | {
        "title": {lang: doc[lang]["title"] for lang in LANGUAGES}, "quote": {lang: doc[lang]["quote"]
                                                                         for lang in LANGUAGES}}


def _file(path: Path, media_type: str, what: str) -> FileResponse:
    if not path.exists():
        raise ApiProblem(404, "Not available", f"this bulletin has no {what}")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": PUBLIC_LONG_CACHE})


def _step(action: Callable[[], BulletinRecord]) -> BulletinRecord:
    """Run a desk action, turning its errors into problem documents."""
    try:
        return action()
    except KeyError as exc:
        raise ApiProblem(404, "No such bulletin", f"no bulletin {exc.args[0]!r}") from None
    except WorkflowError as exc:
        raise ApiProblem(409, "Conflict", str(exc)) from None
    except ValueError as exc:
        raise ApiProblem(400, "Bad request", str(exc)) from None


# -- public ---------------------------------------------------------------------------------------------------------
@router.get("/bulletins", summary="Published bulletins, newest first (public)")
def list_bulletins(request: Request, response: Response, limit: int = Query(20, ge=1, le=200),
                   cursor: str | None = CURSOR_QUERY) -> dict[str, Any]:
    """Titles, quotes and links of the latest published bulletins, a page at a time (`next`, Link header)."""
    desk = _desk(request)
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    rows, next_url = paginate(request, response, desk.published(limit + 1, decode_cursor(cursor, (float, str))),
                              limit, lambda r: (r.published_ts, r.id))
    return {"bulletins": [_summary(desk, r) for r in rows], "next": next_url}


@router.get("/bulletins/drafts", summary="Drafts and approved bulletins waiting for publication (communicator)")
def list_drafts(request: Request, principal: Principal = Depends(require_role(DRAFTER))) -> dict[str, Any]:
    """Unpublished bulletins, newest first."""
    desk = _desk(request)
    return {"bulletins": [_summary(desk, r) for r in desk.unpublished()]}


@router.get("/bulletins/drafts/{bulletin_id}", summary="A bulletin in any state, with its audit log (communicator)")
def get_draft(request: Request, bulletin_id: str,
              principal: Principal = Depends(require_role(DRAFTER))) -> dict[str, Any]:
    """The whole bulletin, who did what to it, when, and its delivery state per receiver (waiting, sent, failed)."""
    desk = _desk(request)
    record = _any(desk, bulletin_id)
    return {**desk.document(record), "log": [log_document(e, desk.settings.timezone) for e in desk.log_of(record.id)],
            "delivery": desk.deliveries(record.id)}


@router.get("/bulletins/{bulletin_id}.txt", summary="A published bulletin as plain text (public)",
            response_class=PlainTextResponse)
def bulletin_text(request: Request, bulletin_id: str, lang: Lang = Query("vi")) -> PlainTextResponse:
    """The full text in Vietnamese (default) or English."""
    record = _published(_desk(request), bulletin_id)
    return PlainTextResponse(record.content[f"text_{lang}"], headers={"Cache-Control": PUBLIC_LONG_CACHE})


@router.get("/bulletins/{bulletin_id}", summary="A published bulletin (public)")
def get_bulletin(request: Request, response: Response, bulletin_id: str) -> dict[str, Any]:
    """Texts in both languages, the radio script, every figure with its permalink, and links to the files."""
    desk = _desk(request)
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    return desk.document(_published(desk, bulletin_id))


@router.get("/bulletins/{bulletin_id}/figures/{key}", summary="Permalink: exactly one figure a bulletin cites")
def get_figure(request: Request, response: Response, bulletin_id: str, key: str) -> dict[str, Any]:
    """The figure with its value, unit, time and the bulletin it was published in."""
    desk = _desk(request)
    record = _published(desk, bulletin_id)
    figure = next((f for f in record.figures if f.key == key), None)
    if figure is None:
        raise ApiProblem(404, "No such figure", f"bulletin {bulletin_id} cites no figure {key!r}")
    response.headers["Cache-Control"] = PUBLIC_LONG_CACHE
    return {**figure_document(figure, desk.settings.timezone), "bulletin_id": record.id,
            "bulletin": bulletin_url(desk.settings.http.public_url, record.id)}


@router.get("/bulletins/{bulletin_id}/chart.png", summary="The quoted station's level chart, 1200×630 (public)",
            response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
def bulletin_chart(request: Request, bulletin_id: str, lang: Lang = Query("vi")) -> FileResponse:
    """The chart drawn with the bulletin's data."""
    desk = _desk(request)
    return _file(desk.files.path(_published(desk, bulletin_id).id, f"chart-{lang}.png"), "image/png", "chart")


@router.get("/bulletins/{bulletin_id}/card.png", summary="The summary card, 1080×1080 (public)",
            response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
def bulletin_card(request: Request, bulletin_id: str, lang: Lang = Query("vi")) -> FileResponse:
    """The square card for Zalo and Facebook."""
    desk = _desk(request)
    return _file(desk.files.path(_published(desk, bulletin_id).id, f"card-{lang}.png"), "image/png", "card")


@router.get("/bulletins/{bulletin_id}/audio.{audio_format}", summary="The radio script spoken (public)",
            response_class=FileResponse, responses={200: {"content": {"audio/ogg": {}, "audio/wav": {}}}})
def bulletin_audio(request: Request, bulletin_id: str, audio_format: Literal["ogg", "wav"]) -> FileResponse:
    """The loudspeaker script synthesised (espeak-ng, Vietnamese voice), for the commune radio operator."""
    desk = _desk(request)
    record = _published(desk, bulletin_id)
    return _file(desk.files.path(record.id, f"radio.{audio_format}"), AUDIO_TYPES[audio_format],
                 f"{audio_format} audio (this deployment makes {desk.bulletins.audio_format})")


@router.get("/stations/{station_id}/chart.png", summary="A station's level chart, 24 h or 7 d (public)",
            response_class=Response, responses={200: {"content": {"image/png": {}}}})
def station_chart_png(request: Request, station_id: str, span: Literal["24h", "7d"] = Query("24h"),
                      lang: Lang = Query("vi")) -> Response:
    """The level with the báo động I–III bands and the forecast, drawn now (1200×630)."""
    service = service_of(request)
    desk = _desk(request)
    station = service.stations.station(station_id)
    if station is None:
        raise ApiProblem(404, "Unknown station", f"no station with id {station_id!r}; see /api/v1/stations")
    now = service.clock()
    data = gather_station(service.store, station, now, SPANS[span], lambda r: permalink(service, r), desk.flood)
    png = chart_png(station_chart(data, service.settings, desk.bulletins.source_name, now, SPANS[span], lang))
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=60"})


# -- workflow -------------------------------------------------------------------------------------------------------
class DraftRequest(BaseModel):
    """What to draft: the kind (default: emergency while a flood alert at the hourly level is open) and receivers."""

    kind: Literal["routine", "emergency"] | None = Field(None, description="routine or emergency; derived when empty.")
    channels: list[str] | None = Field(None, description="Receiver names to publish to; bulletins.channels when "
                                       "empty.")


EditRequest = create_model(
    "EditRequest", __doc__="Texts to change; fields left out stay as they are.",
    **{name: (str | None, Field(None, min_length=1, max_length=20_000)) for name in EDITABLE})  # type: ignore[call-overload]


class PublishRequest(BaseModel):
    """Where to publish; the bulletin's channels when empty."""

    channels: list[str] | None = Field(None, description="Receiver names (from alerts.receivers).")


@router.post("/bulletins", summary="Draft a bulletin from the data of now (communicator)", status_code=201)
def create_bulletin(request: Request, body: DraftRequest,
                    principal: Principal = Depends(require_role(DRAFTER))) -> dict[str, Any]:
    """A new draft in Vietnamese and English with its radio script, chart and card."""
    desk = _desk(request)
    return desk.document(_step(lambda: desk.create(principal.username, "demand", body.kind, body.channels)))


@router.put("/bulletins/{bulletin_id}", summary="Edit a bulletin's texts (communicator)")
def edit_bulletin(request: Request, bulletin_id: str, body: EditRequest,
                  principal: Principal = Depends(require_role(DRAFTER))) -> dict[str, Any]:
    """Change texts; an approved bulletin goes back to draft and needs approving again."""
    desk = _desk(request)
    changes = {k: v for k, v in body.model_dump().items() if v is not None}
    return desk.document(_step(lambda: desk.edit(bulletin_id, changes, principal.username)))


@router.post("/bulletins/{bulletin_id}/approve", summary="Approve a draft for publication (officer)")
def approve_bulletin(request: Request, bulletin_id: str,
                     principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """The officer's approval, recorded with their name and the time."""
    desk = _desk(request)
    return desk.document(_step(lambda: desk.approve(bulletin_id, principal.username)))


def _authority(desk: BulletinDesk, principal: Principal, record: BulletinRecord) -> Authority:
    """The workflow's publishing authority of this principal for the bulletin (403 when they have none)."""
    authority = publishing_authority(principal.role.allows(Role.OFFICER), record.kind,
                                     desk.bulletins.emergency_without_approval)
    if authority is not None:
        return authority
    raise ApiProblem(403, "Forbidden", "publishing needs the officer role (emergency bulletins may go out without "
                                       "approval only when bulletins.emergency_without_approval is set)")


@router.post("/bulletins/{bulletin_id}/publish", summary="Publish to the feed and the channels (officer)")
def publish_bulletin(request: Request, bulletin_id: str, body: PublishRequest | None = None,
                     principal: Principal = Depends(require_role(DRAFTER))) -> dict[str, Any]:
    """Publish (approving a draft in the same step), synthesise the radio audio and queue a delivery per receiver;
    answers at once with the delivery state (`queued`); GET /bulletins/drafts/{id} follows it per receiver."""
    desk = _desk(request)
    authority = _authority(desk, principal, _any(desk, bulletin_id))
    channels = body.channels if body is not None else None
    record = _step(lambda: desk.publish(bulletin_id, principal.username, authority, channels))
    return {**desk.document(record), "delivery": desk.deliveries(record.id)}
