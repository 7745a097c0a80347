"""Singletons among the nodes that share one database: named leases.

Some work must run on one node only, however many run: the bulletin schedule (a bulletin published once), the alert
ticker (one escalation per due step), retention, the report desk, and each receiver's delivery dispatcher (a message
sent once). Each such loop asks `Leases.holds(name)` before its step and skips the step when another node holds it.

On PostgreSQL a lease is a session advisory lock (`pg_try_advisory_lock`) on a connection of the node's own: it is
held for as long as that connection lives. A node that dies, or whose connection the server drops (restart, network
cut past the TCP keepalive), loses every lease at once, and another node takes each at its next try (its loop's next
step: the loops run every few seconds). A node that lost its connection notices at its next check, before its next
step, and stops acting as the holder. On SQLite the database is one process's file: every lease is always held.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from functools import partial
from typing import Any

import psycopg

from tichwatch.store.database import POSTGRESQL, dialect_of

log = logging.getLogger(__name__)

KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
"""TCP keepalive on the leases' connection: the server notices a node cut off within about 11 s and frees its
leases (the server's own side: PostgreSQL's tcp_keepalives_* settings, see the README)."""

Lease = Callable[[], bool]
"""Whether this node may run a singleton's step now (see `Leases.lease`)."""


def always_held() -> bool:
    """The lease of a process alone on its database (the default of every singleton loop)."""
    return True


