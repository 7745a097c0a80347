"""Telegram Bot API: sendMessage to one chat (HTML parse mode).

Request: POST {base}/bot<token>/sendMessage with JSON chat_id, text, parse_mode. Response: {"ok": true, "result":
{...message...}} or {"ok": false, "error_code": 429, "description": ..., "parameters": {"retry_after": N}}.
The token is part of the URL: it is masked in every detail that could reach a log.
"""
from __future__ import annotations

import html

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.http import TokenChannel, by_status, exchange, json_body, mask
from tichwatch.config.alerts import TelegramChannel

MAX_CHARS = 4096
"""Longest text sendMessage takes."""


class Telegram(TokenChannel):
    """Send to a Telegram chat through a bot."""

    token_field = "token_env"
    cfg: TelegramChannel

    def send_with(self, n: Notification, token: str) -> DeliveryResult:
        """Deliver one notification."""
        text = f"<b>{html.escape(n.message.title)}</b>\n{html.escape(n.message.text)}"[:MAX_CHARS]
        url = f"{self.cfg.base_url.rstrip('/')}/bot{token}/sendMessage"
        body = json_body({"chat_id": self.cfg.chat_id, "text": text, "parse_mode": "HTML",
                          "disable_web_page_preview": True})
        reply = exchange("POST", url, n, body, {"Content-Type": "application/json"}, self.cfg.timeout_s,
                         [token])
        if isinstance(reply, DeliveryResult):
            return reply
        data = reply.json()
        if not isinstance(data, dict):
            return by_status(reply, "not a Bot API answer", [token])
        if data.get("ok"):
            return DeliveryResult.sent(str((data.get("result") or {}).get("message_id", "")) or None)
        code = int(data.get("error_code") or reply.status)
        detail = mask(f"Telegram {code}: {data.get('description', '')}", [token])
        if code == 429 or code >= 500:
            return DeliveryResult.retry(detail, (data.get("parameters") or {}).get("retry_after"))
        return DeliveryResult.fail(detail)
