"""Fixtures of the security tests: the broker set up as docs/mosquitto documents it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest.security.tls_broker import PASSWORDS, TlsBroker, start_tls_broker


@pytest.fixture
def tls_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TlsBroker]:
    """The documented broker (tichwatch.conf, generated ACL, users), and the service's password in its environment
    variable."""
    broker = start_tls_broker(tmp_path)
    monkeypatch.setenv(broker.settings.mqtt.password_env, PASSWORDS["tichwatch"])
    yield broker
    broker.proc.stop()
