"""The store's side of retention: one sweep per kind of data, each deleting in bounded chunks.

Every chunk is its own short write transaction and `pause` runs between chunks, so the pipeline's writes get the
writer lock in between and ingest keeps flowing during a large first prune. Files go only after the commit of their
rows: a crash in between leaves orphan files (removed by the orphan sweep a day later), never rows without files.
Nothing here decides *when* something is old: the cut-off times come in a RetentionPlan.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tichwatch.store import partitions
from tichwatch.store.database import POSTGRESQL, Row, placeholders
from tichwatch.store.retention_policy import RetentionPlan, Tally

if TYPE_CHECKING:  # the store imports this module
    from tichwatch.store.store import Store

log = logging.getLogger(__name__)

Pause = Callable[[], None]
"""Called between two chunks; may sleep (to let other writers in) or raise to abandon the sweep (on stop)."""

ALERT_CHUNK_DIVISOR = 50
"""An alert goes with its audit entries, notifications and nonces: dozens of rows, so a chunk holds this many times
fewer alerts than the row chunk."""


@dataclass
class Sweep:
    """What one sweep works with."""

    store: Store
    plan: RetentionPlan
    tally: Tally
    chunk_rows: int
    pause: Pause

    def delete_chunks(self, kind: str, sql: str, params: tuple[object, ...]) -> None:
        """Run a DELETE whose last parameter is the chunk's LIMIT until a chunk comes back short."""
        while True:
            with self.store.transaction() as conn:
                n = conn.execute(sql, (*params, self.chunk_rows)).rowcount
            self.tally.add_rows(kind, n)
            if n < self.chunk_rows:
                return
            self.pause()

    def remove_file(self, kind: str, rel: str | Path) -> None:
        """Delete a file named relative to the data directory (never one outside it), counting it if it was there."""
        root = self.store.data_dir.resolve()
        path = (root / rel).resolve()
        if root not in path.parents:
            log.warning("retention: refusing to delete %s, outside the data directory", rel)
            return
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return
        self.tally.add_file(kind, size)


@dataclass(frozen=True)
class RowRule:
    """A table whose old rows go by a key and a condition on the plan's cut-off `cutoff` (a RetentionPlan field);
    `order` walks an index the condition can use, so a chunk reads about as many rows as it deletes."""

    table: str
    key: str
    where: str
    cutoff: str
    order: str = ""

    def sql(self) -> str:
        """The chunked DELETE: the subquery picks at most one chunk of keys."""
        return (f"DELETE FROM {self.table} WHERE {self.key} IN (SELECT t.{self.key} FROM {self.table} AS t "
                f"WHERE {self.where} ORDER BY t.{self.order or self.key} LIMIT ?)")


ROW_RULES: dict[str, RowRule] = {
    "detections": RowRule("detections", "id", "t.ts < ?", "readings_before_ts", order="ts"),
    # Delivered or failed only; while an alert is open its newest row per receiver stays, because the dedup stage
    # (tichwatch.alerts.outbox.last_sent) reads it to decide whether to notify again. A bulletin's deliveries (no
    # alert) have no such reader and go at the cut-off.
    "notifications": RowRule(
        "notifications", "id",
        "t.state IN ('sent', 'failed') AND t.created_ts < ? AND (t.alert_id IS NULL OR "
        "EXISTS (SELECT 1 FROM alerts a WHERE a.id = t.alert_id AND a.state = 'resolved') OR "
        "t.id < (SELECT MAX(m.id) FROM notifications m WHERE m.alert_id = t.alert_id AND m.receiver = t.receiver))",
        "notifications_before_ts"),
    # Entries of alerts go with their alert (sweep_alerts); these are silence and other entries without one.
    "alert_log": RowRule("alert_log", "id", "t.alert_id IS NULL AND t.ts < ?", "audit_before_ts"),
    "silences": RowRule(
        "silences", "id",
        "(CASE WHEN t.expired_ts < t.ends_ts THEN t.expired_ts ELSE t.ends_ts END) < ? AND "
        "NOT EXISTS (SELECT 1 FROM alert_log l WHERE l.silence_id = t.id)", "audit_before_ts"),
    "officer_audit": RowRule("officer_audit", "id", "t.ts < ?", "audit_before_ts", order="ts"),
    "login_failures": RowRule("login_failures", "rowid", "t.ts < ?", "login_failures_before_ts"),
    "sessions": RowRule("sessions", "token_hash", "t.expires_ts < ?", "sessions_before_ts"),
    # Residents' numbers are kept no longer than their purpose (a pending code goes with its row: ON DELETE CASCADE).
    "subscribers_pending": RowRule("subscribers", "id", "t.status = 'pending' AND t.updated_ts < ?",
                                   "pending_subscribers_before_ts"),
    "subscribers_left": RowRule("subscribers", "id", "t.status = 'unsubscribed' AND t.unsubscribed_ts < ?",
                                "left_subscribers_before_ts"),
    "resident_fanouts": RowRule("resident_fanouts", "rowid", "t.created_ts < ?", "audit_before_ts"),
}


