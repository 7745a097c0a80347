"""A published bulletin as deliveries in the alerts' outbox (webhook to the portal, Facebook Page, Zalo OA, …): one
message per receiver in the receiver's language, queued in the transaction that publishes it and sent by the same
per-receiver dispatchers as alert notifications (their state is read back from the outbox: views.delivery_document)."""
from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from tichwatch.alerts.channels.base import Message
from tichwatch.alerts.outbox import Outbox
from tichwatch.config.alerts import AlertSettings
from tichwatch.residents.bulletins.workflow import BulletinRecord, LogEntry
from tichwatch.residents.loudspeaker.package import LANGUAGE, radio_message
from tichwatch.store.database import Connection

SHORT_CHANNELS = frozenset({"facebook", "zalo", "telegram", "sms", "youtube"})
"""Channel types that get the quotable sentences and links rather than the whole text (posts, video descriptions
and phone messages)."""
UNFIT_CHANNELS = frozenset({"mqtt"})
"""Channel types that carry alert state and cannot take a bulletin."""
LOUDSPEAKER = "loudspeaker"
"""The channel type that gets the radio script (read aloud on the commune's loudspeakers) instead of the text."""



def bulletin_message(record: BulletinRecord, lang: str, links: dict[str, str], short: bool) -> Message:
    """The bulletin as a channel message: the full text (or, for social and phone channels, the quotable sentences)
    with links to the card, the audio and the full bulletin; HTML; the quote as the short variant."""
    c = record.content
    card = links["card"] if lang == "vi" else links["card_en"]
    tail = [f"Ảnh: {card}", f"Âm thanh phát thanh: {links['audio']}", f"Toàn văn: {links['self']}"] if lang == "vi" \
        else [f"Picture: {card}", f"Radio audio (Vietnamese): {links['audio']}", f"Full text: {links['self']}"]
    text = "\n".join([c[f"quote_{lang}" if short else f"text_{lang}"], "", *tail])
    body = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
    return Message(c[f"title_{lang}"], text, f"<h1>{html.escape(c[f'title_{lang}'])}</h1>{body}", c[f"quote_{lang}"])


def queue_deliveries(conn: Connection, outbox: Outbox, record: BulletinRecord, receivers: Sequence[str],
                     alerts: AlertSettings, document: dict[str, Any], default_lang: str, now: float,
                     actor: str) -> list[LogEntry]:
    """Queue the bulletin for each receiver in the caller's transaction; a log entry per receiver says queued (or,
    for a name that is no receiver able to take a bulletin any more, failed without an attempt)."""
    out: list[LogEntry] = []
    for name in receivers:
        receiver = alerts.receiver(name)
        if receiver is None or receiver.channel.type in UNFIT_CHANNELS:
            out.append(LogEntry(now, actor, "delivery_failed", {"receiver": name, "detail": "no such receiver"}))
            continue
        kind, lang = receiver.channel.type, receiver.language or default_lang
        if kind == LOUDSPEAKER:  # the radio script as approved; priority from the bulletin's kind (package.py)
            lang, c = LANGUAGE, record.content
            message = radio_message(c["title_vi"], c["radio_vi"], c["quote_vi"])
        else:
            message = bulletin_message(record, lang, document["links"], kind in SHORT_CHANNELS)
        outbox.queue_bulletin(conn, record.id, name, kind, message, document, now)
        out.append(LogEntry(now, actor, "queued", {"receiver": name, "channel": kind, "lang": lang}))
    return out


LEGACY_MAX_ATTEMPTS = 6
"""Attempts the retry mechanism before the shared outbox allowed a bulletin delivery (its default)."""


def legacy_retries(log: Sequence[LogEntry]) -> list[str]:
    """Receivers a bulletin was still to be retried for under the mechanism before the shared outbox: their last
    attempt (logged `delivered` / `delivery_failed`) failed retryably with attempts left. Pure; for the upgrade."""
    attempts: dict[str, list[LogEntry]] = {}
    for entry in log:
        if entry.action in ("delivered", "delivery_failed") and "receiver" in entry.detail:
            attempts.setdefault(entry.detail["receiver"], []).append(entry)
    return [receiver for receiver, tries in attempts.items()
            if tries[-1].action == "delivery_failed" and tries[-1].detail.get("retryable")
            and len(tries) < LEGACY_MAX_ATTEMPTS]
