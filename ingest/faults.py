"""Whose fault a failed commit is: the store's (retry the same work later) or the messages' (find the bad one).

A failed commit must never be resolved by guessing. A full disk, a locked database or an I/O error says nothing about
the readings: they are kept, unacknowledged, and retried until the store recovers. Anything else (a value SQLite
cannot bind, a constraint, a detector's bug on one reading) is about what was in the batch: the pipeline splits the
batch to commit the good messages and dead-letter the one that fails on its own.
"""
from __future__ import annotations

import errno
import sqlite3

STORE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EMFILE, errno.ENFILE, errno.ENOMEM})
"""OS errors (writing evidence files, opening the database) that come from the machine, not from a message."""


def is_store_fault(exc: BaseException) -> bool:
    """True when `exc` means the store cannot take writes now (retry later), False when the batch's content failed."""
    if isinstance(exc, sqlite3.OperationalError):
        return True  # locked, busy, disk full, I/O error, cannot open: all about the database, none about a value
    if isinstance(exc, (sqlite3.DatabaseError)) and not isinstance(exc, (sqlite3.IntegrityError,
                                                                         sqlite3.InterfaceError,
                                                                         sqlite3.DataError,
                                                                         sqlite3.ProgrammingError)):
        return True  # e.g. "database disk image is malformed": no message is to blame
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in STORE_ERRNOS
    return False


def describe(exc: BaseException) -> str:
    """A short, log- and dead-letter-safe description of an exception (type and the start of its message)."""
    text = str(exc).replace("\n", " ")
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
