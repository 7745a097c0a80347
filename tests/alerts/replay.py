"""A flood replayed through the real pipeline as a backlog: days of readings, delivered in seconds of wall time."""
from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from tests.support import wait_for
from tichwatch.alerts.runtime import AlertRuntime
from tichwatch.app.schema import open_store
from tichwatch.config.schema import Settings
from tichwatch.core.metrics import Metrics
from tichwatch.detectors.flood.detector import FloodDetector
from tichwatch.ingest.contract import Topics
from tichwatch.ingest.mqtt import InboundMessage
from tichwatch.ingest.pipeline import Pipeline
from tichwatch.store.store import Store

STEP_S = 600.0
"""The gauge's interval (st1 and st2 of the test settings report every 10 min)."""


def river_level(hour: float, floods: Sequence[float] = (12.0,)) -> float:
    """The level at `hour`: 5 m, and for each start in `floods` a flood that rises 2.6 m over 12 h (past BĐ I at
    6.5 and BĐ II at 7.3), stays 6 h, falls back over 18 h; a small ripple so the gauge never reads stuck."""
    level = 5.0
    for start in floods:
        h = hour - start
        if 0 <= h < 12:
            level = max(level, 5.0 + h / 12 * 2.6)
        elif 12 <= h < 18:
            level = max(level, 7.6)
        elif 18 <= h < 36:
            level = max(level, 7.6 - (h - 18) / 18 * 2.6)
    return round(level + 0.02 * math.sin(hour * 4.2), 3)


def flood_series(start_ts: float, hours: float, floods: Sequence[float] = (12.0,)) -> list[tuple[float, float]]:
    """(sample time, level) every STEP_S from `start_ts` for `hours`."""
    return [(start_ts + i * STEP_S, river_level(i * STEP_S / 3600, floods)) for i in range(int(hours * 3600 / STEP_S))]


def payload(readings: Sequence[tuple[float, float]]) -> bytes:
    """A gateway's message: a JSON array of readings (its stored backlog)."""
    return json.dumps([{"ts": datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z"), "level_m": level}
                       for ts, level in readings]).encode()


@dataclass
class Rig:
    """The real pipeline (flood detector, alert engine as its sink) on a real store; the worker thread runs."""

    settings: Settings
    store: Store
    runtime: AlertRuntime
    pipeline: Pipeline
    sent: int = 0

    def deliver(self, readings: Sequence[tuple[float, float]], station: str = "st1") -> None:
        """One message of readings, received now; waits until it is committed (so each message is its own batch)."""
        before = self.stored(station)
        self.sent += 1
        self.pipeline.submit(InboundMessage(Topics().reading(station), payload(readings), 1, self.sent, 0,
                                            time.time()))
        wait_for(lambda: self.stored(station) >= before + len(readings), timeout_s=30)

    def stored(self, station: str) -> int:
        """How many readings of the station are stored."""
        return int(self.store.query_one("SELECT COUNT(*) FROM readings WHERE station_id = ?", (station,))[0])


@contextmanager
def rig(settings: Settings) -> Iterator[Rig]:
    """A started pipeline with the flood detector and the alert engine; stopped and closed afterwards."""
    store = open_store(settings.store.data_dir)
    metrics = Metrics()
    runtime = AlertRuntime(settings, store, metrics, env={})
    pipeline = Pipeline(settings, store, metrics, reading_detectors=[FloodDetector(settings.stations, settings.flood)],
                        sinks=[runtime.engine])
    pipeline.start()
    try:
        yield Rig(settings, store, runtime, pipeline)
    finally:
        pipeline.stop()
        store.close()
