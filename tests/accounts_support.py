"""Helpers of the account tests: the real app behind uvicorn, a hasher that records how its work overlaps, a service
with cheap hashes for tests that are not about hashing."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from argon2 import PasswordHasher

from tests.support import make_settings, wait_for
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.tools.broker import free_port

NOW = 1_790_000_000.0
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Argon2id with 1 MiB: the same code path at a fraction of the cost, for tests about counting rather than hashing."""


@dataclass
class RecordingHasher:
    """Wraps a real hasher and records every call: how many ran at once at most, and on which threads."""

    inner: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: int = 0
    peak: int = 0
    calls: int = 0
    threads: set[int] = field(default_factory=set)

    @property
    def memory_cost(self) -> int:
        """The wrapped hasher's memory cost, KiB."""
        return int(self.inner.memory_cost)

    @contextmanager
    def _counted(self) -> Iterator[None]:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.peak = max(self.peak, self.running)
            self.threads.add(threading.get_ident())
        try:
            yield
        finally:
            with self.lock:
                self.running -= 1

    def hash(self, password: str) -> str:
        """Hash through the wrapped hasher, recorded."""
        with self._counted():
            return str(self.inner.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """Verify through the wrapped hasher, recorded."""
        with self._counted():
            return bool(self.inner.verify(password_hash, password))


def cheap_service(data_dir: Path, **overrides: Any) -> Service:
    """A service (not started: the HTTP API needs no broker) on a fixed clock, hashing cheaply, with no request rate
    limit in the way (its 429s would hide the sign-in throttle's)."""
    http = {"port": 0, "rate_limit_per_min": 1_000_000, "rate_limit_burst": 1_000_000,
            **overrides.pop("http", {})}
    svc = Service(make_settings(data_dir, http=http, **overrides), clock=lambda: NOW)
    svc.accounts.passwords.hasher = CHEAP_HASHER
    return svc


@dataclass
class Served:
    """The app served by uvicorn: its base URL and the thread its event loop runs on."""

    url: str
    loop_thread: int


@contextmanager
def serve(service: Service) -> Iterator[Served]:
    """The real app around `service` behind uvicorn on a free port, for requests that truly run at once."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(service, manage_lifecycle=False), host="127.0.0.1", port=port,
                                          log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=15)
    try:
        yield Served(f"http://127.0.0.1:{port}", thread.ident or 0)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def post_all(url: str, bodies: list[dict[str, Any]],
             headers: list[dict[str, str]] | None = None) -> list[httpx.Response]:
    """POST every body at once (one connection each), and return the answers in order."""
    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=120) as client:
            return await asyncio.gather(*(client.post(url, json=b, headers=(headers or [{}] * len(bodies))[i])
                                          for i, b in enumerate(bodies)))

    return asyncio.run(run())
