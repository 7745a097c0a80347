"""The event bus: producers publish committed changes, listeners subscribe by event type.

Synchronous: `publish` calls the listeners on the publisher's thread, in subscription order, so listeners must be
cheap (enqueue, append to a spool, wake a thread). Each call is wrapped: a listener that raises is logged and counted
and the others still run; the publisher never sees the error. Subscribing and unsubscribing are safe from any thread,
also while an event is being published (that publication goes on with the listeners it started with).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from tichwatch.core.events import Event

log = logging.getLogger(__name__)

E = TypeVar("E")

Unsubscribe = Callable[[], None]
"""Ends one subscription; calling it again does nothing."""


class _Subscription:
    """One `subscribe` call (its own object, so the same callback subscribed twice is two subscriptions)."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[Any], None]):
        self.callback = callback


class EventBus:
    """Fans each published event out to the listeners of its exact type."""

    def __init__(self, on_failure: Callable[[], None] | None = None):
        self._on_failure = on_failure
        self._lock = threading.Lock()
        # Copy-on-write tuples: `publish` reads one without the lock and is never disturbed by a (un)subscribe.
        self._subscriptions: dict[type, tuple[_Subscription, ...]] = {}
        self._failures = 0

    @property
    def failures(self) -> int:
        """How many listener calls have raised since the bus was made."""
        return self._failures

    def subscribe(self, event_type: type[E], callback: Callable[[E], None]) -> Unsubscribe:
        """Call `callback` with every event of `event_type` published from now on; returns the unsubscribe function."""
        sub = _Subscription(callback)
        with self._lock:
            self._subscriptions[event_type] = (*self._subscriptions.get(event_type, ()), sub)

        def unsubscribe() -> None:
            with self._lock:
                subs = self._subscriptions.get(event_type, ())
                self._subscriptions[event_type] = tuple(s for s in subs if s is not sub)
        return unsubscribe

    def publish(self, event: Event) -> None:
        """Hand a committed change to its listeners; a listener's exception is logged and counted, never raised."""
        for sub in self._subscriptions.get(type(event), ()):
            try:
                sub.callback(event)
            except Exception:
                self._failed(sub.callback, event)

    def publish_all(self, events: Iterable[Event]) -> None:
        """Publish events in order."""
        for event in events:
            self.publish(event)

    def _failed(self, callback: Callable[[Any], None], event: Event) -> None:
        with self._lock:
            self._failures += 1
        name = getattr(callback, "__qualname__", type(callback).__name__)
        log.exception("a listener of %s failed (%s); the other listeners still ran", type(event).__name__, name)
        if self._on_failure is not None:
            try:
                self._on_failure()
            except Exception:  # counting must not become the failure that reaches the publisher
                log.exception("counting a listener failure failed")
