"""The public edge: a process of its own in front of the service, so a crowd of readers costs the service nothing.

`tichwatch run` (with `http.edge_process`, the default) starts the service's HTTP app on a Unix socket and this
edge on the configured address. The edge keeps every anonymous GET answer the service marks `Cache-Control: public`
(the public snapshots — status, stations, GeoJSON, bulletins, … — the dashboard page and its files, charts) and
serves it from memory, gzipped once, with ETag / 304. It asks the service again only when an answer is due: a
snapshot after `http.snapshot_refresh_s`, conditionally (If-None-Match: an unchanged answer costs the service a
304), another answer after its max-age, and every snapshot at once after a write passed through the edge (an
officer's mark is seen by the next read). While one request revalidates an answer, the others get the previous
bytes. Everything else — officers, uploads, the live stream, private or uncacheable answers — passes through,
streamed both ways, with the client's address in X-Forwarded-For.

Why a process: ingest, detection and alert delivery share one interpreter lock with whatever serves HTTP in the
same process; there a crowd of readers delayed alerts by seconds and ingest took 20–40 % of the public read rate
(#17, `bench/public_reads.py`, `bench/alert_latency.py --with-readers`). The edge also runs at a lower CPU priority
(`http.edge_nice`): on a saturated machine the kernel serves the service's ingest and delivery first.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qs

import httpx
from starlette.types import Message, Receive, Scope, Send

from tichwatch.api.communes import request_host
from tichwatch.api.live import KEEP_ALIVE, STREAM_HEADERS, EventHub, HubFull, opening, parse_types
from tichwatch.api.logs import setup_logging
from tichwatch.api.problems import problem
from tichwatch.api.ratelimit import EDGE_RENEWAL, address_of
from tichwatch.api.snapshots import (
    MAX_QUERY_CHARS,
    SNAPSHOT_PATHS,
    Languages,
    Snapshot,
    serve_snapshot,
    snapshot_of,
)

log = logging.getLogger("tichwatch.edge")

MAX_ENTRY_BYTES = 4 * 1024 * 1024
"""Answers larger than this pass through instead of being kept."""
MAX_CACHE_BYTES = 64 * 1024 * 1024
"""All kept answers together (plain and gzipped); the least recently used are forgotten first."""
MAX_ENTRIES = 1024
"""Distinct (host, origin, path, query, language) answers kept."""
MAX_REQUEST_BYTES = 16 * 1024 * 1024
"""Largest request body passed through (413 beyond); the service's own limits are smaller and apply after."""
TOO_LARGE = f"request bodies are limited to {MAX_REQUEST_BYTES} bytes"
MAX_BUFFERED_BYTES = 64 * 1024 * 1024
"""Request bodies being read at once, all together (503 beyond): slow large uploads cannot take the edge's memory."""
UNCACHEABLE_S = 60.0
"""How long a request whose answer could not be kept goes straight through before the edge tries keeping it again."""
EDGE_BATCH_S = 0.001
"""The edge's hub gathers events this long before writing them to its clients (the service's hub already gathered
them for 5 ms)."""
STREAM_PATH = "/api/v1/stream"
"""The live stream: fanned out by the edge itself to anonymous clients (`StreamRelay`)."""
_HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"te", b"trailer",
                         b"upgrade", b"proxy-authorization", b"proxy-authenticate"})
_NOT_FORWARDED = _HOP_BY_HOP | {b"x-forwarded-for", b"if-none-match", b"if-modified-since", b"accept-encoding",
                                b"content-length", EDGE_RENEWAL}
_NOT_RETURNED = _HOP_BY_HOP | {b"date", b"server"}
_NOT_FILLED = frozenset({b"cookie", b"range", b"if-range"})
"""Request headers an answer kept for everyone must not depend on."""
_CREDENTIALS = frozenset({b"authorization", b"x-api-key"})
"""What the service authenticates by (not cookies: a browser's analytics cookie does not make a read private)."""
RETRY_RENEWAL_S = 1.0
"""When renewing a kept answer failed, the kept one is served this long before the next try."""
_MAX_AGE = re.compile(r"max-age=(\d+)")


