"""JSON documents of bulletins and their figures: one shape for the API, the webhook (portal) and the feeds."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from tichwatch.core.links import bulletin_links
from tichwatch.core.timefmt import iso_local, iso_utc
from tichwatch.residents.bulletins.facts import Figure
from tichwatch.residents.bulletins.workflow import BulletinRecord, LogEntry


def _time(ts: float | None, tz: str) -> dict[str, str] | None:
    return None if ts is None else {"utc": iso_utc(ts), "local": iso_local(ts, tz)}


def figure_document(f: Figure, tz: str) -> dict[str, Any]:
    """A cited figure: value, unit, the time it refers to (UTC and local) and its permalink."""
    doc = asdict(f)
    doc.update(time=_time(f.ts, tz))
    return doc


def bulletin_document(r: BulletinRecord, public_url: str, tz: str, audio_format: str) -> dict[str, Any]:
    """A bulletin as JSON: state, who moved it when, texts in both languages, the radio script, figures and links."""
    return {
        "id": r.id, "kind": r.kind, "origin": r.origin, "state": r.state.value,
        "data_time": _time(r.data_ts, tz), "created": _time(r.created_ts, tz), "created_by": r.created_by,
        "updated": _time(r.updated_ts, tz), "approved": _time(r.approved_ts, tz), "approved_by": r.approved_by,
        "published": _time(r.published_ts, tz), "published_by": r.published_by, "channels": list(r.channels),
        "vi": {"title": r.content["title_vi"], "quote": r.content["quote_vi"], "text": r.content["text_vi"]},
        "en": {"title": r.content["title_en"], "quote": r.content["quote_en"], "text": r.content["text_en"]},
        "radio_vi": r.content["radio_vi"], "figures": [figure_document(f, tz) for f in r.figures],
        "links": bulletin_links(public_url, r.id, audio_format),
    }


def log_document(e: LogEntry, tz: str) -> dict[str, Any]:
    """An audit-log entry as JSON."""
    return {"time": _time(e.ts, tz), "actor": e.actor, "action": e.action, "detail": e.detail}


RECEIVER_STATES = {"pending": "waiting", "sent": "sent", "failed": "failed"}
"""Outbox row state → a bulletin receiver's delivery state (waiting: queued or between retries)."""


def delivery_document(rows: Sequence[Mapping[str, Any]], tz: str) -> dict[str, Any]:
    """A bulletin's delivery state from its outbox rows (oldest first; a receiver's latest row counts when it was
    published to again): per receiver waiting, sent or failed with its attempts and (masked) error, and overall
    `queued` while any waits, else `failed` when any failed, `sent`, or `none` when nothing was queued."""
    receivers = [_receiver_delivery(r, tz) for r in {r["receiver"]: r for r in rows}.values()]
    states = {r["state"] for r in receivers}
    overall = "queued" if "waiting" in states else "failed" if "failed" in states else "sent" if states else "none"
    return {"state": overall, "receivers": receivers}


def _receiver_delivery(r: Mapping[str, Any], tz: str) -> dict[str, Any]:
    state = RECEIVER_STATES[r["state"]]
    return {"receiver": r["receiver"], "channel": r["channel"], "state": state, "attempts": r["attempts"],
            "queued": _time(r["created_ts"], tz), "sent": _time(r["sent_ts"], tz),
            "next_attempt": _time(r["next_attempt_ts"], tz) if state == "waiting" else None,
            "error": r["last_error"]}