def sweep_rows(kind: str) -> Callable[[Sweep], None]:
    """The sweep of a table in ROW_RULES."""
    rule = ROW_RULES[kind]

    def sweep(s: Sweep) -> None:
        s.delete_chunks(kind, rule.sql(), (getattr(s.plan, rule.cutoff),))
    sweep.__doc__ = f"Delete old rows of {rule.table}."
    return sweep


def _keys(s: Sweep, table: str, column: str) -> Iterator[str]:
    """Distinct values of a table's leading primary-key column, one index seek each (no scan of the table)."""
    last = ""
    while (row := s.store.query_one(f"SELECT {column} FROM {table} WHERE {column} > ? ORDER BY {column} LIMIT 1",
                                    (last,))) is not None:
        last = row[0]
        yield last


def _sweep_series(s: Sweep, table: str, column: str, before_ts: float) -> None:
    """Old rows of a (subject, ts)-keyed table, subject by subject so each chunk is an index range."""
    sql = (f"DELETE FROM {table} WHERE {column} = ? AND ts IN "
           f"(SELECT ts FROM {table} WHERE {column} = ? AND ts < ? ORDER BY ts LIMIT ?)")
    for subject in _keys(s, table, column):
        s.delete_chunks(table, sql, (subject, subject, before_ts))


def sweep_readings(s: Sweep) -> None:
    """Delete readings past their retention (PostgreSQL: whole months first, then what is left row by row)."""
    if s.store.dialect == POSTGRESQL:
        with s.store.transaction() as conn:
            partitions.ensure_months(conn, s.plan.now)
            s.tally.add_rows("readings", partitions.drop_months(conn, s.plan.readings_before_ts))
    _sweep_series(s, "readings", "station_id", s.plan.readings_before_ts)


def sweep_rain_readings(s: Sweep) -> None:
    """Delete rain-gauge readings past their retention (the readings' limit)."""
    _sweep_series(s, "rain_readings", "gauge_id", s.plan.readings_before_ts)


def sweep_dust_index(s: Sweep) -> None:
    """Delete per-frame dust index rows past their retention."""
    _sweep_series(s, "dust_index", "camera_id", s.plan.dust_index_before_ts)


def _evidence_files(row: Row) -> list[str]:
    """The snapshot and context-frame paths of an evidence row (a damaged context list loses only itself)."""
    try:
        context = [str(p) for p in json.loads(row["context_paths"])]
    except (ValueError, TypeError):
        log.warning("retention: evidence %s has an unreadable context_paths; its context files become orphans",
                    row["id"])
        context = []
    return [row["snapshot_path"], *context]


def sweep_evidence(s: Sweep) -> None:
    """Delete evidence rows past their retention (unlinking their detections), then their files."""
    while True:
        with s.store.transaction() as conn:
            rows = conn.execute("SELECT id, snapshot_path, context_paths FROM evidence WHERE ts < ? ORDER BY ts "
                                "LIMIT ?", (s.plan.evidence_before_ts, s.chunk_rows)).fetchall()
            if rows:
                ids = [r["id"] for r in rows]
                conn.execute(f"UPDATE detections SET evidence_id = NULL WHERE evidence_id IN "
                             f"({placeholders(len(ids))})", ids)
                conn.execute(f"DELETE FROM evidence WHERE id IN ({placeholders(len(ids))})", ids)
        s.tally.add_rows("evidence", len(rows))
        for row in rows:
            for rel in _evidence_files(row):
                s.remove_file("evidence", rel)
        if len(rows) < s.chunk_rows:
            return
        s.pause()