@dataclass
class EdgeConfig:
    """What the edge process needs: where it listens, the service's socket, and the public-read rules."""

    host: str
    port: int
    upstream_uds: str
    trusted_proxies: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    refresh_s: float = 1.0
    nice: int = 5
    sse_max_clients: int = 5000
    sse_max_per_address: int = 2500
    sse_client_buffer_kib: int = 256
    hosts: list[str] = field(default_factory=list)
    """The communes' host names when one process serves several (`tichwatch run --config A --config B`): each has
    its own answers and live stream; empty: one commune, whatever the Host header says."""
    parent_pid: int = 0
    """Exit when this process is gone (0: do not watch)."""

    def to_json(self) -> str:
        """The config as one JSON argument for the edge's command line."""
        return json.dumps(asdict(self))


@dataclass
class _Kept:
    snapshot: Snapshot
    upstream_etag: bytes | None
    due: float
    writes: int
    follows_writes: bool
    size: int
    refreshing: bool = False


def max_age_of(cache_control: str) -> int | None:
    """The max-age of a `Cache-Control: public` answer a shared cache may keep, else None."""
    value = cache_control.lower()
    if "public" not in value or any(d in value for d in ("private", "no-store", "no-cache")):
        return None
    m = _MAX_AGE.search(value)
    return int(m.group(1)) if m else None


