"""The public edge (`api/edge.py`) as a child process of `tichwatch run`: started once the service listens on its
Unix socket, started again if it dies, stopped with the service (and by itself when the service's process is gone)."""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from tichwatch.api.edge import EdgeConfig
from tichwatch.config.schema import HttpSettings

log = logging.getLogger("tichwatch.edge")

RESTART_DELAY_S = 1.0
"""Wait before starting an edge that exited by itself again (doubled on each quick exit, up to 30 s)."""
STEADY_S = 60.0
"""An edge that ran this long before it exited is started again after RESTART_DELAY_S, not a longer delay."""
GIVE_UP_AFTER = 5
"""Quick exits in a row (the port taken, say) after which the service stops (systemd restarts the whole)."""


class EdgeProcess:
    """The edge process of one listener, supervised by a thread of the service's process."""

    def __init__(self, http: HttpSettings, hosts: list[str] | None = None):
        self._dir = tempfile.mkdtemp(prefix="tichwatch-http-")  # 0700: only this user reaches the socket
        self.socket = os.path.join(self._dir, "http.sock")
        self.config = EdgeConfig(host=http.host, port=http.port, upstream_uds=self.socket,
                                 trusted_proxies=list(http.trusted_proxies), refresh_s=http.snapshot_refresh_s,
                                 nice=http.edge_nice, sse_max_clients=http.sse_max_clients,
                                 sse_max_per_address=http.sse_max_per_address,
                                 sse_client_buffer_kib=http.sse_client_buffer_kib, hosts=list(hosts or []),
                                 parent_pid=os.getpid())
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.starts = 0
        self.give_up: Callable[[], None] = lambda: os.kill(os.getpid(), signal.SIGTERM)
        """What to do when the edge cannot be kept running (default: stop this process as SIGTERM does)."""

    def start_when(self, ready: Callable[[], bool]) -> None:
        """Start the edge (and keep it running) once `ready()` says the service listens on its socket."""
        threading.Thread(target=self._supervise, args=(ready,), name="edge-supervisor", daemon=True).start()

    def _supervise(self, ready: Callable[[], bool]) -> None:
        while not ready():
            if self._stopping.wait(0.05):
                return
        delay, quick_exits = RESTART_DELAY_S, 0
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self._proc = subprocess.Popen([sys.executable, "-m", "tichwatch.api.edge", self.config.to_json()])
                self.starts += 1
            started = time.monotonic()
            log.info("public edge started (pid %d) on %s:%s", self._proc.pid, self.config.host, self.config.port)
            rc = self._proc.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= STEADY_S:
                delay, quick_exits = RESTART_DELAY_S, 0  # it ran a good while: the next exit is not a crash loop
            else:
                quick_exits += 1
            if quick_exits >= GIVE_UP_AFTER:
                log.critical("public edge exited %d times within %.0f s of starting (code %s; is %s:%s taken?): "
                             "stopping the service, which serves nobody without it", quick_exits, STEADY_S, rc,
                             self.config.host, self.config.port)
                self.give_up()
                return
            log.error("public edge exited (code %s); starting it again in %.0f s", rc, delay)
            if self._stopping.wait(delay):
                return
            delay = min(30.0, delay * 2)

    def pid(self) -> int | None:
        """The running edge's process id."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def terminate(self) -> None:
        """Ask the edge to stop (SIGTERM) without waiting: safe in a signal handler on the event loop's thread."""
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def stop(self, *_: Any) -> None:
        """Stop the edge (SIGTERM, then SIGKILL after 5 s) and remove its socket's folder."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)
