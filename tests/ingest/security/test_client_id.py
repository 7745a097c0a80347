"""The service's MQTT client id: no published default; a random one made at first start and kept in the data dir."""
from __future__ import annotations

import re
import stat
import time
from pathlib import Path

import pytest

from tests.support import make_settings, wait_for
from tichwatch.app.service import Service
from tichwatch.config.loader import DEFAULT_CONFIG, ConfigError, load_settings
from tichwatch.config.schema import MQTT_CLIENT_ID
from tichwatch.ingest.client_id import CLIENT_ID_FILE, stored_client_id, with_service_client_id
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher


def test_the_default_deployment_file_names_no_client_id() -> None:
    assert load_settings(DEFAULT_CONFIG, env={}).mqtt.client_id is None


def test_a_generated_id_is_random_kept_private_and_stable(tmp_path: Path) -> None:
    first = stored_client_id(tmp_path / "a")
    assert re.fullmatch(r"tichwatch[0-9a-f]{14}", first)  # 23 characters: fine for any MQTT 3.1.1 broker too
    assert stored_client_id(tmp_path / "a") == first
    assert stored_client_id(tmp_path / "b") != first
    path = tmp_path / "a" / CLIENT_ID_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "a").iterdir()] == [CLIENT_ID_FILE]  # no temporary file left behind


def test_a_configured_id_wins_and_writes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", mqtt={"client_id": "tichwatch-site-7"})
    assert with_service_client_id(settings) is settings
    assert not (tmp_path / "data" / CLIENT_ID_FILE).exists()
    unset = make_settings(tmp_path / "data", mqtt={"client_id": None})
    assert with_service_client_id(unset).mqtt.client_id == stored_client_id(tmp_path / "data")


@pytest.mark.parametrize("content", ["", "   \n", "has space", "x" * 65, "id/with/slash", "\xe9t\xe9"])
def test_a_damaged_id_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    (tmp_path / CLIENT_ID_FILE).write_text(content, encoding="latin-1")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / CLIENT_ID_FILE))):
        stored_client_id(tmp_path)


@pytest.mark.parametrize("client_id", ["", "with space", "a+b", "x" * 65])
def test_a_configured_id_is_checked(tmp_path: Path, client_id: str) -> None:
    with pytest.raises(ConfigError, match="client_id"):
        make_settings(tmp_path, mqtt={"client_id": client_id})
    assert not re.fullmatch(MQTT_CLIENT_ID, client_id)


def test_with_no_configured_id_the_service_keeps_its_session_across_restarts(tmp_path: Path,
                                                                               broker: MosquittoProcess) -> None:
    settings = make_settings(tmp_path / "data", broker.port, mqtt={"client_id": None})
    svc = Service(settings)
    svc.start()
    assert svc.mqtt.connected.wait(10)
    svc.stop()
    assert svc.mqtt.settings.client_id == stored_client_id(tmp_path / "data")
    topics = Topics()
    gateway = GatewayPublisher(settings.mqtt, "gw-test").connect()
    try:
        for i in range(20):  # queued by the broker in the service's session while it is away
            gateway.publish(topics.reading("st1"), encode_reading(time.time() - 100 + i, 5.0), wait=True)
    finally:
        gateway.close()
    svc = Service(settings)
    svc.start()
    try:
        wait_for(lambda: svc.store.count_readings("st1") == 20, message=lambda: str(svc.store.count_readings()))
    finally:
        svc.stop()
