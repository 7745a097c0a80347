"""Live updates: a bounded ring of events (readings, detections, alert changes) fanned out to Server-Sent Events.

The hub is fed by `follow`, a listener of the event bus: producers' worker threads publish committed changes there and
the listener only turns each into a small JSON document and appends it to the ring. Consumers are SSE responses on the
asyncio loop. Event ids are "<boot>-<n>", so a client resuming with a Last-Event-ID from before a restart, or older
than the ring, is told to reload (`event: reset`).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
from tichwatch.core.timefmt import iso_local, iso_utc


@dataclass(frozen=True)
class LiveEvent:
    """One event of the stream."""

    seq: int
    type: str  # "reading", "detection", "alert", "camera", "station", "bulletin"
    data: dict[str, Any]


class EventHub:
    """Keeps the last `capacity` events and wakes waiting SSE streams when one arrives."""

    def __init__(self, capacity: int = 5000, boot: str | None = None):
        self.boot = boot or str(int(time.time()))
        self._events: deque[LiveEvent] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach the asyncio loop that serves the streams (called at app start-up)."""
        self._loop = loop
        self._changed = asyncio.Event()

    def publish(self, type_: str, data: dict[str, Any]) -> None:
        """Add an event (any thread)."""
        with self._lock:
            self._seq += 1
            self._events.append(LiveEvent(self._seq, type_, data))
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    def event_id(self, event: LiveEvent) -> str:
        """The SSE id of an event."""
        return f"{self.boot}-{event.seq}"

    def since(self, last_event_id: str | None) -> tuple[list[LiveEvent], bool]:
        """Events after `last_event_id`, and whether the client missed some (must reload)."""
        with self._lock:
            events = list(self._events)
            current = self._seq
        if not last_event_id:
            return [], False
        boot, _, seq_text = last_event_id.partition("-")
        if boot != self.boot or not seq_text.isdigit() or int(seq_text) > current:
            return [], True
        seq = int(seq_text)
        if events and seq < events[0].seq - 1:
            return [], True
        return [e for e in events if e.seq > seq], False

    @property
    def last_seq(self) -> int:
        """The newest event's sequence number."""
        with self._lock:
            return self._seq

    async def wait(self, timeout_s: float) -> None:
        """Wait until a new event arrives or the timeout passes."""
        changed = self._changed
        if changed is None:
            await asyncio.sleep(timeout_s)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout_s)


def follow(bus: EventBus, hub: EventHub, timezone: str) -> Unsubscribe:
    """Put every committed change the bus reports on the live stream; returns the function that stops it."""
    def readings(e: ReadingsStored) -> None:
        for r in e.readings:
            hub.publish("reading", {"station_id": r.station_id, "ts": iso_utc(r.ts),
                                    "ts_local": iso_local(r.ts, timezone), "level_m": r.level_m})

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


def sse_format(event_id: str | None, type_: str, data: dict[str, Any]) -> str:
    """One SSE message."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {type_}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def stream(hub: EventHub, last_event_id: str | None, keepalive_s: float = 15.0,
                 types: frozenset[str] | None = None) -> AsyncIterator[str]:
    """The SSE body: missed events first (or a reset), then live events, with keep-alive comments."""
    missed, reset = hub.since(last_event_id)
    if reset:
        yield sse_format(None, "reset", {"reason": "events were missed; reload the page state"})
    last = missed[-1].seq if missed else (hub.last_seq if reset or not last_event_id else _seq(last_event_id))
    for e in missed:
        if types is None or e.type in types:
            yield sse_format(hub.event_id(e), e.type, e.data)
    yield "retry: 3000\n\n"
    while True:
        await hub.wait(keepalive_s)
        events, lost = hub.since(f"{hub.boot}-{last}")
        if lost:
            yield sse_format(None, "reset", {"reason": "the stream fell behind; reload the page state"})
            last = hub.last_seq
            continue
        if not events:
            yield ": keep-alive\n\n"
            continue
        for e in events:
            if types is None or e.type in types:
                yield sse_format(hub.event_id(e), e.type, e.data)
        last = events[-1].seq


def _seq(event_id: str) -> int:
    return int(event_id.partition("-")[2])
