"""The FastAPI application factory; the service runs inside the app's lifespan."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

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
    routes_live,
    routes_ops,
    routes_stations,
)
from tichwatch.api.ratelimit import RateLimitMiddleware, TokenBuckets

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    from tichwatch.app.service import Service


def create_app(service: Service, manage_lifecycle: bool = True) -> FastAPI:
    """Build the HTTP app around a service; with `manage_lifecycle` the app starts and stops it."""

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
    app = FastAPI(title="TichWatch", version="1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  swagger_ui_oauth2_redirect_url=None,
                  description="Flood and construction-dust monitoring for Kiều Phú commune on the Tích river. "
                              "Public endpoints are read-only; times are UTC with a local (Asia/Ho_Chi_Minh) copy.")
    app.state.service = service
    problems.install(app)
    http = service.settings.http
    app.add_middleware(RateLimitMiddleware, buckets=TokenBuckets(http.rate_limit_per_min, http.rate_limit_burst),
                       trusted_proxies=frozenset(http.trusted_proxies), authenticated=auth.has_valid_credentials)
    if http.cors_origins:  # browsers elsewhere may read the public API only from the configured origins
        app.add_middleware(CORSMiddleware, allow_origins=http.cors_origins, allow_methods=["GET"],
                           allow_headers=["Last-Event-ID"], allow_credentials=False, max_age=3600)
    app.include_router(routes_ops.router)
    app.include_router(routes_stations.router)
    app.include_router(routes_cameras.router)
    app.include_router(auth.router)
    app.include_router(routes_live.router)
    app.include_router(routes_alerts.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_indicators.router)
    app.include_router(routes_bulletins.router)
    app.include_router(routes_feeds.router)
    app.include_router(routes_desk.router)
    app.include_router(routes_dashboard.router)
    app.include_router(routes_docs.router)
    return app
