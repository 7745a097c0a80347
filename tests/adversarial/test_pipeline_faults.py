"""The pipeline with a real store and a recording broker: one bad message never blocks another, store faults are
retried (never acknowledged before the commit), and detectors stay in step with what was committed."""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import psycopg
import pytest

from tests.support import make_settings, store_locked, wait_for
from tichwatch.app.schema import open_store
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Detection
from tichwatch.core.events import Event
from tichwatch.core.metrics import Metrics
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.detector import LEVEL, FloodDetector
from tichwatch.ingest import contract
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.ingest.mqtt import InboundMessage
from tichwatch.ingest.pipeline import Pipeline
from tichwatch.store.database import URL_ENV, Connection
from tichwatch.store.store import Store
from tichwatch.tools.postgres import PostgresProcess, postgres_bin

NOW = 1_790_000_000.0
TOPICS = Topics()


class RecordingBroker:
    """Acknowledgements and publications the pipeline makes, as a broker would see them."""

    def __init__(self) -> None:
        self.acked: list[int] = []
        self.published: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()

    def ack(self, msg: InboundMessage) -> bool:
        with self._lock:
            self.acked.append(msg.mid)
        return True

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> object:
        with self._lock:
            self.published.append((topic, payload))
        return None

    def dead_letters(self) -> list[bytes]:
        with self._lock:
            return [p for t, p in self.published if "/deadletter/" in t]


class DetectionLog:
    """A sink that records the detections committed with each batch, and can refuse some (a content fault)."""

    def __init__(self) -> None:
        self.committed: list[Detection] = []
        self.refuse_level: float | None = None

    def apply(self, conn: Connection, detections: Sequence[Detection], now: float,
              observed: Mapping[str, float]) -> list[Event]:
        for d in detections:
            if self.refuse_level is not None and d.value == self.refuse_level:
                raise ValueError("this detection cannot be handled")
        conn.execute("SELECT 1")
        self.committed.extend(detections)
        return []


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", 1)


@pytest.fixture
def rig(settings: Settings) -> Iterator[tuple[Pipeline, RecordingBroker, DetectionLog, Store]]:
    store = open_store(settings.store.data_dir, write_busy_timeout_s=0.2)
    flood = FloodDetector(settings.stations, settings.flood)
    pipeline = Pipeline(settings, store, Metrics(), reading_detectors=[flood], clock=lambda: NOW + 86400,
                        tick_interval_s=3600)
    broker, sink = RecordingBroker(), DetectionLog()
    pipeline.broker = broker
    pipeline.sinks.append(sink)
    pipeline.start()
    yield pipeline, broker, sink, store
    pipeline.stop()
    store.close()


def message(mid: int, station: str, payload: bytes) -> InboundMessage:
    return InboundMessage(TOPICS.reading(station), payload, 1, mid, 0, NOW + 86400)


def stored_count(store: Store) -> int:
    return store.count_readings()