def sweep_frames(s: Sweep) -> None:
    """Delete the latest-frame rows and files of cameras no longer configured."""
    gone = [r for r in s.store.query_all("SELECT camera_id, path FROM frames") if r[0] not in s.plan.cameras]
    if gone:
        with s.store.transaction() as conn:
            n = conn.execute(f"DELETE FROM frames WHERE camera_id IN ({placeholders(len(gone))})",
                             [r[0] for r in gone]).rowcount
        s.tally.add_rows("frames", n)
        for r in gone:
            s.remove_file("frames", r[1])
    root = s.store.data_dir / "frames"
    if not root.is_dir():
        return
    for camera_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in s.plan.cameras):
        for path in sorted(p for p in camera_dir.iterdir() if p.is_file()):
            s.remove_file("frames", path.relative_to(s.store.data_dir))
        _remove_if_empty(camera_dir)


def sweep_alerts(s: Sweep) -> None:
    """Delete alerts resolved before the audit limit with their audit entries, notifications and used ack nonces.

    An alert with a notification still waiting stays (it is not delivered yet); open alerts stay with their history.
    """
    per_chunk = max(1, s.chunk_rows // ALERT_CHUNK_DIVISOR)
    while True:
        with s.store.transaction() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT a.id FROM alerts a WHERE a.state = 'resolved' AND a.resolved_ts < ? AND NOT EXISTS "
                "(SELECT 1 FROM notifications n WHERE n.alert_id = a.id AND n.state = 'pending') "
                "ORDER BY a.resolved_ts LIMIT ?", (s.plan.audit_before_ts, per_chunk))]
            for table in ("alert_log", "ack_link_nonces", "notifications", "alerts") if ids else ():
                column = "id" if table == "alerts" else "alert_id"
                n = conn.execute(f"DELETE FROM {table} WHERE {column} IN ({placeholders(len(ids))})", ids).rowcount
                s.tally.add_rows(table, n)
        if len(ids) < per_chunk:
            return
        s.pause()


def _known_files(s: Sweep) -> set[str]:
    """Every file the store's rows name, relative to the data directory."""
    known = {r[0] for r in s.store.query_all("SELECT path FROM frames")}
    for row in s.store.query_all("SELECT id, snapshot_path, context_paths FROM evidence"):
        known.update(_evidence_files(row))
    return {os.path.normpath(p) for p in known}


def sweep_orphans(s: Sweep) -> None:
    """Delete evidence and frame files no row names (e.g. a crash between the write and the commit) once older than
    a day, and directories left empty as long."""
    data = s.store.data_dir
    roots = [data / "evidence", data / "frames"]
    old = [p for root in roots if root.is_dir() for p in root.rglob("*")
           if p.is_file() and _mtime(p) < s.plan.orphans_before_ts]
    known = _known_files(s)  # read after listing: a row committed meanwhile protects its file
    for path in old:
        rel = path.relative_to(data)
        if os.path.normpath(rel) not in known:
            s.remove_file("orphan_files", rel)
    for root in roots:
        if root.is_dir():
            _remove_empty_dirs(root, s.plan.orphans_before_ts)


def _mtime(path: Path) -> float:
    """A file's modification time, or +inf when it vanished meanwhile (so it is left alone)."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _remove_empty_dirs(root: Path, before_ts: float) -> None:
    """Remove directories under `root` that are empty and unchanged since `before_ts`; a younger empty directory may
    be one save_evidence just created for the file it is about to write."""
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda w: -len(w[0])):  # deepest first
        path = Path(dirpath)
        if path != root and _mtime(path) < before_ts:
            _remove_if_empty(path)


def _remove_if_empty(path: Path) -> None:
    """rmdir when empty; a directory that gained a file meanwhile stays."""
    with contextlib.suppress(OSError):
        path.rmdir()


SWEEPS: dict[str, Callable[[Sweep], None]] = {
    "readings": sweep_readings,
    "rain_readings": sweep_rain_readings,
    "dust_index": sweep_dust_index,
    "detections": sweep_rows("detections"),
    "evidence": sweep_evidence,
    "frames": sweep_frames,
    "notifications": sweep_rows("notifications"),
    "alerts": sweep_alerts,
    "alert_log": sweep_rows("alert_log"),
    "silences": sweep_rows("silences"),  # after alerts and alert_log: their entries may reference a silence
    "officer_audit": sweep_rows("officer_audit"),
    "login_failures": sweep_rows("login_failures"),
    "sessions": sweep_rows("sessions"),
    "subscribers_pending": sweep_rows("subscribers_pending"),
    "subscribers_left": sweep_rows("subscribers_left"),
    "resident_fanouts": sweep_rows("resident_fanouts"),
    "orphan_files": sweep_orphans,  # last: evidence rows pruned above have had their files removed already
}
"""Every sweep, in the order a run does them."""
