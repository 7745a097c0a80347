"""The alert runtime: builds the engine (the pipeline's DetectionSink), the channels and the delivery, and runs two
threads — a ticker that calls the engine's tick (repeats, escalation, holds, silence expiry) and a delivery worker that
drains the outbox. Tests drive `tick(now)` with their own clock instead of starting the threads.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Mapping, Sequence

from alerts import outbox
from alerts.ack_links import AckLinks, load_key
from alerts.channels.factory import build_channels
from alerts.channels.mqtt import Publish
from alerts.delivery import AfterSend, Delivery
from alerts.engine import AlertEngine
from alerts.metrics import AlertMetrics
from alerts.templates import Composer
from config.schema import Settings
from detectors.detection import Detection
from ingest.metrics import Metrics
from ingest.samples import Reading
from ingest.store import Store

log = logging.getLogger(__name__)


class AlertRuntime:
    """Alerts of one deployment: `engine` goes into the pipeline's sinks, `on_commit` into its listeners."""

    def __init__(self, settings: Settings, store: Store, metrics: Metrics, publish_mqtt: Publish | None = None,
                 clock: Callable[[], float] = time.time, env: Mapping[str, str] | None = None,
                 after_send: AfterSend | None = None):
        a = settings.alerts
        self.settings = settings
        self.store = store
        self.clock = clock
        self.ack_links = AckLinks(load_key(settings.store.data_dir, a.ack_link_key_env, env), a.ack_link_ttl_s,
                                  settings.http.public_url)
        self.composer = Composer(settings, self.ack_links.url)
        self.metrics = AlertMetrics(metrics.registry, lambda: outbox.backlog(store.query_all))
        self.engine = AlertEngine(settings, self.composer.compose, self.metrics)
        self.delivery = Delivery(store, a.delivery, build_channels(settings, publish_mqtt, env), self.engine,
                                 self.metrics, after_send)
        self._errors = metrics.errors
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def tick(self, now: float) -> None:
        """Run the time-driven parts at `now`, then deliver what is due."""
        with self.store.transaction() as conn:
            self.engine.tick(conn, now)
        self.delivery.drain(now)

    def wake(self) -> None:
        """Tell the delivery worker there is something new in the outbox (call after a commit)."""
        self._wake.set()

    def on_commit(self, readings: Sequence[Reading], detections: Sequence[Detection]) -> None:
        """Pipeline listener: detections were committed, so notifications may be waiting."""
        if detections:
            self.wake()

    def start(self) -> None:
        """Start the ticker and the delivery worker."""
        self._stop.clear()
        self.delivery.stopping.clear()
        self._threads = [threading.Thread(target=self._loop, args=(self._ticker_step, self._stop,
                                                                   self.settings.alerts.tick_interval_s),
                                          name="alerts-ticker", daemon=True),
                         threading.Thread(target=self._loop, args=(self._delivery_step, self._wake,
                                                                   self.settings.alerts.delivery.poll_interval_s),
                                          name="alerts-delivery", daemon=True)]
        for t in self._threads:
            t.start()
        self.wake()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop both threads (what is still in the outbox is delivered after the next start)."""
        self._stop.set()
        self.delivery.stopping.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout=timeout_s)
        self._threads = []

    def _ticker_step(self) -> None:
        with self.store.transaction() as conn:
            self.engine.tick(conn, self.clock())
        self.wake()

    def _delivery_step(self) -> None:
        self.delivery.drain(self.clock())

    def _loop(self, step: Callable[[], None], event: threading.Event, interval_s: float) -> None:
        """Run `step` every interval or when `event` is set, until stopped; an error is logged, never fatal."""
        while not self._stop.is_set():
            try:
                step()
            except Exception:
                self._errors.labels("alerts").inc()
                log.exception("alert runtime step failed; retrying")
            event.wait(interval_s)
            if event is self._wake:
                self._wake.clear()
