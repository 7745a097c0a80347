"""The FastAPI application factory; the service runs inside the app's lifespan."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from tichwatch.api import (
    auth,
    problems,
    routes_admin,
    routes_alerts,
    routes_bulletins,
    routes_cameras,
    routes_dashboard,
    routes_desk,
    routes_docs,
    routes_feeds,
    routes_indicators,
    routes_learning,
    routes_live,
    routes_ops,
    routes_rain,
    routes_reports,
    routes_stations,
    routes_subscriptions,
    routes_widget,
    routes_zns,
)
from tichwatch.api.framing import DenyFraming
from tichwatch.api.ratelimit import PublicSlots, RateLimitMiddleware, TokenBuckets
from tichwatch.api.snapshots import DataChanges, PublicSnapshots
from tichwatch.config.schema import HttpSettings

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    from tichwatch.app.service import Service


class TichWatchAPI(FastAPI):
    """The FastAPI app with its public front (snapshots, CORS) before everything else, so that a crowd's read served
    from a snapshot never enters FastAPI's own layers (routing, error handling, telemetry checks: 15× the cost)."""

    front: ASGIApp | None = None

    async def inner(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app behind the front."""
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.front or self.inner)(scope, receive, send)


@dataclass(frozen=True)
class SharedLimits:
    """Request limits one process's apps share (several communes: a client rotating Host headers gets no more)."""

    buckets: TokenBuckets
    slots: PublicSlots

    @classmethod
    def of(cls, http: HttpSettings) -> SharedLimits:
        """The limits an app with these settings has alone."""
        return cls(TokenBuckets(http.rate_limit_per_min, http.rate_limit_burst), PublicSlots(http.public_concurrency))


def create_app(service: Service, manage_lifecycle: bool = True, limits: SharedLimits | None = None) -> FastAPI:
    """Build the HTTP app around a service; with `manage_lifecycle` the app starts and stops it; `limits` shared
    with other apps of the process (default: its own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.hub.bind(asyncio.get_running_loop())
        if manage_lifecycle:
            service.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                service.stop()

    # docs_url and redoc_url off: FastAPI's pages load Swagger UI and ReDoc from a CDN; routes_docs serves them from
    # the app's own files.
    app = TichWatchAPI(title="TichWatch", version="1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  swagger_ui_oauth2_redirect_url=None,
                  description="Flood and construction-dust monitoring for Kiều Phú commune on the Tích river. "
                              "Public endpoints are read-only; times are UTC with a local (Asia/Ho_Chi_Minh) copy.")
    app.state.service = service
    problems.install(app)
    http = service.settings.http
    limits = limits or SharedLimits.of(http)
    app.add_middleware(RateLimitMiddleware, buckets=limits.buckets, trusted_proxies=frozenset(http.trusted_proxies),
                       authenticated=auth.has_valid_credentials, public_slots=limits.slots,
                       queue_timeout_s=http.public_queue_timeout_s)
    app.add_middleware(DenyFraming)  # no page may be framed unless it says by whom (only the portal widget does)
    changes = DataChanges()
    changes.follow(service.bus)
    front: ASGIApp = PublicSnapshots(app.inner, changes=changes, refresh_s=http.snapshot_refresh_s,
                                     max_age_s=http.snapshot_max_age_s, client_max_age_s=http.public_max_age_s)
    if http.cors_origins:  # browsers elsewhere may read the public API only from the configured origins
        front = CORSMiddleware(front, allow_origins=http.cors_origins, allow_methods=["GET"],
                               allow_headers=["Last-Event-ID"], allow_credentials=False, max_age=3600)
    app.front = front
    app.include_router(routes_ops.router)
    app.include_router(routes_stations.router)
    app.include_router(routes_rain.router)
    app.include_router(routes_cameras.router)
    app.include_router(routes_learning.router)
    app.include_router(auth.router)
    app.include_router(routes_live.router)
    app.include_router(routes_alerts.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_indicators.router)
    app.include_router(routes_bulletins.router)
    app.include_router(routes_feeds.router)
    app.include_router(routes_desk.router)
    app.include_router(routes_dashboard.router)
    app.include_router(routes_learning.pages)
    app.include_router(routes_reports.router)
    app.include_router(routes_reports.pages)
    app.include_router(routes_docs.router)
    app.include_router(routes_subscriptions.router)
    app.include_router(routes_zns.router)
    app.include_router(routes_widget.router)
    return app
