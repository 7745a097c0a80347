"""Store tables of bulletins (migrations 4 and 11 of tichwatch.app.schema).

- `bulletins`: one row per bulletin, its state (draft → approved → published), texts (vi, en, radio script), cited
  figures with their permalinks, and who created, approved and published it when.
- `bulletin_log`: the audit log of every step (who, when, what: created, edited with old and new text, approved,
  published, queued per receiver; the deliveries themselves are rows of the outbox, `notifications`).
- `bulletins_search`: the full-text index of their texts (migration 11).
"""
from __future__ import annotations

import unicodedata

from tichwatch.store.database import Script

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

def fold(text: str) -> str:
    """Text as the PostgreSQL search index holds it: tone marks and other diacritics removed, đ as d, lower case."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_FOLDED = [(c, fold(c)) for c in map(chr, range(0xC0, 0x250)) if len(fold(c)) == 1 and fold(c) != c.lower()]
_FOLDED += [(c, fold(c)) for c in map(chr, range(0x1E00, 0x1F00)) if len(fold(c)) == 1 and fold(c) != c]
_PG_FOLD = ("CREATE FUNCTION bulletins_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ "
            f"SELECT lower(translate(t, '{''.join(c for c, _ in _FOLDED)}', '{''.join(f for _, f in _FOLDED)}')) $$;\n")

BULLETINS_SEARCH_SCHEMA = Script(sqlite=f"""
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
""", postgresql=_PG_FOLD + f"""
CREATE TABLE bulletins_search (id TEXT PRIMARY KEY, body TEXT NOT NULL);
INSERT INTO bulletins_search (id, body)
    SELECT id, bulletins_fold({_SEARCH_BODY.format(row='bulletins')}) FROM bulletins;
CREATE FUNCTION bulletins_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN DELETE FROM bulletins_search WHERE id = OLD.id; END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO bulletins_search (id, body) VALUES (NEW.id, bulletins_fold({_SEARCH_BODY.format(row='NEW')}));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER bulletins_search_sync AFTER INSERT OR UPDATE OF content OR DELETE ON bulletins
    FOR EACH ROW EXECUTE FUNCTION bulletins_search_sync();
""")
"""Full-text search of bulletins (migration 11): the id, titles, quotes and texts of both languages, found by word
prefix with case and tone marks ignored (SQLite FTS5, unicode61 with remove_diacritics 2, and đ folded to d: "lu"
finds "lũ", "dai dong" finds "Đại Đồng"), kept in step with `bulletins` by triggers. Rows are matched by id, not by
rowid (a VACUUM may renumber the rowids of a table keyed by text); each step of a bulletin rewrites its row,
scanning the index's ids once. PostgreSQL: the same text folded by `bulletins_fold` (the same mapping as `fold`),
each word matched at the start of a word by a regular expression."""
