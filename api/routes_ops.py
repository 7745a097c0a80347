"""Operations endpoints: liveness, readiness and Prometheus metrics."""
from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from tichwatch.api.state import service_of

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    pass


router = APIRouter(tags=["operations"])



@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """Always ok while the process serves HTTP (on the event loop: no worker thread, no database to wait for)."""
    return {"status": "ok"}


class ReadinessBody(BaseModel):
    """Whether the service can ingest now, and why not."""

    ready: bool
    broker_connected: bool
    store_writable: bool
    detail: str
    warnings: list[str]
    leases: list[str]  # the singletons this node runs (several nodes: the leases it holds)
    subjects: int  # how many stations and cameras this node detects on
    member: int | None  # several nodes on one database: this node's member number while it is one
    members: list[int]  # several nodes: the members' numbers (each owns its share of the stations and cameras)


@router.get("/readyz", summary="Readiness: broker connected and store writable",
            responses={200: {"model": ReadinessBody},
                       503: {"model": ReadinessBody, "description": "Not ready: `detail` says what is missing."}})
async def readyz(request: Request) -> JSONResponse:
    """200 when the service can ingest; 503 with the reason otherwise; `warnings` (disk filling up) do not fail it.

    Never waits: the state comes from the store monitor and the pipeline, not from a query made here."""
    r = service_of(request).readiness()
    body = {"ready": r.ready, "broker_connected": r.broker_connected, "store_writable": r.store_writable,
            "detail": r.detail, "warnings": list(r.warnings), "leases": list(r.leases), "subjects": r.subjects,
            "member": r.member, "members": list(r.members)}
    return JSONResponse(body, status_code=200 if r.ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> Response:
    """Prometheus text exposition format."""
    return Response(service_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)
