"""Store tables of bulletins (to be appended to tichwatch.store.migrations as one migration).

- `bulletins`: one row per bulletin, its state (draft → approved → published), texts (vi, en, radio script), cited
  figures with their permalinks, and who created, approved and published it when.
- `bulletin_log`: the audit log of every step (who, when, what: created, edited with old and new text, approved,
  published, queued per receiver; the deliveries themselves are rows of the outbox, `notifications`).
"""
from __future__ import annotations

BULLETINS_SCHEMA = """
CREATE TABLE bulletins (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('routine', 'emergency')),
    origin TEXT NOT NULL CHECK (origin IN ('schedule', 'demand')),
    state TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'published')),
    data_ts REAL NOT NULL,
    created_ts REAL NOT NULL,
    created_by TEXT NOT NULL,
    updated_ts REAL NOT NULL,
    approved_ts REAL,
    approved_by TEXT,
    published_ts REAL,
    published_by TEXT,
    channels TEXT NOT NULL DEFAULT '[]',
    content TEXT NOT NULL,
    figures TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX bulletins_published ON bulletins (state, published_ts);
CREATE INDEX bulletins_origin_created ON bulletins (origin, created_ts);

CREATE TABLE bulletin_log (
    id INTEGER PRIMARY KEY,
    bulletin_id TEXT NOT NULL REFERENCES bulletins (id),
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX bulletin_log_bulletin ON bulletin_log (bulletin_id, id);
"""
