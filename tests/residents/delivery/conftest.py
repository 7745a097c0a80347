"""Fixtures of the residents' delivery tests: the local ZNS server, the SMS gateway, and a harness using both."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.servers import HttpRecorder
from tests.residents.delivery.support import ResidentHarness, ZnsFake, resident_settings


@pytest.fixture
def zns() -> Iterator[ZnsFake]:
    fake = ZnsFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def gateway() -> Iterator[HttpRecorder]:
    rec = HttpRecorder().start()
    yield rec
    rec.stop()


@pytest.fixture
def h(tmp_path: Path, zns: ZnsFake, gateway: HttpRecorder) -> Iterator[ResidentHarness]:
    harness = ResidentHarness(resident_settings(tmp_path / "data", zns.url, gateway.url))
    yield harness
    harness.close()
