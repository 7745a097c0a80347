"""The alert engine: the pipeline's DetectionSink. Inside the caller's transaction it applies detections to alerts
(model), records them with their audit entries (storage), runs the notification stages and queues what survives in the
outbox — so alert changes, audit log and notifications commit atomically with the readings that caused them.
"""
from __future__ import annotations

import logging
import sqlite3
from typing import Callable, Sequence

from tichwatch.alerts import model, outbox, stages, storage
from tichwatch.alerts.channels.base import Message
from tichwatch.alerts.metrics import AlertMetrics
from tichwatch.alerts.model import Alert, Change, HoldPolicy, SYSTEM
from tichwatch.alerts.stages import Candidate, StageContext
from tichwatch.alerts.storage import rows_of
from tichwatch.alerts.views import alert_document
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Detection

log = logging.getLogger(__name__)

Compose = Callable[[Candidate, float], Message]
"""Renders a candidate's message."""


class AlertEngine:
    """Detections → alert changes → notification stages → outbox, all in the caller's transaction."""

    def __init__(self, settings: Settings, compose: Compose, metrics: AlertMetrics):
        self.settings = settings
        self._compose = compose
        self._metrics = metrics
        a = settings.alerts
        self.policy = HoldPolicy(a.resolve_hold_s, a.flap_window_s, a.flap_max_clears)

    def apply(self, conn: sqlite3.Connection, detections: Sequence[Detection], now: float) -> None:
        """Act on detections, one after the other (each change is notified before the next one is applied)."""
        query = rows_of(conn)
        for d in detections:
            alert = storage.open_alert(query, d.kind, d.subject)
            clears = 0 if alert is None or d.active else storage.clears_since(
                query, d.kind, d.subject, now - self.settings.alerts.flap_window_s)
            self.commit(conn, model.on_detection(alert, d, now, self.policy, clears), now)

    def commit(self, conn: sqlite3.Connection, change: Change, now: float) -> None:
        """Record a change and its audit entries, then notify about it."""
        if change.alert is None:
            return
        storage.save_alert(conn, change.alert)
        storage.add_audit(conn, change.audit)
        self.notify(conn, [change.alert], now)

    def tick(self, conn: sqlite3.Connection, now: float) -> None:
        """Time passes: resolve alerts whose hold ran out, record lapsed silences, send due repeats and escalations."""
        query = rows_of(conn)
        for alert in storage.open_alerts(query):
            self.commit(conn, model.hold_expired(alert, now), now)
        for s in storage.lapsed_silences(query, now):
            expired, entry = model.expire_silence(s, now, SYSTEM, "its end time passed")
            storage.save_silence(conn, expired)
            storage.add_audit(conn, [entry])
        self.notify(conn, storage.open_alerts(query), now)

    def notify(self, conn: sqlite3.Connection, alerts: Sequence[Alert], now: float) -> None:
        """Run the stages for these alerts and queue the notifications that survive them."""
        if not alerts:
            return
        query = rows_of(conn)
        ctx = StageContext(now, self.settings.alerts, self.settings.timezone, lambda: storage.open_alerts(query),
                           storage.live_silences(query, now), outbox.last_sent(query, [a.id for a in alerts]))
        result = stages.run(alerts, ctx)
        for drop in result.dropped:
            self._metrics.dropped.labels(drop.stage).inc()
            log.debug("not notifying %s about %s (%s): %s", drop.receiver, drop.alert_id, drop.stage, drop.reason)
        for c in result.kept:
            channel = c.receiver.channel.type
            outbox.enqueue(conn, c, channel, self._compose(c, now), alert_document(c.alert, self.settings), now)
            self._metrics.queued.labels(channel).inc()

