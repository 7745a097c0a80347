"""The alert runtime: builds the engine (the pipeline's DetectionSink), the officers' actions, the channels and the
delivery, and runs a ticker thread that calls the engine's tick (repeats, escalation, holds, silence expiry) and one
delivery thread per receiver. Tests drive `tick(now)` with their own clock instead of starting the threads.

Every alert change is published on the event bus after its commit, whoever made it (pipeline, ticker, delivery, an
officer); the runtime itself listens for them to wake delivery, since a change is what queues notifications.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager

from tichwatch.alerts import outbox, storage
from tichwatch.alerts.ack_links import AckLinks, load_key
from tichwatch.alerts.actions import AlertActions
from tichwatch.alerts.channels.factory import build_channels, deployment_redactor
from tichwatch.alerts.channels.mqtt import Publish
from tichwatch.alerts.delivery import AfterSend, Delivery
from tichwatch.alerts.engine import AlertEngine
from tichwatch.alerts.metrics import AlertMetrics
from tichwatch.alerts.templates import Composer
from tichwatch.alerts.workers import Worker
from tichwatch.config.schema import Settings
from tichwatch.core.bus import EventBus
from tichwatch.core.events import AlertChanged
from tichwatch.core.metrics import Metrics
from tichwatch.store.leases import Lease
from tichwatch.store.store import Store

log = logging.getLogger(__name__)

Judge = Callable[[str, str, float], "bool | None"]
"""A detector's verdict on an alert: does it hold (kind, subject) at this time? None when it cannot tell."""


def _verdict(judges: Sequence[Judge], kind: str, subject: str, now: float) -> bool | None:
    """The first verdict any judge gives (None when none can tell)."""
    return next((v for judge in judges if (v := judge(kind, subject, now)) is not None), None)


class AlertRuntime:
    """Alerts of one deployment: `engine` goes into the pipeline's sinks, `actions` serve the officers."""

    def __init__(self, settings: Settings, store: Store, metrics: Metrics, publish_mqtt: Publish | None = None,
                 clock: Callable[[], float] = time.time, env: Mapping[str, str] | None = None,
                 after_send: AfterSend | None = None, bus: EventBus | None = None):
        a = settings.alerts
        self.settings = settings
        self.store = store
        self.clock = clock
        self.bus = bus if bus is not None else EventBus(on_failure=metrics.errors.labels("listener").inc)
        """Where alert changes are published once committed."""
        self.ack_links = AckLinks(load_key(settings.store.data_dir, a.ack_link_key_env, env), a.ack_link_ttl_s,
                                  settings.http.public_url)
        self.composer = Composer(settings, self.ack_links.url)
        self.metrics = AlertMetrics(metrics.registry, lambda: outbox.backlog(store.query_all))
        self.engine = AlertEngine(settings, self.composer.compose, self.metrics)
        self.redactor = deployment_redactor(settings, env)
        """Hides receivers' addresses and channel secrets: public views and logs go through it."""
        on_error = metrics.errors.labels("alerts").inc
        self._on_error = on_error
        self.delivery = Delivery(store, a, build_channels(settings, publish_mqtt, self.redactor, env), self.engine,
                                 self.metrics, self.redactor, after_send, on_error, self.bus)
        self.actions = AlertActions(store, self.engine, self.bus, self.wake)
        """Acknowledge, comment, resolve, silences, acknowledge links: one transaction each."""
        self._ticker = Worker("alerts-ticker", self._ticker_step, a.tick_interval_s, on_error)
        self.bus.subscribe(AlertChanged, self._on_alert_changed)

    def use_leases(self, lease_of: Callable[[str], Lease]) -> None:
        """Run the ticker (escalation timers, holds) and each receiver's dispatcher only on the node holding its
        lease (several nodes on one database; before `start`)."""
        self._ticker.lease = lease_of("alerts-ticker")
        self.delivery.lease_of = lease_of

    def tick(self, now: float) -> None:
        """Run the time-driven parts at `now`, then deliver what is due."""
        self._tick(now)
        self.delivery.drain(now)

    def wake(self) -> None:
        """Tell the delivery threads there is something new in the outbox (call after a commit)."""
        self.delivery.wake()

    def _on_alert_changed(self, event: AlertChanged) -> None:
        """Bus listener: a committed alert change may have queued notifications."""
        self.wake()

    def reevaluate(self, judges: Sequence[Judge], lock: AbstractContextManager[object]) -> None:
        """After a restart, once the detectors are rebuilt: put every open alert to them and resolve those whose
        condition they no longer hold (audited; see `AlertEngine.reevaluate`). The verdicts are taken under the
        detectors' `lock`, before the transaction (never both at once); the changes are published after it."""
        now = self.clock()
        try:
            keys = {(a.kind, a.subject) for a in storage.open_alerts(self.store.query_all)}
            with lock:
                verdicts = {key: _verdict(judges, *key, now) for key in keys}
            with self.store.transaction() as conn:
                changed = self.engine.reevaluate(conn, lambda kind, subject: verdicts.get((kind, subject)), now)
        except Exception:  # the alerts stay as they were, to be cleared by their detectors: never a reason not to start
            self._on_error()
            log.exception("could not re-evaluate the open alerts after the restart")
            return
        if changed:
            log.info("restart: %d open alerts re-evaluated against the detectors' state", len(changed))
        self.bus.publish_all(changed)
        self.wake()

    def start(self) -> None:
        """Start the ticker and a delivery thread per receiver; each station's clock starts from its newest stored
        reading (and the wall time it came), so holds cleared before a restart run on from there."""
        now = self.clock()
        for sid, r in self.store.latest_readings().items():
            self.engine.clocks.note({sid: r.ts}, min(now, r.received_ts or now))
        self._ticker.start()
        self.delivery.start(self.clock)
        self.wake()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the threads (what is still in the outbox is delivered after the next start)."""
        self._ticker.stop(timeout_s)
        self.delivery.stop(timeout_s)

    def _ticker_step(self) -> None:
        self._tick(self.clock())
        self.wake()  # repeats and escalations are queued without any alert changing

    def _tick(self, now: float) -> None:
        """The engine's tick in one transaction; its alert changes published after the commit."""
        with self.store.transaction() as conn:
            changed = self.engine.tick(conn, now)
        self.bus.publish_all(changed)
