"""Facebook Page post through the Graph API: POST {base}/{version}/{page_id}/feed with `message` and
`access_token` (form-encoded). Response {"id": "<page>_<post>"} or {"error": {"message", "type", "code",
"fbtrace_id"}}. Throttling and temporary errors (codes 1, 2, 4, 17, 32, 341, 613, or `is_transient`) are retried,
whatever the HTTP status; other errors (e.g. 190, an expired token) need a person."""
from __future__ import annotations

import urllib.parse

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.http import TokenChannel, by_status, exchange
from tichwatch.config.alerts import FacebookChannel

RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})
"""Graph API error codes of temporary problems and rate limits."""


class FacebookPage(TokenChannel):
    """Post on a Facebook Page."""

    cfg: FacebookChannel

    def send_with(self, n: Notification, token: str) -> DeliveryResult:
        """Deliver one notification."""
        url = f"{self.cfg.base_url.rstrip('/')}/{self.cfg.api_version}/{self.cfg.page_id}/feed"
        body = urllib.parse.urlencode({"message": f"{n.message.title}\n\n{n.message.text}",
                                       "access_token": token}).encode("ascii")
        reply = exchange("POST", url, n, body, {"Content-Type": "application/x-www-form-urlencoded"},
                         self.cfg.timeout_s, [token])
        if isinstance(reply, DeliveryResult):
            return reply
        data = reply.json()
        if isinstance(data, dict) and data.get("id") and reply.status < 300:
            return DeliveryResult.sent(str(data["id"]))
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):
            return by_status(reply, "not a Graph API answer", [token])
        detail = f"Graph API error {error.get('code')} ({error.get('type', '')}): {error.get('message', '')}"
        if error.get("code") in RETRYABLE_CODES or error.get("is_transient"):
            return DeliveryResult.retry(detail)
        return DeliveryResult.fail(detail)
