"""Rows of the bulletin tables ↔ workflow objects. Writes take the caller's transaction; reads take a `Query`."""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from tichwatch.residents.bulletins.facts import Figure
from tichwatch.residents.bulletins.schema import fold
from tichwatch.residents.bulletins.workflow import BulletinRecord, BulletinState, LogEntry
from tichwatch.store.database import POSTGRESQL, SQLITE, Connection, Row
from tichwatch.store.rows import Query

_COLUMNS = ("id", "kind", "origin", "state", "data_ts", "created_ts", "created_by", "updated_ts", "approved_ts",
            "approved_by", "published_ts", "published_by", "channels", "content", "figures")


def save(conn: Connection, r: BulletinRecord, log: Sequence[LogEntry]) -> None:
    """Insert or update a bulletin and append its log entries."""
    values = (r.id, r.kind, r.origin, r.state.value, r.data_ts, r.created_ts, r.created_by, r.updated_ts,
              r.approved_ts, r.approved_by, r.published_ts, r.published_by, json.dumps(list(r.channels)),
              json.dumps(r.content, ensure_ascii=False), json.dumps([asdict(f) for f in r.figures], ensure_ascii=False))
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "id")
    conn.execute(f"INSERT INTO bulletins ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
                 f"ON CONFLICT (id) DO UPDATE SET {updates}", values)
    add_log(conn, r.id, log)


def add_log(conn: Connection, bulletin_id: str, log: Sequence[LogEntry]) -> None:
    """Append entries to a bulletin's audit log."""
    conn.executemany("INSERT INTO bulletin_log (bulletin_id, ts, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
                     [(bulletin_id, e.ts, e.actor, e.action, json.dumps(e.detail, ensure_ascii=False, default=str))
                      for e in log])


def _record(row: Row) -> BulletinRecord:
    return BulletinRecord(
        row["id"], row["kind"], row["origin"], BulletinState(row["state"]), row["data_ts"], row["created_ts"],
        row["created_by"], row["updated_ts"], json.loads(row["content"]),
        tuple(Figure(**f) for f in json.loads(row["figures"])), tuple(json.loads(row["channels"])),
        row["approved_ts"], row["approved_by"], row["published_ts"], row["published_by"])


def get(query: Query, bulletin_id: str) -> BulletinRecord | None:
    """The bulletin with this id, or None."""
    rows = query("SELECT * FROM bulletins WHERE id = ?", (bulletin_id,))
    return _record(rows[0]) if rows else None


MAX_SEARCH_WORDS = 8
"""Words of a search that count (the rest are ignored)."""
MAX_WORD_CHARS = 64
"""Characters of a search word that count."""


def search_words(text: str) -> tuple[str, ...]:
    """The words of a search text (letters and digits, Unicode NFC, đ as d like the index; at most
    MAX_SEARCH_WORDS of MAX_WORD_CHARS)."""
    words = re.findall(r"\w+", unicodedata.normalize("NFC", text).replace("đ", "d").replace("Đ", "D"))
    return tuple(w[:MAX_WORD_CHARS] for w in words[:MAX_SEARCH_WORDS])


@dataclass(frozen=True)
class Search:
    """What to look for among published bulletins: every word (as a word prefix, case and tone marks ignored) in a
    title, quote or text of either language or the id; published from `start_ts` (inclusive) to `end_ts`
    (exclusive)."""

    words: tuple[str, ...] = ()
    start_ts: float | None = None
    end_ts: float | None = None

    def where(self, dialect: str = SQLITE) -> tuple[str, tuple[object, ...]]:
        """SQL conditions on `bulletins` (each starting with AND) and their parameters."""
        conditions: list[str] = []
        params: list[object] = []
        if self.words and dialect == POSTGRESQL:
            for w in self.words:
                conditions.append("id IN (SELECT id FROM bulletins_search WHERE body ~ ?)")
                params.append(r"\m" + re.escape(fold(w)))  # at the start of a word
        elif self.words:
            conditions.append("id IN (SELECT id FROM bulletins_search WHERE bulletins_search MATCH ?)")
            params.append(" ".join(f'"{w}"*' for w in self.words))  # a quoted prefix per word: no FTS5 operators
        if self.start_ts is not None:
            conditions.append("published_ts >= ?")
            params.append(self.start_ts)
        if self.end_ts is not None:
            conditions.append("published_ts < ?")
            params.append(self.end_ts)
        return "".join(f"AND {c} " for c in conditions), tuple(params)


def published(query: Query, limit: int = 50, after: tuple[object, ...] | None = None,
              search: Search | None = None, dialect: str = SQLITE) -> list[BulletinRecord]:
    """Published bulletins, newest first; `after` is the (published_ts, id) the list continues after; `search`
    narrows them (its SQL in the store's `dialect`)."""
    where, params = ("AND (published_ts, id) < (?, ?) ", (*after,)) if after else ("", ())
    found, found_params = (search or Search()).where(dialect)
    return [_record(r) for r in query(f"SELECT * FROM bulletins WHERE state = 'published' {where}{found}"
                                      "ORDER BY published_ts DESC, id DESC LIMIT ?", (*params, *found_params, limit))]


def unpublished(query: Query, limit: int = 50) -> list[BulletinRecord]:
    """Drafts and approved bulletins waiting for publication, newest first."""
    return [_record(r) for r in query("SELECT * FROM bulletins WHERE state != 'published' "
                                      "ORDER BY created_ts DESC, id DESC LIMIT ?", (limit,))]


def last_scheduled_ts(query: Query) -> float | None:
    """When the schedule last made a bulletin (None: never)."""
    value = query("SELECT MAX(created_ts) FROM bulletins WHERE origin = 'schedule'", ())[0][0]
    return None if value is None else float(value)


def log_of(query: Query, bulletin_id: str) -> list[LogEntry]:
    """A bulletin's audit log, oldest first."""
    return [LogEntry(r["ts"], r["actor"], r["action"], json.loads(r["detail"]))
            for r in query("SELECT * FROM bulletin_log WHERE bulletin_id = ? ORDER BY id", (bulletin_id,))]
