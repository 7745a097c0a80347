"""The store: readings, detections and evidence metadata in SQLite (WAL mode; the embedded default) or PostgreSQL;
JPEG files on disk.

One writer connection (the pipeline worker; guarded by a lock) and one read connection per reading thread, so the
HTTP API reads while the worker writes. Writes are idempotent on (subject, ts): a reading delivered twice is stored
once. The database is chosen by URL (tichwatch.store.database).
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tichwatch.core.detection import Detection
from tichwatch.core.samples import Frame, Reading
from tichwatch.store import database, partitions
from tichwatch.store.database import POSTGRESQL, Connection, Row, Script, floor_div, placeholders, script_text
from tichwatch.store.pruning import SWEEPS, Pause, Sweep
from tichwatch.store.retention_policy import RetentionPlan, Tally

DB_NAME = "tichwatch.sqlite3"
PROBE_FILE_BYTES = 64 * 1024
"""The readiness probe writes (and removes) a file this large: a disk with less room than that is not writable."""
MAX_IDLE_READERS = 8
"""Read connections kept open between uses; more may be open at once, and are closed when given back."""


@dataclass(frozen=True)
class Bucket:
    """One downsampled bucket of readings: min, mean and max level over [start_ts, start_ts + bucket_s)."""

    start_ts: float
    first_ts: float
    last_ts: float
    min_m: float
    mean_m: float
    max_m: float
    count: int


@dataclass(frozen=True)
class EvidenceFiles:
    """Where a detection's evidence snapshot and context frames were written, relative to the data directory."""

    snapshot: str
    context: tuple[str, ...]


@dataclass(frozen=True)
class LatestFrame:
    """The newest stored frame of a camera."""

    camera_id: str
    ts: float
    path: Path
    width: int
    height: int


