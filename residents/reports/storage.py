"""Rows of the `reports` table ↔ report records, and the reports' files under `<data_dir>/reports/<id>/`. Writes take
the caller's transaction; reads take a `Query`."""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tichwatch.residents.reports.period import Period, ReportKind
from tichwatch.store.database import Connection, Row
from tichwatch.store.rows import Query

ReportState = Literal["queued", "done", "failed"]
"""Where a report is: waiting to be made, made, or failed (with the error)."""
FILES = {"pdf": ("report.pdf", "application/pdf"),
         "docx": ("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")}
"""A report's files by format: name and media type."""


@dataclass(frozen=True)
class ReportRecord:
    """One report: its period, how it came, its state and what it found."""

    id: str
    kind: ReportKind
    origin: Literal["schedule", "demand"]
    start_ts: float
    end_ts: float
    state: ReportState
    requested_ts: float
    requested_by: str
    done_ts: float | None = None
    error: str | None = None
    year: int | None = None
    number: int | None = None
    pages: int | None = None
    summary: dict[str, Any] | None = None

    @property
    def period(self) -> Period:
        """The period it covers."""
        return Period(self.kind, self.start_ts, self.end_ts)


def _record(r: Row) -> ReportRecord:
    return ReportRecord(r["id"], r["kind"], r["origin"], r["start_ts"], r["end_ts"], r["state"], r["requested_ts"],
                        r["requested_by"], r["done_ts"], r["error"], r["year"], r["number"], r["pages"],
                        json.loads(r["summary"]))


def insert(conn: Connection, r: ReportRecord) -> bool:
    """Add a queued report; False when the schedule already made (or queued) one for this kind and period."""
    cur = conn.execute("INSERT INTO reports (id, kind, origin, start_ts, end_ts, state, requested_ts, requested_by) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       (r.id, r.kind, r.origin, r.start_ts, r.end_ts, r.state, r.requested_ts, r.requested_by))
    return cur.rowcount == 1


def next_number(query: Query, year: int) -> int:
    """The next report number of a calendar year (1 for its first)."""
    return int(query("SELECT COALESCE(MAX(number), 0) + 1 FROM reports WHERE year = ?", (year,))[0][0])


def finish(conn: Connection, report_id: str, done_ts: float, year: int, number: int | None, pages: int,
           summary: dict[str, Any]) -> None:
    """Mark a report made."""
    conn.execute("UPDATE reports SET state = 'done', done_ts = ?, year = ?, number = ?, pages = ?, summary = ?, "
                 "error = NULL WHERE id = ?", (done_ts, year, number, pages, json.dumps(summary), report_id))


def fail(conn: Connection, report_id: str, done_ts: float, error: str) -> None:
    """Mark a report failed, with the error (cut to 500 characters)."""
    conn.execute("UPDATE reports SET state = 'failed', done_ts = ?, error = ? WHERE id = ?",
                 (done_ts, error[:500], report_id))


def get(query: Query, report_id: str) -> ReportRecord | None:
    """The report with this id, or None."""
    rows = query("SELECT * FROM reports WHERE id = ?", (report_id,))
    return _record(rows[0]) if rows else None


def newest(query: Query, limit: int = 50, after: tuple[float, str] | None = None) -> list[ReportRecord]:
    """Reports, newest request first; `after` is the (requested_ts, id) the list continues after."""
    where, params = ("WHERE (requested_ts, id) < (?, ?) ", after) if after else ("", ())
    return [_record(r) for r in query(f"SELECT * FROM reports {where}ORDER BY requested_ts DESC, id DESC LIMIT ?",
                                      (*params, limit))]


def queued(query: Query) -> list[ReportRecord]:
    """Reports waiting to be made, oldest first."""
    return [_record(r) for r in query("SELECT * FROM reports WHERE state = 'queued' ORDER BY requested_ts, id", ())]


def expired(query: Query, before_ts: float) -> list[str]:
    """Ids of reports requested before `before_ts` (retention)."""
    return [r[0] for r in query("SELECT id FROM reports WHERE requested_ts < ? AND state != 'queued'", (before_ts,))]


def delete(conn: Connection, report_ids: list[str]) -> None:
    """Delete reports' rows."""
    conn.executemany("DELETE FROM reports WHERE id = ?", [(i,) for i in report_ids])


class ReportFiles:
    """Files of reports under `<data_dir>/reports/<id>/`."""

    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / "reports"

    def path(self, report_id: str, fmt: str) -> Path:
        """Where a report's file of a format (pdf, docx) lives."""
        return self.root / report_id / FILES[fmt][0]

    def write(self, report_id: str, fmt: str, data: bytes) -> Path:
        """Write a report's file so a reader never sees half of it."""
        path = self.path(report_id, fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    def remove(self, report_id: str) -> None:
        """Delete a report's files."""
        shutil.rmtree(self.root / report_id, ignore_errors=True)
