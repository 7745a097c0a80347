"""ZNS delivery receipts: Zalo's webhook event `user_received_message`, verified and recorded.

Followed: Zalo's OA/ZNS webhook as documented (developers.zalo.me "Webhook", ZNS "Sự kiện người dùng nhận thông
báo ZNS") and as Chatwoot's Zalo integration checks it: a POST whose JSON carries `event_name`, `app_id`,
`timestamp` (ms), `sender.id` (the OA), `recipient.id` and `message` {`msg_id`, `tracking_id`, `delivery_time`};
header `X-ZEvent-Signature: mac=<hex sha256(app_id + raw body + timestamp + OA secret key)>`. An event without a
valid signature changes nothing (the endpoint answers 401 unsigned, 403 badly signed).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from tichwatch.store.store import Store

RECEIVED_EVENT = "user_received_message"
"""The event name of a ZNS message reaching the resident's phone."""


class BadSignature(ValueError):
    """The event is unsigned (`missing`) or its signature does not match."""

    def __init__(self, missing: bool):
        super().__init__("unsigned event" if missing else "bad signature")
        self.missing = missing


@dataclass(frozen=True)
class Receipt:
    """A receipt as the store needs it."""

    msg_id: str | None
    tracking_id: str | None
    delivered_ts: float | None


def signature(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    """The X-ZEvent-Signature value of a body: `mac=` + hex SHA-256 of app id, body, timestamp and secret."""
    raw = app_id.encode() + body + timestamp.encode() + secret.encode()
    return "mac=" + hashlib.sha256(raw).hexdigest()


def verified(body: bytes, header: str | None, secret: str, app_id: str | None) -> dict[str, Any]:
    """The event of a signed body (BadSignature otherwise; ValueError for a body that is no JSON object). When an
    app id is configured, an event of another app is refused as badly signed."""
    if not header:
        raise BadSignature(missing=True)
    try:
        event = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep (anyone may post)
        raise BadSignature(missing=False) from exc
    if not isinstance(event, dict):
        raise BadSignature(missing=False)
    event_app, timestamp = str(event.get("app_id", "")), str(event.get("timestamp", ""))
    expected = signature(event_app, body, timestamp, secret)
    if not hmac.compare_digest(expected.encode(), header.strip().encode()) or (app_id and event_app != app_id):
        raise BadSignature(missing=False)
    return event


def receipt_of(event: dict[str, Any]) -> Receipt | None:
    """The receipt an event carries (None for other events)."""
    message = event.get("message")
    if event.get("event_name") != RECEIVED_EVENT or not isinstance(message, dict):
        return None
    when = message.get("delivery_time")
    try:
        delivered = float(str(when)) / 1000.0 if when is not None else None
    except ValueError:
        delivered = None
    msg_id, tracking = message.get("msg_id"), message.get("tracking_id")
    return Receipt(str(msg_id)[:100] if msg_id else None, str(tracking)[:100] if tracking else None, delivered)


def mark_received(store: Store, receipt: Receipt, now: float) -> bool:
    """Mark the ZNS message a receipt is about as received (first receipt wins); False when it is none of ours."""
    with store.transaction() as conn:
        cur = conn.execute("UPDATE zns_messages SET received_ts = COALESCE(received_ts, ?) WHERE "
                           "(msg_id IS NOT NULL AND msg_id = ?) OR tracking_id = ?",
                           (receipt.delivered_ts or now, receipt.msg_id, receipt.tracking_id))
        return cur.rowcount > 0
