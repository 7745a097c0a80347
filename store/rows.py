"""The read-query callable that pure storage helpers take (`Store.query_all` or a transaction's own reads)."""
from __future__ import annotations

from collections.abc import Callable

from tichwatch.store.database import Row

Query = Callable[[str, tuple[object, ...]], list[Row]]
"""Runs a read query and returns all rows."""
