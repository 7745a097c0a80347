"""Fixtures: a real Mosquitto broker on a free port, test settings, a running service."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from api.service import Service
from config.schema import Settings
from ingest.broker import MosquittoProcess
from ingest.publisher import GatewayPublisher
from tests.support import make_settings


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A Mosquitto broker of the test's own, on a free port (stop()/start() to simulate an outage)."""
    proc = MosquittoProcess(tmp_path / "broker").start()
    yield proc
    proc.stop()


@pytest.fixture
def settings(tmp_path: Path, broker: MosquittoProcess) -> Settings:
    """Settings pointing at the test broker and a fresh data directory."""
    return make_settings(tmp_path / "data", broker.port)


@pytest.fixture
def service(settings: Settings) -> Iterator[Service]:
    """A started service (MQTT + pipeline + store, no HTTP), connected to the test broker."""
    svc = Service(settings)
    svc.start()
    assert svc.mqtt.connected.wait(10), "service did not connect to the test broker"
    yield svc
    svc.stop()


@pytest.fixture
def gateway(broker: MosquittoProcess, settings: Settings) -> Iterator[GatewayPublisher]:
    """A publisher as a sensor gateway would use."""
    pub = GatewayPublisher(settings.mqtt, "test-gateway").connect()
    yield pub
    pub.close()
