"""Public snapshots: the public status, stations, GeoJSON, cameras and bulletins kept as ready, compressed answers.

An answer is built by the app once and then served as stored bytes (gzip when the client takes it) with an ETag (304
when the client has it) and a Cache-Control that lets a reverse proxy or CDN serve it too. It is rebuilt when the data
changed (`touch`, called for every committed change the event bus reports) but at most once per `refresh_s`, however
fast readings arrive, and at the latest after `max_age_s` (the answers hold time-dependent marks such as "offline").
While one request rebuilds an answer, the others get the previous bytes: a crowd costs one build per `refresh_s`.

Only anonymous GET/HEAD requests are served from snapshots (officers' requests carry credentials and may see more).
"""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import get_args

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tichwatch.alerts.templates import choose_language
from tichwatch.api.ratelimit import SNAPSHOT_BUILD
from tichwatch.core.bus import EventBus, Unsubscribe
from tichwatch.core.events import Event

SNAPSHOT_PATHS = frozenset({"/api/v1/status", "/api/v1/stations", "/api/v1/stations.geojson", "/api/v1/cameras",
                            "/api/v1/bulletins", "/api/v1/alerts", "/api/v1/indicators", "/api/v1/rain-gauges",
                            "/api/v1/hamlets.geojson"})
"""The public answers served from snapshots (any query string: each distinct one is its own snapshot)."""
MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024
"""Answers larger than this are not kept (served as built)."""
MAX_SNAPSHOTS = 512
"""Distinct (path, query, language) keys kept; the oldest is forgotten first."""
MAX_QUERY_CHARS = 256
"""Longer query strings are not cached (they are not what a crowd asks)."""
_DROP_HEADERS = frozenset({b"content-length", b"content-encoding", b"etag", b"vary", b"date", b"server"})
_CREDENTIALS = frozenset({b"authorization", b"x-api-key"})


class Languages:
    """The language the endpoints choose for each Accept-Language header seen, remembered (up to MAX_SNAPSHOTS)."""

    def __init__(self) -> None:
        self._chosen: dict[bytes, str] = {}

    def of(self, accept_language: bytes) -> str:
        """The language an answer to this Accept-Language header is in."""
        lang = self._chosen.get(accept_language)
        if lang is None:
            lang = choose_language(None, accept_language.decode("latin-1"), "")  # as the endpoints choose it
            if len(self._chosen) < MAX_SNAPSHOTS:
                self._chosen[accept_language] = lang
        return lang


class DataChanges:
    """Counts committed changes: a snapshot built at an older count is due for a rebuild. `writes` counts the
    requests that changed something through the API (an officer's mark, a bulletin): those are seen by the very next
    read, not after `refresh_s`."""

    def __init__(self) -> None:
        self.count = 0
        self.writes = 0

    def touch(self, _event: object = None) -> None:
        """Something changed (any thread; a lost increment between two threads still leaves the count changed)."""
        self.count += 1

    def follow(self, bus: EventBus) -> Unsubscribe:
        """Touch on every event the bus carries (every committed change); returns the function that stops it."""
        stops = [bus.subscribe(t, self.touch) for t in get_args(Event)]

        def unsubscribe() -> None:
            for stop in stops:
                stop()
        return unsubscribe


@dataclass
class Snapshot:
    """One stored answer: its body (plain and gzipped), ETag, when it was built, and the ready header lists."""

    body: bytes
    gzipped: bytes
    etag: bytes
    built: float
    generation: int
    writes: int
    plain_headers: list[tuple[bytes, bytes]]
    gzip_headers: list[tuple[bytes, bytes]]
    not_modified_headers: list[tuple[bytes, bytes]]


@dataclass
class _Entry:
    snapshot: Snapshot | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def snapshot_of(headers: Iterable[tuple[bytes, bytes]], body: bytes, built: float, generation: int, writes: int,
                cache_control: bytes, vary: bytes = b"Accept-Encoding, Accept-Language") -> Snapshot:
    """A snapshot of a built 200 answer: the body gzipped once, an ETag of its bytes, the app's headers (its own
    Cache-Control, else `cache_control`) without the ones the snapshot sets itself."""
    kept = [(k, v) for k, v in headers if k.lower() not in _DROP_HEADERS]
    etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
    own = [] if any(k.lower() == b"cache-control" for k, _ in kept) else [(b"cache-control", cache_control)]
    common = [*kept, *own, (b"etag", etag), (b"vary", vary)]
    gzipped = gzip.compress(body, 6, mtime=0)
    return Snapshot(body, gzipped, etag, built, generation, writes,
                    plain_headers=[*common, (b"content-length", str(len(body)).encode())],
                    gzip_headers=[*common, (b"content-encoding", b"gzip"),
                                  (b"content-length", str(len(gzipped)).encode())],
                    not_modified_headers=[h for h in common if h[0] != b"content-type"])


