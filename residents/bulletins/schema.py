"""Store tables of bulletins (migrations 4 and 11 of tichwatch.app.schema).

- `bulletins`: one row per bulletin, its state (draft → approved → published), texts (vi, en, radio script), cited
  figures with their permalinks, and who created, approved and published it when.
- `bulletin_log`: the audit log of every step (who, when, what: created, edited with old and new text, approved,
  published, queued per receiver; the deliveries themselves are rows of the outbox, `notifications`).
- `bulletins_search`: the full-text index of their texts (migration 11).
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

_SEARCH_BODY = "replace(replace({row}.id || ' ' || " + " || ' ' || ".join(
    f"coalesce(json_extract({{row}}.content, '$.{name}'), '')"
    for name in ("title_vi", "quote_vi", "text_vi", "title_en", "quote_en", "text_en")) + ", 'đ', 'd'), 'Đ', 'D')"

BULLETINS_SEARCH_SCHEMA = f"""
CREATE VIRTUAL TABLE bulletins_search USING fts5 (id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO bulletins_search (id, body) SELECT id, {_SEARCH_BODY.format(row='bulletins')} FROM bulletins;
CREATE TRIGGER bulletins_search_insert AFTER INSERT ON bulletins BEGIN
    INSERT INTO bulletins_search (id, body) VALUES (new.id, {_SEARCH_BODY.format(row='new')});
END;
CREATE TRIGGER bulletins_search_update AFTER UPDATE OF content ON bulletins BEGIN
    DELETE FROM bulletins_search WHERE id = old.id;
    INSERT INTO bulletins_search (id, body) VALUES (new.id, {_SEARCH_BODY.format(row='new')});
END;
CREATE TRIGGER bulletins_search_delete AFTER DELETE ON bulletins BEGIN
    DELETE FROM bulletins_search WHERE id = old.id;
END;
"""
"""Full-text search of bulletins (migration 11): the id, titles, quotes and texts of both languages, found by word
prefix with case and tone marks ignored (SQLite FTS5, unicode61 with remove_diacritics 2, and đ folded to d: "lu"
finds "lũ", "dai dong" finds "Đại Đồng"), kept in step with `bulletins` by triggers. Rows are matched by id, not by
rowid (a VACUUM may renumber the rowids of a table keyed by text); each step of a bulletin rewrites its row,
scanning the index's ids once."""
