"""Delivery: drains the outbox (alert notifications and bulletin deliveries alike) through the channels with one
dispatcher per receiver (each with its own order, rate limit and, while the service runs, its own thread), retries
with exponential backoff, and a `delivery.failed` alert (to the administrators' route) for a message that still fails
after its attempts. A message is marked sent only after its channel accepted it; every error text is redacted before
it is stored, logged or put in an alert.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial

from tichwatch.alerts import outbox, storage
from tichwatch.alerts.channels.base import Channel, DeliveryResult, Notification
from tichwatch.alerts.dispatch import ReceiverDispatcher
from tichwatch.alerts.engine import AlertEngine
from tichwatch.alerts.metrics import AlertMetrics
from tichwatch.alerts.redaction import Redactor
from tichwatch.alerts.storage import rows_of
from tichwatch.alerts.workers import Worker
from tichwatch.config.alerts import AlertSettings, send_timeout_s
from tichwatch.core.bus import EventBus
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.events import AlertChanged, DeliveryRecorded
from tichwatch.store.database import Connection
from tichwatch.store.leases import Lease, always_held
from tichwatch.store.store import Store

log = logging.getLogger(__name__)

FAILED_KIND = "delivery.failed"
"""Kind of the alert raised when a receiver cannot be reached; its subject is the receiver's name."""
STOP_GRACE_S = 3.0
"""How long a stop waits for sends under way to answer (a hung receiver holds the stop this long, no longer)."""

AfterSend = Callable[[Notification, DeliveryResult], None]
"""Called after a channel answered and before the answer is recorded (a seam to test crashes in between)."""

Settle = Callable[[Connection, Notification, DeliveryResult, str, float], bool]
"""Called in the transaction that records an attempt (connection, notification, result, the row's new state, now),
e.g. to queue a fallback message; returns whether a failure should raise the delivery.failed alert."""


@dataclass(frozen=True)
class ExtraReceiver:
    """A receiver that is not in `alerts.receivers` (residents' ZNS and SMS senders): its channel, limits, what
    else is recorded with each attempt, and the name its delivery.failed alert carries."""

    channel: Channel
    channel_type: str
    timeout_s: float
    limit_per_min: int
    settle: Settle | None = None
    alert_as: str | None = None


