"""Bulletin endpoints: published bulletins for the public (JSON, text, chart, card, radio audio, each cited figure,
search), the drafting workflow for communicators and officers (draft, edit, approve by someone who did not write it,
publish, retry a failed delivery; previews of the pictures and the audio), and the live level chart of any station.

Pictures and audio are drawn and synthesised in plain `def` endpoints, which FastAPI runs in its threadpool: never on
the event loop.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field, create_model

from tichwatch.api.auth import Principal, Role, require_role
from tichwatch.api.pagination import CURSOR_QUERY, decode_cursor, paginate
from tichwatch.api.problems import ApiProblem
from tichwatch.api.query_time import parse_query_time
from tichwatch.api.routes_stations import PUBLIC_LONG_CACHE, PUBLIC_SHORT_CACHE, permalink
from tichwatch.api.state import service_of
from tichwatch.core.links import bulletin_url
from tichwatch.residents.bulletins.compose import LANGUAGES, station_chart
from tichwatch.residents.bulletins.desk import BulletinDesk
from tichwatch.residents.bulletins.files import AUDIO_TYPES
from tichwatch.residents.bulletins.gather import DAY_S, WEEK_S, gather_station
from tichwatch.residents.bulletins.publishing import UNFIT_CHANNELS
from tichwatch.residents.bulletins.storage import Search, search_words
from tichwatch.residents.bulletins.views import figure_document, log_document
from tichwatch.residents.bulletins.workflow import (
    FIELD_LIMITS,
    BulletinRecord,
    BulletinState,
    NotPermitted,
    WorkflowError,
    may_approve,
    publishing_authority,
)
from tichwatch.residents.pictures import chart_png
from tichwatch.residents.speech import SpeechUnavailable, spoken

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


SUMMARY_KEYS = ("id", "kind", "origin", "state", "data_time", "created", "created_by", "updated", "approved",
                "approved_by", "published", "published_by", "channels", "links")
"""What a list shows of each bulletin (besides its titles and quotes): who moved it when (published documents carry
the same names)."""


def _summary(desk: BulletinDesk, r: BulletinRecord) -> dict[str, Any]:
    doc = desk.document(r)
    return {k: doc[k] for k in SUMMARY_KEYS} | {
        "title": {lang: doc[lang]["title"] for lang in LANGUAGES}, "quote": {lang: doc[lang]["quote"]
                                                                         for lang in LANGUAGES}}


def _file(path: Path, media_type: str, what: str) -> FileResponse:
    if not path.exists():
        raise ApiProblem(404, "Not available", f"this bulletin has no {what}")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": PUBLIC_LONG_CACHE})


T = TypeVar("T")
NOT_FOUND_CODES = frozenset({"no_delivery"})
"""Workflow refusals that mean the thing asked about does not exist (404 rather than 409)."""


def _step(action: Callable[[], T]) -> T:
    """Run a desk action, turning its errors into problem documents (with the rule's `code` for the desk's page)."""
    try:
        return action()
    except KeyError as exc:
        raise ApiProblem(404, "No such bulletin", f"no bulletin {exc.args[0]!r}", code="no_bulletin") from None
    except NotPermitted as exc:
        raise ApiProblem(403, "Forbidden", str(exc), code=exc.code) from None
    except WorkflowError as exc:
        if exc.code in NOT_FOUND_CODES:
            raise ApiProblem(404, "Not found", str(exc), code=exc.code) from None
        raise ApiProblem(409, "Conflict", str(exc), code=exc.code) from None
    except SpeechUnavailable as exc:
        raise ApiProblem(503, "Speech unavailable", str(exc), code="no_speech") from None
    except ValueError as exc:
        raise ApiProblem(400, "Bad request", str(exc), code="bad_request") from None


MAX_SEARCH_CHARS = 200
"""The longest search text."""


def _search(q: str | None, start: str | None, end: str | None) -> Search | None:
    """The search of a list request (None: all), or 400 saying what is wrong with it."""
    if q is None and start is None and end is None:
        return None
    words = search_words(q or "")
    if q is not None and not words:
        raise ApiProblem(400, "Bad search", "q has no letters or digits to look for", code="bad_search")
    try:
        start_ts = None if start is None else parse_query_time(start)
        end_ts = None if end is None else parse_query_time(end)
    except ValueError as exc:
        raise ApiProblem(400, "Bad time", f"start/end: {exc}", code="bad_search") from None
    if start_ts is not None and end_ts is not None and end_ts <= start_ts:
        raise ApiProblem(400, "Bad range", "end must be after start", code="bad_search")
    return Search(words, start_ts, end_ts)


# -- public ---------------------------------------------------------------------------------------------------------
@router.get("/bulletins", summary="Published bulletins, newest first, optionally searched (public)")
def list_bulletins(
    request: Request, response: Response, limit: int = Query(20, ge=1, le=200), cursor: str | None = CURSOR_QUERY,
    q: str | None = Query(None, min_length=1, max_length=MAX_SEARCH_CHARS,
                          description="Words to find (each as a word prefix, all of them; case and tone marks "
                                      "ignored) in the titles, quotes and texts of both languages, or the id."),
    start: str | None = Query(None, max_length=64, description="Published at or after, RFC 3339 or epoch seconds."),
    end: str | None = Query(None, max_length=64, description="Published before, RFC 3339 or epoch seconds."),
) -> dict[str, Any]:
    """Titles, quotes, who moved them and links of the latest published bulletins, a page at a time (`next`, Link
    header), those matching `q` and published within [`start`, `end`) when given."""
    desk = _desk(request)
    search = _search(q, start, end)
    response.headers["Cache-Control"] = PUBLIC_SHORT_CACHE
    rows, next_url = paginate(request, response,
                              desk.published(limit + 1, decode_cursor(cursor, (float, str)), search),
                              limit, lambda r: (r.published_ts, r.id))
    return {"bulletins": [_summary(desk, r) for r in rows], "next": next_url}


@router.get("/bulletins/desk", summary="What the bulletin desk offers now (communicator)")
def desk_rules(request: Request, principal: Principal = Depends(require_role(DRAFTER))) -> dict[str, Any]:
    """The editable texts and their limits, the receivers a bulletin can go to (and the default ones), the kinds,
    and the emergency rule as it stands (whether an emergency is in force, and who may publish without approval)."""
    desk = _desk(request)
    rule = desk.emergency_rule()
    receivers = [{"name": r.name, "channel": r.channel.type, "language": r.language or desk.settings.language}
                 for r in desk.settings.alerts.receivers if r.channel.type not in UNFIT_CHANNELS]
    return {"limits": FIELD_LIMITS, "kinds": ["routine", "emergency"], "receivers": receivers,
            "default_channels": list(desk.bulletins.channels), "audio_format": desk.bulletins.audio_format,
            "emergency": {"in_force": rule.in_force, "alerts": list(rule.alerts),
                          "communicators_without_approval": rule.without_approval},
            "you": {"username": principal.username, "role": principal.role.value}}


@router.get("/bulletins/drafts", summary="Drafts and approved bulletins waiting for publication (communicator)")
def list_drafts(request: Request, principal: Principal = Depends(require_role(DRAFTER))) -> dict[str, Any]:
    """Unpublished bulletins, newest first (the 50 newest)."""
    desk = _desk(request)
    return {"bulletins": [_summary(desk, r) for r in desk.unpublished()]}


def _allowed(desk: BulletinDesk, record: BulletinRecord, principal: Principal,
             written_by: frozenset[str]) -> dict[str, Any]:
    """What this person may do with the bulletin now, and, when they may not publish it, the rule that says so."""
    officer = principal.role.allows(Role.OFFICER)
    try:
        authority: str | None = publishing_authority(record, officer, desk.emergency_rule())
        refusal = None
    except WorkflowError as exc:
        authority, refusal = None, exc.code
    return {"edit": record.state is not BulletinState.PUBLISHED,
            "approve": principal.via == "token" and may_approve(record, officer, principal.username, written_by),
            "publish": authority, "publish_refused": refusal,
            "retry": record.state is BulletinState.PUBLISHED}


@router.get("/bulletins/drafts/{bulletin_id}", summary="A bulletin in any state, with its audit log (communicator)")
def get_draft(request: Request, bulletin_id: str,
              principal: Principal = Depends(require_role(DRAFTER))) -> dict[str, Any]:
    """The whole bulletin, who wrote it (`authors`: none of them may approve it), what the caller may do with it
    (`allowed`), the radio script as it will be read (`radio_spoken`), who did what to it, when, and its delivery
    state per receiver (waiting, sent, failed)."""
    desk = _desk(request)
    record = _any(desk, bulletin_id)
    log = desk.log_of(record.id)
    written_by = desk.authors(record)
    return {**desk.document(record), "authors": sorted(written_by),
            "allowed": _allowed(desk, record, principal, written_by),
            "radio_spoken": spoken(record.content["radio_vi"]),
            "log": [log_document(e, desk.settings.timezone) for e in log], "delivery": desk.deliveries(record.id)}


@router.get("/bulletins/drafts/{bulletin_id}/{picture}.png", summary="A bulletin's card or chart in any state "
            "(communicator)", response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
def draft_picture(request: Request, bulletin_id: str, picture: Literal["card", "chart"], lang: Lang = Query("vi"),
                  principal: Principal = Depends(require_role(DRAFTER))) -> FileResponse:
    """The card (1080×1080) or the chart (1200×630) drawn when the draft was made, to check before publication."""
    desk = _desk(request)
    path = desk.files.path(_any(desk, bulletin_id).id, f"{picture}-{lang}.png")
    if not path.exists():
        raise ApiProblem(404, "Not available", f"this bulletin has no {picture}", code="no_file")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, no-cache"})


@router.get("/bulletins/drafts/{bulletin_id}/audio", summary="The radio script spoken, in any state (communicator)",
            response_class=FileResponse, responses={200: {"content": {"audio/ogg": {}, "audio/wav": {}}}})
def draft_audio(request: Request, bulletin_id: str,
                principal: Principal = Depends(require_role(DRAFTER))) -> FileResponse:
    """A published bulletin's audio, or the draft's script as it is now synthesised to listen to before publication
    (made once per script text; 503 when speech synthesis is not installed)."""
    desk = _desk(request)
    record = _any(desk, bulletin_id)
    path = _step(lambda: desk.audio_preview(record))
    return FileResponse(path, media_type=AUDIO_TYPES[desk.bulletins.audio_format],
                        headers={"Cache-Control": "private, no-cache"})


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
    **{name: (str | None, Field(None, min_length=1, max_length=limit,  # type: ignore[call-overload]
                                description=f"At most {limit} characters."))
       for name, limit in FIELD_LIMITS.items()})


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
    """Change texts (each within its limit, see GET /bulletins/desk); an approved bulletin goes back to draft, its
    approval withdrawn, and needs approving again; whoever edits may no longer approve it."""
    desk = _desk(request)
    changes = {k: v for k, v in body.model_dump().items() if v is not None}
    return desk.document(_step(lambda: desk.edit(bulletin_id, changes, principal.username)))


@router.post("/bulletins/{bulletin_id}/approve", summary="Approve a draft for publication (officer, not its author)")
def approve_bulletin(request: Request, bulletin_id: str,
                     principal: Principal = Depends(require_role(Role.OFFICER))) -> dict[str, Any]:
    """The officer's approval, recorded with their name and the time; 403 (`own_bulletin`) for whoever drafted or
    edited it, an administrator too; 403 (`person_required`) for an API key: approval is a person's second pair of
    eyes, and a machine's key is nobody's (whoever holds it may have drafted the bulletin under their own name)."""
    if principal.via != "token":
        raise ApiProblem(403, "Forbidden", "approval is a person's decision: sign in; an API key cannot approve",
                         code="person_required")
    desk = _desk(request)
    return desk.document(_step(lambda: desk.approve(bulletin_id, principal.username)))


@router.post("/bulletins/{bulletin_id}/publish", summary="Publish an approved bulletin to the feed and the channels "
             "(communicator; an emergency draft: officer)")
def publish_bulletin(request: Request, bulletin_id: str, body: PublishRequest | None = None,
                     principal: Principal = Depends(require_role(DRAFTER))) -> dict[str, Any]:
    """Publish an approved bulletin (or, under the emergency rule, an emergency draft without approval: an officer,
    or a communicator where bulletins.emergency_without_approval is set; logged as such), synthesise the radio audio
    and queue a delivery per receiver; answers at once with the delivery state (`queued`); GET /bulletins/drafts/{id}
    follows it per receiver. 409 `needs_approval` / `no_emergency`, 403 `emergency_needs_officer` otherwise."""
    desk = _desk(request)
    channels = body.channels if body is not None else None
    officer = principal.role.allows(Role.OFFICER)
    record = _step(lambda: desk.publish(bulletin_id, principal.username, officer, channels))
    return {**desk.document(record), "delivery": desk.deliveries(record.id)}


@router.post("/bulletins/{bulletin_id}/deliveries/{channel}/retry",
             summary="Send a published bulletin again to a receiver whose delivery failed (communicator)")
def retry_delivery(request: Request, bulletin_id: str, channel: str,
                   principal: Principal = Depends(require_role(DRAFTER))) -> dict[str, Any]:
    """Queue a new delivery to the receiver named `channel` when its latest one failed (logged `retry_requested`
    with who asked); when one is waiting already nothing more is queued (`retried: false`), so asking twice sends
    once. 409 `already_sent` when it was delivered, 404 `no_delivery` when it was never sent there."""
    desk = _desk(request)
    retried = _step(lambda: desk.retry(bulletin_id, channel, principal.username))
    return {"id": bulletin_id, "receiver": channel, "retried": retried, "delivery": desk.deliveries(bulletin_id)}
