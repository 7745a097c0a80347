"""Whose fault a failed commit is: the store's (retry the same work later) or the messages' (find the bad one).

A failed commit must never be resolved by guessing. A full disk, a locked database or an I/O error says nothing about
the readings: they are kept, unacknowledged, and retried until the store recovers. Anything else (a value SQLite
cannot bind, a constraint, a detector's bug on one reading) is about what was in the batch: the pipeline splits the
batch to commit the good messages and dead-letter the one that fails on its own.
"""
from __future__ import annotations

import errno
import sqlite3

import psycopg

STORE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EMFILE, errno.ENFILE, errno.ENOMEM})
"""OS errors (writing evidence files, opening the database) that come from the machine, not from a message."""


STORE_SQLITE_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
                                sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM,
                                sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_PROTOCOL,
                                sqlite3.SQLITE_NOLFS, sqlite3.SQLITE_AUTH, sqlite3.SQLITE_PERM})
"""SQLite result codes (primary, without the extended bits) that come from the database file or the machine."""

STORE_SQLSTATE_CLASSES = ("08", "53", "57", "58", "40", "55", "XX")
"""PostgreSQL SQLSTATE classes that come from the server or the machine: connection lost, insufficient resources (disk
full, memory, connections), operator intervention (shutdown), system errors, serialization failures and deadlocks
(retry), objects in use (a lock timeout), internal errors."""


def is_store_fault(exc: BaseException) -> bool:
    """True when `exc` means the store cannot take writes now (retry later), False when the batch's content failed.

    SQLite reports many content errors as OperationalError too (a SUM overflow, malformed JSON in json_extract,
    SQLITE_ERROR in general): classified by result code, those are the content's, so they are isolated rather than
    retried for ever."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return (code & 0xFF) in STORE_SQLITE_CODES
        # No code: an error of the Python module itself. A closed connection means the service is stopping.
        return isinstance(exc, sqlite3.OperationalError) or "closed database" in str(exc)
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        # No SQLSTATE: the client's own error (the connection is closed or broken), never the content's.
        return state is None or state.startswith(STORE_SQLSTATE_CLASSES)
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in STORE_ERRNOS
    return False


def describe(exc: BaseException) -> str:
    """A short, log- and dead-letter-safe description of an exception (type and the start of its message)."""
    text = str(exc).replace("\n", " ")
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