def lease_key(name: str) -> str:
    """The advisory lock key of a lease, as SQL: a 64-bit hash of the name within TichWatch and the schema (advisory
    locks are per database; two deployments in two schemas of one database must not share leases)."""
    return f"hashtextextended('tichwatch:' || current_schema() || ':' || {_literal(name)}, 0)"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Leases:
    """This node's leases on the database at `url` (see the module's docstring)."""

    def __init__(self, url: str, connect_timeout_s: float = 5.0,
                 on_change: Callable[[str, bool], None] = lambda name, held: None):
        self.url = url
        self._on_change = on_change  # told of each lease taken (True) or lost or given back (False)
        self.shared = dialect_of(url) == POSTGRESQL
        """True when other nodes may share the database (PostgreSQL); on SQLite every lease is always held."""
        self._connect_timeout_s = connect_timeout_s
        self._lock = threading.Lock()  # held across the database's round trips
        self._conn: psycopg.Connection[Any] | None = None
        self._held: set[str] = set()
        self._view: tuple[str, ...] = ()  # `_held`, sorted, for readers that must never wait on the database
        self._held_view: frozenset[str] = frozenset()  # the same, to look up
        self._closed = False
        self._checked_at = float("-inf")  # when a round trip last showed the session alive (time.monotonic)

    def holds(self, name: str) -> bool:
        """True when this node holds the lease `name` now: taken when free, checked alive when already held.
        False when another node holds it or the database cannot be reached (then nothing is held)."""
        return name in self._check({name}, unknown_held=False)

    def holding(self, names: Collection[str], unknown_held: bool = False, vouched_s: float = 0.0) -> set[str]:
        """Which of `names` this node holds now, taking those that are free: at most two round trips however many
        names (one to check the session alive, unless a round trip showed it alive within `vouched_s`; one to try
        the others). When the database cannot be reached: none, or with `unknown_held` all of them (for a caller to
        whom acting twice is safer than not acting: see `Ownership.owned`)."""
        return self._check(set(names), unknown_held, vouched_s)

    def taken_by_anyone(self, names: Collection[str]) -> set[str] | None:
        """Which of `names` some session (this node's or another's) holds now, read from `pg_locks` without taking
        any; None when the database cannot be reached. On SQLite: those this node asked for."""
        with self._lock:
            if self._closed:
                return None
            if not self.shared:
                return set(names) & self._held
            if not names:
                return set()
            try:
                rows = self._connection().execute(
                    "SELECT t.name FROM (VALUES " + ", ".join(f"({_literal(n)}, {lease_key(n)})" for n in sorted(names))
                    + ") AS t(name, key) WHERE EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' "
                    "AND l.granted AND l.objsubid = 1 AND l.database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND ((l.classid::bigint << 32) | l.objid::bigint) = t.key)").fetchall()
            except psycopg.Error as exc:
                self._drop(type(exc).__name__)
                return None
            self._checked_at = time.monotonic()
            return {name for (name,) in rows}

    def lease(self, name: str) -> Lease:
        """The check a singleton loop makes before each step, for the lease `name`."""
        return partial(self.holds, name)

    def is_held(self, name: str) -> bool:
        """Whether this node held the lease `name` at its last check. Never waits."""
        return name in self._held_view

    def held(self) -> list[str]:
        """The leases this node held at its last check, sorted (on SQLite: every one asked for). Never waits."""
        return list(self._view)

    def release(self, *names: str) -> None:
        """Give leases back (a loop that stops while the node runs on, subjects handed to another node): one round
        trip however many."""
        with self._lock:
            mine = sorted(set(names) & self._held)
            if not mine:
                return
            self._forget(set(mine))
            if self._conn is None or not self.shared:
                return
            try:
                self._conn.execute("SELECT " + ", ".join(f"pg_advisory_unlock({lease_key(n)})" for n in mine))
            except psycopg.Error as exc:
                self._drop(type(exc).__name__)

    def close(self) -> None:
        """Give every lease back (the connection ends); later checks answer False."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._forget(set(self._held))

    def _check(self, names: set[str], unknown_held: bool, vouched_s: float = 0.0) -> set[str]:
        with self._lock:
            if self._closed:
                return set()
            if not self.shared:
                self._remember(names - self._held)
                return names
            try:
                conn = self._connection()
                held = names & self._held
                if held and time.monotonic() - self._checked_at >= vouched_s:
                    conn.execute("SELECT 1")  # the locks live as long as this session: is it still there?
                    self._checked_at = time.monotonic()
                wanted = sorted(names - held)
                taken: set[str] = set()
                if wanted:
                    keys = ", ".join(f"({_literal(n)}, pg_try_advisory_lock({lease_key(n)}))" for n in wanted)
                    rows = conn.execute(f"SELECT * FROM (VALUES {keys}) AS t(name, taken)").fetchall()
                    taken = {name for name, ok in rows if ok}
                    self._checked_at = time.monotonic()
                    self._remember(taken)
                return held | taken
            except psycopg.Error as exc:
                self._drop(type(exc).__name__)
                return set(names) if unknown_held else set()

    def _remember(self, names: set[str]) -> None:
        """Note leases taken (every one first, then tell: a failing listener must not leave a lock untracked)."""
        if not names:
            return
        self._held |= names
        self._view, self._held_view = tuple(sorted(self._held)), frozenset(self._held)
        for name in sorted(names):
            if self.shared:
                log.info("lease %s taken", name)
            self._on_change(name, True)

    def _forget(self, names: set[str]) -> None:
        """Note leases lost or given back, then tell."""
        if not names:
            return
        self._held -= names
        self._view, self._held_view = tuple(sorted(self._held)), frozenset(self._held)
        for name in sorted(names):
            self._on_change(name, False)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            if self._held:
                self._drop("connection lost")
            options: dict[str, Any] = {**KEEPALIVE, "connect_timeout": max(1, int(self._connect_timeout_s)),
                                       "application_name": "tichwatch-leases"}
            self._conn = psycopg.connect(self.url, autocommit=True, **options)
        return self._conn

    def _drop(self, why: str) -> None:
        """Forget every lease (the session that held them is gone or going): another node may take them now."""
        if self._held:
            log.warning("leases %s lost (%s)", ", ".join(sorted(self._held)), why)
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._checked_at = float("-inf")
        self._forget(set(self._held))
