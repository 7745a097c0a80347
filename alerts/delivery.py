"""Delivery: drains the outbox through the channels, oldest first per receiver, with retries and exponential backoff,
per-receiver rate limits, and a `delivery.failed` alert (to the administrators' route) for a message that still fails
after its attempts. A message is marked sent only after its channel accepted it.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Callable, Mapping

from alerts import outbox
from alerts.channels.base import Channel, DeliveryResult, Notification
from alerts.engine import AlertEngine
from alerts.metrics import AlertMetrics
from alerts.settings import DeliverySettings
from detectors.detection import Detection, Severity
from ingest.store import Store

log = logging.getLogger(__name__)

FAILED_KIND = "delivery.failed"
"""Kind of the alert raised when a receiver cannot be reached; its subject is the receiver's name."""

BATCH = 200
"""Messages of one receiver read from the outbox at a time."""

AfterSend = Callable[[Notification, DeliveryResult], None]
"""Called after a channel answered and before the answer is recorded (a seam to test crashes in between)."""


class RateLimiter:
    """At most `limit` sends per receiver in any 60-second window."""

    def __init__(self, limit_of: Callable[[str], int]):
        self._limit_of = limit_of
        self._sent: dict[str, deque[float]] = {}

    def allow(self, receiver: str, channel: str, now: float) -> bool:
        """True (and counted) when the receiver may get a message now."""
        times = self._sent.setdefault(receiver, deque())
        while times and times[0] <= now - 60:
            times.popleft()
        if len(times) >= self._limit_of(channel):
            return False
        times.append(now)
        return True


class Delivery:
    """The outbox worker's work: deliver what is due."""

    def __init__(self, store: Store, settings: DeliverySettings, channels: Mapping[str, Channel], engine: AlertEngine,
                 metrics: AlertMetrics, after_send: AfterSend | None = None):
        self.store = store
        self.settings = settings
        self.channels = channels
        self.engine = engine
        self.metrics = metrics
        self.after_send = after_send
        self.limiter = RateLimiter(settings.rate_limits.for_channel)
        self.stopping = threading.Event()  # set while the service stops: a long drain gives up between messages
        self._lock = threading.Lock()

    def drain(self, now: float) -> int:
        """Deliver every due message, each receiver's in order; return how many were attempted."""
        with self._lock:
            return sum(self._drain_receiver(r, now) for r in outbox.waiting_receivers(self.store.query_all))

    def _drain_receiver(self, receiver: str, now: float) -> int:
        """Send a receiver's messages in order until one must wait (backoff or rate limit) or none is left."""
        attempted = 0
        while not self.stopping.is_set():
            batch = outbox.queue_of(self.store.query_all, receiver, BATCH)
            for p in batch:
                if p.next_attempt_ts > now or not self.limiter.allow(p.receiver, p.channel, now):
                    return attempted
                attempted += 1
                if self._deliver(p, now) == "pending" or self.stopping.is_set():
                    return attempted  # it waits for its retry; later messages wait too, to keep the order
            if len(batch) < BATCH:
                return attempted
        return attempted

    def _deliver(self, p: outbox.Pending, now: float) -> str:
        """One attempt at one message; returns the row's new state."""
        with self.store.transaction() as conn:
            n = outbox.begin_attempt(conn, p.id, now)
        result = self._send(n, p.channel)
        if self.after_send is not None:
            self.after_send(n, result)
        with self.store.transaction() as conn:
            state = outbox.record(conn, n, result, now, self.settings)
            if state == "failed":
                self.engine.apply(conn, [_failure(n, p.channel, result, now)], now)
            elif state == "sent":
                self.engine.apply(conn, [Detection(FAILED_KIND, n.receiver, now, False, reason="delivered again")],
                                  now)
        self.metrics.deliveries.labels(p.channel, "sent" if result.ok else "retry" if state == "pending"
                                       else "failed").inc()
        if state == "failed":
            self.metrics.delivery_failures.labels(p.channel).inc()
            log.error("notification %d to %s failed after %d attempts: %s", n.id, n.receiver, n.attempt,
                      result.detail)
        return state

    def _send(self, n: Notification, channel_type: str) -> DeliveryResult:
        """One attempt through the receiver's channel; a channel's unexpected exception counts as retryable."""
        channel = self.channels.get(n.receiver)
        if channel is None:
            return DeliveryResult.fail(f"receiver {n.receiver!r} is no longer configured")
        try:
            return channel.send(n)
        except Exception as exc:  # a bug in one channel must not stop the others
            self.metrics.deliveries.labels(channel_type, "error").inc()
            log.exception("channel %s raised while sending notification %d", n.receiver, n.id)
            return DeliveryResult.retry(f"channel error: {type(exc).__name__}")


def _failure(n: Notification, channel: str, result: DeliveryResult, now: float) -> Detection:
    """The detection that raises (or keeps) the receiver's delivery.failed alert."""
    return Detection(FAILED_KIND, n.receiver, now, True, Severity.WARNING, float(n.attempt), "attempts",
                     reason="message could not be delivered",
                     evidence={"receiver": n.receiver, "channel": channel, "error": result.detail,
                               "notification_id": n.id, "alert_id": n.alert_id, "attempts": n.attempt})
