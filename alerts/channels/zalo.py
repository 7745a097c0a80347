"""Zalo Official Account API: a customer-service text message to one follower.

Request: POST {base}/v3.0/oa/message/cs, header `access_token`, JSON {"recipient": {"user_id"}, "message": {"text"}}.
Response: {"error": 0, "message": "Success", "data": {"message_id": ...}}; a non-zero `error` is a failure (the HTTP
status is usually 200). Error -32 is Zalo's rate limit: retried; other errors need a person (token, follower).
"""
from __future__ import annotations

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.http import TokenChannel, by_status, exchange, json_body
from tichwatch.config.alerts import ZaloChannel

MAX_CHARS = 2000
"""Longest text a Zalo OA message takes."""

RETRYABLE_ERRORS = frozenset({-32})
"""Zalo error codes worth another attempt (rate limit)."""


class Zalo(TokenChannel):
    """Send to a Zalo OA follower."""

    cfg: ZaloChannel

    def send_with(self, n: Notification, token: str) -> DeliveryResult:
        """Deliver one notification."""
        url = f"{self.cfg.base_url.rstrip('/')}/v3.0/oa/message/cs"
        body = json_body({"recipient": {"user_id": self.cfg.user_id},
                          "message": {"text": f"{n.message.title}\n{n.message.text}"[:MAX_CHARS]}})
        headers = {"Content-Type": "application/json", "access_token": token}
        reply = exchange("POST", url, n, body, headers, self.cfg.timeout_s, [token])
        if isinstance(reply, DeliveryResult):
            return reply
        data = reply.json()
        if reply.status >= 300 or not isinstance(data, dict) or "error" not in data:
            return by_status(reply, "not a Zalo OA answer", [token])
        error = int(data["error"])
        if error == 0:
            return DeliveryResult.sent(str((data.get("data") or {}).get("message_id", "")) or None)
        detail = f"Zalo error {error}: {data.get('message', '')}"
        return DeliveryResult.retry(detail) if error in RETRYABLE_ERRORS else DeliveryResult.fail(detail)
