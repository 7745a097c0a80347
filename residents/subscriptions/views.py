"""Subscribers as the dashboard and the exports show them: officers see the number masked, admins see it whole; counts
per hamlet by status and channel; CSV and JSON exports of everything held about one number or all."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from tichwatch.core.timefmt import iso_local, iso_utc
from tichwatch.residents.subscriptions.phone import masked, national
from tichwatch.residents.subscriptions.store import CHANNELS, STATUSES, PendingCode, Subscriber


def _times(tz: str, **named: float | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name, ts in named.items():
        out[f"{name}_at"] = iso_utc(ts) if ts is not None else None
        out[f"{name}_at_local"] = iso_local(ts, tz) if ts is not None else None
    return out


def document(sub: Subscriber, hamlets: dict[str, str], tz: str, full: bool) -> dict[str, Any]:
    """A subscriber as JSON; `full` (admins) adds the whole number and the consent wording."""
    doc: dict[str, Any] = {
        "id": sub.id, "phone_masked": masked(sub.phone), "hamlet_id": sub.hamlet_id,
        "hamlet": hamlets.get(sub.hamlet_id, sub.hamlet_id), "lang": sub.lang, "channel": sub.channel,
        "status": sub.status, "registered_by": sub.registered_by, "consent_version": sub.consent_version,
        "unsubscribe_via": sub.unsubscribe_via,
        **_times(tz, consent=sub.consent_ts, created=sub.created_ts, updated=sub.updated_ts,
                 unsubscribed=sub.unsubscribed_ts)}
    if full:
        doc.update(phone=sub.phone, phone_national=national(sub.phone), consent_text=sub.consent_text)
    return doc


def code_document(code: PendingCode, tz: str) -> dict[str, Any]:
    """A pending confirmation as an export shows it (never the code's hash)."""
    return {"hamlet_id": code.hamlet_id, "lang": code.lang, "channel": code.channel, "attempts": code.attempts,
            "consent_version": code.consent_version, **_times(tz, requested=code.created_ts, expires=code.expires_ts)}


def summary(counts: Iterable[tuple[str, str, str, int]], hamlets: dict[str, str]) -> list[dict[str, Any]]:
    """Per hamlet (configured ones first, in their order, then any left from an older configuration): subscribers by
    status and, of the active ones, by channel."""
    per: dict[str, dict[str, Any]] = {
        h: {"hamlet_id": h, "hamlet": name, "total": 0, "by_status": dict.fromkeys(STATUSES, 0),
            "active_by_channel": dict.fromkeys(CHANNELS, 0)} for h, name in hamlets.items()}
    for hamlet_id, status, channel, n in counts:
        row = per.setdefault(hamlet_id, {"hamlet_id": hamlet_id, "hamlet": hamlet_id, "total": 0,
                                         "by_status": dict.fromkeys(STATUSES, 0),
                                         "active_by_channel": dict.fromkeys(CHANNELS, 0)})
        row["total"] += n
        row["by_status"][status] = row["by_status"].get(status, 0) + n
        if status == "active":
            row["active_by_channel"][channel] = row["active_by_channel"].get(channel, 0) + n
    return list(per.values())


CSV_COLUMNS = ("id", "phone", "hamlet_id", "hamlet", "lang", "channel", "status", "registered_by", "consent_at",
               "consent_version", "consent_text", "created_at", "updated_at", "unsubscribed_at", "unsubscribe_via")
"""Columns of the CSV export (times in UTC, RFC 3339)."""
_FORMULA_START = ("=", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a phone's leading + is kept: +84… is no formula)."""
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(_FORMULA_START) or (s.startswith("+") and not s[1:].isdigit()) else s


def to_csv(docs: Sequence[dict[str, Any]]) -> str:
    """Full subscriber documents as CSV (UTF-8 with a BOM, so Excel shows Vietnamese right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for d in docs:
        writer.writerow([_cell(d.get(c)) for c in CSV_COLUMNS])
    return out.getvalue()
