"""Retention against a real store in a temporary directory: what goes when, what stays, the worker and the disk
check."""
from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.alerts.harness import Clock
from tests.support import make_settings
from tichwatch.alerts import outbox
from tichwatch.app.schema import open_store
from tichwatch.config.schema import Settings, StoreSettings
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.metrics import Metrics
from tichwatch.core.samples import Frame, Reading
from tichwatch.store.database import Connection
from tichwatch.store.disk_space import MIB, DiskLevel, DiskSpace, DiskThresholds, judge
from tichwatch.store.pruning import SWEEPS
from tichwatch.store.retention import RETRY_S, RetentionWorker
from tichwatch.store.retention_policy import DAY_S, RetentionPlan, Tally, retention_plan
from tichwatch.store.store import Store

NOW = 1_800_000_000.0
RETENTION_DAYS = {"readings": 10, "dust_index": 5, "evidence": 3, "notifications": 7, "audit": 30}
OLD_IN_CUTOFF_MONTH = NOW - 12 * DAY_S  # past the readings' 10 days, in the cut-off's month: pruned in chunks on
# PostgreSQL as well (a month that ended before the cut-off is dropped whole there)
JPEG = b"\xff\xd8" + b"x" * 100 + b"\xff\xd9"


def _settings(data_dir: Path, **store: Any) -> Settings:
    """Test settings (camera `cam1`) with short, distinct retentions."""
    return make_settings(data_dir, store={
        "data_dir": str(data_dir), "readings_retention_days": RETENTION_DAYS["readings"],
        "dust_index_retention_days": RETENTION_DAYS["dust_index"],
        "evidence_retention_days": RETENTION_DAYS["evidence"],
        "notifications_retention_days": RETENTION_DAYS["notifications"],
        "audit_retention_days": RETENTION_DAYS["audit"], **store})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "data")
    yield s
    s.close()


def _plan(store: Store, now: float = NOW, cameras: tuple[str, ...] = ("cam1",)) -> RetentionPlan:
    settings = _settings(store.data_dir)
    return retention_plan(settings.store, settings.subscriptions, now, cameras)


def _prune(store: Store, sweep: str, plan: RetentionPlan | None = None, chunk_rows: int = 5000,
           pause: Callable[[], None] = lambda: None) -> Tally:
    tally = Tally()
    store.prune(sweep, plan or _plan(store), tally, chunk_rows, pause)
    return tally


def _count(store: Store, sql: str, params: tuple[object, ...] = ()) -> int:
    return int(store.query_one(sql, params)[0])  # type: ignore[index]


# -- rows of each kind, inserted the way their owners insert them -------------------------------------------------
def _alert(conn: Connection, alert_id: str, ts: float, resolved_ts: float | None = None) -> None:
    state = "resolved" if resolved_ts is not None else "firing"
    conn.execute("INSERT INTO alerts (id, kind, subject, state, severity, started_ts, detected_ts, opened_ts, "
                 "updated_ts, firing_since_ts, resolved_ts) VALUES (?, 'flood.level', ?, ?, 20, ?, ?, ?, ?, ?, ?)",
                 (alert_id, alert_id, state, ts, ts, ts, ts, ts, resolved_ts))


def _notification(conn: Connection, alert_id: str, ts: float, state: str = "sent",
                  receiver: str = "duty") -> int:
    cur = conn.execute("INSERT INTO notifications (idempotency_key, alert_id, receiver, channel, notice, severity, "
                       "created_ts, payload, state, next_attempt_ts) VALUES (?, ?, ?, 'log', 'firing', 20, ?, '{}', "
                       "?, ?) RETURNING id", (f"k{os.urandom(6).hex()}", alert_id, receiver, ts, state, ts))
    return int(cur.fetchone()[0])


def _alert_log(conn: Connection, ts: float, alert_id: str | None = None, silence_id: str | None = None) -> None:
    conn.execute("INSERT INTO alert_log (alert_id, silence_id, ts, action, actor) VALUES (?, ?, ?, 'x', 'system')",
                 (alert_id, silence_id, ts))


