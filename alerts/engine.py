"""The alert engine: the pipeline's DetectionSink. Inside the caller's transaction it applies detections to alerts
(model), records them with their audit entries (storage), runs the notification stages and queues what survives in the
outbox — so alert changes, audit log and notifications commit atomically with the readings that caused them.

Every method that changes alerts returns the `AlertChanged` events of its changes; the caller publishes them once its
transaction has committed (the pipeline, the ticker, delivery and the officers' actions each own theirs), so no
listener ever hears of a change that was rolled back.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence

from tichwatch.alerts import model, outbox, stages, storage
from tichwatch.alerts.channels.base import Message
from tichwatch.alerts.metrics import AlertMetrics
from tichwatch.alerts.model import SYSTEM, Alert, AuditEntry, Change, HoldPolicy
from tichwatch.alerts.stages import Candidate, StageContext
from tichwatch.alerts.storage import rows_of
from tichwatch.alerts.views import alert_document
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Detection
from tichwatch.core.events import AlertChanged

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

    def apply(self, conn: sqlite3.Connection, detections: Sequence[Detection], now: float) -> list[AlertChanged]:
        """Act on detections, one after the other (each change is notified before the next one is applied); returns
        the changes, to publish after the commit."""
        query = rows_of(conn)
        changed: list[AlertChanged] = []
        for d in detections:
            alert = storage.open_alert(query, d.kind, d.subject)
            clears = 0 if alert is None or d.active else storage.clears_since(
                query, d.kind, d.subject, now - self.settings.alerts.flap_window_s)
            changed.extend(self.commit(conn, alert, model.on_detection(alert, d, now, self.policy, clears), now))
        return changed

    def commit(self, conn: sqlite3.Connection, before: Alert | None, change: Change,
               now: float) -> list[AlertChanged]:
        """Record a change of the alert `before` (None: a new one) and its audit entries, then notify about it;
        returns its event (none when nothing changed), to publish after the commit."""
        if change.alert is None:
            return []
        storage.save_alert(conn, change.alert)
        storage.add_audit(conn, change.audit)
        self.notify(conn, [change.alert], now)
        return [alert_changed(before, change.alert, change.audit, now)]

    def tick(self, conn: sqlite3.Connection, now: float) -> list[AlertChanged]:
        """Time passes: resolve alerts whose hold ran out, record lapsed silences, send due repeats and escalations;
        returns the alert changes, to publish after the commit."""
        query = rows_of(conn)
        changed: list[AlertChanged] = []
        for alert in storage.open_alerts(query):
            changed.extend(self.commit(conn, alert, model.hold_expired(alert, now), now))
        for s in storage.lapsed_silences(query, now):
            expired, entry = model.expire_silence(s, now, SYSTEM, "its end time passed")
            storage.save_silence(conn, expired)
            storage.add_audit(conn, [entry])
        self.notify(conn, storage.open_alerts(query), now)
        return changed

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


def alert_changed(before: Alert | None, after: Alert, audit: Sequence[AuditEntry], now: float) -> AlertChanged:
    """The event of a recorded change, named after its last audit entry (a clear that resolves at once: 'resolved')."""
    last = audit[-1] if audit else None
    return AlertChanged(after.id, after.kind, after.subject, before.state.value if before is not None else None,
                        after.state.value, int(after.severity), last.action if last else "updated",
                        last.actor if last else SYSTEM, last.ts if last else now)
