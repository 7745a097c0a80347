"""Fixtures of the API tests."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support import make_settings
from tichwatch.api.app import create_app
from tichwatch.app.service import Service

NOW = 1_790_000_000.0
"""The fixed time the `api_now` service runs at (UTC epoch seconds)."""


@pytest.fixture
def api_now(tmp_path: Path) -> Iterator[tuple[TestClient, Service]]:
    """The real app over a real store, not started (no broker, no worker), its clock fixed at NOW."""
    svc = Service(make_settings(tmp_path / "data"), clock=lambda: NOW)
    with TestClient(create_app(svc, manage_lifecycle=False)) as client:
        yield client, svc
    svc.store.close()
