"""The historian's spool: an append-only SQLite queue of line-protocol points, oldest first, that survives restarts.

Appends are one transaction per call in WAL mode with `synchronous=NORMAL`: a commit is a write to the WAL without an
fsync, so it survives a crash of the process (not of the machine), and many small appends cost no disk flushes.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

SPOOL_FILE = "historian-spool.sqlite3"
"""File name of the spool in the data directory."""


class Spool:
    """Points waiting for InfluxDB, in the order they were recorded; bounded (the oldest go first when full)."""

    def __init__(self, path: Path, max_points: int):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_points = max_points
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        # AUTOINCREMENT: ids are never reused, so id order is record order even after the oldest were deleted.
        self._conn.execute("CREATE TABLE IF NOT EXISTS spool "
                           "(id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL)")
        self._depth = int(self._conn.execute("SELECT count(*) FROM spool").fetchone()[0])

    def __len__(self) -> int:
        return self._depth

    def append(self, lines: Sequence[str]) -> int:
        """Add points at the end in one transaction; return how many of the oldest were dropped to stay bounded."""
        if not lines:
            return 0
        with self._lock:
            over = max(0, self._depth + len(lines) - self.max_points)
            with self._conn:
                self._conn.execute("BEGIN")
                self._conn.executemany("INSERT INTO spool (line) VALUES (?)", ((line,) for line in lines))
                if over:
                    self._conn.execute("DELETE FROM spool WHERE id IN (SELECT id FROM spool ORDER BY id LIMIT ?)",
                                       (over,))
            self._depth += len(lines) - over
            return over

    def peek(self, limit: int) -> list[tuple[int, str]]:
        """The oldest `limit` points as (id, line), without removing them."""
        with self._lock:
            return self._conn.execute("SELECT id, line FROM spool ORDER BY id LIMIT ?", (limit,)).fetchall()

    def remove_through(self, last_id: int) -> None:
        """Remove every point up to and including `last_id` (what the server accepted, or refused for good)."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM spool WHERE id <= ?", (last_id,))
            self._depth -= cur.rowcount

    def close(self) -> None:
        """Close the database (what is left stays for the next start)."""
        with self._lock:
            self._conn.close()