def test_a_message_that_breaks_the_commit_is_isolated_and_the_rest_of_its_batch_commits(
        rig: tuple[Pipeline, RecordingBroker, DetectionLog, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline, broker, _, store = rig
    real = contract.decode_readings

    def decode(station_id: str, payload: bytes, settings: Settings, now: float) -> contract.Decoded:
        out = real(station_id, payload, settings, now)
        if b'"seq":666' in payload:  # a value SQLite cannot store, as if the decoder had let it through
            out.readings = [Reading(r.station_id, r.ts, r.level_m, 2**64, r.battery_v, r.received_ts)
                            for r in out.readings]
        return out

    monkeypatch.setattr("tichwatch.ingest.pipeline.decode_readings", decode)
    msgs = [message(i, "st1" if i % 2 else "st2", encode_reading(NOW + i, 4.0, seq=666 if i == 37 else i))
            for i in range(100)]
    for m in msgs:
        pipeline.submit(m)
    wait_for(lambda: len(broker.acked) == 100, message=lambda: f"acked {len(broker.acked)}")
    assert stored_count(store) == 99
    assert sorted(broker.acked) == list(range(100))
    letters = broker.dead_letters()
    assert len(letters) == 1 and b'"reason": "unprocessable"' in letters[0]
    assert b"OverflowError" in letters[0] or b"NumericValueOutOfRange" in letters[0]  # SQLite's or PostgreSQL's
    assert pipeline.store_fault is None


def test_a_detection_the_sink_cannot_handle_keeps_the_reading_and_every_other_detection(
        rig: tuple[Pipeline, RecordingBroker, DetectionLog, Store]) -> None:
    pipeline, broker, sink, store = rig
    sink.refuse_level = 6.6  # the BD1 crossing at 6.6 m fails in the alert stage
    levels = [5.0, 5.5, 6.0, 6.6, 6.7, 6.8, 7.4, 7.5]  # crosses BD1 (6.5) then BD2 (7.3)
    for i, level in enumerate(levels):
        pipeline.submit(message(i, "st1", encode_reading(NOW + 600 * i, level, seq=i)))
    wait_for(lambda: len(broker.acked) == len(levels))
    assert stored_count(store) == len(levels)  # nothing lost, though one reading broke the alert stage
    assert not broker.dead_letters()
    levels_raised = [d.level for d in sink.committed if d.kind == LEVEL and d.active]
    # The reading that broke the alert stage was kept without the detectors, which were rewound to the store: the
    # BD1 crossing is then seen on the next reading, and each crossing is committed exactly once (none doubled).
    assert levels_raised == ["BD1", "BD2"], sink.committed


def test_a_locked_database_is_retried_not_acknowledged_and_recovers_by_itself(
        rig: tuple[Pipeline, RecordingBroker, DetectionLog, Store], settings: Settings) -> None:
    pipeline, broker, _, store = rig
    with store_locked(settings.store.data_dir):
        for i in range(20):
            pipeline.submit(message(i, "st1", encode_reading(NOW + i, 4.0, seq=i)))
        wait_for(lambda: pipeline.store_fault is not None, timeout_s=10)
        assert "lock" in (pipeline.store_fault or "")  # SQLite: database is locked; PostgreSQL: lock timeout
        assert broker.acked == []  # nothing acknowledged while nothing is stored
    wait_for(lambda: len(broker.acked) == 20, timeout_s=30)
    assert stored_count(store) == 20 and pipeline.store_fault is None
    assert not broker.dead_letters()


def _bare_pipeline(settings: Settings, store: Store) -> tuple[Pipeline, RecordingBroker]:
    """A started pipeline with no detectors, acknowledging to a recording broker."""
    pipeline = Pipeline(settings, store, Metrics(), clock=lambda: NOW + 86400, tick_interval_s=3600)
    broker = RecordingBroker()
    pipeline.broker = broker
    pipeline.start()
    return pipeline, broker


def test_stop_while_the_store_is_down_leaves_the_work_unacknowledged(settings: Settings) -> None:
    store = open_store(settings.store.data_dir, write_busy_timeout_s=0.1)
    pipeline, broker = _bare_pipeline(settings, store)
    try:
        with store_locked(settings.store.data_dir):
            pipeline.submit(message(1, "st1", encode_reading(NOW, 4.0)))
            wait_for(lambda: pipeline.store_fault is not None, timeout_s=10)
            pipeline.stop(timeout_s=1)
            assert broker.acked == [] and not broker.dead_letters()  # the broker will redeliver it
    finally:
        store.close()


def test_a_failed_commit_leaves_the_transaction_closed(settings: Settings) -> None:
    store = open_store(settings.store.data_dir)
    with pytest.raises((OverflowError, psycopg.errors.NumericValueOutOfRange)), store.transaction() as conn:
        conn.execute("INSERT INTO readings (station_id, ts, level_m, seq) VALUES ('st1', 1, 1.0, ?)", (2**64,))
    store.append_readings([Reading("st1", 2.0, 4.0)])  # the writer is usable again at once
    assert store.count_readings() == 1
    store.close()



def test_a_content_fault_does_not_lose_what_the_detectors_knew_before_the_batch(
        rig: tuple[Pipeline, RecordingBroker, DetectionLog, Store]) -> None:
    pipeline, broker, sink, _ = rig
    pipeline.tick(NOW)  # the first tick starts the silence clock of stations never heard
    pipeline.tick(NOW + 86400)  # both stations silent: sensor.offline raised (state that readings cannot rebuild)
    assert {d.subject for d in sink.committed if d.kind == "sensor.offline" and d.active} == {"st1", "st2"}
    sink.refuse_level = 6.6  # st2's BD1 crossing fails in the alert stage; st1's reading is in the same batch
    batch = [message(1, "st1", encode_reading(NOW + 86000, 4.1, seq=1)),
             message(2, "st2", encode_reading(NOW + 86000, 6.6, seq=2))]
    for m in batch:
        pipeline.submit(m)
    wait_for(lambda: len(broker.acked) == 2)
    cleared = [d.subject for d in sink.committed if d.kind == "sensor.offline" and not d.active]
    assert "st1" in cleared  # st1 came back: its offline alert clears, the failed batch did not make it forget


def test_a_tick_whose_detections_cannot_be_committed_detects_them_again(
        rig: tuple[Pipeline, RecordingBroker, DetectionLog, Store]) -> None:
    pipeline, _, _sink, _ = rig

    class Once(DetectionLog):
        failed = False

        def apply(self, conn: Connection, detections: Sequence[Detection], now: float,
                  observed: Mapping[str, float]) -> list[Event]:
            if not Once.failed:
                Once.failed = True
                raise ValueError("the alert stage failed once")
            return super().apply(conn, detections, now, observed)

    once = Once()
    pipeline.sinks[:] = [once]
    pipeline.tick(NOW)
    with pytest.raises(ValueError):
        pipeline.tick(NOW + 86400)
    pipeline.tick(NOW + 86405)
    assert {d.subject for d in once.committed if d.kind == "sensor.offline" and d.active} == {"st1", "st2"}


def test_sqlite_content_errors_are_the_content_s_and_machine_errors_the_store_s(tmp_path: Path) -> None:
    from tichwatch.store.faults import is_store_fault

    conn = sqlite3.connect(":memory:")
    for sql in ("SELECT json_extract('not json', '$.a')", "SELECT SUM(x) FROM (SELECT 9223372036854775807 AS x "
                                                          "UNION ALL SELECT 1)", "SELECT * FROM no_such_table"):
        with pytest.raises(sqlite3.OperationalError) as err:
            conn.execute(sql).fetchall()
        assert not is_store_fault(err.value), sql  # retried for ever, these would stop ingest
    db = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(db, timeout=0.05)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("INSERT INTO t VALUES (1)")
    assert is_store_fault(locked.value)
    assert is_store_fault(OSError(28, "No space left on device"))
    holder.execute("ROLLBACK")


def test_a_postgresql_restart_mid_stream_is_retried_and_nothing_is_lost_or_doubled(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL's counterpart of the locked file: the server stops under the pipeline (every connection lost) and
    comes back a while later. What came meanwhile waits unacknowledged, then is stored once; no restart of ours."""
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (Debian package 'postgresql'; .ci/setup installs it)")
    workdir = Path(tempfile.mkdtemp(prefix="tichwatch-pg-restart-"))
    server = PostgresProcess(workdir).start()
    monkeypatch.setenv(URL_ENV, server.url)
    store = open_store(settings.store.data_dir, write_busy_timeout_s=0.2)
    pipeline, broker = _bare_pipeline(settings, store)
    try:
        for i in range(20):
            pipeline.submit(message(i, "st1", encode_reading(NOW + i, 4.0, seq=i)))
        wait_for(lambda: len(broker.acked) == 20)
        server.stop()
        for i in range(20, 40):
            pipeline.submit(message(i, "st1", encode_reading(NOW + i, 4.0, seq=i)))
        wait_for(lambda: pipeline.store_fault is not None, timeout_s=30)
        assert len(broker.acked) == 20  # nothing acknowledged while nothing is stored
        server.start()
        wait_for(lambda: len(broker.acked) == 40, timeout_s=60, message=lambda: f"{pipeline.store_fault}")
        assert store.count_readings() == 40 and pipeline.store_fault is None
        assert [r.seq for r in store.readings("st1", 0, NOW + 86400)] == list(range(40))
        assert not broker.dead_letters()
    finally:
        pipeline.stop()
        store.close()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
