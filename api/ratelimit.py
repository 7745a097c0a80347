"""Per-client rate limiting of the public API: a token bucket per client address, answered with 429 and Retry-After.

Pure logic (the bucket) apart from the ASGI middleware; the clock is passed in so the bucket is tested without sleeping.
"""
from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tichwatch.api.problems import problem

SNAPSHOT_BUILD = "tichwatch.snapshot_build"
"""Scope key set on a request that (re)builds a public snapshot: it is the service's own cost, bounded by the refresh
time, and never charged to the client that happened to trigger it."""
EDGE_RENEWAL = b"x-tichwatch-renewal"
"""Header of the public edge's own requests renewing an answer it keeps (believed on the service's Unix socket only):
the edge's cost, bounded by the refresh time, never charged to the client that happened to trigger it."""
EXEMPT_PREFIXES = ("/healthz", "/readyz", "/metrics", "/api/v1/stream")
"""Probes from the operator's monitoring are never limited; nor is the live stream, which has its own limits on
clients (in total and per address, api/live.py), not on requests."""


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets keyed by client, bounded in number (the least recently seen client is forgotten first)."""

    def __init__(self, per_min: float, burst: int, max_clients: int = 50_000):
        self.rate_per_s = per_min / 60.0
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, now: float) -> float:
        """Spend one token; 0 when allowed, else the seconds until a token is available."""
        with self._lock:
            b = self._buckets.pop(client, None) or _Bucket(float(self.burst), now)
            b.tokens = min(float(self.burst), b.tokens + (now - b.updated) * self.rate_per_s)
            b.updated = now
            self._buckets[client] = b
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / self.rate_per_s

    def charge(self, client: str, tokens: float) -> None:
        """Spend `tokens` more for an answer already given (the bucket may go below zero, down to minus the burst:
        the client then waits until it has refilled)."""
        with self._lock:
            b = self._buckets.get(client)
            if b is not None:
                b.tokens = max(-float(self.burst), b.tokens - tokens)


BYTES_PER_TOKEN = 64 * 1024
"""Beyond the token every request costs, an answer costs one more token per this many bytes sent: big pages, CSV
exports and long charts are bounded by what they cost, while a crowd's cheap reads (served from snapshots before
they reach the limiter at all) are not counted."""


def client_address(request: Request, trusted_proxies: frozenset[str]) -> str:
    """The client's address (`address_of` the request's scope)."""
    return address_of(request.scope, trusted_proxies)


def address_of(scope: Scope, trusted_proxies: frozenset[str]) -> str:
    """The client's address. X-Forwarded-For (its last hop) is believed only when the direct peer is a trusted proxy,
    or when there is no peer address: a request on the service's Unix socket, which only the public edge can reach
    (`api/edge.py`), and the edge names the client it served."""
    client = scope.get("client")
    peer = client[0] if client else None
    if peer is None or peer in trusted_proxies:
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                return value.decode("latin-1").split(",")[-1].strip() or (peer or "unknown")
    return peer or "unknown"


class PublicSlots:
    """At most `n` anonymous requests served at once; one instance may be shared by several apps in one process
    (several communes: their crowds together take no more workers than one commune's)."""

    def __init__(self, n: int):
        self.n = n
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def semaphore(self) -> asyncio.Semaphore:
        """The semaphore of the running event loop (a test client may run each request on a new loop)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.n))
        return self._slots[1]


class RateLimitMiddleware:
    """Limits requests per client address, except those with valid credentials (officers must never be locked out of
    acknowledging an alert by a crowd reading the public page); invalid credentials count like anonymous requests.

    A plain ASGI middleware: a request that passes costs one bucket lookup, and responses (the live stream's above
    all) go straight through instead of being re-streamed by a wrapper.
    """

    def __init__(self, app: ASGIApp, buckets: TokenBuckets, trusted_proxies: frozenset[str],
                 authenticated: Callable[[Request], bool], clock: Callable[[], float] = time.monotonic,
                 public_slots: int | PublicSlots = 4, queue_timeout_s: float = 10.0):
        self.app = app
        self.slots = public_slots if isinstance(public_slots, PublicSlots) else PublicSlots(public_slots)
        self.queue_timeout_s = queue_timeout_s
        self.buckets = buckets
        self.trusted_proxies = trusted_proxies
        self.authenticated = authenticated
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        has_credentials = "authorization" in request.headers or "x-api-key" in request.headers
        if has_credentials and await run_in_threadpool(self.authenticated, request):
            await self.app(scope, receive, send)
            return
        client = client_address(request, self.trusted_proxies)
        free = scope.get(SNAPSHOT_BUILD) or (scope.get("client") is None and EDGE_RENEWAL in dict(scope["headers"]))
        wait_s = 0.0 if free else self.buckets.take(client, self.clock())
        if wait_s > 0:
            retry = str(max(1, math.ceil(wait_s)))
            resp = problem(429, "Too many requests", f"more than the allowed requests per minute from your "
                           f"address; try again in {retry} s", instance=request.url.path)
            resp.headers["Retry-After"] = retry
            await resp(scope, receive, send)
            return
        sent = 0

        async def counting(message: Message) -> None:
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)
        try:
            await self._in_slot(scope, receive, counting)
        finally:
            if not free and sent > BYTES_PER_TOKEN:
                self.buckets.charge(client, sent / BYTES_PER_TOKEN - 1)

    async def _in_slot(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run an anonymous request in one of `public_slots`: public reads together never take more than that many
        workers from ingest and alert delivery; one that waits longer than `queue_timeout_s` is answered 503."""
        slots = self.slots.semaphore()
        try:
            await asyncio.wait_for(slots.acquire(), self.queue_timeout_s)
        except TimeoutError:
            resp = problem(503, "Busy", "too many public requests at once; try again shortly",
                           instance=scope["path"])
            resp.headers["Retry-After"] = "5"
            await resp(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()
