"""The officer audit log: who changed what, when, for actions outside an alert's or a bulletin's own log (alarm
levels, accounts and API keys)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tichwatch.store.database import Connection
from tichwatch.store.rows import Query


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action."""

    id: int
    ts: float
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


def record(conn: Connection, actor: str, action: str, target: str, detail: dict[str, Any],
           now: float) -> None:
    """Record an action inside the transaction that does it (so the log and the change commit together)."""
    conn.execute("INSERT INTO officer_audit (ts, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                 (now, actor, action, target, json.dumps(detail, ensure_ascii=False)))


def entries(query: Query, limit: int, before_id: int | None = None, actor: str | None = None,
            action: str | None = None, target: str | None = None) -> list[AuditEntry]:
    """Entries newest first, optionally continuing before an entry id and filtered by actor, action or target."""
    where, params = ["1 = 1"], []  # type: list[str], list[Any]
    for column, value in (("actor", actor), ("action", action), ("target", target)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    rows = query(f"SELECT * FROM officer_audit WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?", (*params, limit))
    return [AuditEntry(r["id"], r["ts"], r["actor"], r["action"], r["target"], json.loads(r["detail"])) for r in rows]
