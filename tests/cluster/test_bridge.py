"""The documented broker pair (docs/cluster/mosquitto-bridge.conf) run for real: two Mosquitto brokers, the second
bridged to the first with that very file (only the address is replaced). A message published to either reaches the
subscribers of both, once; what the second takes while the first is down reaches the first when it is back."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Recorder, mosquitto_pub, wait_for
from tichwatch.tools.broker import MosquittoProcess, free_port

CONF = Path(__file__).resolve().parents[2] / "docs" / "cluster" / "mosquitto-bridge.conf"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[MosquittoProcess, MosquittoProcess]]:
    first = MosquittoProcess(tmp_path / "first", port=free_port()).start()
    bridge = CONF.read_text(encoding="utf-8")
    assert "address broker1.example:8883" in bridge, f"{CONF} changed: update this test"
    bridge = bridge.replace("address broker1.example:8883", f"address 127.0.0.1:{first.port}")
    second = MosquittoProcess(tmp_path / "second", extra_conf=bridge + "allow_anonymous true\n").start()
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()


def _bridged(first: MosquittoProcess, second: MosquittoProcess) -> bool:
    probe = Recorder(first.port, "tich/v1/probe")
    try:
        mosquitto_pub(second.port, "tich/v1/probe", "x")
        return bool(wait_for(lambda: probe.messages, timeout_s=2, interval_s=0.05))
    except AssertionError:
        return False
    finally:
        probe.close()


def test_messages_cross_the_bridge_both_ways_once(pair: tuple[MosquittoProcess, MosquittoProcess]) -> None:
    first, second = pair
    wait_for(lambda: _bridged(first, second), timeout_s=30, interval_s=0.2)
    on_first, on_second = Recorder(first.port, "tich/#"), Recorder(second.port, "tich/#")
    try:
        mosquitto_pub(second.port, "tich/v1/water/st1/reading", '{"ts": 1, "level_m": 5.0}')  # a gateway on host 2
        mosquitto_pub(first.port, "tich/v1/water/st2/reading", '{"ts": 1, "level_m": 5.1}')  # one on host 1
        for rec in (on_first, on_second):
            wait_for(lambda rec=rec: len(rec.messages) >= 2, timeout_s=10)  # type: ignore[misc]
        time.sleep(0.5)  # a copy sent back over the bridge would be here by now
        assert sorted(t for t, _ in on_first.messages) == sorted(t for t, _ in on_second.messages) == [
            "tich/v1/water/st1/reading", "tich/v1/water/st2/reading"]  # each once: no loop
    finally:
        on_first.close()
        on_second.close()


def test_what_the_second_takes_while_the_first_is_down_reaches_the_first(
        pair: tuple[MosquittoProcess, MosquittoProcess]) -> None:
    first, second = pair
    wait_for(lambda: _bridged(first, second), timeout_s=30, interval_s=0.2)
    first.stop()
    for i in range(10):
        mosquitto_pub(second.port, "tich/v1/water/st1/reading", f'{{"ts": {i}, "level_m": 5.0}}')
    first.start()
    on_first = Recorder(first.port, "tich/v1/water/#")
    try:
        wait_for(lambda: len(on_first.messages) >= 10, timeout_s=40, interval_s=0.1,
                 message=lambda: f"{len(on_first.messages)} of 10")
        time.sleep(0.5)
        assert len(on_first.messages) == 10
    finally:
        on_first.close()
