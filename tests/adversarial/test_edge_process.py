"""`tichwatch run`'s public edge as a process: killed, it is started again; the service killed, it goes too (it
would otherwise hold the port with nothing behind it); stopped with the service."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adversarial.running import ServiceProcess
from tests.support import make_settings, wait_for
from tichwatch.tools.broker import MosquittoProcess, free_port

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _edge_pid(svc: ServiceProcess) -> int | None:
    assert svc.proc is not None
    for child in _children(svc.proc.pid):
        try:
            if b"tichwatch.api.edge" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            continue
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def running(tmp_path: Path) -> Iterator[ServiceProcess]:
    broker = MosquittoProcess(tmp_path / "broker").start()
    svc = ServiceProcess(tmp_path, make_settings(tmp_path / "data", broker.port, http={"port": free_port()})).start()
    yield svc
    svc.stop()
    broker.stop()


def test_a_killed_edge_is_started_again(running: ServiceProcess) -> None:
    edge = wait_for(lambda: _edge_pid(running), timeout_s=10)
    assert running.get("/api/v1/status")[0] == 200
    os.kill(edge, signal.SIGKILL)
    new = wait_for(lambda: (p := _edge_pid(running)) not in (None, edge) and p, timeout_s=20)
    wait_for(lambda: running.get("/api/v1/status")[0] == 200, timeout_s=20)
    with open(f"/proc/{new}/stat") as f:
        nice = int(f.read().rsplit(")", 1)[1].split()[16])
    assert nice == 5, "the edge runs at a lower priority than the service"


def test_the_edge_goes_with_a_killed_service_and_with_a_stopped_one(running: ServiceProcess, tmp_path: Path) -> None:
    edge = wait_for(lambda: _edge_pid(running), timeout_s=10)
    port = running.settings.http.port
    assert running.proc is not None
    running.proc.kill()
    running.proc.wait()
    wait_for(lambda: not _alive(edge), timeout_s=10, message=lambda: "the edge outlived a SIGKILLed service")
    wait_for(lambda: _port_free(port), timeout_s=10)
    running.start()  # the same port again
    edge = wait_for(lambda: _edge_pid(running), timeout_s=10)
    # A resident watching the live stream does not hold the stop up (streams never end by themselves).
    with socket.create_connection(("127.0.0.1", port), timeout=10) as watcher:
        watcher.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in watcher.recv(4096)
        started = time.monotonic()
        assert running.stop() in (0, -signal.SIGTERM, 128 + signal.SIGTERM)
        assert time.monotonic() - started < 15
    wait_for(lambda: not _alive(edge), timeout_s=10)
    assert "TichWatch stopped" in running.tail()


def test_an_edge_that_cannot_start_stops_the_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its port taken: a few quick tries, then the service is told to stop (for systemd to restart it) rather than
    running with nobody able to reach it."""
    from tichwatch.app import edge_process
    from tichwatch.config.schema import HttpSettings

    monkeypatch.setattr(edge_process, "RESTART_DELAY_S", 0.05)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        edge = edge_process.EdgeProcess(HttpSettings(port=taken.getsockname()[1]))
        gave_up = threading.Event()
        edge.give_up = gave_up.set
        edge.start_when(lambda: True)
        try:
            assert gave_up.wait(60), "the service kept running without a public listener"
            assert edge.starts == edge_process.GIVE_UP_AFTER
        finally:
            edge.stop()