def _atomic_write(path: Path, data: bytes) -> None:
    """Write a file so a reader never sees a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


_PROBE_ERRORS: tuple[type[Exception], ...] = (*database.Error, OSError)


class Store:
    """The store of one deployment: its database (`url`, default SQLite in `data_dir`) and its files in `data_dir`."""

    def __init__(self, data_dir: Path, migrations: Sequence[str | Script], write_busy_timeout_s: float = 5.0,
                 read_busy_timeout_s: float = 2.0, url: str | None = None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        self.url = url or f"sqlite:///{self.path}"
        self.dialect = database.dialect_of(self.url)
        self._lock = threading.RLock()
        self._write_busy_timeout_s = write_busy_timeout_s
        self._read_busy_timeout_s = read_busy_timeout_s
        self._writer = database.connect(self.url, write_busy_timeout_s)
        self._idle_readers: list[Connection] = []  # read connections between uses (see `_reader`)
        self._pool_lock = threading.Lock()  # its own: the probe holds `_probe_lock` through a write that may wait
        self._closed = False
        self._probe_lock = threading.Lock()
        self._probe: Connection | None = None
        self._migrations = tuple(migrations)
        self._migrate()

    # -- schema -----------------------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        """Apply every migration newer than the database's version, each in its own transaction."""
        with self._lock:
            if self.dialect == POSTGRESQL:
                self._migrate_postgresql()
                return
            version = self._writer.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            for number, script in enumerate(self._migrations[version:], start=version + 1):
                self._writer.executescript(f"BEGIN IMMEDIATE;\n{script_text(script, self.dialect)}\n"
                                           f"PRAGMA user_version={number};\nCOMMIT;")

    def _migrate_postgresql(self) -> None:
        """PostgreSQL: the version in a table of its own; nodes starting together migrate one at a time (a lock)."""
        conn = self._writer
        with _transaction(conn):
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.tichwatch-migrate'))")
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            version = 0 if row is None else int(row[0])
            self._check_version(version)
            if row is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            conn.executescript(database.POSTGRESQL_FUNCTIONS)
            for number, script in enumerate(self._migrations[version:], start=version + 1):
                conn.executescript(script_text(script, self.dialect))
                conn.execute("UPDATE schema_version SET version = ?", (number,))
            if conn.execute("SELECT to_regclass('readings_default')").fetchone()[0] is not None:
                partitions.ensure_months(conn, time.time())

    def _check_version(self, version: int) -> None:
        """Refuse a database migrated by a newer program."""
        if version > len(self._migrations):
            raise RuntimeError(f"{database.redacted(self.url)} has schema version {version}, newer than this program "
                               f"({len(self._migrations)}): upgrade TichWatch instead")

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        if self.dialect == POSTGRESQL:
            return int(self.query_value("SELECT version FROM schema_version"))
        return int(self.query_value("PRAGMA user_version"))

    # -- connections ------------------------------------------------------------------------------------------------
    @contextmanager
    def _reader(self) -> Iterator[Connection]:
        """A read connection borrowed from the idle ones (a new one when none is idle), given back after use. At
        most MAX_IDLE_READERS are kept: threads come and go (a delivery attempt is a thread), and a connection per
        thread ever seen grew without bound (on PostgreSQL a server process each, until "too many clients")."""
        with self._pool_lock:
            conn = self._idle_readers.pop() if self._idle_readers else None
        if conn is None:
            conn = database.connect(self.url, self._read_busy_timeout_s)
        try:
            yield conn
        finally:
            with self._pool_lock:
                if not self._closed and len(self._idle_readers) < MAX_IDLE_READERS:
                    self._idle_readers.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    def query_one(self, sql: str, params: tuple[object, ...] = ()) -> Row | None:
        """One row of a read query, on a read connection of the pool."""
        with self._reader() as conn:
            row: Row | None = conn.execute(sql, params).fetchone()
        return row

    def query_value(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        """The first column of the one row a query returns (an aggregate's, a setting's)."""
        row = self.query_one(sql, params)
        if row is None:
            raise LookupError(f"no row: {sql}")
        return row[0]

    def query_all(self, sql: str, params: tuple[object, ...] = ()) -> list[Row]:
        """All rows of a read query, on a read connection of the pool."""
        with self._reader() as conn:
            rows: list[Row] = conn.execute(sql, params).fetchall()
        return rows

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction on the writer connection; everything inside commits or rolls back together."""
        with self._lock:
            _rollback(self._writer)  # never build on a transaction a failure left open
            with _transaction(self._writer) as conn:
                yield conn

    def close(self) -> None:
        """Close the writer, the probe's and the idle read connections (one in use is closed when given back)."""
        with self._lock:
            self._writer.close()
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None
        with self._pool_lock:
            readers, self._idle_readers = self._idle_readers, []
            self._closed = True  # a connection in use is closed when it is given back
        for conn in readers:
            conn.close()

    def probe_write(self, now: float) -> str | None:
        """Really write (a row and a file), on a connection of its own; None when it worked, else why not.

        For readiness: called from a monitor thread, never from a request, so it may wait up to the busy timeout."""
        with self._probe_lock:
            try:
                if self._probe is None:
                    self._probe = database.connect(self.url, self._write_busy_timeout_s)
                with _transaction(self._probe) as conn:
                    conn.execute("INSERT INTO health_probe (id, ts) VALUES (1, ?) "
                                 "ON CONFLICT (id) DO UPDATE SET ts = excluded.ts", (now,))
                probe = self.data_dir / ".write-probe"
                with open(probe, "wb") as fh:
                    fh.write(b"\0" * PROBE_FILE_BYTES)
                    fh.flush()
                    os.fsync(fh.fileno())
                probe.unlink()
            except _PROBE_ERRORS as exc:
                if self._probe is not None and self._probe.in_transaction:
                    _rollback(self._probe)
                return f"{type(exc).__name__}: {str(exc)[:200]}"
        return None

    # -- readings ---------------------------------------------------------------------------------------------------
    @staticmethod
    def insert_readings(conn: Connection, readings: Sequence[Reading]) -> list[Reading]:
        """Insert inside an open transaction; return the readings that were new (duplicates are skipped)."""
        new: list[Reading] = []
        for r in readings:
            cur = conn.execute(
                "INSERT INTO readings (station_id, ts, level_m, seq, battery_v, received_ts) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (r.station_id, r.ts, r.level_m, r.seq, r.battery_v, r.received_ts))
            if cur.rowcount:
                new.append(r)
        return new

    def append_readings(self, readings: Sequence[Reading]) -> list[Reading]:
        """Store readings in one transaction; return the new ones."""
        with self.transaction() as conn:
            return self.insert_readings(conn, readings)

    def latest_readings(self) -> dict[str, Reading]:
        """The newest reading of every station that has one."""
        rows = self.query_all(
            "SELECT r.* FROM readings r JOIN (SELECT station_id, MAX(ts) AS ts FROM readings GROUP BY station_id) m "
            "ON r.station_id = m.station_id AND r.ts = m.ts")
        return {row["station_id"]: _reading(row) for row in rows}

    def reading_at(self, station_id: str, ts: float) -> Reading | None:
        """The reading of a station at exactly `ts`, or None."""
        row = self.query_one("SELECT * FROM readings WHERE station_id = ? AND ts = ?",
                                   (station_id, ts))
        return _reading(row) if row else None

    def readings(self, station_id: str, start: float, end: float, limit: int = 100_000) -> list[Reading]:
        """Raw readings of a station with start <= ts < end, oldest first."""
        rows = self.query_all(
            "SELECT * FROM readings WHERE station_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?",
            (station_id, start, end, limit))
        return [_reading(r) for r in rows]

    def newest_reading(self, station_id: str, start: float, end: float) -> Reading | None:
        """The newest reading of a station with start <= ts < end, or None."""
        row = self.query_one(
            "SELECT * FROM readings WHERE station_id = ? AND ts >= ? AND ts < ? ORDER BY ts DESC LIMIT 1",
            (station_id, start, end))
        return _reading(row) if row else None

    def station_readings_since(self, station_id: str, since: float) -> list[Reading]:
        """One station's readings since `since`, oldest first (to rebuild its detectors' state)."""
        rows = self.query_all("SELECT * FROM readings WHERE station_id = ? AND ts >= ? ORDER BY ts",
                                    (station_id, since))
        return [_reading(r) for r in rows]

    def last_reading_ts(self, station_id: str) -> float | None:
        """Time of a station's newest stored reading, or None."""
        ts = self.query_value("SELECT MAX(ts) FROM readings WHERE station_id = ?", (station_id,))
        return None if ts is None else float(ts)

    def recent_readings(self, since: float) -> list[Reading]:
        """All stations' readings since `since`, oldest first (to warm detectors at start-up)."""
        rows = self.query_all("SELECT * FROM readings WHERE ts >= ? ORDER BY ts", (since,))
        return [_reading(r) for r in rows]

    def downsample(self, station_id: str, start: float, end: float, bucket_s: float,
                   exclude_ts: Sequence[float] = ()) -> list[Bucket]:
        """Min/mean/max per bucket of `bucket_s` seconds over [start, end), oldest first; empty buckets omitted.
        Readings at the times in `exclude_ts` (rejected ones) are left out."""
        if bucket_s <= 0:
            raise ValueError("bucket_s must be positive")
        excluded = f" AND ts NOT IN ({placeholders(len(exclude_ts))})" if exclude_ts else ""
        rows = self.query_all(
            f"SELECT {floor_div('ts - ?', '?', self.dialect)} AS b, MIN(ts), MAX(ts), MIN(level_m), AVG(level_m), "
            f"MAX(level_m), COUNT(*) FROM readings WHERE station_id = ? AND ts >= ? AND ts < ?{excluded} "
            "GROUP BY b ORDER BY b",
            (start, bucket_s, station_id, start, end, *exclude_ts))
        return [Bucket(start + r[0] * bucket_s, r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def count_readings(self, station_id: str | None = None) -> int:
        """How many readings are stored (for one station or all)."""
        if station_id is None:
            return int(self.query_value("SELECT COUNT(*) FROM readings"))
        return int(self.query_value("SELECT COUNT(*) FROM readings WHERE station_id = ?", (station_id,)))

    # -- frames and evidence ----------------------------------------------------------------------------------------
    def save_latest_frame(self, frame: Frame) -> Path:
        """Keep a camera's newest frame on disk (one file per camera, replaced atomically)."""
        path = self.data_dir / "frames" / frame.camera_id / "latest.jpg"
        _atomic_write(path, frame.jpeg)
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO frames (camera_id, ts, path, width, height, received_ts) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (camera_id) DO UPDATE SET ts = excluded.ts, path = excluded.path, "
                "width = excluded.width, height = excluded.height, received_ts = excluded.received_ts",
                (frame.camera_id, frame.ts, str(path.relative_to(self.data_dir)), frame.width, frame.height,
                 frame.received_ts))
        return path

    def latest_frame(self, camera_id: str) -> LatestFrame | None:
        """The newest frame of a camera, or None."""
        row = self.query_one("SELECT * FROM frames WHERE camera_id = ?", (camera_id,))
        if row is None:
            return None
        return LatestFrame(row["camera_id"], row["ts"], self.data_dir / row["path"], row["width"], row["height"])

    def record_dust_index(self, camera_id: str, ts: float, dust_index: float | None, status: str) -> None:
        """Keep the dust index (None while the detector is suspended) and camera status of a frame."""
        with self.transaction() as conn:
            conn.execute("INSERT INTO dust_index (camera_id, ts, dust_index, status) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (camera_id, ts) DO UPDATE SET dust_index = excluded.dust_index, "
                         "status = excluded.status", (camera_id, ts, dust_index, status))

    def latest_dust_index(self, camera_id: str) -> tuple[float, float | None, str, int | None] | None:
        """(ts, dust index, status, newest evidence id) of a camera's latest processed frame, or None."""
        row = self.query_one(
            "SELECT ts, dust_index, status, (SELECT MAX(id) FROM evidence WHERE subject = ?) FROM dust_index "
            "WHERE camera_id = ? ORDER BY ts DESC LIMIT 1", (camera_id, camera_id))
        return (row[0], row[1], row[2], row[3]) if row else None

    def dust_series(self, camera_id: str, start: float, end: float) -> list[tuple[float, float | None, str]]:
        """(ts, dust index, status) of a camera's frames over [start, end), oldest first."""
        rows = self.query_all(
            "SELECT ts, dust_index, status FROM dust_index WHERE camera_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
            (camera_id, start, end))
        return [(r[0], r[1], r[2]) for r in rows]

    def write_evidence_files(self, detection: Detection) -> EvidenceFiles:
        """Write a detection's snapshot and context frames to disk (before the transaction that indexes them)."""
        assert detection.snapshot_jpeg is not None
        day = time.strftime("%Y%m%d", time.gmtime(detection.ts))
        base = self.data_dir / "evidence" / detection.subject / day
        stem = f"{int(detection.ts * 1000)}_{detection.kind.replace('.', '-')}"
        snap = base / f"{stem}.jpg"
        _atomic_write(snap, detection.snapshot_jpeg)
        context = []
        for i, jpeg in enumerate(detection.context_jpegs):
            p = base / f"{stem}_ctx{i:02d}.jpg"
            _atomic_write(p, jpeg)
            context.append(str(p.relative_to(self.data_dir)))
        return EvidenceFiles(str(snap.relative_to(self.data_dir)), tuple(context))

    @staticmethod
    def insert_evidence(conn: Connection, detection: Detection, files: EvidenceFiles, now: float) -> int:
        """Index evidence files already written, inside an open transaction; return the evidence id."""
        cur = conn.execute(
            "INSERT INTO evidence (subject, kind, ts, snapshot_path, context_paths, created_ts)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (detection.subject, detection.kind, detection.ts, files.snapshot, json.dumps(list(files.context)), now))
        return int(cur.fetchone()[0])

    def save_evidence(self, conn: Connection, detection: Detection, now: float) -> int | None:
        """Write a detection's evidence files and index them (tools and tests; the pipeline writes files first)."""
        if detection.snapshot_jpeg is None:
            return None
        return self.insert_evidence(conn, detection, self.write_evidence_files(detection), now)

    def evidence_path(self, evidence_id: int) -> Path | None:
        """Absolute path of an evidence snapshot, or None."""
        row = self.query_one("SELECT snapshot_path FROM evidence WHERE id = ?", (evidence_id,))
        return self.data_dir / row[0] if row else None

    # -- detections -------------------------------------------------------------------------------------------------
    def insert_detection(self, conn: Connection, d: Detection, evidence_id: int | None) -> int:
        """Record a detection inside an open transaction; return its id."""
        cur = conn.execute(
            "INSERT INTO detections (kind, subject, ts, active, severity, value, unit, level, reason, evidence, "
            "evidence_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (d.kind, d.subject, d.ts, int(d.active), int(d.severity), d.value, d.unit, d.level, d.reason,
             json.dumps(d.evidence, default=str), evidence_id))
        return int(cur.fetchone()[0])

    def detections(self, since: float, subject: str | None = None, limit: int = 1000) -> list[Row]:
        """Recorded detections since `since`, newest first."""
        if subject is None:
            return self.query_all("SELECT * FROM detections WHERE ts >= ? ORDER BY ts DESC, id DESC LIMIT ?",
                                        (since, limit))
        return self.query_all(
            "SELECT * FROM detections WHERE ts >= ? AND subject = ? ORDER BY ts DESC, id DESC LIMIT ?",
            (since, subject, limit))

    def latest_detection(self, kind: str, subject: str) -> Row | None:
        """The last recorded detection of a kind about a subject (its ts, active, level and severity), if any."""
        return self.query_one("SELECT ts, active, level, severity FROM detections WHERE subject = ? AND kind = ? "
                              "ORDER BY ts DESC, id DESC LIMIT 1", (subject, kind))

    def detection_marks(self, subject: str, kinds: Sequence[str], start: float,
                        end: float) -> list[tuple[str, float, bool, str]]:
        """(kind, ts, active, reason) of the recorded detections of these kinds about a subject with
        start <= ts < end, oldest first (in recording order at one time)."""
        rows = self.query_all(
            f"SELECT kind, ts, active, reason FROM detections WHERE subject = ? AND ts >= ? AND ts < ? "
            f"AND kind IN ({', '.join('?' * len(kinds))}) ORDER BY ts, id", (subject, start, end, *kinds))
        return [(r[0], float(r[1]), bool(r[2]), r[3]) for r in rows]

    # -- retention --------------------------------------------------------------------------------------------------
    def prune(self, sweep: str, plan: RetentionPlan, tally: Tally, chunk_rows: int = 5000,
              pause: Pause = lambda: None) -> None:
        """Run one retention sweep (a name in tichwatch.store.pruning.SWEEPS) against `plan`, counting into `tally` as
        it goes.

        Deletes in transactions of at most `chunk_rows` rows, calling `pause` between them; files go after their
        rows commit. See tichwatch.store.pruning for what each sweep keeps."""
        if sweep not in SWEEPS:
            raise ValueError(f"unknown retention sweep {sweep!r}; known: {', '.join(SWEEPS)}")
        SWEEPS[sweep](Sweep(self, plan, tally, chunk_rows, pause))


def _rollback(conn: Connection) -> None:
    """Roll back whatever is open; SQLite may already have rolled back by itself (e.g. on a full disk)."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except database.Error:
        pass  # nothing left to roll back, or the connection is unusable: the next BEGIN says so


@contextmanager
def _transaction(conn: Connection) -> Iterator[Connection]:
    """One write transaction on `conn`: COMMIT may fail too (disk full, locked), and then it is rolled back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _reading(row: Row) -> Reading:
    """A Reading from a readings row."""
    return Reading(row["station_id"], row["ts"], row["level_m"], row["seq"], row["battery_v"], row["received_ts"])
