"""Several communes behind one listener: each commune's app (its own service, store, officers and public pages) is
reached at its own host name, the host of its `http.public_url` (kieuphu.example.vn, phuongtrung.example.vn, …).

Host names, not path prefixes: every page, link, feed and API path of a commune stays what it is alone, and an
officer's session (a cookie or a token of that commune's accounts) means nothing at another commune's host.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from tichwatch.app.service import Service



def host_of(public_url: str) -> str:
    """The host name a commune is reached at (lower case, no port, no trailing dot)."""
    host = urlsplit(public_url).hostname
    if not host:
        raise ValueError(f"http.public_url has no host: {public_url!r}")
    return host.rstrip(".").lower()


def communes_app(services: Sequence[Service], manage_lifecycle: bool = True) -> CommuneHosts:
    """One app for several communes' services: each at its public URL's host, all under the first one's request
    limits, shared (a client naming another host gets no fresh budget)."""
    from tichwatch.api.app import SharedLimits, create_app

    limits = SharedLimits.of(services[0].settings.http)
    return CommuneHosts({host_of(s.settings.http.public_url): create_app(s, manage_lifecycle, limits)
                         for s in services})


class CommuneHosts:
    """An ASGI app that hands each request to the app of the commune whose host it names, and starts and stops every
    commune's app with its own lifespan."""

    def __init__(self, apps: Mapping[str, FastAPI]):
        self.apps = dict(apps)
        self._addresses = sorted(self.apps)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        try:
            host = request_host(scope)
        except ValueError:
            await _answer(scope, send, 400, {"title": "Bad Host header", "status": 400})
            return
        app = self.apps.get(host)
        if app is not None:
            await app(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == "/healthz":  # the process is alive, whatever the host
            await _answer(scope, send, 200, {"status": "ok", "communes": self._addresses})
        else:
            await _answer(scope, send, 404, {"title": "No commune at this address", "status": 404,
                                             "communes": self._addresses})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Start every commune's app (one that fails stops those started and fails the whole); stop them all."""
        await receive()  # lifespan.startup
        async with AsyncExitStack() as stack:
            try:
                for app in self.apps.values():
                    await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


def request_host(scope: Scope) -> str:
    """The host name a request names (lower case, no port, no trailing dot); ValueError for a malformed one."""
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return (urlsplit("//" + value.decode("latin-1")).hostname or "").rstrip(".").lower()
    return ""


async def _answer(scope: Scope, send: Send, status: int, document: dict[str, Any]) -> None:
    """A JSON answer of the dispatcher itself: the process's health, or a host no commune is at (naming those that
    are: their public pages are public)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps(document, ensure_ascii=False).encode()
    kind = b"application/json" if status == 200 else b"application/problem+json"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
