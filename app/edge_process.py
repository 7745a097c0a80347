"""The public edge (`api/edge.py`) as a child process of `tichwatch run`: started once the service listens on its
Unix socket, started again if it dies, stopped with the service (and by itself when the service's process is gone)."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from tichwatch.api.edge import EdgeConfig
from tichwatch.config.schema import HttpSettings

log = logging.getLogger("tichwatch.edge")

RESTART_DELAY_S = 1.0
"""Wait before starting an edge that exited by itself again (doubled on each quick exit, up to 30 s)."""


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

    def start_when(self, ready: Callable[[], bool]) -> None:
        """Start the edge (and keep it running) once `ready()` says the service listens on its socket."""
        threading.Thread(target=self._supervise, args=(ready,), name="edge-supervisor", daemon=True).start()

    def _supervise(self, ready: Callable[[], bool]) -> None:
        while not ready():
            if self._stopping.wait(0.05):
                return
        delay = RESTART_DELAY_S
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self._proc = subprocess.Popen([sys.executable, "-m", "tichwatch.api.edge", self.config.to_json()])
                self.starts += 1
            log.info("public edge started (pid %d) on %s:%s", self._proc.pid, self.config.host, self.config.port)
            rc = self._proc.wait()
            if self._stopping.is_set():
                return
            log.error("public edge exited (code %s); starting it again in %.0f s", rc, delay)
            if self._stopping.wait(delay):
                return
            delay = min(30.0, delay * 2)

    def pid(self) -> int | None:
        """The running edge's process id."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

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