def _silence(conn: Connection, silence_id: str, ends_ts: float) -> None:
    conn.execute("INSERT INTO silences (id, matchers, starts_ts, ends_ts, reason, created_by, created_ts) "
                 "VALUES (?, '[]', ?, ?, 'works', 'an', ?)", (silence_id, ends_ts - 3600, ends_ts, ends_ts - 3600))


def _evidence(store: Store, ts: float, subject: str = "cam1") -> Path:
    det = Detection("dust.plume", subject, ts, True, Severity.WARNING, snapshot_jpeg=JPEG, context_jpegs=(JPEG,))
    with store.transaction() as conn:
        eid = store.save_evidence(conn, det, now=ts)
        store.insert_detection(conn, det, eid)
    path = store.evidence_path(eid or 0)
    assert path is not None and path.exists()
    return path


def _subscriber(conn: Connection, i: int, status: str, ts: float) -> None:
    """A resident registered at `ts` (unsubscribed at `ts` when `status` says so), with a pending code."""
    cur = conn.execute(
        "INSERT INTO subscribers (phone, hamlet_id, channel, status, consent_ts, consent_text, registered_by, "
        "created_ts, updated_ts, unsubscribed_ts) VALUES (?, 'thon-1', 'zns', ?, ?, 'ok', 'self', ?, ?, ?) "
        "RETURNING id",
        (f"+8491200000{i}", status, ts, ts, ts, ts if status == "unsubscribed" else None))
    conn.execute("INSERT INTO subscriber_codes (subscriber_id, code_hash, expires_ts, attempts, hamlet_id, lang, "
                 "channel, consent_ts, consent_text, consent_version, created_ts) "
                 "VALUES (?, 'h', ?, 0, 'thon-1', 'vi', 'zns', ?, 'ok', '2026-1', ?)", (cur.fetchone()[0], ts, ts, ts))


def _insert_old_and_new(store: Store, sweep: str, old: float, new: float) -> None:
    """One row of the sweep's kind just past its limit, one just inside."""
    with store.transaction() as conn:
        for i, ts in enumerate((old, new)):
            if sweep == "readings":
                Store.insert_readings(conn, [Reading("st1", ts, 1.0)])
            elif sweep == "dust_index":
                conn.execute("INSERT INTO dust_index VALUES ('cam1', ?, 0.1, 'clear')", (ts,))
            elif sweep == "detections":
                store.insert_detection(conn, Detection("flood.level", "st1", ts, True, Severity.WARNING), None)
            elif sweep == "notifications":
                _alert(conn, f"n{i}", ts, resolved_ts=ts)
                _notification(conn, f"n{i}", ts)
            elif sweep == "alerts":
                _alert(conn, f"a{i}", ts - 600, resolved_ts=ts)
            elif sweep == "alert_log":
                _alert_log(conn, ts)
            elif sweep == "silences":
                _silence(conn, f"s{i}", ts)
            elif sweep == "officer_audit":
                conn.execute("INSERT INTO officer_audit (ts, actor, action, target) VALUES (?, 'an', 'x', 'y')", (ts,))
            elif sweep == "login_failures":
                conn.execute("INSERT INTO login_failures VALUES ('an', '10.0.0.9', ?)", (ts,))
            elif sweep == "sessions":
                conn.execute("INSERT INTO users VALUES ('an', 'h', 'officer', 0, 0) ON CONFLICT DO NOTHING")
                conn.execute("INSERT INTO sessions VALUES (?, 'an', 0, ?)", (f"t{i}", ts))
            elif sweep == "subscribers_pending":
                _subscriber(conn, i, "pending", ts)
                _subscriber(conn, i + 10, "active", ts - 400 * DAY_S)  # an active resident stays however old
            elif sweep == "subscribers_left":
                _subscriber(conn, i, "unsubscribed", ts)
            elif sweep == "resident_fanouts":
                conn.execute("INSERT INTO resident_fanouts VALUES (?, 'level:2', ?, 3)", (f"a{i}", ts))
    if sweep == "evidence":
        for ts in (old, new):
            _evidence(store, ts)


