"""The retention worker: a thread that prunes the store at start and then every `store.retention_interval_h`.

One run goes through every sweep of tichwatch.store.pruning (readings, dust index, detections, evidence and its files,
frames of cameras no longer configured, delivered notifications, old audit, login failures, expired sessions, orphan
files). A failing sweep is logged and counted and the others still run; the thread never dies of an error. Runs never
overlap: the thread is the only caller of `tick`, and `run` refuses to start while another run is going.
Tests drive `tick(now)` / `run(now)` with their own clock instead of waiting.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tichwatch.store.leases import Lease, always_held
from tichwatch.store.pruning import SWEEPS
from tichwatch.store.retention_policy import Tally, retention_plan

if TYPE_CHECKING:
    from tichwatch.config.schema import Settings
    from tichwatch.core.metrics import Metrics
    from tichwatch.store.store import Store

log = logging.getLogger(__name__)

RETRY_S = 900.0
"""After a run with a failed sweep, the next run comes this soon (or at the interval, if shorter)."""
POLL_S = 60.0
"""The thread looks at the clock this often; it follows the injected clock rather than sleeping a whole interval, so
a clock jump (suspend, NTP step) delays a run by at most this much."""


class Stopped(Exception):
    """The worker is stopping: the sweep in progress is abandoned between two chunks."""


class RetentionWorker:
    """Prunes `store` per `settings.store`; `start()` / `stop()` run it on its own thread."""

    def __init__(self, settings: Settings, store: Store, metrics: Metrics,
                 clock: Callable[[], float] = time.time, pause_s: float = 0.05):
        self._store_settings = settings.store
        self._cameras = frozenset(c.id for c in settings.cameras)
        self._subscriptions = settings.subscriptions
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._pause_s = pause_s  # between chunks: the pipeline's next batch takes the writer lock in this gap
        self.interval_s = settings.store.retention_interval_h * 3600
        self.next_run_ts: float | None = None
        """When the next run is due (None: at the next tick, i.e. right after start)."""
        self.last_tally: Tally | None = None
        """What the last finished run removed."""
        self._running = threading.Lock()
        self._runs = 0
        self._finished = threading.Condition()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.lease: Lease = always_held
        """Whether this node runs retention now (several nodes on one database: the lease's holder only)."""

    # -- scheduling -------------------------------------------------------------------------------------------------
    def tick(self, now: float) -> Tally | None:
        """Run when due at `now`; return what the run removed, or None when nothing ran."""
        if self.next_run_ts is not None and now < self.next_run_ts:
            return None
        return self.run(now)

    def run(self, now: float) -> Tally | None:
        """One full run with limits computed at `now`; None when another run is in progress (runs never overlap)."""
        if not self._running.acquire(blocking=False):
            return None
        started = time.monotonic()
        try:
            total, failed, complete = self._sweep_all(now)
        finally:
            self._running.release()
        self._metrics.retention_duration.set(time.monotonic() - started)
        if complete and not failed:
            self._metrics.retention_last_success.set(now)
        self.next_run_ts = self._clock() + (min(RETRY_S, self.interval_s) if failed else self.interval_s)
        self.last_tally = total
        log.info("retention run: %s%s", total.summary(), f"; failed: {', '.join(failed)}" if failed else "")
        with self._finished:
            self._runs += 1
            self._finished.notify_all()
        return total

    def _sweep_all(self, now: float) -> tuple[Tally, list[str], bool]:
        """Every sweep in order, each on its own (one failing does not stop the others); a stop ends the run.

        Returns what went, the sweeps that failed, and whether every sweep ran to its end."""
        plan = retention_plan(self._store_settings, self._subscriptions, now, self._cameras)
        total = Tally()
        failed: list[str] = []
        for name in SWEEPS:
            if self._stop.is_set():
                return total, failed, False
            tally = Tally()
            try:
                self._store.prune(name, plan, tally, self._store_settings.retention_chunk_rows, self._pause)
            except Stopped:
                return total, failed, False
            except Exception:
                failed.append(name)
                self._metrics.errors.labels("retention").inc()
                log.exception("retention sweep %s failed; the other sweeps go on", name)
            finally:
                self._export(tally)
                total.merge(tally)
        return total, failed, True

    def _pause(self) -> None:
        """Between chunks: give other writers the lock; abandon the sweep when stopping."""
        if self._stop.wait(self._pause_s):
            raise Stopped

    def _export(self, tally: Tally) -> None:
        """Add a sweep's counts to the metrics (also when it failed halfway: what went, went)."""
        m = self._metrics
        for counter, counts in ((m.retention_rows, tally.rows), (m.retention_files, tally.files),
                                (m.retention_bytes, tally.bytes)):
            for kind, n in counts.items():
                counter.labels(kind).inc(n)

    # -- thread -----------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread; the first run begins at once."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread, abandoning a run between two chunks (what was deleted stays deleted; the rest waits for
        the next start). Call before closing the store."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def wake(self) -> None:
        """Make the thread look at the clock now instead of at its next poll."""
        self._wake.set()

    def wait_runs(self, count: int, timeout_s: float) -> bool:
        """Wait until at least `count` runs have finished since construction; False on timeout."""
        with self._finished:
            return self._finished.wait_for(lambda: self._runs >= count, timeout=timeout_s)

    def _loop(self) -> None:
        """Tick, then wait for the poll interval or a wake-up, until stopped; an error is logged, never fatal."""
        while not self._stop.is_set():
            try:
                if self.lease():
                    self.tick(self._clock())
            except Exception:  # run() handles sweep errors; this is the clock or the metrics failing
                self._metrics.errors.labels("retention").inc()
                log.exception("retention worker step failed; trying again at the next poll")
            self._wake.wait(min(POLL_S, self.interval_s))
            self._wake.clear()
