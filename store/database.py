"""Connections to the store's database, SQLite (the embedded default) or PostgreSQL, behind one small interface.

SQL is written once, in the subset both engines run: `?` placeholders, `INSERT … ON CONFLICT` upserts, `RETURNING`,
standard functions. A PostgreSQL connection translates the placeholders (and `BEGIN IMMEDIATE`, SQLite's way of taking
the write lock at once) and returns rows that, like `sqlite3.Row`, are read by position or by column name. Schema
scripts are written for SQLite; `postgresql_ddl` maps their types (`REAL` is a 4-byte float in PostgreSQL: timestamps
would lose seconds), and a `Script` carries a PostgreSQL text of its own where the two differ more (triggers,
full-text search).

The URL chooses: `sqlite:///path/file.sqlite3` (or no URL: the file in the data directory) or `postgresql://…`
(any libpq connection string). It comes from the environment (`TICHWATCH_DATABASE_URL`): it may hold a password.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Protocol

import psycopg
import psycopg.adapt
import psycopg.pq
import psycopg.rows
import psycopg.sql

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
URL_ENV = "TICHWATCH_DATABASE_URL"
"""The environment variable that holds the database URL (unset or empty: SQLite in the data directory)."""

Error: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
"""Any error of either engine (for `except`)."""
IntegrityError: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
"""A constraint refused a write, in either engine."""


class Row(Protocol):
    """A result row: read by position or by column name (`sqlite3.Row` and `PgRow` both are)."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


class Cursor(Protocol):
    """What `Connection.execute` returns."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """One connection to the store's database, SQLite or PostgreSQL."""

    dialect: ClassVar[str]

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...

    def executescript(self, sql_script: str, /) -> Any: ...

    def close(self) -> None: ...


class SqliteConnection(sqlite3.Connection):
    """A sqlite3 connection that says which dialect it speaks (made by `sqlite3.connect(…, factory=…)`)."""

    dialect: ClassVar[str] = SQLITE


@dataclass(frozen=True)
class Script:
    """A schema script whose PostgreSQL text differs from SQLite's by more than types (triggers, full-text search)."""

    sqlite: str
    postgresql: str

    def text(self, dialect: str) -> str:
        """The script for `dialect`."""
        return self.postgresql if dialect == POSTGRESQL else self.sqlite


def script_text(script: str | Script, dialect: str) -> str:
    """A migration's text for `dialect`: a plain string is SQLite's; for PostgreSQL its types are mapped."""
    text = script.text(dialect) if isinstance(script, Script) else script
    return postgresql_ddl(text) if dialect == POSTGRESQL else text


def follow_delete(child: str, column: str, parent: str) -> Script:
    """A trigger that deletes a `child` table's rows when the `parent` row its `column` names is deleted (so retention
    of the parent needs no knowledge of the child)."""
    name = f"{child}_follow_{parent.removesuffix('s')}"
    return Script(
        sqlite=f"CREATE TRIGGER {name} AFTER DELETE ON {parent}\nBEGIN\n"
               f"    DELETE FROM {child} WHERE {column} = old.id;\nEND;\n",
        postgresql=f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                   f"BEGIN DELETE FROM {child} WHERE {column} = OLD.id; RETURN OLD; END $$;\n"
                   f"CREATE TRIGGER {name} AFTER DELETE ON {parent} FOR EACH ROW EXECUTE FUNCTION {name}();\n")


def refuse_update(table: str, message: str) -> Script:
    """A trigger that refuses every UPDATE of `table` (an IntegrityError in either engine)."""
    name = f"{table}_immutable"
    return Script(
        sqlite=f"CREATE TRIGGER {name} BEFORE UPDATE ON {table}\nBEGIN\n"
               f"    SELECT RAISE(ABORT, '{message}');\nEND;\n",
        postgresql=f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                   f"BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation'; END $$;\n"
                   f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();\n")


def with_rowid(script: str, *tables: str) -> Script:
    """A schema script whose `tables` are addressed by SQLite's implicit `rowid`: for PostgreSQL each gets a real column
    of that name (an identity), so `… WHERE rowid = ?` and `RETURNING rowid` run on both; it comes last, so an
    INSERT that lists no columns fills the same ones."""
    pg = script
    for table in tables:
        if not re.search(rf"CREATE TABLE {table} \(", pg):
            raise ValueError(f"table {table} is not created by this script")
        pg += f"\nALTER TABLE {table} ADD COLUMN rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE;\n"
    return Script(script, pg)


def joined(*parts: str | Script) -> Script:
    """Several scripts as one (each part's text for each dialect, in order)."""
    return Script("".join(script_text(p, SQLITE) for p in parts),
                  "".join(p.text(POSTGRESQL) if isinstance(p, Script) else p for p in parts))


_DDL_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.IGNORECASE), r) for p, r in (
    (r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (r"\bINTEGER\b", "BIGINT"),
    (r"\bREAL\b", "DOUBLE PRECISION"),
    (r"\bBLOB\b", "BYTEA"),
    (r"\)\s*WITHOUT\s+ROWID", ")"),
))