AGE_LIMITS: dict[str, tuple[float, str]] = {
    # sweep: (limit before NOW in seconds, query of the timestamps left)
    "readings": (10 * DAY_S, "SELECT ts FROM readings"),
    "dust_index": (5 * DAY_S, "SELECT ts FROM dust_index"),
    "detections": (10 * DAY_S, "SELECT ts FROM detections"),
    "evidence": (3 * DAY_S, "SELECT ts FROM evidence"),
    "notifications": (7 * DAY_S, "SELECT created_ts FROM notifications"),
    "alerts": (30 * DAY_S, "SELECT resolved_ts FROM alerts"),
    "alert_log": (30 * DAY_S, "SELECT ts FROM alert_log"),
    "silences": (30 * DAY_S, "SELECT ends_ts FROM silences"),
    "officer_audit": (30 * DAY_S, "SELECT ts FROM officer_audit"),
    "login_failures": (DAY_S, "SELECT ts FROM login_failures"),
    "sessions": (0.0, "SELECT expires_ts FROM sessions"),
    "subscribers_pending": (DAY_S, "SELECT updated_ts FROM subscribers WHERE status = 'pending'"),
    "subscribers_left": (30 * DAY_S, "SELECT unsubscribed_ts FROM subscribers"),
    "resident_fanouts": (30 * DAY_S, "SELECT created_ts FROM resident_fanouts"),
}


@pytest.mark.parametrize("sweep", sorted(AGE_LIMITS))
def test_each_kind_goes_at_its_retention_and_not_before(store: Store, sweep: str) -> None:
    limit_s, left_sql = AGE_LIMITS[sweep]
    old, new = NOW - limit_s - 1, NOW - limit_s + 1
    _insert_old_and_new(store, sweep, old, new)
    _prune(store, sweep, _plan(store, now=old + limit_s))  # the older one is exactly as old as the limit: not yet
    assert sorted(r[0] for r in store.query_all(left_sql)) == [old, new]
    tally = _prune(store, sweep)
    assert [r[0] for r in store.query_all(left_sql)] == [new]
    assert tally.rows == {sweep: 1}
    if sweep.startswith("subscribers"):  # a pending code goes with its resident; active residents stay
        left = 3 if sweep == "subscribers_pending" else 1
        assert _count(store, "SELECT COUNT(*) FROM subscriber_codes") == left
        assert _count(store, "SELECT COUNT(*) FROM subscribers") == left


def test_a_zns_receipt_goes_with_its_notification(store: Store) -> None:
    # zns_messages references notifications: without the cascade the notifications and alerts sweeps would fail on
    # the foreign key once a single ZNS message had been sent, and both tables would grow without bound.
    old = NOW - 40 * DAY_S
    with store.transaction() as conn:
        _alert(conn, "gone", old - 600, resolved_ts=old)  # past the audit limit: goes with its notifications
        _alert(conn, "recent", old - 600, resolved_ts=NOW - DAY_S)  # stays; its old notifications go
        for k, alert_id in enumerate(("gone", "gone", "recent")):
            nid = _notification(conn, alert_id, old, receiver=f"residents-{k}")
            conn.execute("INSERT INTO zns_messages (notification_id, tracking_id, msg_id, sent_ts) "
                         "VALUES (?, 'k', 'm', ?)", (nid, old))
    assert _prune(store, "notifications").rows == {"notifications": 3}
    assert _count(store, "SELECT COUNT(*) FROM zns_messages") == 0
    with store.transaction() as conn:
        conn.execute("INSERT INTO zns_messages (notification_id, tracking_id, sent_ts) VALUES (?, 'k', ?)",
                     (_notification(conn, "gone", NOW, state="pending"), NOW))
        conn.execute("UPDATE notifications SET state = 'sent'")
    assert _prune(store, "alerts").rows["alerts"] == 1
    assert _count(store, "SELECT COUNT(*) FROM notifications") == 0
    assert _count(store, "SELECT COUNT(*) FROM zns_messages") == 0



def test_evidence_files_go_with_their_rows_and_detections_lose_the_link(store: Store) -> None:
    old = _evidence(store, NOW - 4 * DAY_S)
    new = _evidence(store, NOW - 2 * DAY_S)
    tally = _prune(store, "evidence")
    assert not old.exists() and not old.with_name(old.stem + "_ctx00.jpg").exists()
    assert new.exists() and new.with_name(new.stem + "_ctx00.jpg").exists()
    assert tally.files == {"evidence": 2} and tally.bytes == {"evidence": 2 * len(JPEG)}
    links = sorted((r[0], r[1] is None) for r in store.query_all("SELECT ts, evidence_id FROM detections"))
    assert links == [(NOW - 4 * DAY_S, True), (NOW - 2 * DAY_S, False)]  # the detection stays, its link goes