class Edge:
    """The edge's ASGI app: kept public answers served from memory, everything else passed to the service."""

    def __init__(self, upstream: httpx.AsyncClient, trusted_proxies: frozenset[str], refresh_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, snapshot_paths: frozenset[str] = SNAPSHOT_PATHS,
                 max_cache_bytes: int = MAX_CACHE_BYTES, hub: Callable[[], EventHub] = EventHub,
                 hosts: frozenset[str] = frozenset()):
        self.upstream = upstream
        self.hosts = hosts
        self.relays = {host: StreamRelay(upstream, hub, host) for host in (hosts or {""})}
        """The live stream's relay of each commune's host ("" for the only one)."""
        self.trusted_proxies = trusted_proxies
        self.refresh_s = refresh_s
        self.clock = clock
        self.snapshot_paths = snapshot_paths
        self.max_cache_bytes = max_cache_bytes
        self.writes = 0
        """Requests that may have changed something, passed through: snapshots kept from before are due."""
        self._buffered = 0
        self.fetches = 0
        """Requests the edge made to the service to keep or revalidate an answer (for tests and metrics)."""
        self._kept: OrderedDict[tuple[bytes, ...], _Kept] = OrderedDict()
        self._kept_bytes = 0
        self._uncacheable: OrderedDict[tuple[bytes, ...], float] = OrderedDict()
        self._filling: dict[tuple[bytes, ...], asyncio.Future[None]] = {}
        self._languages = Languages()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        method = scope["method"]
        host = self._host(scope) if method == "GET" and scope["path"] == STREAM_PATH else None
        relay = self.relays.get(host) if host is not None else None
        if relay is not None and not _has_credentials(scope):
            await self._stream(scope, receive, send, relay)
            return
        if method in ("GET", "HEAD"):
            key = self._key(scope)
            if key is not None:
                await self._read(scope, receive, send, key)
                return
        await self._pass(scope, receive, send)

    def _host(self, scope: Scope) -> str | None:
        """The commune a request is for: "" when there is one, else its host name (None: none of them)."""
        if not self.hosts:
            return ""
        try:
            host = request_host(scope)
        except ValueError:
            return None
        return host if host in self.hosts else None

    def _key(self, scope: Scope) -> tuple[bytes, ...] | None:
        """The cache key of an anonymous read, or None when it must go through (credentials, a long query, a host
        no commune is at)."""
        query = scope.get("query_string", b"")
        host = self._host(scope)
        if len(query) > MAX_QUERY_CHARS or host is None:
            return None
        origin = accept_language = b""
        for name, value in scope["headers"]:
            if name in _CREDENTIALS:
                return None
            if name == b"origin":
                origin = value
            elif name == b"accept-language":
                accept_language = value
        key = (host.encode(), origin, scope["path"].encode(), query, self._languages.of(accept_language).encode())
        until = self._uncacheable.get(key)
        if until is not None:
            if until > self.clock():
                return None
            del self._uncacheable[key]
        return key

    async def _read(self, scope: Scope, receive: Receive, send: Send, key: tuple[bytes, ...]) -> None:
        kept = self._kept.get(key)
        if kept is None:
            filling = self._filling.get(key)
            if filling is not None:  # another request is asking for it: wait for its answer, then serve that
                await asyncio.shield(filling)
                kept = self._kept.get(key)
                if kept is None:
                    await self._pass(scope, receive, send)
                else:
                    await self._serve(scope, kept.snapshot, send)
                return
            filling = self._filling[key] = asyncio.get_running_loop().create_future()
            try:
                await self._fetch(scope, receive, send, key, None)
            finally:
                del self._filling[key]
                filling.set_result(None)
            return
        self._kept.move_to_end(key)
        if kept.refreshing or not self._due(kept, self.clock()):
            await self._serve(scope, kept.snapshot, send)
            return
        kept.refreshing = True
        try:
            await self._fetch(scope, receive, send, key, kept)
        finally:
            kept.refreshing = False

    def _due(self, kept: _Kept, now: float) -> bool:
        return now >= kept.due or (kept.follows_writes and kept.writes != self.writes)

    async def _serve(self, scope: Scope, snap: Snapshot, send: Send) -> None:
        """Serve a kept answer, with its Age once it is a second old or more (a cache or browser after the edge
        then counts its max-age from when the service made it, not from now)."""
        accept_encoding = if_none_match = b""
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept_encoding = value
            elif name == b"if-none-match":
                if_none_match = value
        age = int(self.clock() - snap.built)
        await serve_snapshot(snap, accept_encoding, if_none_match, scope["method"] == "HEAD", send,
                             [(b"age", str(age).encode())] if age >= 1 else None)

    async def _fetch(self, scope: Scope, receive: Receive, send: Send, key: tuple[bytes, ...],
                     kept: _Kept | None) -> None:
        """Ask the service for this answer — to keep it, or conditionally to renew a kept one — and serve it. A
        renewal is the edge's own request (not charged to this client's limits) and whatever it gets but a new
        answer or a 304, the kept answer is served (one client's 429 or a busy service never empties the cache);
        an answer that may not be kept passes through as it comes."""
        headers = [(k, v) for k, v in self._headers(scope) if k not in _NOT_FILLED]
        headers.append((b"accept-encoding", b"identity"))  # kept plain, gzipped here once
        if kept is not None:
            headers.append((EDGE_RENEWAL, b"1"))
            if kept.upstream_etag:
                headers.append((b"if-none-match", kept.upstream_etag))
        writes = self.writes
        self.fetches += 1
        try:
            request = self.upstream.build_request("GET", _target(scope), headers=headers)
            response = await self.upstream.send(request, stream=True)
        except httpx.HTTPError as e:
            if kept is not None:  # the service is restarting: the kept answer is better than none
                kept.due, kept.writes = self.clock() + RETRY_RENEWAL_S, writes
                await self._serve(scope, kept.snapshot, send)
                return
            await _unavailable(scope, send, e)
            return
        try:
            if kept is not None and response.status_code != 200:
                if response.status_code == 304:
                    kept.due = self.clock() + self._ttl(kept.follows_writes, kept.snapshot)
                    kept.writes = writes
                    kept.snapshot.built = self.clock()  # as good as new: its Age starts again
                else:
                    log.warning("edge: renewing %s got %d; the kept answer is served", scope["path"],
                                response.status_code)
                    kept.due, kept.writes = self.clock() + RETRY_RENEWAL_S, writes
                await self._serve(scope, kept.snapshot, send)
                return
            snap = await self._keepable(response, scope["path"])
            if snap is None:
                self._forget(key)
                if response.status_code == 200:  # an answer nobody else may be given: go straight through a while
                    self._uncacheable[key] = self.clock() + UNCACHEABLE_S
                    while len(self._uncacheable) > MAX_ENTRIES:
                        self._uncacheable.popitem(last=False)
                await _relay(response, scope, receive, send)
                return
            follows = scope["path"] in self.snapshot_paths
            self._keep(key, _Kept(snap, response.headers.get("etag", "").encode() or None,
                                  self.clock() + self._ttl(follows, snap), writes, follows,
                                  len(snap.body) + len(snap.gzipped)))
            await self._serve(scope, snap, send)
        finally:
            await response.aclose()

    def _ttl(self, follows_writes: bool, snap: Snapshot) -> float:
        """How long a kept answer is served before it is asked for again."""
        if follows_writes:
            return self.refresh_s
        cache_control = next((v for k, v in snap.plain_headers if k == b"cache-control"), b"").decode("latin-1")
        return float(max_age_of(cache_control) or 0)

    async def _keepable(self, response: httpx.Response, path: str) -> Snapshot | None:
        """A snapshot of this answer when a shared cache may keep it (read whole), else None (nothing read)."""
        if response.status_code != 200 or "set-cookie" in response.headers:
            return None
        max_age = max_age_of(response.headers.get("cache-control", ""))
        if max_age is None or (max_age < 1 and path not in self.snapshot_paths):
            return None
        length = response.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_ENTRY_BYTES:
            return None
        if response.headers.get("content-encoding", "identity") != "identity":
            return None
        body = await response.aread()
        raw = [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in _NOT_RETURNED]
        # Vary: Origin as well: a cache in front must not give one origin's CORS answer to another
        return snapshot_of(raw, body, self.clock(), 0, 0, b"public, max-age=5",
                           vary=b"Accept-Encoding, Accept-Language, Origin")

    def _keep(self, key: tuple[bytes, ...], kept: _Kept) -> None:
        self._forget(key)
        self._kept[key] = kept
        self._kept_bytes += kept.size
        while self._kept_bytes > self.max_cache_bytes or len(self._kept) > MAX_ENTRIES:
            _, old = self._kept.popitem(last=False)
            self._kept_bytes -= old.size

    def _forget(self, key: tuple[bytes, ...]) -> None:
        old = self._kept.pop(key, None)
        if old is not None:
            self._kept_bytes -= old.size

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """The request's headers for the service: hop-by-hop ones dropped, the client's address as the only
        X-Forwarded-For hop (the service believes it from its Unix socket, which only the edge can reach)."""
        headers = [(k, v) for k, v in scope["headers"] if k not in _NOT_FORWARDED]
        headers.append((b"x-forwarded-for", address_of(scope, self.trusted_proxies).encode()))
        return headers

    async def _pass(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request through to the service and its answer back (the body read first, within the limits; the
        answer streamed). A writing request the service answers 2xx makes every kept snapshot due."""
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        if not declared.isdigit() or int(declared) > MAX_REQUEST_BYTES:
            await _answer(scope, send, 413, "Too large", TOO_LARGE)
            return
        body = bytearray()
        try:
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                if len(body) + len(chunk) > MAX_REQUEST_BYTES:
                    await _answer(scope, send, 413, "Too large", TOO_LARGE)
                    return
                if self._buffered + len(chunk) > MAX_BUFFERED_BYTES:
                    await _answer(scope, send, 503, "Busy", "too many large requests at once; try again shortly",
                                  retry_after="5")
                    return
                body += chunk
                self._buffered += len(chunk)
                more = message.get("more_body", False)
            await self._forward(scope, receive, send, bytes(body))
        finally:
            self._buffered -= len(body)

    async def _forward(self, scope: Scope, receive: Receive, send: Send, body: bytes) -> None:
        headers = self._headers(scope)
        headers += [(k, v) for k, v in scope["headers"] if k in (b"if-none-match", b"if-modified-since")]
        encoding = next((v for k, v in scope["headers"] if k == b"accept-encoding"), b"identity")
        headers.append((b"accept-encoding", encoding))  # as the client asked (httpx would add gzip of its own)
        # An officer's live stream never ends: no read timeout on it.
        timeout = httpx.Timeout(30.0, read=None) if scope["path"] == STREAM_PATH else self.upstream.timeout
        try:
            request = self.upstream.build_request(scope["method"], _target(scope), headers=headers,
                                                  content=body, timeout=timeout)
            response = await self.upstream.send(request, stream=True)
        except httpx.HTTPError as e:
            await _unavailable(scope, send, e)
            return
        try:
            if scope["method"] not in ("GET", "HEAD", "OPTIONS") and response.status_code < 300:
                self.writes += 1  # before the answer goes out: the writer's next read sees what it changed
            await _relay(response, scope, receive, send)
        finally:
            await response.aclose()

    async def _stream(self, scope: Scope, receive: Receive, send: Send, relay: StreamRelay) -> None:
        """The live stream from the edge's own hub (the same checks and answers as the service's route)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            wanted = parse_types(",".join(query.get("types", [])) or None)
        except ValueError as bad:
            await _answer(scope, send, 400, "Unknown event type", str(bad))
            return
        if not relay.connected:  # the browser tries again after Retry-After rather than showing a silent stream live
            await _answer(scope, send, 503, "Live stream unavailable", "the service's stream is restarting; try again "
                          "shortly", retry_after="5")
            return
        hub = relay.hub
        address = address_of(scope, self.trusted_proxies)
        try:
            hub.admit(address)
        except HubFull as full:
            await _answer(scope, send, 503, "Live stream full", f"{full}; try again shortly", retry_after="30")
            return
        # Subscribed before the first await: a hub replaced meanwhile still ends this client's stream.
        sub = hub.subscribe(wanted, address)
        last_event_id = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"last-event-id"), None)
        headers = [(b"content-type", b"text/event-stream; charset=utf-8"),
                   *((k.lower().encode(), v.encode()) for k, v in STREAM_HEADERS.items())]
        # The request's own task writes the events (no generator, no second task per client: a stream's cost is
        # the number of clients times what each event costs each of them); a watcher ends it when the client goes.
        watching = asyncio.ensure_future(_gone(receive))
        watching.add_done_callback(lambda _: sub.end())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            chunk: bytes | None = opening(hub, sub, last_event_id)
            while chunk is not None:
                await send({"type": "http.response.body", "body": chunk or KEEP_ALIVE, "more_body": True})
                chunk = await sub.next_chunk()
            if not watching.done():
                await send({"type": "http.response.body", "body": b""})  # dropped behind: it resumes from the ring
        finally:
            watching.cancel()
            hub.unsubscribe(sub)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for relay in self.relays.values():
                    relay.start(asyncio.get_running_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for relay in self.relays.values():
                    await relay.stop()
                await self.upstream.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _target(scope: Scope) -> str:
    path: bytes = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    return (path + (b"?" + query if query else b"")).decode("latin-1")


async def _relay(response: httpx.Response, scope: Scope, receive: Receive, send: Send) -> None:
    """Send the service's answer on to the client as it comes."""
    headers = [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in _NOT_RETURNED]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    if scope["method"] == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    await _send_until_gone(response.aiter_raw(), scope, receive, send)


async def _send_until_gone(chunks: AsyncIterator[bytes], scope: Scope, receive: Receive, send: Send) -> None:
    """Send a body's chunks as they come; stop when the client goes away (a live stream would otherwise go on for
    nobody)."""
    async def copy() -> None:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    copying = asyncio.ensure_future(copy())
    watching = asyncio.ensure_future(_gone(receive))
    try:
        await asyncio.wait({copying, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (copying, watching):
            task.cancel()
        await asyncio.gather(copying, watching, return_exceptions=True)
        closing = getattr(chunks, "aclose", None)
        if closing is not None:
            await closing()
    if copying.done() and not copying.cancelled() and copying.exception() is not None:
        log.warning("edge: the answer to %s broke off: %s", scope["path"], copying.exception())


async def _gone(receive: Receive) -> None:
    """Return when the client has gone (its connection closed)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _has_credentials(scope: Scope) -> bool:
    return any(name in _CREDENTIALS for name, _ in scope["headers"])


class SseMessage(NamedTuple):
    """One message of an event stream."""

    id: str | None
    event: str | None
    data: str | None


async def sse_messages(chunks: AsyncIterator[bytes], max_message_bytes: int = 1024 * 1024
                       ) -> AsyncIterator[SseMessage]:
    """The messages of an event stream as its bytes arrive (comments and `retry:` skipped; a message larger than
    `max_message_bytes` is an error)."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            fields: dict[str, list[str]] = {}
            for line in block.decode("utf-8").split("\n"):
                if not line or line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
            if "event" in fields or "data" in fields:
                yield SseMessage(fields.get("id", [None])[-1], fields.get("event", ["message"])[-1],
                                 "\n".join(fields["data"]) if "data" in fields else None)
        if len(buffer) > max_message_bytes:
            raise ValueError(f"an event of more than {max_message_bytes} bytes")


class StreamRelay:
    """The live stream of the edge's anonymous clients: one stream from the service, fanned out by a hub of the
    edge's own (ids of its own, Last-Event-ID resumed from its ring). When the service says the edge missed events
    (it restarted), the hub is replaced: its clients reconnect and are told to reload."""

    def __init__(self, upstream: httpx.AsyncClient, hub: Callable[[], EventHub], host: str = ""):
        self.upstream = upstream
        self.host = host
        self.new_hub = hub
        self.hub = hub()
        self.connected = False
        self.resets = 0
        self._last_id: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind the hub and follow the service's stream (reconnecting) on this loop."""
        self._loop = loop
        self.hub.bind(loop)
        self._task = loop.create_task(self._run())

    async def stop(self) -> None:
        """Stop following and end the clients' streams."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.hub.close()

    async def _run(self) -> None:
        delay = 0.2
        while True:
            try:
                headers = {"last-event-id": self._last_id} if self._last_id else {}
                if self.host:
                    headers["host"] = self.host
                async with self.upstream.stream("GET", STREAM_PATH, headers=headers,
                                                timeout=httpx.Timeout(10.0, read=60.0)) as response:
                    if response.status_code != 200:
                        raise httpx.HTTPError(f"status {response.status_code}")
                    self.connected = True
                    delay = 0.2
                    async for message in sse_messages(response.aiter_bytes()):
                        self._take(message)
            except (httpx.HTTPError, OSError, ValueError, UnicodeDecodeError) as e:
                log.warning("edge: the service's live stream: %s; again in %.1f s", e or type(e).__name__, delay)
            finally:
                self.connected = False
            await asyncio.sleep(delay)
            delay = min(5.0, delay * 2)

    def _take(self, message: SseMessage) -> None:
        if message.event == "reset":
            self._replace_hub()
            self._last_id = None  # the id from before means nothing to the service now
        elif message.data is not None and message.event:
            try:
                data = json.loads(message.data)
            except ValueError:
                log.warning("edge: an event of the service's stream that is not JSON was skipped (id %s)", message.id)
            else:
                self.hub.publish(message.event, data)
        if message.id:
            self._last_id = message.id

    def _replace_hub(self) -> None:
        old, self.hub = self.hub, self.new_hub()
        self.resets += 1
        if self._loop is not None:
            self.hub.bind(self._loop)
        old.close()


async def _answer(scope: Scope, send: Send, status: int, title: str, detail: str,
                  retry_after: str | None = None) -> None:
    """A problem document of the edge's own (`problems.problem`, as the service answers)."""
    response = problem(status, title, detail)
    if retry_after:
        response.headers["Retry-After"] = retry_after
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _unavailable(scope: Scope, send: Send, error: Exception) -> None:
    log.warning("edge: the service did not answer: %s", error)
    await _answer(scope, send, 503, "Service unavailable", "the service is starting or restarting; try again shortly",
                  retry_after="2")


def upstream_client(uds: str) -> httpx.AsyncClient:
    """The edge's connections to the service's Unix socket (kept alive; a live stream holds one each)."""
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=uds), base_url="http://tichwatch",
                             timeout=httpx.Timeout(30.0, read=120.0),
                             limits=httpx.Limits(max_connections=None, max_keepalive_connections=128))


def _watch_parent(parent_pid: int, server: Any) -> None:
    """Stop the edge when the service's process is gone (killed: nothing else would stop it)."""
    while not server.should_exit:
        if os.getppid() != parent_pid:
            log.warning("edge: the service's process %d is gone; stopping", parent_pid)
            server.should_exit = True
            return
        time.sleep(0.5)


def run(config: EdgeConfig) -> None:
    """Serve the edge until SIGTERM/SIGINT or until the service's process is gone."""
    import uvicorn

    if config.nice:
        os.nice(config.nice)
    def hub() -> EventHub:
        # batch_s: events come from the service already gathered into its own batches of 5 ms
        # boot: unique per hub (a hub replaced within the same second must not resume the old one's ids)
        return EventHub(max_clients=config.sse_max_clients, max_per_address=config.sse_max_per_address,
                        client_buffer_bytes=config.sse_client_buffer_kib * 1024, batch_s=EDGE_BATCH_S,
                        boot=str(time.time_ns()))
    app = Edge(upstream_client(config.upstream_uds), frozenset(config.trusted_proxies), config.refresh_s, hub=hub,
               hosts=frozenset(config.hosts))
    # access_log off: uvicorn would format a line per request only for setup_logging to drop it (uvicorn.access is
    # set to WARNING), a sixth of what an answer costs.
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port, log_config=None, lifespan="on",
                                           backlog=4096, timeout_graceful_shutdown=3, access_log=False))
    if config.parent_pid:
        threading.Thread(target=_watch_parent, args=(config.parent_pid, server), name="edge-parent",
                         daemon=True).start()
    server.run()


def main(argv: list[str] | None = None) -> None:
    """`python -m tichwatch.api.edge CONFIG_JSON`: the edge process, as `tichwatch run` starts it."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("config", help="EdgeConfig as JSON")
    args = ap.parse_args(argv)
    setup_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request passed through
    run(EdgeConfig(**json.loads(args.config)))


if __name__ == "__main__":
    main()
