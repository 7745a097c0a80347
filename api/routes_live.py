"""The live Server-Sent Events stream (public: readings, detections and alert changes)."""
from __future__ import annotations

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from tichwatch.api.live import stream
from tichwatch.api.problems import ApiProblem
from tichwatch.api.state import service_of

router = APIRouter(prefix="/api/v1", tags=["live"])

EVENT_TYPES = frozenset({"reading", "detection", "alert", "camera", "bulletin"})


@router.get("/stream", summary="Live events as Server-Sent Events, resumable with Last-Event-ID",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"example": "id: 1732600000-42\nevent: reading\n"
                                                                          "data: {\"station_id\":\"tich-vinhphuc\","
                                                                          "\"level_m\":7.42}\n\n"}}}})
def live_stream(request: Request,
                types: str | None = Query(None, description="Comma-separated event types to receive: reading, "
                                                             "detection, alert, camera, bulletin (default all)."),
                last_event_id: str | None = Header(None, description="Resume after this event id."),
                ) -> StreamingResponse:
    """Events as they happen; after a reconnect the browser sends Last-Event-ID and receives what it missed."""
    wanted = None
    if types:
        wanted = frozenset(t.strip() for t in types.split(",") if t.strip())
        unknown = wanted - EVENT_TYPES
        if unknown:
            raise ApiProblem(400, "Unknown event type", f"unknown types {sorted(unknown)}; use {sorted(EVENT_TYPES)}")
    hub = service_of(request).hub
    return StreamingResponse(stream(hub, last_event_id, types=wanted), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