def test_undelivered_notifications_are_kept(store: Store) -> None:
    old = NOW - 400 * DAY_S
    with store.transaction() as conn:
        _alert(conn, "a", old, resolved_ts=old)
        _notification(conn, "a", old, state="sent")
        _notification(conn, "a", old, state="failed")
        waiting = _notification(conn, "a", old, state="pending")
        _alert_log(conn, old, alert_id="a")
    for sweep in ("notifications", "alerts"):
        _prune(store, sweep)
    assert [r[0] for r in store.query_all("SELECT id FROM notifications")] == [waiting]
    # its alert, though resolved long before the audit limit, stays with its log until the message is delivered
    assert _count(store, "SELECT COUNT(*) FROM alerts") == 1 and _count(store, "SELECT COUNT(*) FROM alert_log") == 1


def test_an_open_alert_keeps_what_the_dedup_stage_reads(store: Store) -> None:
    old = NOW - 100 * DAY_S
    with store.transaction() as conn:
        _alert(conn, "open", old)
        for _ in range(3):
            _notification(conn, "open", old, receiver="duty")
        _notification(conn, "open", old, receiver="chair")
    before = outbox.last_sent(store.query_all, ["open"])
    tally = _prune(store, "notifications")
    assert tally.rows == {"notifications": 2}  # the two older ones to duty
    assert outbox.last_sent(store.query_all, ["open"]) == before


def test_resolved_alerts_go_with_their_audit_at_the_audit_limit(store: Store) -> None:
    old = NOW - 31 * DAY_S
    with store.transaction() as conn:
        _alert(conn, "gone", old - DAY_S, resolved_ts=old)
        _alert_log(conn, old - DAY_S, alert_id="gone")
        _alert_log(conn, old, alert_id="gone")
        _notification(conn, "gone", old - DAY_S)
        conn.execute("INSERT INTO ack_link_nonces VALUES ('n1', 'gone', ?, 'duty')", (old,))
        _alert(conn, "open", old - DAY_S)  # open for a month: its history stays with it
        _alert_log(conn, old - DAY_S, alert_id="open")
    tally = _prune(store, "alerts")
    assert tally.rows == {"alerts": 1, "alert_log": 2, "notifications": 1, "ack_link_nonces": 1}
    assert [r[0] for r in store.query_all("SELECT id FROM alerts")] == ["open"]
    assert [r[0] for r in store.query_all("SELECT alert_id FROM alert_log")] == ["open"]


def test_a_silence_an_alert_entry_still_names_stays(store: Store) -> None:
    old = NOW - 40 * DAY_S
    with store.transaction() as conn:
        _silence(conn, "named", old)
        _silence(conn, "free", old)
        _alert(conn, "open", old)
        _alert_log(conn, old, alert_id="open", silence_id="named")
    _prune(store, "silences")
    assert [r[0] for r in store.query_all("SELECT id FROM silences")] == ["named"]


def test_bulletins_are_kept(tmp_path: Path, store: Store) -> None:
    ancient = NOW - 5000 * DAY_S
    with store.transaction() as conn:
        conn.execute("INSERT INTO bulletins (id, kind, origin, state, data_ts, created_ts, created_by, updated_ts, "
                     "content) VALUES ('b1', 'routine', 'schedule', 'published', ?, ?, 'an', ?, '{}')",
                     (ancient, ancient, ancient))
        conn.execute("INSERT INTO bulletin_log (bulletin_id, ts, actor, action) VALUES ('b1', ?, 'an', 'x')",
                     (ancient,))
    worker = RetentionWorker(_settings(store.data_dir), store, Metrics(), Clock(NOW), pause_s=0)
    assert worker.run(NOW) is not None
    assert _count(store, "SELECT COUNT(*) FROM bulletins") == 1
    assert _count(store, "SELECT COUNT(*) FROM bulletin_log") == 1


