"""The alert engine: the pipeline's DetectionSink. Inside the caller's transaction it applies detections to alerts
(model), records them with their audit entries (storage), runs the notification stages and queues what survives in the
outbox — so alert changes, audit log and notifications commit atomically with the readings that caused them.

Every method that changes alerts returns the `AlertChanged` events of its changes; the caller publishes them once its
transaction has committed (the pipeline, the ticker, delivery and the officers' actions each own theirs), so no
listener ever hears of a change that was rolled back.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from tichwatch.alerts import model, outbox, roster_store, stages, storage
from tichwatch.alerts.channels.base import Message
from tichwatch.alerts.clocks import SubjectClocks
from tichwatch.alerts.metrics import AlertMetrics
from tichwatch.alerts.model import SYSTEM, Alert, AuditEntry, Change, HoldPolicy
from tichwatch.alerts.stages import Candidate, StageContext
from tichwatch.alerts.storage import rows_of
from tichwatch.alerts.views import alert_document
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Detection
from tichwatch.core.events import AlertChanged
from tichwatch.store.database import Connection

log = logging.getLogger(__name__)

Compose = Callable[[Candidate, float], Message]
"""Renders a candidate's message."""
Recorder = Callable[[Connection, Change, float], None]
"""Records something more of an alert change in its transaction (e.g. the public feeds issue its CAP message)."""


