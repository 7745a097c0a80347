"""Per-client rate limiting of the public API: a token bucket per client address, answered with 429 and Retry-After.

Pure logic (the bucket) apart from the ASGI middleware; the clock is passed in so the bucket is tested without sleeping.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

from tichwatch.api.problems import problem

EXEMPT_PREFIXES = ("/healthz", "/readyz", "/metrics")
"""Probes from the operator's monitoring are never limited."""


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


def client_address(request: Request, trusted_proxies: frozenset[str]) -> str:
    """The client's address; X-Forwarded-For is believed only when the direct peer is a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted_proxies:
        return forwarded.split(",")[-1].strip() or peer
    return peer


class RateLimitMiddleware(BaseHTTPMiddleware):
    """Limits requests per client address, except those with valid credentials (officers must never be locked out of
    acknowledging an alert by a crowd reading the public page); invalid credentials count like anonymous requests."""

    def __init__(self, app: object, buckets: TokenBuckets, trusted_proxies: frozenset[str],
                 authenticated: Callable[[Request], bool], clock: Callable[[], float] = time.monotonic):
        super().__init__(app)  # type: ignore[arg-type]
        self.buckets = buckets
        self.trusted_proxies = trusted_proxies
        self.authenticated = authenticated
        self.clock = clock

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path.startswith(EXEMPT_PREFIXES):
            return await call_next(request)
        has_credentials = "authorization" in request.headers or "x-api-key" in request.headers
        if has_credentials and await run_in_threadpool(self.authenticated, request):
            return await call_next(request)
        wait_s = self.buckets.take(client_address(request, self.trusted_proxies), self.clock())
        if wait_s > 0:
            retry = str(max(1, math.ceil(wait_s)))
            resp = problem(429, "Too many requests", f"more than the allowed requests per minute from your "
                           f"address; try again in {retry} s", instance=request.url.path)
            resp.headers["Retry-After"] = retry
            return resp
        return await call_next(request)
