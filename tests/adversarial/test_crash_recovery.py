"""The service killed with SIGKILL while 10,000 QoS 1 readings are being published ends with all stored exactly once."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import make_settings, stored_query, wait_for, write_config
from tichwatch.config.schema import Settings
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess, free_port
from tichwatch.tools.publisher import GatewayPublisher

TOTAL = 10_000


def start_service(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """`tichwatch run` as its own process, as an operator would start it."""
    return subprocess.Popen([sys.executable, "-m", "tichwatch.app.cli", "run", "--config", str(config)],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])


def stored(data_dir: Path) -> tuple[int, int]:
    """(rows, distinct seq) of readings in the store, read as another process would."""
    rows = stored_query(data_dir, "SELECT COUNT(*), COUNT(DISTINCT seq) FROM readings")
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(tmp_path: Path, broker: MosquittoProcess) -> None:
    data = tmp_path / "data"
    settings: Settings = make_settings(data, broker.port, http={"port": free_port()})
    config = write_config(tmp_path / "tw.yaml", settings)
    log = tmp_path / "service.log"
    proc = start_service(config, log)
    topics = Topics()
    gateway = GatewayPublisher(settings.mqtt, "crash-gateway").connect()
    try:
        wait_for(lambda: b"MQTT subscribed" in log.read_bytes(), timeout_s=30)
        base = time.time() - TOTAL
        infos = []
        killed_at = None
        for seq in range(TOTAL):
            infos.append(gateway.publish(topics.reading("st1"), encode_reading(base + seq, 5.0, seq=seq)))
            if killed_at is None and seq >= TOTAL // 3 and stored(data)[0] > 0:
                proc.send_signal(signal.SIGKILL)  # mid-stream, while readings are being committed
                proc.wait()
                killed_at = stored(data)[0]
        for info in infos:
            info.wait_for_publish(timeout=60)
        assert killed_at is not None and killed_at < TOTAL, "the kill did not happen mid-stream"
        proc = start_service(config, log)
        wait_for(lambda: stored(data)[0] >= TOTAL, timeout_s=120, message=lambda: f"stored {stored(data)}")
        time.sleep(1.0)  # anything redelivered late must not add rows
        assert stored(data) == (TOTAL, TOTAL)
    finally:
        gateway.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    # uvicorn re-raises SIGTERM after a clean shutdown (systemd counts that as a clean stop)
    assert proc.returncode in (0, -signal.SIGTERM), log.read_text()[-3000:]
    assert "TichWatch stopped" in log.read_text()
    assert stored(data) == (TOTAL, TOTAL)  # the store is whole after a clean stop too
