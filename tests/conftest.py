"""Fixtures: a real Mosquitto broker on a free port, test settings, a running service."""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.leaks import personal_data_in, registering
from tests.support import SECRET_ENV_WORDS, SECRETS, make_settings, new_schema_url, wait_for
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.config.schema import Settings
from tichwatch.store.database import URL_ENV
from tichwatch.tools.broker import MosquittoProcess, free_port
from tichwatch.tools.postgres import PostgresProcess
from tichwatch.tools.publisher import GatewayPublisher

pytest_plugins = ("tests.residents.feeds.cap_schema",)  # every CAP message a test issues is schema-checked


class SecretLeakHandler(logging.Handler):
    """Checks every log record of the test run for registered secrets and secret-named environment values, live
    acknowledge links (or their signatures) and configured receivers' addresses (tests/leaks.py)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted cannot leak either
            return
        env = {v for k, v in os.environ.items() if any(w in k for w in SECRET_ENV_WORDS) and len(v) >= 6}
        for value in SECRETS | env:
            if value and value in text:
                self.leaks.append(f"{record.name}: {text[:200]}")
        what = personal_data_in(text)
        if what:
            self.leaks.append(f"{record.name} ({what}): {text[:200]}")


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_logs() -> Iterator[None]:
    """Fails the run (at teardown) if any secret appeared in any log record during it."""
    handler = SecretLeakHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    for chatty in ("selenium", "urllib3", "hpack", "httpcore", "PIL", "matplotlib"):  # wire-level noise only
        logging.getLogger(chatty).setLevel(logging.INFO)
    # the test side's own request lines (httpx: the test client's URLs, ack links included), the test SMTP server's
    # protocol log, and uvicorn's access log, which the service's logging set-up keeps at WARNING too
    for other_side in ("httpx", "mail.log", "uvicorn.access"):
        logging.getLogger(other_side).setLevel(logging.WARNING)
    with registering():
        yield
    root.removeHandler(handler)
    root.setLevel(old_level)
    assert not handler.leaks, f"secrets were logged: {handler.leaks[:5]}"


TEST_DATABASE_ENV = "TICHWATCH_TEST_DATABASE"
"""Set to `postgresql` to run the suite against PostgreSQL: a private server, a fresh schema for every test."""


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresProcess]:
    """A private PostgreSQL server for the whole run (Debian's postgresql package), on a free port; its files outside
    pytest's temporary directories, which another pytest run started meanwhile may delete."""
    workdir = Path(tempfile.mkdtemp(prefix="tichwatch-postgres-"))
    server = PostgresProcess(workdir).start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(autouse=True)
def database_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """With TICHWATCH_TEST_DATABASE=postgresql, every store the test opens (and every service it starts, in this
    process or a child) uses a fresh PostgreSQL schema of its own; else None (SQLite in the data directory)."""
    if os.environ.get(TEST_DATABASE_ENV, "sqlite") != "postgresql":
        monkeypatch.delenv(URL_ENV, raising=False)
        return None
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about SQLite's own file (its locks, its disk, its recovery); run in the SQLite pass")
    server: PostgresProcess = request.getfixturevalue("postgres_server")
    url = new_schema_url(server.url)
    monkeypatch.setenv(URL_ENV, url)
    return url


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


@pytest.fixture
def live_app(settings: Settings) -> Iterator[tuple[Service, str]]:
    """The service (with its broker) behind uvicorn on a free port."""
    svc = Service(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(svc), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=15)
    assert svc.mqtt.connected.wait(10)
    yield svc, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
