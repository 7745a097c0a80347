"""Who to reach in a set of hamlets: the active subscribers, as delivery needs them (read-only)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tichwatch.store.rows import Query


@dataclass(frozen=True)
class Recipient:
    """An active subscriber as delivery sees them."""

    id: int
    phone: str
    hamlet_id: str
    lang: str
    channel: str  # "zns" or "sms"


def active_in(query: Query, hamlet_ids: Sequence[str]) -> list[Recipient]:
    """Active subscribers of the given hamlets, by id."""
    if not hamlet_ids:
        return []
    marks = ",".join("?" * len(hamlet_ids))
    rows = query(f"SELECT id, phone, hamlet_id, lang, channel FROM subscribers WHERE status = 'active' "
                 f"AND hamlet_id IN ({marks}) ORDER BY id", tuple(hamlet_ids))
    return [Recipient(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]


def recipient(query: Query, subscriber_id: int) -> Recipient | None:
    """One subscriber while active (None once unsubscribed or erased: nothing is sent to them any more)."""
    rows = query("SELECT id, phone, hamlet_id, lang, channel FROM subscribers WHERE id = ? AND status = 'active'",
                 (subscriber_id,))
    return Recipient(int(rows[0][0]), str(rows[0][1]), str(rows[0][2]), str(rows[0][3]), str(rows[0][4])) if rows \
        else None
