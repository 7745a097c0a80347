"""The embedded store against real SQLite files."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from tichwatch.app.schema import MIGRATIONS, open_store
from tichwatch.config.schema import StoreSettings
from tichwatch.config.subscriptions import SubscriptionSettings
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.samples import Frame, Reading
from tichwatch.store.database import SQLITE
from tichwatch.store.retention_policy import Tally, retention_plan
from tichwatch.store.store import DB_NAME, MAX_IDLE_READERS, Store


def test_readings_are_idempotent_on_station_and_time(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    first = store.append_readings([Reading("a", 100, 5.0), Reading("a", 200, 5.1), Reading("b", 100, 3.0)])
    again = store.append_readings([Reading("a", 100, 9.9), Reading("a", 300, 5.2)])
    assert len(first) == 3 and again == [Reading("a", 300, 5.2)]
    assert store.count_readings() == 4
    assert store.reading_at("a", 100).level_m == 5.0  # type: ignore[union-attr]
    assert {k: v.ts for k, v in store.latest_readings().items()} == {"a": 300, "b": 100}


def test_downsample_min_mean_max(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.append_readings([Reading("a", t, float(t % 7)) for t in range(0, 1000, 10)])
    buckets = store.downsample("a", 0, 1000, 100)
    assert len(buckets) == 10 and all(b.count == 10 for b in buckets)
    raw = [t % 7 for t in range(0, 100, 10)]
    assert (buckets[0].min_m, buckets[0].max_m) == (min(raw), max(raw))
    assert buckets[0].mean_m == pytest.approx(sum(raw) / 10)
    assert [r.ts for r in store.readings("a", 100, 130)] == [100, 110, 120]


def test_schema_is_versioned_and_reopens(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    store = open_store(tmp_path)
    assert store.schema_version == len(MIGRATIONS)
    if store.dialect == SQLITE:
        conn = sqlite3.connect(tmp_path / DB_NAME)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    with store.transaction() as conn:
        if store.dialect == SQLITE:
            conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
        else:
            conn.execute("UPDATE schema_version SET version = ?", (len(MIGRATIONS) + 1,))
    store.close()
    with pytest.raises(RuntimeError, match="newer than this program"):
        open_store(tmp_path)


def test_transaction_rolls_back_everything(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    with pytest.raises(ZeroDivisionError), store.transaction() as conn:
        Store.insert_readings(conn, [Reading("a", 1, 1.0)])
        _ = 1 / 0
    assert store.count_readings() == 0


def test_latest_frame_and_evidence_with_retention(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.save_latest_frame(Frame("cam", 50, b"\xff\xd8old\xff\xd9", 10, 10))
    store.save_latest_frame(Frame("cam", 60, b"\xff\xd8new\xff\xd9", 10, 10))
    latest = store.latest_frame("cam")
    assert latest is not None and latest.ts == 60 and latest.path.read_bytes() == b"\xff\xd8new\xff\xd9"
    det = Detection("dust.plume", "cam", 1000.0, True, Severity.WARNING, snapshot_jpeg=b"snap",
                    context_jpegs=(b"c0", b"c1"))
    with store.transaction() as conn:
        eid = store.save_evidence(conn, det, now=1000.0)
        assert eid is not None
        store.insert_detection(conn, det, eid)
    path = store.evidence_path(eid)
    assert path is not None and path.read_bytes() == b"snap"
    assert store.detections(0)[0]["evidence_id"] == eid
    store.append_readings([Reading("a", 10, 1.0), Reading("a", 5 * 86400, 1.0)])
    plan = retention_plan(StoreSettings(readings_retention_days=2, evidence_retention_days=1), SubscriptionSettings(),
                          6 * 86400, ["cam"])
    gone = Tally()
    for sweep in ("readings", "evidence"):
        store.prune(sweep, plan, gone)
    assert gone.rows == {"readings": 1, "evidence": 1} and gone.files == {"evidence": 3}
    assert not path.exists() and store.evidence_path(eid) is None
    assert store.detections(0)[0]["evidence_id"] is None


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_threads_that_come_and_go_do_not_each_keep_a_connection(tmp_path: Path) -> None:
    """A delivery attempt is a thread of its own: 300 short-lived threads reading once leave at most the pool's idle
    connections open (a connection per thread ever seen reached PostgreSQL's "too many clients" after 400)."""
    store = open_store(tmp_path / "data")
    store.append_readings([Reading("st1", 1.0, 4.0)])
    store.count_readings()
    before = _open_fds()
    for _ in range(30):
        threads = [threading.Thread(target=store.count_readings) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    grown = _open_fds() - before
    assert grown <= 3 * MAX_IDLE_READERS, grown  # SQLite: up to 3 files a connection (database, WAL, shared memory)
    assert store.count_readings() == 1
    store.close()
    assert _open_fds() < before
