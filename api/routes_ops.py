"""Operations endpoints: liveness, readiness and Prometheus metrics."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from api.service import Service

router = APIRouter(tags=["operations"])


def _service(request: Request) -> Service:
    return request.app.state.service


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    """Always ok while the process serves HTTP."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: broker connected and store writable")
def readyz(request: Request) -> JSONResponse:
    """200 when the service can ingest; 503 with the reason otherwise."""
    r = _service(request).readiness()
    body = {"ready": r.ready, "broker_connected": r.broker_connected, "store_writable": r.store_writable,
            "detail": r.detail}
    return JSONResponse(body, status_code=200 if r.ready else 503)


@router.get("/metrics", summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    """Prometheus text exposition format."""
    return Response(_service(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)
