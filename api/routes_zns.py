"""Zalo's webhook for ZNS delivery receipts (public: Zalo calls it): POST /api/v1/zns/events.

The body is read with a bound (`subscriptions.zns.webhook_max_bytes`, 413 beyond) and its signature checked
(X-ZEvent-Signature with the OA secret key from the environment: 401 unsigned, 403 badly signed; without a configured
secret nothing can be verified, so every event is refused the same way) before anything is recorded; a
`user_received_message` event marks its message received. The answer holds nothing about anyone.
"""
from __future__ import annotations

import logging
import threading

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from tichwatch.api.problems import ApiProblem
from tichwatch.api.routes_subscriptions import read_bounded
from tichwatch.api.state import service_of
from tichwatch.residents.subscriptions.receipts import BadSignature, mark_received, receipt_of, verified

log = logging.getLogger(__name__)
router = APIRouter(tags=["resident delivery"])
_warned_unconfigured = threading.Event()
"""Set once the missing OA secret has been logged."""


@router.post("/api/v1/zns/events")
async def zns_event(request: Request) -> dict[str, bool]:
    """A Zalo webhook event: a ZNS message reached its resident's phone."""
    service = service_of(request)
    delivery = service.resident_delivery
    cfg = service.settings.subscriptions.zns
    body = await read_bounded(request, cfg.webhook_max_bytes)
    signed = request.headers.get("x-zevent-signature")
    if delivery.oa_secret is None:  # nothing can be verified: refused like a bad signature
        delivery.metrics.receipts.labels("refused").inc()
        if not _warned_unconfigured.is_set():  # once: anyone may post here, and each post would log a line
            _warned_unconfigured.set()
            log.warning("ZNS webhook events are refused: no OA secret key in %s (counted in the receipts metric "
                        "as refused)", cfg.oa_secret_env)
        raise ApiProblem(401 if not signed else 403, "Unauthorized" if not signed else "Forbidden",
                         "receipts are not configured")
    try:
        event = verified(body, signed, delivery.oa_secret, cfg.app_id)
    except BadSignature as exc:
        delivery.metrics.receipts.labels("refused").inc()
        raise ApiProblem(401 if exc.missing else 403, "Unauthorized" if exc.missing else "Forbidden",
                         str(exc)) from None
    receipt = receipt_of(event)
    if receipt is None:
        return {"ok": True}
    ours = await run_in_threadpool(mark_received, service.store, receipt, service.clock())
    delivery.metrics.receipts.labels("received" if ours else "unknown").inc()
    return {"ok": True}
