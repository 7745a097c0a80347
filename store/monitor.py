"""Readiness of the store, measured off the request path: a monitor thread really writes and checks the disk.

`/readyz` and `/healthz` must answer at once even while another process holds the database locked for minutes, so
they never touch the database: they read the last result of this monitor (and the pipeline's own write failures).
A result that is too old counts as a failure, so a monitor stuck on the disk cannot keep saying "writable".
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tichwatch.store.disk_space import DiskStatus
from tichwatch.store.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeResult:
    """One check of the store: could it take a real write, and what the disk check said."""

    checked_ts: float  # monotonic time of the check
    write_error: str | None  # None when the write went through
    disk: DiskStatus | None = None  # the free-space verdict, when the monitor checks the disk


class StoreMonitor:
    """Probes the store every `interval_s` on its own thread; `latest()` never blocks."""

    def __init__(self, store: Store, interval_s: float, disk_check: Callable[[], DiskStatus] | None = None,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic):
        self._store = store
        self._interval_s = interval_s
        self._disk_check = disk_check
        self._clock = clock
        self._monotonic = monotonic
        self._result: ProbeResult | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Probe once now (so readiness is known at start), then keep probing on a thread."""
        self.probe()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="store-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop probing (waits at most one probe)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.probe()

    def probe(self) -> ProbeResult:
        """Check now: a real write on the store's probe connection, then the disk."""
        try:
            error = self._store.probe_write(self._clock())
        except Exception as exc:  # never let the monitor die: an unknown failure is a failure
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        disk = self._disk_check() if self._disk_check is not None else None
        previous = self._result
        result = ProbeResult(self._monotonic(), error, disk)
        self._result = result
        if error and (previous is None or previous.write_error is None):
            log.error("store is not writable: %s", error)
        elif not error and previous is not None and previous.write_error:
            log.warning("store is writable again")
        return result

    @property
    def checked(self) -> bool:
        """True once a probe has run (before that, nothing is known of the store)."""
        return self._result is not None

    def latest(self) -> ProbeResult | None:
        """The newest result, or None when there is none or it is older than three intervals (a stuck probe is a
        failed probe)."""
        result = self._result
        if result is None or self._monotonic() - result.checked_ts > 3 * self._interval_s + 5:
            return None
        return result