def etag_matches(if_none_match: str | None, etag: bytes) -> bool:
    """Does an If-None-Match header name this ETag (or *)? Weak and strong forms compare equal (RFC 9110 §13.1.2)."""
    if not if_none_match:
        return False
    tag = etag.decode()
    return any(t.strip().removeprefix("W/") in (tag, "*") for t in if_none_match.split(","))


def wants_gzip(accept_encoding: str | None) -> bool:
    """Does the client take gzip (and not with q=0)?"""
    for part in (accept_encoding or "").lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


class PublicSnapshots:
    """ASGI middleware serving SNAPSHOT_PATHS from snapshots; everything else passes through untouched."""

    def __init__(self, app: ASGIApp, changes: DataChanges, refresh_s: float = 1.0, max_age_s: float = 30.0,
                 client_max_age_s: int = 5, clock: Callable[[], float] = time.monotonic,
                 paths: frozenset[str] = SNAPSHOT_PATHS):
        self.app = app
        self.changes = changes
        self.refresh_s = refresh_s
        self.max_age_s = max_age_s
        self.cache_control = (f"public, max-age={client_max_age_s}, stale-while-revalidate={client_max_age_s * 6}"
                              ).encode()
        self.clock = clock
        self.paths = paths
        self._entries: dict[tuple[str, bytes, str], _Entry] = {}
        self._languages = Languages()
        self.builds = 0  # answers built by the app (for tests and metrics)

    def _fresh(self, snap: Snapshot, now: float) -> bool:
        age = now - snap.built
        return (age < self.max_age_s and snap.writes == self.changes.writes
                and (snap.generation == self.changes.count or age < self.refresh_s))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            try:
                await self.app(scope, receive, send)
            finally:
                self.changes.writes += 1  # whatever it changed, the next public read shows it
            return
        if scope["path"] not in self.paths or len(scope.get("query_string", b"")) > MAX_QUERY_CHARS:
            await self.app(scope, receive, send)
            return
        accept_language = accept_encoding = if_none_match = b""
        for name, value in scope["headers"]:  # one pass over the raw headers: this is the hot path
            if name in _CREDENTIALS:
                await self.app(scope, receive, send)
                return
            if name == b"accept-language":
                accept_language = value
            elif name == b"accept-encoding":
                accept_encoding = value
            elif name == b"if-none-match":
                if_none_match = value
        lang = self._languages.of(accept_language)
        key = (scope["path"], scope.get("query_string", b""), lang)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
            if len(self._entries) > MAX_SNAPSHOTS:
                self._entries.pop(next(iter(self._entries)))
        snap = entry.snapshot
        now = self.clock()
        if snap is None or not self._fresh(snap, now):
            if snap is None or not entry.lock.locked():
                async with entry.lock:  # one build at a time; the others serve the previous bytes meanwhile
                    snap = entry.snapshot
                    if snap is None or not self._fresh(snap, self.clock()):
                        built = await self._build(scope, receive, send)
                        if built is None:
                            return  # answered directly (not cacheable)
                        snap = entry.snapshot = built
        await serve_snapshot(snap, accept_encoding, if_none_match, scope["method"] == "HEAD", send)

    async def _build(self, scope: Scope, receive: Receive, send: Send) -> Snapshot | None:
        """Run the app for this request; keep its answer when it is a cacheable 200, else pass it through."""
        generation, writes = self.changes.count, self.changes.writes
        start: Message | None = None
        parts: list[bytes] = []
        passing = False

        async def capture(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
                if message["status"] != 200:
                    passing = True
                    await send(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if sum(map(len, parts)) > MAX_SNAPSHOT_BYTES:
                    passing = True
                    assert start is not None
                    await send(start)
                    await send({"type": "http.response.body", "body": b"".join(parts),
                                "more_body": message.get("more_body", False)})

        get_scope = {**scope, SNAPSHOT_BUILD: True, "method": "GET", "headers": [(k, v) for k, v in scope["headers"]
                                                          if k not in (b"if-none-match", b"accept-encoding")]}
        await self.app(get_scope, receive, capture)
        self.builds += 1
        if passing or start is None:
            return None
        return snapshot_of(start.get("headers", []), b"".join(parts), self.clock(), generation, writes,
                           self.cache_control)


async def serve_snapshot(snap: Snapshot, accept_encoding: bytes, if_none_match: bytes, head: bool, send: Send,
                         extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer from a snapshot: 304 when the client holds its ETag, else its gzipped or plain bytes; `extra` headers
    added to either."""
    if if_none_match and etag_matches(if_none_match.decode("latin-1"), snap.etag):
        headers = snap.not_modified_headers + extra if extra else snap.not_modified_headers
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    gzip_ok = bool(accept_encoding) and wants_gzip(accept_encoding.decode("latin-1"))
    headers = snap.gzip_headers if gzip_ok else snap.plain_headers
    await send({"type": "http.response.start", "status": 200, "headers": headers + extra if extra else headers})
    await send({"type": "http.response.body", "body": b"" if head else (snap.gzipped if gzip_ok else snap.body)})
