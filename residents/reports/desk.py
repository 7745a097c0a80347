"""The report desk: queues reports (the schedule's weekly and monthly ones, and those officers ask for), makes them
one at a time in its own background thread (reads the rows, gathers the figures, renders the PDF and the DOCX,
stores the files), and deletes them after the retention period. Officers' requests are audited in the same
transaction that queues them."""
from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tichwatch.config.schema import Settings
from tichwatch.residents.bulletins.gather import StationsNow
from tichwatch.residents.reports import storage
from tichwatch.residents.reports.document import build
from tichwatch.residents.reports.gather import ReportData, gather
from tichwatch.residents.reports.period import Period, latest_monthly, latest_weekly, of_days
from tichwatch.residents.reports.render_docx import render_docx
from tichwatch.residents.reports.render_pdf import render_pdf
from tichwatch.residents.reports.rows import read_rows
from tichwatch.residents.reports.storage import ReportFiles, ReportRecord
from tichwatch.store.database import Connection
from tichwatch.store.leases import Lease, always_held
from tichwatch.store.store import Store

log = logging.getLogger(__name__)

SCHEDULE_ACTOR = "schedule"
"""Who asks for the scheduled reports."""
REQUESTED = "report.request"
"""The officer audit log's action for a report asked for on demand."""
Audit = Callable[[Connection, str, str, str, dict[str, Any], float], None]
"""Records an officer's action in the caller's transaction (api.audit.record)."""


class RequestRefused(ValueError):
    """A report asked for on demand cannot be queued (period too long, in the future, or too many waiting)."""


def summary(data: ReportData) -> dict[str, Any]:
    """The few figures a report's list entry shows."""
    total = data.total_response
    return {"alerts": data.alerts_total, "unacknowledged": total.unacknowledged,
            "median_ack_s": total.median_s, "bulletins": data.bulletins_published,
            "dust_episodes": sum(d.episodes for d in data.dust),
            "stations_availability": min((s.ratio for s in data.stations), default=None),
            "cameras_availability": min((c.ratio for c in data.cameras), default=None)}


