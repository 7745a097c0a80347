"""Live updates: a bounded ring of events (readings, detections, alert changes) fanned out to Server-Sent Events.

The hub is fed by `follow`, a listener of the event bus: producers' worker threads publish committed changes there and
the listener only turns each into a small JSON document and appends it to the ring. Consumers are SSE responses on the
asyncio loop. Event ids are "<boot>-<n>", so a client resuming with a Last-Event-ID from before a restart, or older
than the ring, is told to reload (`event: reset`).
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from tichwatch.core.bus import EventBus, Unsubscribe
from tichwatch.core.detection import Severity
from tichwatch.core.events import (
    AlertChanged,
    BulletinChanged,
    DeliveryRecorded,
    DetectionsRaised,
    FrameJudged,
    ReadingsStored,
    StationChanged,
)
from tichwatch.core.samples import Reading
from tichwatch.core.timefmt import iso_local, iso_utc

EventData = dict[str, Any] | Callable[[], dict[str, Any]]
"""An event's JSON document, or what makes it (called at most once, when a client first needs the event)."""


class LiveEvent:
    """One event of the stream, made and serialised at most once, when a client first needs it (`wire`), for every
    client that receives it: a producer's thread (the ingest pipeline) pays nothing for it, nor does anyone while no
    client listens."""

    __slots__ = ("_data", "_id", "_wire", "seq", "type")

    def __init__(self, seq: int, type_: str, data: EventData, event_id: str):
        self.seq = seq
        self.type = type_
        """"reading", "detection", "alert", "camera", "station" or "bulletin"."""
        self._data = data
        self._id = event_id
        self._wire: bytes | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The event's JSON document."""
        if callable(self._data):
            self._data = self._data()
        return self._data

    @property
    def wire(self) -> bytes:
        """The event as one SSE message (made once; two threads racing make the same bytes)."""
        if self._wire is None:
            self._wire = sse_format(self._id, self.type, self.data).encode()
        return self._wire


class HubFull(Exception):
    """No more live clients are taken now (the total, or one address's share of it)."""


class Subscriber:
    """One SSE client on the loop: the serialised events waiting for it, bounded in bytes."""

    __slots__ = ("address", "chunks", "dropped", "pending_bytes", "seq", "types", "waiter")

    def __init__(self, types: frozenset[str] | None, seq: int, address: str):
        self.types = types
        self.seq = seq  # the last event handed to this client (or skipped by its filter)
        self.address = address
        self.chunks: list[bytes] = []
        self.pending_bytes = 0
        self.dropped = False  # fell too far behind: the stream ends, the browser resumes with its Last-Event-ID
        self.waiter: asyncio.Future[None] | None = None

    def end(self) -> None:
        """End this client's stream (it went, or fell too far behind): its waiting `next_chunk` returns None."""
        self.dropped = True
        self.chunks.clear()
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next_chunk(self) -> bytes | None:
        """The events queued since the last call as one chunk; b"" at a keep-alive tick; None once dropped."""
        while not self.chunks:
            if self.dropped:
                return None
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
            if not self.chunks and not self.dropped:
                return b""  # the hub's keep-alive tick
        chunk = b"".join(self.chunks)
        self.chunks.clear()
        self.pending_bytes = 0
        return chunk


