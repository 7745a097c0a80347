"""Fixtures of the alert tests."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.harness import Harness, people_settings
from tests.alerts.servers import HttpRecorder


@pytest.fixture
def hook() -> Iterator[HttpRecorder]:
    """A webhook receiver listening (it records every request; `hold` makes it hang)."""
    rec = HttpRecorder().start()
    yield rec
    rec.stop()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    """A runtime with the people receivers, no hold before resolving."""
    h = Harness(people_settings(tmp_path / "data"))
    yield h
    h.close()