# -- chunks --------------------------------------------------------------------------------------------------------
def test_chunked_deletion_leaves_nothing_behind(store: Store) -> None:
    old = [Reading(sid, OLD_IN_CUTOFF_MONTH + i, 1.0) for sid in ("st1", "st2") for i in range(525)]
    store.append_readings([*old, Reading("st1", NOW, 2.0), Reading("st2", NOW, 2.0)])
    pauses: list[int] = []
    tally = _prune(store, "readings", chunk_rows=100, pause=lambda: pauses.append(store.count_readings()))
    assert tally.rows == {"readings": 1050} and store.count_readings() == 2
    assert len(pauses) == 10  # 5 full chunks per station, each its own transaction
    assert pauses[0] == 1052 - 100  # the first pause comes after the first committed chunk


def test_another_writer_commits_between_chunks(store: Store) -> None:
    """The writer lock is free between chunks: a reading from another thread commits during a large prune."""
    store.append_readings([Reading("st1", OLD_IN_CUTOFF_MONTH + i, 1.0) for i in range(300)])
    committed: list[bool] = []

    def other_writer() -> None:
        def write() -> None:
            committed.append(bool(store.append_readings([Reading("st2", NOW + len(committed), 1.0)])))
        t = threading.Thread(target=write)
        t.start()
        t.join(timeout=10)
        assert not t.is_alive(), "the pipeline's write waited for the whole prune"

    _prune(store, "readings", chunk_rows=100, pause=other_writer)
    assert committed == [True, True, True] and store.count_readings() == 3


def test_evidence_in_chunks_removes_every_file(store: Store) -> None:
    paths = [_evidence(store, NOW - 10 * DAY_S + i) for i in range(23)]
    pauses: list[None] = []
    tally = _prune(store, "evidence", chunk_rows=10, pause=lambda: pauses.append(None))
    assert tally.rows == {"evidence": 23} and tally.files == {"evidence": 46} and len(pauses) == 2
    assert not any(p.exists() for p in paths) and _count(store, "SELECT COUNT(*) FROM evidence") == 0


# -- files ----------------------------------------------------------------------------------------------------------
def test_frames_of_cameras_no_longer_configured_go(store: Store) -> None:
    kept = store.save_latest_frame(Frame("cam1", NOW, JPEG, 10, 10))
    gone = store.save_latest_frame(Frame("old-cam", NOW, JPEG, 10, 10))
    stray = store.data_dir / "frames" / "never-stored" / "latest.jpg"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(JPEG)
    tally = _prune(store, "frames")
    assert kept.exists() and store.latest_frame("cam1") is not None
    assert not gone.parent.exists() and store.latest_frame("old-cam") is None and not stray.parent.exists()
    assert tally.rows == {"frames": 1} and tally.files == {"frames": 2}


def _age(path: Path, ts: float) -> None:
    os.utime(path, (ts, ts))


def test_orphan_files_older_than_a_day_go(store: Store) -> None:
    referenced = _evidence(store, NOW - DAY_S)
    det = Detection("dust.plume", "cam1", NOW - 2 * DAY_S, True, Severity.WARNING, snapshot_jpeg=JPEG)
    orphan = store.data_dir / store.write_evidence_files(det).snapshot  # written, never committed (a crash)
    young = store.data_dir / store.write_evidence_files(
        Detection("dust.plume", "cam1", NOW - 3 * DAY_S + 1, True, Severity.WARNING, snapshot_jpeg=JPEG)).snapshot
    frame = store.save_latest_frame(Frame("cam1", NOW, JPEG, 10, 10))
    leftover = frame.with_suffix(".jpg.tmp")
    leftover.write_bytes(JPEG)
    for p in (referenced, orphan, frame, leftover):
        _age(p, NOW - DAY_S - 10)
    _age(young, NOW - DAY_S + 10)
    _age(orphan.parent, NOW - DAY_S - 10)
    tally = _prune(store, "orphan_files")
    assert referenced.exists() and frame.exists() and young.exists()
    assert not orphan.exists() and not leftover.exists()
    assert not orphan.parent.exists()  # its day directory was left empty
    assert tally.files == {"orphan_files": 2} and tally.bytes == {"orphan_files": 2 * len(JPEG)}