def postgresql_ddl(script: str) -> str:
    """SQLite schema text with its types mapped for PostgreSQL (64-bit integers and doubles, as SQLite stores)."""
    for pattern, replacement in _DDL_RULES:
        script = pattern.sub(replacement, script)
    return script


POSTGRESQL_FUNCTIONS = """
CREATE OR REPLACE FUNCTION json_valid(doc text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM doc::jsonb; RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$;
CREATE OR REPLACE FUNCTION json_extract(doc text, path text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RETURN doc::jsonb #>> string_to_array(substr(path, 3), '.'); EXCEPTION WHEN others THEN RETURN NULL; END $$;
"""
"""SQLite's JSON functions the store's SQL uses, for PostgreSQL (`json_extract` returns text, cast where a number is
meant, and NULL for a document that is not JSON: PostgreSQL may evaluate it before a `json_valid` beside it). Created
with the migrations, in the store's schema."""


def placeholders(n: int) -> str:
    """`?, ?, …` for a list of `n` values (`IN (…)`; both engines take tens of thousands of parameters)."""
    if n < 1:
        raise ValueError("an IN list needs at least one value")
    return ", ".join("?" * n)


def floor_div(numerator: str, denominator: str, dialect: str) -> str:
    """SQL for floor(numerator / denominator) as an integer (CAST rounds in PostgreSQL, truncates in SQLite)."""
    if dialect == POSTGRESQL:
        return f"CAST(floor(({numerator}) / ({denominator})) AS BIGINT)"
    return f"CAST(({numerator}) / ({denominator}) AS INTEGER)"


def dialect_of(url: str | None) -> str:
    """The dialect a database URL names; ValueError for any other scheme."""
    if not url or url.startswith("sqlite:"):
        return SQLITE
    if url.startswith(("postgresql:", "postgres:")):
        return POSTGRESQL
    raise ValueError(f"database URL must start with sqlite:// or postgresql:// (got {url.split(':', 1)[0]!r}:…)")


SCHEMA_NAME = r"^[a-z_][a-z0-9_]{0,62}$"
"""A PostgreSQL schema a deployment may name (`store.database_schema`): plain lower-case, never quoted."""


def in_schema(url: str, schema: str) -> str:
    """The PostgreSQL URL whose connections work in `schema` (their search_path), whatever the URL said before, and
    the schema made when missing. Several communes on one database each have their own (README: Several communes)."""
    if not re.fullmatch(SCHEMA_NAME, schema) or schema.startswith("pg_"):
        raise ValueError(f"not a schema name: {schema!r} (lower-case letters, digits and _, not pg_…)")
    base, _, query = url.partition("?")
    parts = [part for part in query.split("&") if part]
    options = [p.removeprefix("options=") for p in parts if p.startswith("options=")]
    kept = [p for p in parts if not p.startswith("options=")]
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
            conn.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(psycopg.sql.Identifier(schema)))
    others = [o for o in "%20".join(options).split("%20") if o and not o.startswith("-csearch_path")]
    return f"{base}?" + "&".join([*kept, "options=" + "%20".join([*others, f"-csearch_path%3D{schema}"])])


def sqlite_path(url: str) -> str:
    """The file of a `sqlite:///…` URL (three slashes and a relative path, four and an absolute one)."""
    path = url.removeprefix("sqlite:").removeprefix("//").removeprefix("/")
    if not path:
        raise ValueError("a sqlite URL names a file: sqlite:///relative/path or sqlite:////absolute/path")
    return path


