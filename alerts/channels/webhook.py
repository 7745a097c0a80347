"""Webhook: the alert as JSON, POSTed with an HMAC-SHA256 signature over `<timestamp>.<body>`.

Headers: `X-TichWatch-Timestamp` (epoch seconds), `X-TichWatch-Signature: sha256=<hex>` (when a secret is set) and
`Idempotency-Key`; credentials in the URL (`https://user:password@host/…`) go as Basic authorization. A receiver
verifies by recomputing the HMAC and rejecting old timestamps (replays).
"""
from __future__ import annotations

import hashlib
import hmac
import time

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.http import by_status, exchange, json_body, without_credentials
from tichwatch.config.alerts import WebhookChannel

TIMESTAMP_HEADER = "X-TichWatch-Timestamp"
SIGNATURE_HEADER = "X-TichWatch-Signature"


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp`."""
    return "sha256=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


class Webhook:
    """POST JSON to a URL."""

    def __init__(self, cfg: WebhookChannel, secret: str | None):
        self.cfg = cfg
        self._secret = secret.encode("utf-8") if secret else None

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one notification."""
        body = json_body({"version": 1, "idempotency_key": n.idempotency_key, "notice": n.notice,
                          "receiver": n.receiver, "attempt": n.attempt, "alert": n.alert,
                          "message": {"title": n.message.title, "text": n.message.text}})
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: ts}
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, ts, body)
        url, auth = without_credentials(self.cfg.url)
        reply = exchange("POST", url, n, body, {**headers, **auth}, self.cfg.timeout_s)
        return reply if isinstance(reply, DeliveryResult) else by_status(reply)