def test_a_file_outside_the_data_directory_is_never_deleted(store: Store, tmp_path: Path) -> None:
    outside = tmp_path / "precious.jpg"
    outside.write_bytes(JPEG)
    with store.transaction() as conn:
        conn.execute("INSERT INTO evidence (subject, kind, ts, snapshot_path, created_ts) VALUES "
                     "('cam1', 'dust.plume', 0, '../precious.jpg', 0)")
    tally = _prune(store, "evidence")
    assert outside.exists() and tally.rows == {"evidence": 1} and not tally.files


def test_an_unknown_sweep_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown retention sweep 'everything'"):
        _prune(store, "everything")


# -- the worker -----------------------------------------------------------------------------------------------------
def _sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_worker_runs_at_start_then_every_interval(store: Store) -> None:
    clock = Clock(NOW)
    worker = RetentionWorker(_settings(store.data_dir, retention_interval_h=6), store, Metrics(), clock, pause_s=0)
    store.append_readings([Reading("st1", NOW - 11 * DAY_S, 1.0)])
    worker.start()
    try:
        assert worker.wait_runs(1, timeout_s=30)  # the first run needs no time to pass
        assert store.count_readings() == 0 and worker.next_run_ts == NOW + 6 * 3600
        store.append_readings([Reading("st1", NOW - 11 * DAY_S, 1.0)])
        assert worker.tick(clock.advance(6 * 3600 - 1)) is None  # not due yet
        clock.advance(1)
        worker.wake()
        assert worker.wait_runs(2, timeout_s=30)
        assert store.count_readings() == 0
    finally:
        worker.stop()


