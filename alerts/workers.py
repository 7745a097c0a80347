"""Background threads of the alert runtime: each runs one step when woken or every interval, until stopped."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from tichwatch.store.leases import Lease, always_held

log = logging.getLogger(__name__)


class Worker:
    """A named daemon thread running `step` when woken or every `interval_s`; a failing step is reported through
    `on_error` and tried again at the next turn, never fatal. A singleton's worker runs its step only while `lease`
    says this node holds it (see `store.leases`)."""

    def __init__(self, name: str, step: Callable[[], object], interval_s: float, on_error: Callable[[], None],
                 wake: threading.Event | None = None):
        self.name = name
        self._step = step
        self._interval_s = interval_s
        self._on_error = on_error
        self.woken = wake or threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lease: Lease = always_held

    def start(self) -> None:
        """Start the thread (again after a stop)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the step now rather than at the next interval."""
        self.woken.set()

    def finish(self, timeout_s: float) -> bool:
        """Ask the thread to end after its current step and wait for it up to `timeout_s`; True when it ended."""
        self._stop.set()
        self.woken.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            return not self._thread.is_alive()
        return True

    def stop(self, timeout_s: float) -> None:
        """Ask the thread to end and wait for it up to `timeout_s`."""
        if not self.finish(timeout_s):
            log.warning("%s did not stop within %g s", self.name, timeout_s)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.woken.clear()  # before the step: a wake during it makes the next wait return at once
            try:
                if self.lease():
                    self._step()
            except Exception:
                self._on_error()
                log.exception("%s: step failed; trying again", self.name)
            self.woken.wait(self._interval_s)