class EventHub:
    """Keeps the last `capacity` events and fans each out, serialised once, to the subscribed SSE streams.

    Producers publish from any thread; the fan-out runs on the asyncio loop at most once per `batch_s` (a burst of
    events becomes one chunk per client). Each client's queue is bounded by `client_buffer_bytes`: a client that falls
    further behind is dropped and resumes from the ring with its Last-Event-ID. Clients are limited in total
    (`max_clients`) and per address (`max_per_address`), never refused for other addresses' crowds.
    """

    def __init__(self, capacity: int = 5000, boot: str | None = None, max_clients: int = 5000,
                 max_per_address: int = 2500, client_buffer_bytes: int = 256 * 1024, batch_s: float = 0.005,
                 keepalive_s: float = 15.0):
        self.boot = boot or str(int(time.time()))
        self.capacity = capacity
        self.max_clients = max_clients
        self.max_per_address = max_per_address
        self.client_buffer_bytes = client_buffer_bytes
        self.batch_s = batch_s
        self.keepalive_s = keepalive_s
        self._ring: list[LiveEvent | None] = [None] * capacity
        self._seq = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._dispatched = 0
        self._subscribers: set[Subscriber] = set()
        self._per_address: dict[str, int] = {}
        self._ticker: asyncio.TimerHandle | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach the asyncio loop that serves the streams (called at app start-up)."""
        self._loop = loop
        with self._lock:
            self._dispatched = self._seq
            self._scheduled = False
        self._ticker = loop.call_later(self.keepalive_s, self._tick)

    def publish(self, type_: str, data: EventData) -> None:
        """Add an event (any thread); it is made and serialised later, once, if a client needs it."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            event = LiveEvent(seq, type_, data, f"{self.boot}-{seq}")
            self._ring[seq % self.capacity] = event
            schedule = not self._scheduled
            self._scheduled = True
        loop = self._loop
        if schedule and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.call_later, self.batch_s, self._dispatch)

    def event_id(self, event: LiveEvent) -> str:
        """The SSE id of an event."""
        return f"{self.boot}-{event.seq}"

    def _range(self, after: int, upto: int) -> list[LiveEvent] | None:
        """Events with after < seq <= upto from the ring, or None when some of them were overwritten (lock held)."""
        if upto - after > self.capacity:
            return None
        out = []
        for seq in range(after + 1, upto + 1):
            event = self._ring[seq % self.capacity]
            if event is None or event.seq != seq:
                return None
            out.append(event)
        return out

    def since(self, last_event_id: str | None, upto: int | None = None) -> tuple[list[LiveEvent], bool]:
        """Events after `last_event_id` (up to `upto`), and whether the client missed some (must reload)."""
        if not last_event_id:
            return [], False
        boot, _, seq_text = last_event_id.partition("-")
        with self._lock:
            current = self._seq if upto is None else upto
            if boot != self.boot or not seq_text.isdigit() or int(seq_text) > current:
                return [], True
            events = self._range(int(seq_text), current)
        return ([], True) if events is None else (events, False)

    @property
    def last_seq(self) -> int:
        """The newest event's sequence number."""
        with self._lock:
            return self._seq

    @property
    def clients(self) -> int:
        """Live clients subscribed now."""
        return len(self._subscribers)

    def admit(self, address: str) -> None:
        """Raise HubFull when a new client from `address` would exceed the total or the address's share (the check a
        request makes before its response starts; `subscribe` then counts it once its stream runs)."""
        if len(self._subscribers) >= self.max_clients:
            raise HubFull(f"the live stream has its {self.max_clients} clients")
        if self._per_address.get(address, 0) >= self.max_per_address:
            raise HubFull(f"{self.max_per_address} live streams are open from this address")

    def subscribe(self, types: frozenset[str] | None, address: str = "") -> Subscriber:
        """A new client, from the next event the loop fans out (call on the loop, from the running stream)."""
        sub = Subscriber(types, self._dispatched, address)
        self._subscribers.add(sub)
        self._per_address[address] = self._per_address.get(address, 0) + 1
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a client (its stream ended)."""
        if sub in self._subscribers:
            self._subscribers.discard(sub)
            left = self._per_address.get(sub.address, 1) - 1
            if left > 0:
                self._per_address[sub.address] = left
            else:
                self._per_address.pop(sub.address, None)

    def close(self) -> None:
        """End every client's stream and the keep-alive timer (the clients reconnect, to another hub, and are told to
        reload when their Last-Event-ID means nothing there)."""
        if self._ticker is not None:
            self._ticker.cancel()
        for sub in self._subscribers:
            sub.end()

    def _dispatch(self) -> None:
        with self._lock:
            self._scheduled = False
            events = self._range(self._dispatched, self._seq)
            self._dispatched = self._seq
        if not events or not self._subscribers:
            return  # nobody listens: the events stay unmade in the ring, for a client resuming later
        everything: bytes | None = None
        by_types: dict[frozenset[str], bytes] = {}
        for sub in self._subscribers:
            if sub.dropped:
                continue
            if sub.types is None:
                if everything is None:
                    everything = b"".join(e.wire for e in events)
                chunk = everything
            else:
                chunk = by_types.get(sub.types, b"")
                if sub.types not in by_types:
                    chunk = by_types[sub.types] = b"".join(e.wire for e in events if e.type in sub.types)
            sub.seq = events[-1].seq
            if chunk:
                sub.chunks.append(chunk)
                sub.pending_bytes += len(chunk)
                if sub.pending_bytes > self.client_buffer_bytes:
                    sub.dropped = True
                    sub.chunks.clear()
            sub._wake()

    def _tick(self) -> None:
        for sub in self._subscribers:
            sub._wake()
        if self._loop is not None and not self._loop.is_closed():
            self._ticker = self._loop.call_later(self.keepalive_s, self._tick)


def follow(bus: EventBus, hub: EventHub, timezone: str) -> Unsubscribe:
    """Put every committed change the bus reports on the live stream; returns the function that stops it."""
    def reading_data(r: Reading) -> Callable[[], dict[str, Any]]:
        return lambda: {"station_id": r.station_id, "ts": iso_utc(r.ts), "ts_local": iso_local(r.ts, timezone),
                        "level_m": r.level_m}

    def readings(e: ReadingsStored) -> None:
        for r in e.readings:  # the times are formatted when a client needs the event, not on the pipeline's thread
            hub.publish("reading", reading_data(r))

    def detections(e: DetectionsRaised) -> None:
        for d in e.detections:
            hub.publish("detection", {"kind": d.kind, "subject": d.subject, "ts": iso_utc(d.ts), "active": d.active,
                                      "severity": d.severity.name.lower(), "level": d.level, "value": d.value,
                                      "unit": d.unit})

    def deliveries(e: DeliveryRecorded) -> None:
        if e.bulletin_id is not None:  # a bulletin's delivery: the desk shows it per receiver
            hub.publish("bulletin", {"bulletin_id": e.bulletin_id, "action": "delivery", "receiver": e.receiver,
                                     "delivery": e.state, "ts": iso_utc(e.ts)})

    stops = [bus.subscribe(ReadingsStored, readings), bus.subscribe(DetectionsRaised, detections),
             bus.subscribe(AlertChanged, lambda e: hub.publish("alert", alert_data(e))),
             bus.subscribe(FrameJudged, lambda e: hub.publish("camera", {
                 "camera_id": e.camera_id, "ts": iso_utc(e.ts), "dust_index": e.dust_index, "status": e.state})),
             bus.subscribe(StationChanged, lambda e: hub.publish("station", {
                 "station_id": e.station_id, "alarm_levels_m": dict(e.alarm_levels_m)})),
             bus.subscribe(BulletinChanged, lambda e: hub.publish("bulletin", bulletin_data(e))),
             bus.subscribe(DeliveryRecorded, deliveries)]

    def unsubscribe() -> None:
        for stop in stops:
            stop()
    return unsubscribe


def alert_data(e: AlertChanged) -> dict[str, Any]:
    """An alert change as the stream's `alert` event: which alert, its state before and after, who did what, when."""
    return {"alert_id": e.alert_id, "kind": e.kind, "subject": e.subject, "state": e.state,
            "state_before": e.state_before, "severity": Severity(e.severity).name.lower(), "action": e.action,
            "actor": e.actor, "ts": iso_utc(e.ts)}


