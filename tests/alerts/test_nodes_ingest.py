"""Two TichWatch nodes on one PostgreSQL database and one broker: both store every reading (once in the database), only
the owner of a station runs its detectors, so a crossing opens one alert and sends one message; when the owner stops,
the other takes the station over from the same detector state, and the next crossing is handled once, by it."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.alerts.harness import log_receiver, people_settings
from tests.alerts.servers import HttpRecorder
from tests.support import mosquitto_pub, new_schema_url, wait_for
from tichwatch.app.service import Service
from tichwatch.store.database import URL_ENV
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.postgres import PostgresProcess

TOPIC = "tich/v1/water/st1/reading"


def _node(data_dir: Path, port: int, hook: HttpRecorder) -> Service:
    receivers: list[dict[str, Any]] = [
        {"name": "hook", "channel": {"type": "webhook", "url": f"{hook.url}/hook", "timeout_s": 5}},
        log_receiver("admin")]
    routes = [{"match": {"kinds": ["flood.level"]}, "receivers": ["hook"]},
              {"match": {"kinds": ["delivery."]}, "receivers": ["admin"]}]
    settings = people_settings(data_dir, port, receivers=receivers, routes=routes,
                               delivery={"poll_interval_s": 0.2})
    svc = Service(settings)
    svc.start()
    assert svc.mqtt.connected.wait(10)
    return svc


def _pipeline_errors(svc: Service) -> float:
    """Batches that failed in the pipeline (a second node opening the same alert would be one: the open alert's
    unique index refuses it, and the reading is kept without the detectors)."""
    return svc.metrics.registry.get_sample_value("tichwatch_internal_errors_total", {"where": "pipeline"}) or 0.0


def _owner(nodes: list[Service]) -> Service:
    return next(n for n in nodes if n.leases is not None and "subject:st1" in n.leases.held())


def test_two_nodes_alert_once_and_the_survivor_takes_the_station_over(
        tmp_path: Path, broker: MosquittoProcess, postgres_server: PostgresProcess, monkeypatch: pytest.MonkeyPatch,
        hook: HttpRecorder) -> None:
    monkeypatch.setenv(URL_ENV, new_schema_url(postgres_server.url))
    nodes = [_node(tmp_path / "a", broker.port, hook), _node(tmp_path / "b", broker.port, hook)]
    stopped: list[Service] = []
    try:
        now = time.time()
        mosquitto_pub(broker.port, TOPIC, json.dumps([{"ts": now - 1800 + 300 * i, "level_m": 6.0 + 0.01 * i}
                                                      for i in range(5)]))
        wait_for(lambda: nodes[0].store.count_readings("st1") == 5)
        mosquitto_pub(broker.port, TOPIC, json.dumps({"ts": now - 60, "level_m": 6.7}))  # above BĐ I (6.5 m)
        wait_for(lambda: hook.count() >= 1, timeout_s=15)
        time.sleep(1.5)  # both nodes got the reading: the other must not alert too
        assert hook.count() == 1 and nodes[0].store.count_readings("st1") == 6
        assert len(nodes[0].store.query_all("SELECT id FROM alerts WHERE kind = 'flood.level'")) == 1
        assert [_pipeline_errors(n) for n in nodes] == [0, 0]  # one node detected: nothing was refused

        owner = _owner(nodes)
        survivor = next(n for n in nodes if n is not owner)
        owner.stop()  # that node goes away; the other still has the station's readings in its detectors
        stopped.append(owner)
        mosquitto_pub(broker.port, TOPIC, json.dumps({"ts": now - 30, "level_m": 6.75}))  # still BĐ I: no message
        wait_for(lambda: survivor.store.count_readings("st1") == 7)
        time.sleep(1.0)
        assert hook.count() == 1  # taken over without alerting again
        mosquitto_pub(broker.port, TOPIC, json.dumps({"ts": now, "level_m": 7.4}))  # above BĐ II (7.3 m)
        wait_for(lambda: hook.count() >= 2, timeout_s=15)
        time.sleep(1.0)
        assert hook.count() == 2 and _owner([survivor]) is survivor
        assert [b["notice"] for b in hook.bodies()] == ["firing", "raised"]
        assert len(survivor.store.query_all("SELECT id FROM alerts WHERE kind = 'flood.level'")) == 1
    finally:
        for n in nodes:
            if n not in stopped:
                n.stop()
            n.store.close()