class AlertEngine:
    """Detections → alert changes → notification stages → outbox, all in the caller's transaction."""

    def __init__(self, settings: Settings, compose: Compose, metrics: AlertMetrics):
        self.settings = settings
        self._compose = compose
        self._metrics = metrics
        a = settings.alerts
        self.policy = HoldPolicy(a.resolve_hold_s, a.flap_window_s, a.flap_max_clears)
        self.recorders: list[Recorder] = []
        """Called with every recorded change, inside its transaction, after its audit entries are written."""
        self.clocks = SubjectClocks()
        """Each subject's readings' time, on which holds run."""

    def apply(self, conn: Connection, detections: Sequence[Detection], now: float,
              observed: Mapping[str, float] | None = None) -> list[AlertChanged]:
        """Act on detections, one after the other, on the readings' clock; returns the changes, to publish after the
        commit.

        Before a detection, its key's hold that ran out by the detection's time resolves (at the hold's end), so a
        backlog in which a level clears and comes back hours later is two episodes, as it was on the river. After
        them, the holds of the subjects in `observed` (subject → its newest reading time in the batch, given whether
        or not anything was detected) that ran out by then resolve too. Notifications go out once per batch, for each
        alert as the batch left it: an alert that opened and resolved within one batch (a backlog) is recorded and
        audited but not announced as if it were current."""
        query = rows_of(conn)
        if observed:
            self.clocks.note(observed, now)
        batch = _Batch()
        for d in detections:
            alert = storage.open_alert(query, d.kind, d.subject)
            if alert is not None and alert.resolve_after_ts is not None and d.ts >= alert.resolve_after_ts:
                batch.add(self.record(conn, alert, model.hold_expired(alert, d.ts, now), now))
                alert = None
            clears = 0 if alert is None or d.active else storage.clears_since(
                query, d.kind, d.subject, d.ts - self.settings.alerts.flap_window_s)
            batch.add(self.record(conn, alert, model.on_detection(alert, d, now, self.policy, clears), now))
        for alert in storage.clearing_alerts(query, sorted(observed or {})):
            batch.add(self.record(conn, alert, model.hold_expired(alert, (observed or {})[alert.subject], now), now))
        self._announce(conn, batch, now)
        return batch.events

    def record(self, conn: Connection, before: Alert | None,
               change: Change, now: float) -> tuple[Alert | None, Alert, AlertChanged] | None:
        """Record a change of the alert `before` (None: a new one) and its audit entries, without notifying; returns
        (before, after, its event), None when nothing changed."""
        if change.alert is None:
            return None
        storage.save_alert(conn, change.alert)
        storage.add_audit(conn, change.audit)
        for record in self.recorders:
            record(conn, change, now)
        return before, change.alert, alert_changed(before, change.alert, change.audit, now)

    def commit(self, conn: Connection, before: Alert | None, change: Change,
               now: float) -> list[AlertChanged]:
        """Record a change of the alert `before` (None: a new one) and its audit entries, then notify about it;
        returns its event (none when nothing changed), to publish after the commit."""
        done = self.record(conn, before, change, now)
        if done is None:
            return []
        self.notify(conn, [done[1]], now)
        return [done[2]]

    def _announce(self, conn: Connection, batch: _Batch, now: float) -> None:
        """Notify about each alert a batch changed, as the batch left it; an episode that began and ended within
        the batch gets an audit entry saying why nobody was told."""
        within = [a for a in batch.final.values() if a.id in batch.opened and not a.open]
        storage.add_audit(conn, [AuditEntry(now, "not_notified", SYSTEM, BACKLOG_EPISODE,
                                            {"started_ts": a.started_ts, "resolved_ts": a.resolved_ts},
                                            alert_id=a.id) for a in within])
        told = {a.id for a in within}
        self.notify(conn, [a for a in batch.final.values() if a.id not in told], now)

    def reevaluate(self, conn: Connection, holds: Callable[[str, str], bool | None],
                   now: float) -> list[AlertChanged]:
        """After a restart: put each open alert to its detector (`holds(kind, subject)`: does it hold the condition
        now? None when it cannot tell) and resolve those it no longer holds (see `model.reevaluated`); returns the
        changes, to publish after the commit."""
        changed: list[AlertChanged] = []
        for alert in storage.open_alerts(rows_of(conn)):
            verdict = holds(alert.kind, alert.subject)
            if verdict is not None:
                changed.extend(self.commit(conn, alert, model.reevaluated(alert, verdict, now), now))
        return changed

    def tick(self, conn: Connection, now: float) -> list[AlertChanged]:
        """Time passes: resolve alerts whose hold ran out on their subject's clock (its readings' time, going on
        at the wall clock's pace while it is silent: `SubjectClocks`), record lapsed silences, send due repeats and
        escalations (wall clock: they are about people); returns the alert changes, to publish after the commit."""
        query = rows_of(conn)
        changed: list[AlertChanged] = []
        for alert in storage.open_alerts(query):
            if alert.resolve_after_ts is None:
                continue
            latest = self.clocks.latest(alert.subject)
            clock = "readings" if latest is not None and latest >= alert.resolve_after_ts else "wall"
            changed.extend(self.commit(conn, alert, model.hold_expired(alert, self.clocks.at(alert.subject, now),
                                                                       now, clock), now))
        for s in storage.lapsed_silences(query, now):
            expired, entry = model.expire_silence(s, now, SYSTEM, "its end time passed")
            storage.save_silence(conn, expired)
            storage.add_audit(conn, [entry])
        self.notify(conn, storage.open_alerts(query), now)
        return changed

    def notify(self, conn: Connection, alerts: Sequence[Alert], now: float) -> None:
        """Run the stages for these alerts and queue the notifications that survive them."""
        if not alerts:
            return
        query = rows_of(conn)
        ctx = StageContext(now, self.settings.alerts, self.settings.timezone, lambda: storage.open_alerts(query),
                           storage.live_silences(query, now), outbox.last_sent(query, [a.id for a in alerts]),
                           lambda: roster_store.for_routing(query, now))
        result = stages.run(alerts, ctx)
        for drop in result.dropped:
            self._metrics.dropped.labels(drop.stage).inc()
            log.debug("not notifying %s about %s (%s): %s", drop.receiver, drop.alert_id, drop.stage, drop.reason)
        for c in result.kept:
            channel = c.receiver.channel.type
            outbox.enqueue(conn, c, channel, self._compose(c, now), alert_document(c.alert, self.settings), now)
            self._metrics.queued.labels(channel).inc()


BACKLOG_EPISODE = ("opened and resolved within one batch of late readings (a backlog): recorded, not announced as "
                   "current")
"""Why nobody was told of an alert that began and ended inside one batch."""


class _Batch:
    """What one `apply` changed: the events in order, each alert as the batch left it, the alerts it opened."""

    def __init__(self) -> None:
        self.events: list[AlertChanged] = []
        self.final: dict[str, Alert] = {}
        self.opened: set[str] = set()

    def add(self, done: tuple[Alert | None, Alert, AlertChanged] | None) -> None:
        """Take one recorded change (None: nothing changed)."""
        if done is None:
            return
        before, after, event = done
        self.events.append(event)
        self.final[after.id] = after
        if before is None:
            self.opened.add(after.id)


def alert_changed(before: Alert | None, after: Alert, audit: Sequence[AuditEntry], now: float) -> AlertChanged:
    """The event of a recorded change, named after its last audit entry (a clear that resolves at once: 'resolved')."""
    last = audit[-1] if audit else None
    return AlertChanged(after.id, after.kind, after.subject, before.state.value if before is not None else None,
                        after.state.value, int(after.severity), last.action if last else "updated",
                        last.actor if last else SYSTEM, last.ts if last else now)
