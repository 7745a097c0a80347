"""Two nodes on one PostgreSQL database (each its own data directory, alert runtime and leases; the run's private
server, a schema of the test's own): a receiver's queue is sent by the node holding its lease only, so every message
goes once; when that node dies its leases move, and the survivor sends what comes next and what was left."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.alerts.harness import Harness, flood_level, log_receiver, people_settings
from tests.alerts.servers import HttpRecorder
from tests.support import new_schema_url, wait_for
from tichwatch.store.database import URL_ENV
from tichwatch.store.leases import Leases
from tichwatch.tools.postgres import PostgresProcess


@pytest.fixture
def shared_url(postgres_server: PostgresProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    url = new_schema_url(postgres_server.url)
    monkeypatch.setenv(URL_ENV, url)
    return url


def _node(data_dir: Path, hook: HttpRecorder, url: str) -> tuple[Harness, Leases]:
    receivers: list[dict[str, Any]] = [
        {"name": "hook", "channel": {"type": "webhook", "url": f"{hook.url}/hook", "timeout_s": 5}},
        log_receiver("admin")]
    routes = [{"match": {"kinds": ["flood."]}, "receivers": ["hook"]},
              {"match": {"kinds": ["delivery."]}, "receivers": ["admin"]}]
    h = Harness(people_settings(data_dir, receivers=receivers, routes=routes,
                                delivery={"poll_interval_s": 0.2}))
    leases = Leases(url)
    h.runtime.use_leases(leases.lease)
    return h, leases


def test_two_nodes_send_each_message_once_and_the_survivor_takes_over(tmp_path: Path, hook: HttpRecorder,
                                                                      shared_url: str) -> None:
    (a, a_leases), (b, b_leases) = _node(tmp_path / "a", hook, shared_url), _node(tmp_path / "b", hook, shared_url)
    try:
        a.runtime.delivery.start(a.clock)
        b.runtime.delivery.start(b.clock)
        a.detect(flood_level("st1", "BD1", a.clock(), 6.6))  # committed on node a: both see it in the outbox
        a.runtime.wake()
        b.runtime.wake()
        wait_for(lambda: hook.count() >= 1, timeout_s=10)
        time.sleep(1.0)  # the other node's polls come and go: nothing more may be sent
        assert hook.count() == 1
        sender = a_leases if "delivery:hook" in a_leases.held() else b_leases
        survivor = b_leases if sender is a_leases else a_leases
        assert "delivery:hook" not in survivor.held()

        sender.close()  # that node dies: its session ends, the lock with it
        hook.hold()  # … and the next message waits for the survivor
        a.clock.advance(600)
        b.clock.advance(600)  # one time for both nodes
        a.detect(flood_level("st1", "BD2", a.clock(), 7.4))
        a.runtime.wake()
        b.runtime.wake()
        wait_for(lambda: hook.count() >= 2, timeout_s=10)
        assert "delivery:hook" in survivor.held()
        hook.release()
        time.sleep(1.0)
        assert hook.count() == 2
        keys = [body["idempotency_key"] for body in hook.bodies()]
        assert len(set(keys)) == 2  # two messages, each sent once
    finally:
        for h, leases in ((a, a_leases), (b, b_leases)):
            h.runtime.delivery.stop(5)
            leases.close()
            h.store.close()
