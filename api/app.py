"""The FastAPI application factory; the service runs inside the app's lifespan."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI

from api import auth, problems, routes_cameras, routes_dashboard, routes_live, routes_ops, routes_stations
from api.service import Service


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

    app = FastAPI(title="TichWatch", version="1.0", lifespan=lifespan,
                  description="Flood and construction-dust monitoring for Kiều Phú commune on the Tích river. "
                              "Public endpoints are read-only; times are UTC with a local (Asia/Ho_Chi_Minh) copy.")
    app.state.service = service
    problems.install(app)
    app.include_router(routes_ops.router)
    app.include_router(routes_stations.router)
    app.include_router(routes_cameras.router)
    app.include_router(auth.router)
    app.include_router(routes_live.router)
    app.include_router(routes_dashboard.router)
    return app