class ReportDesk:
    """Reports of one deployment: the queue, the schedule, the worker thread and the files."""

    def __init__(self, settings: Settings, store: Store, stations: StationsNow, audit: Audit,
                 clock: Callable[[], float] = time.time):
        self.settings = settings
        self.reports = settings.reports
        self.store = store
        self.stations = stations  # the registry's, with the alarm levels in force
        self.audit = audit
        self.clock = clock
        self.files = ReportFiles(store.data_dir)
        self._stop = threading.Event()
        self.lease: Lease = always_held
        """Whether this node runs the schedule now (several nodes on one database: the lease's holder only)."""
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- queue ------------------------------------------------------------------------------------------------
    def _new(self, period: Period, origin: str, actor: str, now: float) -> ReportRecord:
        tz = self.settings.timezone
        first, last = period.first_day(tz), period.last_day(tz)
        rid = f"{period.kind}-{first:%Y%m%d}-{last:%Y%m%d}-{secrets.token_hex(3)}"
        return ReportRecord(rid, period.kind, "schedule" if origin == "schedule" else "demand", period.start_ts,
                            period.end_ts, "queued", now, actor)

    def request(self, first: date, last: date, actor: str) -> ReportRecord:
        """Queue a report of local days `first` to `last` (both included) for an officer, audited; RequestRefused
        when the period is longer than max_period_days, ends after today, or max_queued reports already wait."""
        now = self.clock()
        tz = self.settings.timezone
        today = datetime.fromtimestamp(now, ZoneInfo(tz)).date()
        if last < first:
            raise RequestRefused(f"the last day {last} is before the first day {first}")
        if (last - first).days + 1 > self.reports.max_period_days:
            raise RequestRefused(f"a report covers at most {self.reports.max_period_days} days")
        if last > today:
            raise RequestRefused(f"the last day {last} is after today ({today})")
        record = self._new(of_days(first, last, tz), "demand", actor, now)
        with self.store.transaction() as conn:
            waiting = conn.execute("SELECT COUNT(*) FROM reports WHERE state = 'queued' AND origin = 'demand'")
            if waiting.fetchone()[0] >= self.reports.max_queued:
                raise RequestRefused(f"{self.reports.max_queued} reports are already waiting; try again when they "
                                     "are made")
            storage.insert(conn, record)
            self.audit(conn, actor, REQUESTED, record.id, {"first_day": first.isoformat(),
                                                           "last_day": last.isoformat()}, now)
        self._wake.set()
        return record

    def due(self, now: float) -> list[Period]:
        """The scheduled periods whose report is due at `now` (the latest weekly and monthly slot)."""
        if not self.reports.enabled:
            return []
        tz = self.settings.timezone
        return ([latest_weekly(now, self.reports.weekly_local, tz)] if self.reports.weekly else []) + (
            [latest_monthly(now, self.reports.monthly_local, tz)] if self.reports.monthly else [])

    def schedule(self) -> list[ReportRecord]:
        """Queue the scheduled reports that are due and not queued or made yet; return those queued now."""
        now = self.clock()
        queued = []
        with self.store.transaction() as conn:
            for period in self.due(now):
                record = self._new(period, "schedule", SCHEDULE_ACTOR, now)
                if storage.insert(conn, record):
                    queued.append(record)
        return queued

    # -- making -----------------------------------------------------------------------------------------------
    def make(self, record: ReportRecord) -> ReportRecord:
        """Make a queued report: figures, PDF, DOCX, files; the row marked done (or failed, with the error)."""
        tz = self.settings.timezone
        try:
            rows = read_rows(self.store.query_all, record.period, tz, self.stations(), self.settings.cameras,
                             self.clock())
            data = gather(rows, self.reports.max_notable)
            now = self.clock()
            issued = datetime.fromtimestamp(now, ZoneInfo(tz)).date()
            # Drawn outside any transaction: the store's writer is never held while a report renders. One desk
            # thread makes reports, so the number read here is still free when the row takes it.
            number = (storage.next_number(self.store.query_all, issued.year) if self.reports.assign_numbers
                      else None)
            document = build(data, self.reports, issued, number, now, self.settings.language)
            pdf, pages = render_pdf(document)
            self.files.write(record.id, "pdf", pdf)
            self.files.write(record.id, "docx", render_docx(document))
            with self.store.transaction() as conn:
                storage.finish(conn, record.id, now, issued.year, number, pages, summary(data))
        except Exception as exc:  # a failed report is recorded and shown; the next one is still made
            log.exception("report %s failed", record.id)
            with self.store.transaction() as conn:
                storage.fail(conn, record.id, self.clock(), f"{type(exc).__name__}: {exc}")
        made = storage.get(self.store.query_all, record.id)
        assert made is not None
        return made

    def prune(self) -> int:
        """Delete the reports (rows and files) older than the retention period; how many."""
        gone = storage.expired(self.store.query_all, self.clock() - self.reports.retention_days * 86400.0)
        if gone:
            with self.store.transaction() as conn:
                storage.delete(conn, gone)
            for report_id in gone:
                self.files.remove(report_id)
        return len(gone)

    def tick(self) -> list[ReportRecord]:
        """Queue what the schedule owes, make every queued report, prune old ones; return the reports made."""
        self.schedule()
        made = [self.make(r) for r in storage.queued(self.store.query_all)]
        self.prune()
        return made

    # -- reading ----------------------------------------------------------------------------------------------
    def get(self, report_id: str) -> ReportRecord | None:
        """The report with this id, or None."""
        return storage.get(self.store.query_all, report_id)

    def newest(self, limit: int = 50, after: tuple[float, str] | None = None) -> list[ReportRecord]:
        """Reports, newest request first."""
        return storage.newest(self.store.query_all, limit, after)

    # -- running ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Run the schedule and the queue in a background thread until stop()."""
        self._stop.clear()  # the first tick after tick_interval_s: a slot missed while down is made up then
        self._thread = threading.Thread(target=self._run, name="report-desk", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.reports.tick_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if self.lease():
                    self.tick()
            except Exception:  # the next tick tries again
                log.exception("report schedule failed")

    def stop(self) -> None:
        """Stop the background thread (a report being made is finished first)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
