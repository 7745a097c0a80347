"""The service a request is served by: the one typed way for routes to reach it (set by api/app.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    from tichwatch.app.service import Service


def service_of(request: Request) -> Service:
    """The running service behind this request's app."""
    service: Service = request.app.state.service
    return service
