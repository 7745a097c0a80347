"""One lock order between ingest, the detectors and admin edits: recorded while they run at once, and acyclic."""
from __future__ import annotations

import threading
import time
from typing import Any

from tests.support import wait_for
from tichwatch.app.service import Service
from tichwatch.config.schema import AlarmLevels
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.publisher import GatewayPublisher


class OrderRecorder:
    """Every (held, then taken) pair of named locks seen on any thread."""

    def __init__(self) -> None:
        self.edges: set[tuple[str, str]] = set()
        self._held = threading.local()
        self._lock = threading.Lock()

    def held(self) -> list[str]:
        if not hasattr(self._held, "names"):
            self._held.names = []
        return self._held.names

    def wrap(self, name: str, lock: Any) -> RecordingLock:
        return RecordingLock(name, lock, self)

    def cycle(self) -> list[tuple[str, str]]:
        """Pairs taken in both orders (a cycle of two; enough for three locks)."""
        return sorted((a, b) for a, b in self.edges if (b, a) in self.edges and a < b)


class RecordingLock:
    """A lock that tells the recorder which locks its thread already held when taking it."""

    def __init__(self, name: str, inner: Any, recorder: OrderRecorder):
        self.name, self._inner, self._rec = name, inner, recorder

    def __enter__(self) -> RecordingLock:
        held = self._rec.held()
        with self._rec._lock:
            self._rec.edges.update((h, self.name) for h in held if h != self.name)
        self._inner.acquire()
        held.append(self.name)
        return self

    def __exit__(self, *exc: object) -> None:
        self._rec.held().remove(self.name)
        self._inner.release()


def test_ingest_alarm_edits_and_status_reads_share_one_lock_order(service: Service,
                                                                  gateway: GatewayPublisher) -> None:
    rec = OrderRecorder()
    service.store._lock = rec.wrap("store", service.store._lock)  # type: ignore[assignment]
    detectors = rec.wrap("detectors", service.pipeline.detect_lock)
    service.pipeline.detect_lock = detectors  # type: ignore[assignment]
    service.stations._detector_lock = detectors  # the registry's handle on the same lock
    service.stations._edit_lock = rec.wrap("edit", service.stations._edit_lock)  # type: ignore[assignment]
    topics, now, total = Topics(), time.time(), 3000
    stop = threading.Event()
    errors: list[BaseException] = []

    def edit() -> None:
        levels = [AlarmLevels(bd1_m=6.5, bd2_m=7.3, bd3_m=8.0), None]
        i = 0
        while not stop.is_set():
            try:
                service.stations.set_alarm_levels("st1", levels[i % 2], "admin", "drill")
                service.station_status("st1")
                service.commune_status()
            except BaseException as exc:
                errors.append(exc)
                return
            i += 1

    editors = [threading.Thread(target=edit, daemon=True) for _ in range(2)]
    for t in editors:
        t.start()
    for i in range(total):  # levels that cross BD1 and back, so detections and alert changes commit too
        level = 6.0 + (i % 40) / 20
        gateway.publish(topics.reading("st1" if i % 2 else "st2"), encode_reading(now - total + i, level, seq=i))
    try:
        wait_for(lambda: service.store.count_readings() >= total, timeout_s=90,
                 message=lambda: f"stored {service.store.count_readings()} of {total}: deadlocked?")
    finally:
        stop.set()
        for t in editors:
            t.join(timeout=30)
    assert not any(t.is_alive() for t in editors), "an alarm-level edit is stuck: deadlock"
    assert not errors, errors
    assert ("edit", "store") in rec.edges and ("edit", "detectors") in rec.edges  # the recorder saw the edits
    assert rec.cycle() == [], f"locks taken in both orders: {rec.cycle()} (edges {sorted(rec.edges)})"
