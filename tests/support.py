"""Helpers shared by the tests: settings for a test broker, waiting without fixed sleeps, an MQTT recorder."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import paho.mqtt.client as paho
import psycopg
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from tichwatch.config.loader import parse_settings
from tichwatch.config.schema import Settings
from tichwatch.store.database import POSTGRESQL, URL_ENV, Error, connect, in_schema
from tichwatch.store.store import DB_NAME, Store

SECRETS: set[str] = set()
"""Secret values used by tests; the session-wide log check fails if any of them is ever logged."""
SECRET_ENV_WORDS = ("PASSWORD", "TOKEN", "SECRET", "KEY")
"""Environment variables whose names contain one of these hold secrets (their values must never be logged)."""


def secret(value: str) -> str:
    """Register a secret value used by a test (so the log check looks for it) and return it."""
    SECRETS.add(value)
    return value


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""The recorded real data beside the repository (absent on some machines: tests that need it skip)."""

STATION = {
    "id": "st1", "name": "Trạm thử", "lat": 21.0, "lon": 105.6,
    "alarm": {"bd1_m": 6.5, "bd2_m": 7.3, "bd3_m": 8.0, "record_m": 8.45},
    "expected_interval_s": 600, "min_level_m": 2.0, "max_level_m": 12.0,
}


def jpeg(width: int = 64, height: int = 48, grey: int = 120) -> bytes:
    """A real JPEG of the given size, one flat grey (a camera frame, an evidence snapshot)."""
    ok, buf = cv2.imencode(".jpg", np.full((height, width, 3), grey, np.uint8))
    assert ok
    return bytes(buf.tobytes())


def make_settings(data_dir: Path, port: int = 1883, **overrides: Any) -> Settings:
    """Settings for tests: one station `st1`, one camera `cam1`, the given broker port and data directory."""
    raw: dict[str, Any] = {
        "mqtt": {"host": "127.0.0.1", "port": port, "client_id": f"tw-test-{port}"},
        "stations": [STATION, {**STATION, "id": "st2", "name": "Trạm hai"}],
        "cameras": [{"id": "cam1", "site": "Công trường thử", "lat": 21.0, "lon": 105.6}],
        "store": {"data_dir": str(data_dir), "batch_wait_s": 0.01},
        # Public snapshots rebuilt on the next read after any change: tests read what they just stored (a deployment
        # rebuilds at most once a second; tests/api/test_snapshots.py covers that).
        "http": {"port": 0, "snapshot_refresh_s": 0},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return parse_settings(raw, "<test>", env={})


def write_config(path: Path, settings: Settings) -> Path:
    """Write settings as a deployment YAML file."""
    path.write_text(yaml.safe_dump(json.loads(settings.model_dump_json()), allow_unicode=True), encoding="utf-8")
    return path


def mosquitto_pub(port: int, topic: str, payload: str) -> None:
    """Publish one QoS 1 message with the broker's own command-line client, as a gateway's script would."""
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", topic, "-m", payload],
                   check=True, timeout=10)


def wait_for(predicate: Callable[[], Any], timeout_s: float = 10.0, interval_s: float = 0.02,
             message: Callable[[], str] | None = None) -> Any:
    """Poll until `predicate()` is truthy; return its value or fail with a timeout (and `message()`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s} s" + (f": {message()}" if message else ""))


class Recorder:
    """Subscribes to a topic filter and keeps what arrives (dead letters, alert states)."""

    def __init__(self, port: int, topic: str):
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        def subscribe(client: paho.Client, *_: object) -> None:
            client.subscribe(topic, qos=1)
            self._ready.set()

        self._client.on_connect = subscribe
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        assert self._ready.wait(5), "recorder could not connect"
        time.sleep(0.1)  # let the SUBACK arrive

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def json(self) -> list[dict[str, Any]]:
        """Messages received so far, parsed as JSON."""
        with self._lock:
            return [json.loads(p) for _, p in self.messages]

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


def separate_database() -> None:
    """Give what is opened next a database of its own, as its own data directory gives it on SQLite: in the
    PostgreSQL pass, point TICHWATCH_DATABASE_URL at a fresh schema (for a test that runs two deployments side by
    side; the test's fixture restores the variable). Nothing to do on SQLite."""
    url = os.environ.get(URL_ENV)
    if url and url.startswith("postgresql"):
        os.environ[URL_ENV] = new_schema_url(url)


def new_schema_url(server_url: str) -> str:
    """A fresh schema on a PostgreSQL server, as the URL of a database whose connections use it (search_path)."""
    return in_schema(server_url.split("?", 1)[0], f"s{uuid.uuid4().hex[:12]}")


def table_names(store: Store) -> list[str]:
    """The store's tables, on either engine (on PostgreSQL the readings' partitions are listed too)."""
    sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
           if store.dialect == POSTGRESQL else "SELECT name FROM sqlite_master WHERE type = 'table'")
    return [r[0] for r in store.query_all(sql)]


def store_text(store: Store) -> str:
    """Every row of every table of the store, as text (to look for a secret or a phone number anywhere)."""
    return "\n".join(str(tuple(row)) for t in table_names(store) for row in store.query_all(f'SELECT * FROM "{t}"'))


def stored_query(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows a query returns from the store, read as another process would: in the database the environment names
    (TICHWATCH_DATABASE_URL, the PostgreSQL pass), else the SQLite file in `data_dir` ([] before either holds the
    tables)."""
    url = os.environ.get(URL_ENV) or f"sqlite:///{data_dir / DB_NAME}"
    if url.startswith("sqlite:") and not (data_dir / DB_NAME).exists():
        return []
    conn = connect(url, 30.0)
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    except Error:
        return []
    finally:
        conn.close()


def stored_rows(data_dir: Path, table: str) -> int:
    """Rows of a table of the store, read as another process would (0 before the store holds it)."""
    rows = stored_query(data_dir, f"SELECT COUNT(*) FROM {table}")
    return int(rows[0][0]) if rows else 0


@contextmanager
def store_locked(data_dir: Path) -> Iterator[None]:
    """Another process holding the store's write lock until the block ends: on SQLite an exclusive transaction on
    the file; on PostgreSQL the readings and the health probe's table locked EXCLUSIVE (writers wait past their lock
    timeout, readers go on, as with SQLite's WAL)."""
    url = os.environ.get(URL_ENV)
    if url and url.startswith("postgresql"):
        conn = psycopg.connect(url, autocommit=True)
        conn.execute("BEGIN")
        conn.execute("LOCK TABLE readings, health_probe IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    other = sqlite3.connect(data_dir / DB_NAME, isolation_level=None, timeout=30)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()
