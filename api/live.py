"""Live updates: a bounded ring of events (readings, detections, alert changes) fanned out to Server-Sent Events.

Producers are worker threads; consumers are SSE responses on the asyncio loop. Event ids are "<boot>-<n>", so a client
resuming with a Last-Event-ID from before a restart, or older than the ring, is told to reload (`event: reset`).
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, AsyncIterator


@dataclass(frozen=True)
class LiveEvent:
    """One event of the stream."""

    seq: int
    type: str  # "reading", "detection", "alert", "camera"
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
        try:
            await asyncio.wait_for(changed.wait(), timeout_s)
        except asyncio.TimeoutError:
            pass


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
