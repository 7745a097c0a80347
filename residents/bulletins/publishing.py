"""Send a published bulletin through the alert channels (webhook to the portal, Facebook Page, Zalo OA, …): one
notification per receiver in the receiver's language, each attempt's result recorded in the bulletin's log."""
from __future__ import annotations

import html
from typing import Any, Callable, Sequence

from tichwatch.residents.bulletins.workflow import BulletinRecord, LogEntry
from tichwatch.alerts.channels.base import Channel, DeliveryResult, Message, Notification
from tichwatch.config.alerts import AlertSettings

ChannelLookup = Callable[[str], Channel | None]
"""The channel of a receiver name (from alerts.receivers), None when there is none."""

SHORT_CHANNELS = frozenset({"facebook", "zalo", "telegram", "sms"})
"""Channel types that get the quotable sentences and links rather than the whole text (posts and phone messages)."""
UNFIT_CHANNELS = frozenset({"mqtt"})
"""Channel types that carry alert state and cannot take a bulletin."""

NOTICE = "bulletin"
"""The notice kind of bulletin notifications (channels see it in Notification.notice)."""


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


def deliver(record: BulletinRecord, receivers: Sequence[str], alerts: AlertSettings, lookup: ChannelLookup,
            document: dict[str, Any], default_lang: str, now: float, actor: str) -> list[LogEntry]:
    """Send to each receiver; a log entry per receiver says delivered or failed (and whether a retry may help)."""
    out: list[LogEntry] = []
    for name in receivers:
        receiver, channel = alerts.receiver(name), lookup(name)
        if receiver is None or channel is None:
            out.append(LogEntry(now, actor, "delivery_failed", {"receiver": name, "detail": "no such receiver"}))
            continue
        lang = receiver.language or default_lang
        n = Notification(0, f"bulletin-{record.id}-{name}", f"bulletin:{record.id}", name, NOTICE, now, 1,
                         bulletin_message(record, lang, document["links"], receiver.channel.type in SHORT_CHANNELS),
                         document)
        try:
            result = channel.send(n)
        except Exception as exc:  # a channel must not raise; if one does, the other receivers still get theirs
            result = DeliveryResult.fail(f"{type(exc).__name__}: {exc}")
        detail = {"receiver": name, "channel": receiver.channel.type, "lang": lang, "detail": result.detail,
                  "remote_id": result.remote_id, "retryable": result.retryable, "retry_after_s": result.retry_after_s}
        out.append(LogEntry(now, actor, "delivered" if result.ok else "delivery_failed", detail))
    return out
