"""Store tables of reports (migration 16 of tichwatch.app.schema).

- `reports`: one row per report to the People's Committee: its period (UTC, start inclusive, end exclusive), how it
  came (the schedule, or an officer's request, with who and when), its state (queued → done, or failed with the
  error), its number when the deployment numbers them, and a summary of what it found. Its files (report.pdf,
  report.docx) are under `<data_dir>/reports/<id>/`. A scheduled report is made once per (kind, period): the unique
  index makes the schedule idempotent, across restarts and nodes.
"""
from __future__ import annotations

REPORTS_SCHEMA = """
CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('weekly', 'monthly', 'custom')),
    origin TEXT NOT NULL CHECK (origin IN ('schedule', 'demand')),
    start_ts REAL NOT NULL,
    end_ts REAL NOT NULL CHECK (end_ts > start_ts),
    state TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
    requested_ts REAL NOT NULL,
    requested_by TEXT NOT NULL,
    done_ts REAL,
    error TEXT,
    year INTEGER,
    number INTEGER,
    pages INTEGER,
    summary TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX reports_scheduled_once ON reports (kind, start_ts) WHERE origin = 'schedule';
CREATE UNIQUE INDEX reports_number ON reports (year, number) WHERE number IS NOT NULL;
CREATE INDEX reports_state ON reports (state, requested_ts);
CREATE INDEX reports_requested ON reports (requested_ts, id);
"""