def redacted(url: str) -> str:
    """A URL safe to log: its password replaced."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


# -- PostgreSQL ----------------------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def postgresql_sql(sql: str, with_parameters: bool = True) -> str:
    """A statement written for SQLite as PostgreSQL runs it: outside quotes `?` → `%s`, `?N` → `%(pN)s` (pass the
    parameters by `numbered`), `%` doubled (only a statement with parameters goes through psycopg's placeholders)."""
    if sql == "BEGIN IMMEDIATE":
        return "BEGIN"
    if not with_parameters:
        return sql
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(sql):
        ch = sql[i]
        i += 1
        if quote:
            quote = "" if ch == quote else quote
            out.append("%%" if ch == "%" else ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            digits = re.match(r"\d*", sql[i:]).group()  # type: ignore[union-attr]
            i += len(digits)
            out.append(f"%(p{digits})s" if digits else "%s")
        else:
            out.append("%%" if ch == "%" else ch)
    return "".join(out)


def numbered(sql: str, parameters: Sequence[Any]) -> Sequence[Any] | dict[str, Any]:
    """The parameters of a statement with `?N` placeholders by name (p1, p2, …), else as they are."""
    if "%(p" in sql:
        return {f"p{n}": v for n, v in enumerate(parameters, start=1)}
    return parameters


class PgRow(tuple):  # type: ignore[type-arg]
    """A PostgreSQL result row read by position or by column name, like `sqlite3.Row`."""

    _names: tuple[str, ...]
    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._names)


def _row_maker(cursor: Any) -> Any:
    """psycopg row factory: PgRow with the cursor's column names."""
    description = cursor.description
    if description is None:
        return psycopg.rows.no_result
    names = tuple(c.name for c in description)
    index = {name: i for i, name in reversed(list(enumerate(names)))}  # the first of a repeated name, as sqlite3

    def make(values: Sequence[Any]) -> PgRow:
        row = PgRow(values)
        row._names = names
        row._index = index
        return row
    return make


class _NumericLoader(psycopg.adapt.Loader):
    """NUMERIC (what SUM and AVG of integers return) as SQLite returns them, not Decimal: a whole number (SUM) as int,
    one with decimals (AVG) as float."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        try:
            return int(text)
        except ValueError:  # decimals, NaN, Infinity
            return float(text)


def _parameters(params: Sequence[Any]) -> tuple[Any, ...]:
    """Parameters as SQLite takes them: a bool is the integer 0 or 1 (the columns are integers)."""
    return tuple(int(p) if isinstance(p, bool) else p for p in params)


class PgConnection:
    """A PostgreSQL connection that runs the store's SQLite-dialect statements (see the module's docstring)."""

    dialect: ClassVar[str] = POSTGRESQL

    def __init__(self, url: str, lock_timeout_s: float):
        self._url = url
        self._lock_timeout_s = lock_timeout_s
        self._closed = False  # closed by us (a lost connection is opened again)
        self._in_transaction = False  # between our BEGIN and COMMIT / ROLLBACK
        self._conn = self._open()

    def _open(self) -> psycopg.Connection[Any]:
        """A new server connection with the settings every connection needs."""
        conn: psycopg.Connection[Any] = psycopg.connect(self._url, autocommit=True, row_factory=_row_maker)
        conn.adapters.register_loader("numeric", _NumericLoader)
        conn.execute(f"SET lock_timeout = {int(self._lock_timeout_s * 1000)}")
        return conn

    @property
    def in_transaction(self) -> bool:
        """True inside BEGIN … COMMIT (or after a failed statement in one)."""
        if self._conn.closed:
            return False  # the server ended it (restart, network): nothing is left to roll back
        return self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        """Run one statement; the cursor has fetchone / fetchall / rowcount. A connection the server lost is opened
        again before a statement that starts a transaction or stands alone (never inside a transaction it lost), and
        a read that finds it lost is tried once more on a new one."""
        begins = sql.startswith("BEGIN")
        if self._conn.closed and not self._closed and (begins or not self._in_transaction):
            self._conn = self._open()
        if begins:
            self._in_transaction = True
        elif sql in ("COMMIT", "ROLLBACK"):
            self._in_transaction = False
        try:
            return self._run(sql, parameters)
        except psycopg.OperationalError:
            if not (self._conn.closed and not self._closed and not self._in_transaction and sql.startswith("SELECT")):
                raise
            self._conn = self._open()  # a read on a connection the server dropped (a restart): once more, on a new one
            return self._run(sql, parameters)

    def _run(self, sql: str, parameters: Sequence[Any]) -> Cursor:
        """Run one statement as it is, translated to PostgreSQL's dialect."""
        if parameters:
            text = postgresql_sql(sql)
            return self._conn.execute(text, numbered(text, _parameters(parameters)))
        return self._conn.execute(postgresql_sql(sql, False))

    def executemany(self, sql: str, parameters: Any, /) -> Cursor:
        """Run one statement for every parameter tuple."""
        cur = self._conn.cursor()
        cur.executemany(postgresql_sql(sql), [_parameters(p) for p in parameters])
        return cur

    def executescript(self, sql_script: str, /) -> Any:
        """Run several statements (no parameters)."""
        return self._conn.execute(sql_script)

    def close(self) -> None:
        """Close the connection."""
        self._closed = True
        self._conn.close()


def connect(url: str, busy_timeout_s: float) -> Connection:
    """Open a connection to a database URL (sqlite:///… or postgresql://…) with what every connection needs.

    The busy timeout is short on purpose: a database locked by another process must make a write fail soon (the
    pipeline retries it and reports not-ready) rather than hold a thread, and the HTTP API's threads with it."""
    if dialect_of(url) == POSTGRESQL:
        return PgConnection(url, busy_timeout_s)
    conn = sqlite3.connect(sqlite_path(url), check_same_thread=False, isolation_level=None, timeout=busy_timeout_s,
                           factory=SqliteConnection)
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode; fsync at checkpoints
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    return conn