def bulletin_data(e: BulletinChanged) -> dict[str, Any]:
    """A bulletin's step as the stream's `bulletin` event: which bulletin, what happened, its state (not who: the
    stream is public, the desk reads the rest with its credentials)."""
    return {"bulletin_id": e.bulletin_id, "action": e.action, "state": e.state, "ts": iso_utc(e.ts)}


EVENT_TYPES = frozenset({"reading", "detection", "alert", "camera", "bulletin"})
"""The stream's event types a client may ask for (`?types=`)."""
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Headers of a stream's answer (no proxy may buffer or keep it)."""


def parse_types(text: str | None) -> frozenset[str] | None:
    """The event types a `types` query asks for (None: all); ValueError naming unknown ones."""
    if not text:
        return None
    wanted = frozenset(t.strip() for t in text.split(",") if t.strip())
    unknown = wanted - EVENT_TYPES
    if unknown:
        raise ValueError(f"unknown types {sorted(unknown)}; use {sorted(EVENT_TYPES)}")
    return wanted


def sse_format(event_id: str | None, type_: str, data: dict[str, Any]) -> str:
    """One SSE message."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {type_}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


KEEP_ALIVE = b": keep-alive\n\n"


def opening(hub: EventHub, sub: Subscriber, last_event_id: str | None) -> bytes:
    """What a new client is sent first: a reset (its Last-Event-ID means nothing here, or is older than the ring) or
    the events it missed, then the reconnection delay."""
    missed, reset = hub.since(last_event_id, upto=sub.seq)
    reload = sse_format(None, "reset", {"reason": "events were missed; reload the page state"}).encode()
    parts = [reload] if reset else []
    parts += [e.wire for e in missed if sub.types is None or e.type in sub.types]
    parts.append(b"retry: 3000\n\n")
    return b"".join(parts)


async def stream(hub: EventHub, last_event_id: str | None, types: frozenset[str] | None = None,
                 address: str = "") -> AsyncGenerator[bytes, None]:
    """The SSE body: missed events first (or a reset), then live events, with keep-alive comments.

    The client is subscribed while its stream runs (the caller checked `hub.admit` first). A client dropped for
    falling behind sees its stream end; the browser reconnects with its Last-Event-ID and resumes from the ring.
    """
    sub = hub.subscribe(types, address)
    try:
        yield opening(hub, sub, last_event_id)
        while True:
            chunk = await sub.next_chunk()
            if chunk is None:
                return
            yield chunk or KEEP_ALIVE
    finally:
        hub.unsubscribe(sub)
