"""The bulletin desk: drafts bulletins from live data (on demand and on the schedule), takes edits, approvals and
publications through the workflow with an audit log, draws the pictures, synthesises the audio and queues the
deliveries in the alerts' outbox (whose dispatchers send them)."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tichwatch.alerts.outbox import Outbox, of_bulletin
from tichwatch.alerts.storage import rows_of
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.config.schema import Settings
from tichwatch.core.events import BulletinChanged
from tichwatch.residents.bulletins import storage, workflow
from tichwatch.residents.bulletins.compose import LANGUAGES, compose_bulletin, compose_radio_script
from tichwatch.residents.bulletins.files import BulletinFiles
from tichwatch.residents.bulletins.gather import (
    FloodStatusSource,
    ReadingLink,
    StationsNow,
    gather_snapshot,
    public_alerts,
)
from tichwatch.residents.bulletins.publishing import UNFIT_CHANNELS, legacy_retries, queue_deliveries
from tichwatch.residents.bulletins.schedule import is_due, is_emergency
from tichwatch.residents.bulletins.snapshot import BulletinKind
from tichwatch.residents.bulletins.storage import Search
from tichwatch.residents.bulletins.views import bulletin_document, delivery_document
from tichwatch.residents.bulletins.workflow import (
    Authority,
    BulletinRecord,
    BulletinState,
    EmergencyRule,
    LogEntry,
    Origin,
    Step,
    WorkflowError,
)
from tichwatch.residents.speech import SpeechUnavailable, spoken
from tichwatch.residents.subscriptions.sending import summary as residents_told
from tichwatch.store.database import Connection
from tichwatch.store.leases import Lease, always_held
from tichwatch.store.store import Store

log = logging.getLogger(__name__)

SCHEDULE_ACTOR = "schedule"
"""The actor of bulletins the schedule makes (and publishes, for emergencies without approval)."""

Announce = Callable[[BulletinChanged], None]
"""Where the desk tells of each committed step (the event bus: the live stream and the desk's page listen)."""


class BulletinDesk:
    """Bulletins of one deployment: the workflow's I/O, the schedule thread and the files."""

    def __init__(self, settings: Settings, bulletins: BulletinSettings, store: Store, reading_link: ReadingLink,
                 clock: Callable[[], float] = time.time, flood: FloodStatusSource | None = None,
                 *, outbox: Outbox, stations: StationsNow, announce: Announce = lambda event: None):
        self.settings = settings
        self.bulletins = bulletins
        self.store = store
        self.reading_link = reading_link
        self.clock = clock
        self.flood = flood
        self.stations = stations  # the registry's, never the file's list: bulletins cite the levels in force
        self.outbox = outbox
        self.announce = announce
        self.files = BulletinFiles(store.data_dir)
        self._stop = threading.Event()
        self.lease: Lease = always_held
        """Whether this node runs the schedule now (several nodes on one database: the lease's holder only)."""
        self._thread: threading.Thread | None = None

    # -- workflow -----------------------------------------------------------------------------------------------
    def create(self, actor: str, origin: Origin = "demand", kind: BulletinKind | None = None,
               channels: Sequence[str] | None = None) -> BulletinRecord:
        """Draft a bulletin from the data of now (kind: emergency while a flood alert at the hourly level is open)."""
        now = self.clock()
        snap = gather_snapshot(self.settings, self.bulletins, self.store, now, self.reading_link, self.flood, kind,
                               stations=self.stations())
        composed = {lang: compose_bulletin(snap, lang) for lang in LANGUAGES}
        chosen = list(self.bulletins.channels if channels is None else channels)
        self._check_receivers(chosen)
        step = workflow.draft(composed, compose_radio_script(snap), origin, chosen, now, actor)
        self.files.write_pictures(composed)
        with self.store.transaction() as conn:
            storage.save(conn, step.record, step.log)
        self._announce(step.record, "created", actor, now)
        return step.record

    def _announce(self, record: BulletinRecord, action: str, actor: str, now: float) -> None:
        """Tell the bus of a committed step."""
        self.announce(BulletinChanged(record.id, action, record.state.value, actor, now))

    def _check_receivers(self, names: Sequence[str]) -> None:
        """ValueError for names that are not receivers able to take a bulletin."""
        fit = [r.name for r in self.settings.alerts.receivers if r.channel.type not in UNFIT_CHANNELS]
        unknown = [n for n in names if n not in fit]
        if unknown:
            raise ValueError(f"these are not receivers that can take a bulletin: {unknown}; configured: {fit}")

    def edit(self, bulletin_id: str, changes: Mapping[str, str], actor: str) -> BulletinRecord:
        """Change texts of an unpublished bulletin (an approved one goes back to draft)."""
        now = self.clock()
        with self.store.transaction() as conn:
            done = _apply(conn, bulletin_id, lambda r: workflow.edit(r, changes, now, actor))
        if done.log:
            self._announce(done.record, "edited", actor, now)
        return done.record

    def approve(self, bulletin_id: str, actor: str) -> BulletinRecord:
        """An officer approves a draft: never one who wrote or edited it (NotPermitted). The caller checks the role."""
        now = self.clock()
        with self.store.transaction() as conn:
            log = storage.log_of(rows_of(conn), bulletin_id)
            done = _apply(conn, bulletin_id, lambda r: workflow.approve(r, now, actor, workflow.authors(r, log)))
        self._announce(done.record, "approved", actor, now)
        return done.record

    def authors(self, record: BulletinRecord) -> frozenset[str]:
        """Who wrote the bulletin's texts (its author and its editors): none of them may approve it."""
        return workflow.authors(record, self.log_of(record.id))

    def emergency_rule(self) -> EmergencyRule:
        """The emergency rule now: the open flood alerts at the hourly level or above, and the deployment's
        setting for publishing without approval."""
        alerts = public_alerts(self.store, self.bulletins.public_kinds)
        urgent = tuple(a.id for a in alerts if is_emergency([(a.kind, a.level)], self.bulletins.hourly_from_level))
        return EmergencyRule(urgent, self.bulletins.emergency_without_approval)

    def publish(self, bulletin_id: str, actor: str, officer: bool,
                channels: Sequence[str] | None = None) -> BulletinRecord:
        """Publish an approved bulletin, or an emergency draft under the emergency rule (workflow.
        publishing_authority: WorkflowError or NotPermitted saying why not); `officer`: the person has the officer
        role. See `_publish` for what publishing does."""
        before = self.get(bulletin_id)
        if before is None:
            raise KeyError(bulletin_id)
        rule = self.emergency_rule()
        return self._publish(before, actor, workflow.publishing_authority(before, officer, rule), rule, channels)

    def _publish(self, before: BulletinRecord, actor: str, authority: Authority, rule: EmergencyRule,
                 channels: Sequence[str] | None) -> BulletinRecord:
        """Publish (feeds at once) and, in the same transaction, queue a delivery per receiver in the outbox; sends
        nothing itself. The radio audio is synthesised before that transaction (like evidence files), so the link
        every delivery carries works when it arrives."""
        now = self.clock()
        if channels is not None:
            self._check_receivers(channels)

        def step(r: BulletinRecord) -> Step:
            return workflow.publish(r, r.channels if channels is None else channels, now, actor, authority, rule)

        bulletin_id = before.id
        step(before)  # refused here (WorkflowError) before any audio is made
        entries = self._synthesise(before, now, actor)
        spoken_script = before.content["radio_vi"]

        def checked_step(r: BulletinRecord) -> Step:
            if r.content["radio_vi"] != spoken_script or r.state is not before.state:
                raise WorkflowError("the bulletin was changed while publishing: publish again", "changed")
            return step(r)

        with self.store.transaction() as conn:
            record = _apply(conn, bulletin_id, checked_step).record
            targets = record.channels if channels is None else channels
            entries += queue_deliveries(conn, self.outbox, record, targets, self.settings.alerts,
                                        self.document(record), self.settings.language, now, actor)
            storage.add_log(conn, record.id, entries)
        self.outbox.wake()
        self._announce(record, "published", actor, now)
        return record

    def retry(self, bulletin_id: str, receiver: str, actor: str) -> bool:
        """Queue a published bulletin's failed delivery to a receiver again (logged `retry_requested`); True when
        queued, False when one is waiting already (asking twice queues once). KeyError without the bulletin,
        WorkflowError when there is nothing to retry, ValueError when the receiver cannot take bulletins any more."""
        now = self.clock()
        with self.store.transaction() as conn:  # one writer at a time: two requests cannot both see "failed"
            record = storage.get(rows_of(conn), bulletin_id)
            if record is None:
                raise KeyError(bulletin_id)
            latest = {r["receiver"]: r for r in of_bulletin(rows_of(conn), bulletin_id)}.get(receiver)
            if not workflow.retry_needed(record, latest["state"] if latest else None, receiver):
                return False
            assert latest is not None  # retry_needed refuses a receiver without a delivery
            self._check_receivers([receiver])
            entries = [LogEntry(now, actor, "retry_requested", {"receiver": receiver,
                                                                "after_attempts": latest["attempts"]})]
            entries += queue_deliveries(conn, self.outbox, record, [receiver], self.settings.alerts,
                                        self.document(record), self.settings.language, now, actor)
            storage.add_log(conn, record.id, entries)
        self.outbox.wake()
        self._announce(record, "retry_requested", actor, now)
        return True

    def audio_preview(self, record: BulletinRecord) -> Path:
        """The radio audio of a bulletin: the published one, or a preview of a draft's script as it is now
        (SpeechUnavailable when espeak-ng or sox is missing or fails)."""
        published = self.files.path(record.id, f"radio.{self.bulletins.audio_format}")
        if record.state is BulletinState.PUBLISHED and published.exists():
            return published
        return self.files.audio_preview(record.id, spoken(record.content["radio_vi"]), self.bulletins.audio_format,
                                        self.bulletins.speech_rate_wpm)

    def _synthesise(self, record: BulletinRecord, now: float, actor: str) -> list[LogEntry]:
        """Write the radio audio of a bulletin (when the deployment makes audio); the log entry saying how it went."""
        if not self.bulletins.audio:
            return []
        try:
            self.files.write_audio(record.id, spoken(record.content["radio_vi"]), self.bulletins.audio_format,
                                   self.bulletins.speech_rate_wpm)
            return [LogEntry(now, actor, "audio_ready", {"format": self.bulletins.audio_format})]
        except SpeechUnavailable as exc:
            log.warning("bulletin %s: no radio audio: %s", record.id, exc)
            return [LogEntry(now, actor, "audio_failed", {"detail": str(exc)})]

    # -- reading ------------------------------------------------------------------------------------------------
    def get(self, bulletin_id: str) -> BulletinRecord | None:
        """A bulletin in any state, or None."""
        return storage.get(self.store.query_all, bulletin_id)

    def published(self, limit: int = 50, after: tuple[object, ...] | None = None,
                  search: Search | None = None) -> list[BulletinRecord]:
        """Published bulletins, newest first (continuing after a (published_ts, id) key), those `search` finds."""
        return storage.published(self.store.query_all, limit, after, search, self.store.dialect)

    def unpublished(self, limit: int = 50) -> list[BulletinRecord]:
        """Drafts and approved bulletins, newest first."""
        return storage.unpublished(self.store.query_all, limit)

    def log_of(self, bulletin_id: str) -> list[LogEntry]:
        """A bulletin's audit log, oldest first."""
        return storage.log_of(self.store.query_all, bulletin_id)

    def deliveries(self, bulletin_id: str) -> dict[str, Any]:
        """A bulletin's delivery state, read from the outbox: overall and per receiver (waiting, sent, failed), and
        the messages to subscribed residents counted by channel and state (`residents`, counts only)."""
        return {**delivery_document(self.outbox.bulletin_deliveries(bulletin_id), self.settings.timezone),
                "residents": residents_told(self.store.query_all, bulletin_id=bulletin_id)}

    def document(self, record: BulletinRecord) -> dict[str, Any]:
        """A bulletin's JSON document."""
        return bulletin_document(record, self.settings.http.public_url, self.settings.timezone,
                                 self.bulletins.audio_format)

    # -- schedule -----------------------------------------------------------------------------------------------
    def tick(self) -> BulletinRecord | None:
        """Draft the scheduled bulletin when one is due (publishing it at once when it is an emergency bulletin and
        the deployment allows that); return it, or None when none was due."""
        now = self.clock()
        rule = self.emergency_rule()
        last = storage.last_scheduled_ts(self.store.query_all)
        if not is_due(now, last, rule.in_force, self.bulletins.daily_local, self.settings.timezone):
            return None
        record = self.create(SCHEDULE_ACTOR, "schedule", "emergency" if rule.in_force else "routine")
        if rule.in_force and rule.without_approval:
            record = self._publish(record, SCHEDULE_ACTOR, "emergency", rule, None)
        return record

    def start(self) -> None:
        """Run the schedule in a background thread until stop() (after taking over deliveries an older version
        left to retry)."""
        self.adopt_legacy_retries()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bulletin-schedule", daemon=True)
        self._thread.start()

    def adopt_legacy_retries(self, within_s: float = 2 * 86400) -> int:
        """Queue in the outbox the deliveries the retry mechanism before it still owed (bulletins published within
        `within_s`; that mechanism gave up after hours); a bulletin with outbox rows already is left alone. Returns
        how many were queued."""
        now, queued = self.clock(), 0
        for record in storage.published(self.store.query_all, limit=500):
            if record.published_ts is not None and record.published_ts < now - within_s:
                break
            if self.outbox.bulletin_deliveries(record.id):
                continue
            owed = legacy_retries(self.log_of(record.id))
            if not owed:
                continue
            with self.store.transaction() as conn:
                entries = queue_deliveries(conn, self.outbox, record, owed, self.settings.alerts,
                                           self.document(record), self.settings.language, now, "upgrade")
                storage.add_log(conn, record.id, entries)
            queued += len(owed)
            log.warning("bulletin %s: %d delivery(ies) the previous version still had to retry are now queued in the "
                        "outbox", record.id, len(owed))
        if queued:
            self.outbox.wake()
        return queued

    def _run(self) -> None:
        while not self._stop.wait(self.bulletins.tick_interval_s):
            try:
                if self.lease():
                    self.tick()
            except Exception:  # a failed bulletin must not end the schedule; the next tick tries again
                log.exception("scheduled bulletin failed")

    def stop(self) -> None:
        """Stop the schedule thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def _apply(conn: Connection, bulletin_id: str, step: Callable[[BulletinRecord], Step]) -> Step:
    """Apply a workflow step to the stored bulletin in the caller's transaction (KeyError when there is none)."""
    record = storage.get(rows_of(conn), bulletin_id)
    if record is None:
        raise KeyError(bulletin_id)
    done = step(record)
    storage.save(conn, done.record, done.log)
    return done
