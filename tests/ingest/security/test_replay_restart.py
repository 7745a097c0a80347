"""Replay protection across restarts, against a real Mosquitto: a signed message replayed after the service restarts
is refused, while the broker's redelivery of a message the service had verified but not committed (it stopped or
was killed in between) is still stored, exactly once."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.support import Recorder, make_settings, secret, stored_rows, wait_for, write_config
from tichwatch.app.service import Service
from tichwatch.config.schema import Settings
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.ingest.gateway_auth import sign
from tichwatch.ingest.gateway_auth_nonces import NONCE_DB
from tichwatch.store.database import Connection
from tichwatch.store.store import Store
from tichwatch.tools.broker import MosquittoProcess, free_port
from tichwatch.tools.publisher import GatewayPublisher

TOPIC = Topics().reading("st1")
KEY_ENV = "TICHWATCH_KEY_GW_A"
KEY = secret("hmac-key-of-gw-a-restart-7d1e2f3a4b5c")


@dataclass
class Rig:
    """A broker, settings in which gateway gw-a signs every station and camera, its publisher, a dead-letter
    recorder."""

    settings: Settings
    gateway: GatewayPublisher
    dead: Recorder
    data: Path


@pytest.fixture
def rig(tmp_path: Path, broker: MosquittoProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    monkeypatch.setenv(KEY_ENV, KEY)
    settings = make_settings(tmp_path / "data", broker.port, http={"port": free_port()}, gateway_auth={
        "hmac_required": True, "gateways": [
            {"username": "gw-a", "stations": ["st1", "st2"], "cameras": ["cam1"], "key_env": KEY_ENV}]})
    gateway = GatewayPublisher(settings.mqtt, "gw-a").connect()
    dead = Recorder(broker.port, "tich/v1/deadletter/#")
    yield Rig(settings, gateway, dead, tmp_path / "data")
    gateway.close()
    dead.close()


def started(settings: Settings) -> Service:
    svc = Service(settings)
    svc.start()
    assert svc.mqtt.connected.wait(10), "service did not connect to the test broker"
    return svc


def signed_reading(ts: float, seq: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A reading of st1 and the user properties that sign it now."""
    payload = encode_reading(ts, 5.0, seq=seq)
    return payload, sign(TOPIC, payload, KEY.encode(), time.time())


def test_a_signed_reading_replayed_after_a_restart_is_refused(rig: Rig) -> None:
    payload, props = signed_reading(time.time() - 10)
    svc = started(rig.settings)
    try:
        rig.gateway.publish(TOPIC, payload, user_properties=props, wait=True)
        wait_for(lambda: svc.store.count_readings("st1") == 1)
    finally:
        svc.stop()
    svc = started(rig.settings)
    try:
        rig.gateway.publish(TOPIC, payload, user_properties=props, wait=True)  # the replay
        publish_marked_dup(rig.settings, TOPIC, payload, props)  # the replay dressed up as a broker redelivery
        wait_for(lambda: len(rig.dead.json()) == 2, message=lambda: str(rig.dead.json()))
        assert [d["reason"] for d in rig.dead.json()] == ["replayed", "replayed"]
        fresh, fresh_props = signed_reading(time.time() - 5)
        rig.gateway.publish(TOPIC, fresh, user_properties=fresh_props, wait=True)
        wait_for(lambda: svc.store.count_readings("st1") == 2)
        assert len(rig.dead.json()) == 2
    finally:
        svc.stop()


def publish_marked_dup(settings: Settings, topic: str, payload: bytes, props: dict[str, str]) -> None:
    """Publish a first copy with the DUP flag set, as a hostile client may: the broker must not pass the flag on
    (MQTT 5 §3.3.1.1), or the service would take a replay for its own redelivery. paho sets DUP only on its own
    retries, hence its internal sender."""
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="gw-a-dup",
                         protocol=paho.MQTTv5)
    client.connect(settings.mqtt.host, settings.mqtt.port)
    client.loop_start()
    try:
        wait_for(client.is_connected)
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = list(props.items())
        client._send_publish(7, topic.encode(), payload, qos=1, dup=True, properties=properties)
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_reading_verified_but_not_committed_before_a_stop_is_stored_when_the_broker_sends_it_again(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    payload, props = signed_reading(time.time() - 10)

    def disk_fails(conn: Connection, readings: object) -> list[object]:
        raise sqlite3.OperationalError("disk I/O error (test)")

    with monkeypatch.context() as patch:  # the commit fails: the nonce is recorded, the reading is not
        patch.setattr(Store, "insert_readings", staticmethod(disk_fails))
        svc = started(rig.settings)
        try:
            rig.gateway.publish(TOPIC, payload, user_properties=props, wait=True)
            wait_for(lambda: count(rig.data / NONCE_DB) == 1)
        finally:
            svc.stop()  # the message was never acknowledged: the broker keeps it in the service's session
        assert svc.store.count_readings("st1") == 0
    svc = started(rig.settings)  # the broker sends it again (DUP): same nonce, same signature
    try:
        wait_for(lambda: svc.store.count_readings("st1") == 1)
        time.sleep(0.3)  # a dead letter would have arrived by now
        assert rig.dead.json() == []
    finally:
        svc.stop()


def count(db: Path, table: str = "nonces") -> int:
    """Rows of a table in an SQLite file, read as another process would (0 before the file exists)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=30)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def start_service(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """`tichwatch run` as its own process, with the gateway's key in its environment."""
    return subprocess.Popen([sys.executable, "-m", "tichwatch.app.cli", "run", "--config", str(config)],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, env={**os.environ, KEY_ENV: KEY},
                            cwd=Path(__file__).resolve().parents[3])


@pytest.mark.slow
def test_sigkill_between_nonce_and_commit_loses_no_signed_reading(tmp_path: Path, rig: Rig) -> None:
    total = 2000
    config = write_config(tmp_path / "tw.yaml", rig.settings)
    log = tmp_path / "service.log"
    nonces = rig.data / NONCE_DB
    proc = start_service(config, log)
    try:
        wait_for(lambda: b"MQTT subscribed" in log.read_bytes(), timeout_s=30)
        base = time.time() - total
        infos = []
        at_kill: tuple[int, int] | None = None
        for seq in range(total):
            payload, props = signed_reading(base + seq, seq)
            infos.append(rig.gateway.publish(TOPIC, payload, user_properties=props))
            if at_kill is None and seq >= total // 4 and seq % 20 == 0 and \
                    0 < stored_rows(rig.data, "readings") < count(nonces):
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                at_kill = count(nonces), stored_rows(rig.data, "readings")
        for info in infos:
            info.wait_for_publish(timeout=60)
        assert at_kill is not None, "the kill did not happen mid-stream"
        assert at_kill[0] > at_kill[1], f"no reading was between its nonce and its commit at the kill: {at_kill}"
        proc = start_service(config, log)
        wait_for(lambda: stored_rows(rig.data, "readings") >= total, timeout_s=120,
                 message=lambda: f"stored {stored_rows(rig.data, 'readings')} of {total}; dead letters "
                                 f"{rig.dead.json()[:3]}")
        time.sleep(1.0)  # anything redelivered late must neither add a row nor be dead-lettered
        assert stored_rows(rig.data, "readings") == total
        assert rig.dead.json() == []
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
