"""Public feeds: CAP 1.2 messages of alert changes (the bytes fixed when each was issued, with a strong ETag), the Atom
feed of active alerts (pointing at them) and the Atom feed of published bulletins."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from tichwatch.api.problems import ApiProblem
from tichwatch.api.routes_stations import PUBLIC_SHORT_CACHE
from tichwatch.api.state import service_of
from tichwatch.residents.feeds.atom import ATOM_MEDIA_TYPE
from tichwatch.residents.feeds.cap import CAP_MEDIA_TYPE
from tichwatch.residents.feeds.publication import Feeds

router = APIRouter(prefix="/feeds", tags=["feeds"])

Lang = Literal["vi", "en"]


def _feeds(request: Request) -> Feeds:
    return service_of(request).feeds


CAP_CACHE = "public, max-age=86400"
"""An issued CAP message never changes: caches may keep it a day, and revalidate it by its ETag."""


def _xml(body: bytes, media_type: str, cache: str = PUBLIC_SHORT_CACHE) -> Response:
    return Response(body, media_type=f"{media_type}; charset=utf-8", headers={"Cache-Control": cache})


@router.get("/alerts.atom", summary="Atom feed of active flood and dust alerts, each with its latest CAP message",
            response_class=Response, responses={200: {"content": {ATOM_MEDIA_TYPE: {}}}})
def alerts_atom(request: Request, lang: Lang = Query("vi")) -> Response:
    """Active public alerts, newest change first."""
    service = service_of(request)
    return _xml(_feeds(request).alerts_atom(lang, service.clock()), ATOM_MEDIA_TYPE)


@router.get("/bulletins.atom", summary="Atom feed of published bulletins",
            response_class=Response, responses={200: {"content": {ATOM_MEDIA_TYPE: {}}}})
def bulletins_atom(request: Request, lang: Lang = Query("vi"), limit: int = Query(50, ge=1, le=200)) -> Response:
    """Published bulletins, newest first, with their text, card and radio audio."""
    service = service_of(request)
    return _xml(_feeds(request).bulletins_atom(service.bulletins.published(limit), lang, service.clock()),
                ATOM_MEDIA_TYPE)


@router.get("/cap/{message_id}.xml", summary="One CAP 1.2 message (an alert change: Alert, Update or Cancel)",
            response_class=Response, responses={200: {"content": {CAP_MEDIA_TYPE: {}}}})
def cap_message(request: Request, message_id: str) -> Response:
    """The message with an info block in vi-VN and one in en-US, byte for byte as it was issued."""
    message = _feeds(request).cap(message_id)
    if message is None:
        raise ApiProblem(404, "No such message", f"no CAP message {message_id!r}; see /feeds/alerts.atom")
    headers = {"ETag": message.etag, "Cache-Control": CAP_CACHE}
    if message.etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    response = _xml(message.xml, CAP_MEDIA_TYPE, CAP_CACHE)
    response.headers["ETag"] = message.etag
    return response
