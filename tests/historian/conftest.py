"""Fixtures of the historian tests: a VictoriaMetrics server (speaks InfluxDB's v2 write API) and historian settings."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.historian.victoria import VictoriaMetrics
from tests.support import make_settings
from tichwatch.config.schema import Settings

TOKEN = "tok-HISTORIAN-s3cret-9f2c"
"""The InfluxDB token of the tests; it must never appear in a log."""
TOKEN_ENV = {"TICHWATCH_INFLUX_TOKEN": TOKEN}


def historian_settings(data_dir: Path, url: str, port: int = 1883, **historian: Any) -> Settings:
    """Test settings with the historian enabled at `url`, flushing and retrying fast."""
    return make_settings(data_dir, port, historian={
        "enabled": True, "url": url, "flush_interval_s": 0.05, "retry_min_s": 0.05, "retry_max_s": 0.2,
        "timeout_s": 2.0, **historian})


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A VictoriaMetrics server of the test's own (stop()/start() for an outage)."""
    vm = VictoriaMetrics(tmp_path / "vm").start()
    yield vm
    vm.stop()