class Delivery:
    """The outbox's delivery: a dispatcher per receiver; `drain(now)` steps them all (tests, the ticker), `start`
    gives each its own thread."""

    def __init__(self, store: Store, settings: AlertSettings, channels: Mapping[str, Channel], engine: AlertEngine,
                 metrics: AlertMetrics, redactor: Redactor, after_send: AfterSend | None = None,
                 on_error: Callable[[], None] = lambda: None, bus: EventBus | None = None):
        self.store = store
        self.bus = bus if bus is not None else EventBus()
        """Where the delivery.failed alert's changes are published, after their commit."""
        self.alerts = settings
        self.settings = settings.delivery
        self.channels = channels
        self.engine = engine
        self.metrics = metrics
        self.redactor = redactor
        self.after_send = after_send
        self._on_error = on_error
        self.dispatchers: dict[str, ReceiverDispatcher] = {}
        self._extras: dict[str, ExtraReceiver] = {}
        self._workers: dict[str, Worker] = {}
        self.lease_of: Callable[[str], Lease] = lambda _name: always_held
        """The lease of each receiver's dispatcher, by name (set by the service: `Leases.lease`)."""
        self._lock = threading.Lock()
        self.outbox = outbox.Outbox(store.query_all, metrics, redactor, self.wake)
        """Where other packages (the bulletin desk) queue what this delivery sends."""
        for r in settings.receivers:
            self.dispatcher(r.name)

    def dispatcher(self, receiver: str) -> ReceiverDispatcher:
        """The dispatcher of a receiver, made on first use (a receiver no longer configured gets one that fails
        its waiting messages)."""
        with self._lock:
            found = self.dispatchers.get(receiver)
            if found is None:
                cfg = self.alerts.receiver(receiver)
                kind = cfg.channel.type if cfg else "log"
                deadline_s = (send_timeout_s(cfg.channel) if cfg else 0.0) + self.settings.send_grace_s
                found = ReceiverDispatcher(receiver, self.channels.get(receiver), deadline_s,
                                           self.settings.rate_limits.for_channel(kind), self.store, self._record)
                self.dispatchers[receiver] = found
            return found

    def add_receiver(self, name: str, extra: ExtraReceiver) -> None:
        """Deliver a receiver that is not configured in `alerts.receivers` (before `start`)."""
        with self._lock:
            self._extras[name] = extra
            deadline_s = extra.timeout_s + self.settings.send_grace_s
            self.dispatchers[name] = ReceiverDispatcher(name, extra.channel, deadline_s, extra.limit_per_min,
                                                        self.store, self._record)

    def _receivers(self) -> list[str]:
        """Configured receivers, and any other with messages waiting (from before a configuration change)."""
        waiting = outbox.waiting_receivers(self.store.query_all)
        return list(dict.fromkeys([*self.dispatchers, *waiting]))

    def drain(self, now: float) -> int:
        """Step every receiver's dispatcher once at `now`; return how many attempts started. A receiver that does not
        answer holds this call for at most its send deadline; while the service runs each has its own thread."""
        return sum(self.dispatcher(r).step(lambda: now) for r in self._receivers())

    def start(self, clock: Callable[[], float]) -> None:
        """Give every receiver's dispatcher a thread of its own."""
        for name in self._receivers():
            d = self.dispatcher(name)
            d.resume()
            worker = Worker(f"alerts-delivery-{name}", partial(d.step, clock), self.settings.poll_interval_s,
                            self._on_error, wake=d.woken)
            worker.lease = self.lease_of(f"delivery:{name}")  # one node sends a receiver's queue, in order
            self._workers[name] = worker
            worker.start()

    def wake(self) -> None:
        """Tell every dispatcher there may be something new in the outbox."""
        for worker in list(self._workers.values()):
            worker.wake()

    def stop(self, timeout_s: float) -> None:
        """Stop every dispatcher between messages, then their threads (what is left is delivered after the next
        start). Sends under way get up to STOP_GRACE_S to answer first, so that what a provider has taken is
        recorded as sent and not sent again after a graceful restart; then waiting stops."""
        for d in list(self.dispatchers.values()):
            d.finish()
        end = time.monotonic() + min(STOP_GRACE_S, timeout_s)
        for worker in self._workers.values():
            worker.finish(max(0.0, end - time.monotonic()))
        for d in list(self.dispatchers.values()):
            d.interrupt()
        for worker in self._workers.values():
            worker.stop(timeout_s)
        self._workers = {}

    def _record(self, channel_type: str, n: Notification, result: DeliveryResult, now: float) -> str:
        """Record an attempt's (redacted) result; raise or resolve the receiver's delivery.failed alert."""
        result = replace(result, detail=self.redactor.text(result.detail))
        if self.after_send is not None:
            self.after_send(n, result)
        changed: list[AlertChanged] = []
        extra = self._extras.get(n.receiver)
        subject = extra.alert_as or n.receiver if extra is not None else n.receiver
        with self.store.transaction() as conn:
            state = outbox.record(conn, n, result, now, self.settings)
            alarm = state == "failed"
            if extra is not None and extra.settle is not None:
                alarm = extra.settle(conn, n, result, state, now) and alarm
            recovered = state == "sent" and storage.open_alert(rows_of(conn), FAILED_KIND, subject) is not None
            if alarm:
                changed = self.engine.apply(conn, [_failure(n, subject, channel_type, result, now)], now)
            elif recovered:
                changed = self.engine.apply(
                    conn, [Detection(FAILED_KIND, subject, now, False, reason="delivered again")], now)
        self.bus.publish_all(changed)
        about = outbox.source_of(n)
        self.bus.publish(DeliveryRecorded(n.id, n.receiver, state, about.get("alert_id"), about.get("bulletin_id"),
                                          now))
        outcome = ("sent" if result.ok else "failed" if state == "failed" else "unknown" if result.unknown
                   else "retry")
        self.metrics.deliveries.labels(channel_type, outcome).inc()
        if state == "failed":
            self.metrics.delivery_failures.labels(channel_type).inc()
            log.error("notification %d to %s failed after %d attempts: %s", n.id, n.receiver, n.attempt,
                      result.detail)
        if state == "failed" or recovered:
            self.wake()  # the administrators' notification about it is in the outbox now
        return state


def _failure(n: Notification, subject: str, channel: str, result: DeliveryResult, now: float) -> Detection:
    """The detection that raises (or keeps) the receiver's delivery.failed alert (subject: the receiver's name, or
    the name its senders share)."""
    return Detection(FAILED_KIND, subject, now, True, Severity.WARNING, float(n.attempt), "attempts",
                     reason="message could not be delivered",
                     evidence={"receiver": n.receiver, "channel": channel, "error": result.detail,
                               "notification_id": n.id, **outbox.source_of(n), "attempts": n.attempt})
