"""The live Server-Sent Events stream (public: readings, detections and alert changes)."""
from __future__ import annotations

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from tichwatch.api.live import STREAM_HEADERS, HubFull, parse_types, stream
from tichwatch.api.problems import ApiProblem
from tichwatch.api.ratelimit import client_address
from tichwatch.api.state import service_of

router = APIRouter(prefix="/api/v1", tags=["live"])


@router.get("/stream", summary="Live events as Server-Sent Events, resumable with Last-Event-ID",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"example": "id: 1732600000-42\nevent: reading\n"
                                                                          "data: {\"station_id\":\"tich-vinhphuc\","
                                                                          "\"level_m\":7.42}\n\n"}}}})
async def live_stream(request: Request,
                types: str | None = Query(None, description="Comma-separated event types to receive: reading, "
                                                             "detection, alert, camera, bulletin (default all)."),
                last_event_id: str | None = Header(None, description="Resume after this event id."),
                ) -> StreamingResponse:
    """Events as they happen; after a reconnect the browser sends Last-Event-ID and receives what it missed.

    Not limited per request: the stream is limited by its total number of clients (503 with Retry-After when full) and
    one address's share of it, so residents behind one carrier-grade NAT address are not refused for each other."""
    try:
        wanted = parse_types(types)
    except ValueError as bad:
        raise ApiProblem(400, "Unknown event type", str(bad)) from None
    service = service_of(request)
    hub = service.hub
    address = client_address(request, frozenset(service.settings.http.trusted_proxies))
    try:
        hub.admit(address)
    except HubFull as full:
        raise ApiProblem(503, "Live stream full", f"{full}; try again shortly",
                         headers={"Retry-After": "30"}) from None
    return StreamingResponse(stream(hub, last_event_id, types=wanted, address=address), media_type="text/event-stream",
                             headers=STREAM_HEADERS)
