"""Faults of the machine under `tichwatch run` in its own process: the database locked by another process for 70 s,
the disk full then freed, the broker restarted. 0 readings lost, 0 doubled; liveness answers at once throughout and
readiness says what is wrong while it is wrong, and recovers by itself."""
from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adversarial.running import ServiceProcess, stored_seqs, timed_get
from tests.support import make_settings, store_locked, wait_for
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess, free_port
from tichwatch.tools.publisher import GatewayPublisher

pytestmark = pytest.mark.slow
TOPICS = Topics()
LOCK_S = 70


def all_seqs(data: Path) -> list[int]:
    seqs = stored_seqs(data)
    return sorted(seqs.get("st1", []) + seqs.get("st2", []))


class Feeder:
    """A gateway publishing one reading every `interval_s` on a thread (seq 0, 1, 2, … alternating stations)."""

    def __init__(self, gateway: GatewayPublisher, start_seq: int, interval_s: float = 0.05):
        self.gateway, self.seq, self.interval_s = gateway, start_seq, interval_s
        self.base = time.time() - 20_000
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.publish_one()
            self._stop.wait(self.interval_s)

    def publish_one(self) -> None:
        station = "st1" if self.seq % 2 else "st2"
        self.gateway.publish(TOPICS.reading(station), encode_reading(self.base + self.seq, 4.0, seq=self.seq),
                             wait=True)
        self.seq += 1

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoProcess]:
    proc = MosquittoProcess(tmp_path / "broker").start()
    yield proc
    proc.stop()


def run_service(tmp_path: Path, data: Path, broker: MosquittoProcess) -> ServiceProcess:
    settings = make_settings(data, broker.port, http={"port": free_port()}, store={"probe_interval_s": 1.0})
    return ServiceProcess(tmp_path, settings).start()


def test_database_locked_by_another_process_for_70_s(tmp_path: Path, broker: MosquittoProcess) -> None:
    data = tmp_path / "data"
    svc = run_service(tmp_path, data, broker)
    gateway = GatewayPublisher(svc.settings.mqtt, "lock-gateway").connect()
    try:
        feeder = Feeder(gateway, 0)
        for _ in range(20):
            feeder.publish_one()
        wait_for(lambda: len(all_seqs(data)) == 20, timeout_s=30)
        health_s: list[float] = []
        ready: list[tuple[float, int, str]] = []
        with store_locked(data), Feeder(gateway, feeder.seq, interval_s=0.1) as feeder:
            locked_at = time.monotonic()
            while time.monotonic() - locked_at < LOCK_S:
                status, seconds = timed_get(svc, "/healthz")
                assert status == 200
                health_s.append(seconds)
                code, body = svc.get("/readyz")
                ready.append((time.monotonic() - locked_at, code, (body or {}).get("detail", "")))
                assert svc.get("/api/v1/stations")[0] == 200  # public reads go on (WAL readers are not blocked)
                time.sleep(1.0)
        published = feeder.seq
        wait_for(lambda: len(all_seqs(data)) >= published, timeout_s=60,
                 message=lambda: f"{len(all_seqs(data))} of {published} stored\n{svc.tail()}")
        assert all_seqs(data) == list(range(published))  # 0 lost, 0 doubled
        assert max(health_s) < 2.0, f"/healthz waited {max(health_s):.1f} s on the locked database"
        not_ready = [t for t, code, detail in ready if code == 503 and "store" in detail]
        assert not_ready and not_ready[0] < 15, ready[:20]
        assert all(code == 503 for t, code, _ in ready if t > 15), "readiness said ready while writes failed"
        wait_for(lambda: svc.get("/readyz")[0] == 200, timeout_s=30)
    finally:
        gateway.close()
        assert svc.stop() in (0, -15), svc.tail()


def _mount_tmpfs(path: Path, size_mb: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root and mount rights): {result.stderr.strip()}")


def _fill(path: Path) -> Path:
    """Fill the file system of `path` to the last byte; return the filler file."""
    filler = path / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


@pytest.mark.sqlite_only  # the SQLite file's own disk; PostgreSQL's disk is the server's
def test_disk_full_then_freed(tmp_path: Path, broker: MosquittoProcess) -> None:
    data = tmp_path / "data"
    _mount_tmpfs(data, 48)
    svc = None
    try:
        svc = run_service(tmp_path, data, broker)
        gateway = GatewayPublisher(svc.settings.mqtt, "disk-gateway").connect()
        feeder = Feeder(gateway, 0)
        for _ in range(20):
            feeder.publish_one()
        wait_for(lambda: len(all_seqs(data)) == 20, timeout_s=30)
        filler = _fill(data)
        with Feeder(gateway, feeder.seq, interval_s=0.005) as feeder:
            wait_for(lambda: feeder.seq > 3000, timeout_s=120)
        wait_for(lambda: svc.get("/readyz")[0] == 503, timeout_s=30, message=lambda: str(svc.get("/readyz")))
        _code, body = svc.get("/readyz")
        assert not body["store_writable"] and "store" in body["detail"], body
        assert svc.get("/healthz")[0] == 200
        stuck = len(all_seqs(data))
        assert stuck < feeder.seq, "the disk was not full: nothing to prove"
        filler.unlink()
        published = feeder.seq
        wait_for(lambda: len(all_seqs(data)) >= published, timeout_s=90,
                 message=lambda: f"{len(all_seqs(data))} of {published} stored\n{svc.tail()}")
        assert all_seqs(data) == list(range(published))  # 0 lost, 0 doubled
        wait_for(lambda: svc.get("/readyz")[0] == 200, timeout_s=30, message=lambda: str(svc.get("/readyz")))
        gateway.close()
    finally:
        if svc is not None:
            assert svc.stop() in (0, -15), svc.tail()
        subprocess.run(["umount", "-l", str(data)], check=False)


def test_broker_restart_mid_stream(tmp_path: Path, broker: MosquittoProcess) -> None:
    data = tmp_path / "data"
    svc = run_service(tmp_path, data, broker)
    try:
        gateway = GatewayPublisher(svc.settings.mqtt, "restart-gateway").connect()
        feeder = Feeder(gateway, 0)
        for _ in range(200):
            feeder.publish_one()
        gateway.close()
        broker.stop()
        wait_for(lambda: svc.get("/readyz")[0] == 503, timeout_s=30)
        assert "MQTT" in svc.get("/readyz")[1]["detail"]
        broker.start()
        gateway = GatewayPublisher(svc.settings.mqtt, "restart-gateway").connect()
        feeder.gateway = gateway
        for _ in range(200):
            feeder.publish_one()
        wait_for(lambda: len(all_seqs(data)) >= 400, timeout_s=60, message=lambda: svc.tail())
        assert all_seqs(data) == list(range(400))
        wait_for(lambda: svc.get("/readyz")[0] == 200, timeout_s=30)
        gateway.close()
    finally:
        assert svc.stop() in (0, -15), svc.tail()
