"""The read-query callable that pure storage helpers take (`Store.query_all` or a transaction's own reads)."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable

Query = Callable[[str, tuple[object, ...]], list[sqlite3.Row]]
"""Runs a read query and returns all rows."""