def test_runs_never_overlap(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = RetentionWorker(_settings(store.data_dir), store, Metrics(), Clock(NOW), pause_s=0)
    inside, release = threading.Event(), threading.Event()
    real_prune = store.prune

    def slow_prune(sweep: str, *args: Any) -> None:
        inside.set()
        release.wait(30)
        real_prune(sweep, *args)

    monkeypatch.setattr(store, "prune", slow_prune)
    first = threading.Thread(target=worker.run, args=(NOW,))
    first.start()
    assert inside.wait(30)
    assert worker.run(NOW) is None and worker.tick(NOW) is None  # the second caller does not start a run
    release.set()
    first.join(30)
    assert worker.wait_runs(1, timeout_s=0) and not worker.wait_runs(2, timeout_s=0)


def test_a_failing_sweep_is_counted_and_the_others_still_run(store: Store, monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    clock = Clock(NOW)
    worker = RetentionWorker(_settings(store.data_dir), store, metrics, clock, pause_s=0)
    real_prune = store.prune

    def failing(sweep: str, *args: Any) -> None:
        if sweep == "readings":
            raise sqlite3.OperationalError("database or disk is full")
        real_prune(sweep, *args)

    monkeypatch.setattr(store, "prune", failing)
    old = _evidence(store, NOW - 4 * DAY_S)
    tally = worker.run(NOW)
    assert tally is not None and tally.rows.get("evidence") == 1 and not old.exists()
    assert _sample(metrics, "tichwatch_internal_errors_total", where="retention") == 1
    assert "retention sweep readings failed" in caplog.text
    assert _sample(metrics, "tichwatch_retention_last_success_timestamp_seconds") == 0  # not a success
    assert worker.next_run_ts == NOW + RETRY_S  # tried again soon, not in six hours


def test_the_thread_survives_errors(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics()
    clock = Clock(NOW)
    worker = RetentionWorker(_settings(store.data_dir), store, metrics, clock, pause_s=0)
    def broken(*_args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(store, "prune", broken)
    worker.start()
    try:
        assert worker.wait_runs(1, timeout_s=30)
        clock.advance(RETRY_S)
        worker.wake()
        assert worker.wait_runs(2, timeout_s=30)  # still alive, tried again
    finally:
        worker.stop()
    assert _sample(metrics, "tichwatch_internal_errors_total", where="retention") == 2 * len(SWEEPS)


def test_stop_abandons_a_long_prune_between_chunks(store: Store) -> None:
    store.append_readings([Reading("st1", OLD_IN_CUTOFF_MONTH + i, 1.0) for i in range(1000)])
    worker = RetentionWorker(_settings(store.data_dir, retention_chunk_rows=100), store, Metrics(), Clock(NOW),
                             pause_s=3600)  # the first pause would last an hour unless stop cuts it short
    worker.start()
    done = threading.Event()
    threading.Thread(target=lambda: (worker.stop(timeout_s=30), done.set())).start()
    assert done.wait(30)  # stop came back without waiting out the pause
    assert store.count_readings() >= 900  # at most one chunk went; the rest waits for the next start


def test_metrics_move(store: Store) -> None:
    metrics = Metrics()
    store.append_readings([Reading("st1", NOW - 11 * DAY_S + i, 1.0) for i in range(5)])
    _evidence(store, NOW - 4 * DAY_S)
    worker = RetentionWorker(_settings(store.data_dir), store, metrics, Clock(NOW), pause_s=0)
    worker.run(NOW)
    assert _sample(metrics, "tichwatch_retention_rows_removed_total", kind="readings") == 5
    assert _sample(metrics, "tichwatch_retention_rows_removed_total", kind="evidence") == 1
    assert _sample(metrics, "tichwatch_retention_files_removed_total", kind="evidence") == 2
    assert _sample(metrics, "tichwatch_retention_freed_bytes_total", kind="evidence") == 2 * len(JPEG)
    assert _sample(metrics, "tichwatch_retention_last_success_timestamp_seconds") == NOW
    assert (_sample(metrics, "tichwatch_retention_last_duration_seconds") or -1) >= 0


# -- disk space -----------------------------------------------------------------------------------------------------
THRESHOLDS = DiskThresholds(warning_free_bytes=1024 * MIB, warning_free_ratio=0.05,
                            critical_free_bytes=256 * MIB, critical_free_ratio=0.01)


@pytest.mark.parametrize(("free_mib", "total_mib", "level"), [
    (50_000, 100_000, DiskLevel.OK),
    (1023, 100_000, DiskLevel.WARNING),         # below 1 GiB
    (4_000, 100_000, DiskLevel.WARNING),        # below 5 %
    (1024, 10_000, DiskLevel.OK),               # exactly at both thresholds: not below
    (255, 100_000, DiskLevel.CRITICAL),         # below 256 MiB
    (900, 100_000, DiskLevel.CRITICAL),         # below 1 %
    (0, 0, DiskLevel.CRITICAL),
])
def test_disk_thresholds(free_mib: int, total_mib: int, level: DiskLevel) -> None:
    status = judge(free_mib * MIB, total_mib * MIB, THRESHOLDS)
    assert status.level is level
    assert status.detail.startswith("disk: ")


def test_disk_check_from_settings_and_gauges(tmp_path: Path) -> None:
    class Usage:
        total, used, free = 100 * 1024 * MIB, 0, 3 * 1024 * MIB

    disk = DiskSpace(tmp_path, DiskThresholds.from_settings(StoreSettings()), usage=lambda _p: Usage())
    status = disk.check()
    assert status.level is DiskLevel.WARNING and "3,072 MiB free (3.0%)" in status.detail
    metrics = Metrics()
    disk.export(metrics)
    assert _sample(metrics, "tichwatch_data_dir_free_bytes") == 3 * 1024 * MIB
    assert _sample(metrics, "tichwatch_data_dir_free_ratio") == pytest.approx(0.03)
    real = DiskSpace(tmp_path, THRESHOLDS)
    assert real.check().total_bytes > 0


def test_an_unreadable_disk_is_critical_and_the_gauge_does_not_break_scrapes(tmp_path: Path) -> None:
    def broken(_p: Path) -> Any:
        raise FileNotFoundError(_p)

    disk = DiskSpace(tmp_path / "gone", THRESHOLDS, usage=broken)
    assert disk.check().level is DiskLevel.CRITICAL
    metrics = Metrics()
    disk.export(metrics)
    assert b"tichwatch_data_dir_free_bytes NaN" in metrics.render()


def test_disk_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="disk_critical_free_mib must not exceed"):
        StoreSettings(disk_warning_free_mib=100, disk_critical_free_mib=200)
    with pytest.raises(ValidationError, match="disk_critical_free_percent must not exceed"):
        StoreSettings(disk_warning_free_percent=1, disk_critical_free_percent=2)
