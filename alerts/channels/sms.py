"""SMS through an HTTP gateway: the URL and body are sandboxed templates over `to`, `text`, `idempotency_key` and
`alert_id` (URL values are URL-encoded; use `{{ text|tojson }}` in a JSON body). The text is the message's short
variant, written without diacritics by default so it fits one 160-character GSM segment."""
from __future__ import annotations

import unicodedata
import urllib.parse

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.http import by_status, exchange
from tichwatch.alerts.templates import make_environment
from tichwatch.config.alerts import SmsChannel

_PLAIN = str.maketrans({"đ": "d", "Đ": "D", "–": "-", "—": "-", "·": "-", "…": "...", "’": "'", "“": '"', "”": '"'})


def fold(text: str, ascii_only: bool, max_chars: int) -> str:
    """The SMS text: diacritics removed when asked (Vietnamese stays readable: "Báo động" → "Bao dong"), clipped."""
    if ascii_only:
        decomposed = unicodedata.normalize("NFD", text.translate(_PLAIN))
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        text = text.encode("ascii", "replace").decode("ascii")
    return text if len(text) <= max_chars else text[:max_chars - 3] + "..."


class Sms:
    """Send a short message through a configurable HTTP gateway."""

    def __init__(self, cfg: SmsChannel, token: str | None):
        self.cfg = cfg
        self._token = token
        env = make_environment()
        self._url = env.from_string(cfg.url_template)
        self._body = env.from_string(cfg.body_template) if cfg.body_template else None

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one notification."""
        return self.send_to(n, self.cfg.to, fold(n.message.short, self.cfg.ascii_only, self.cfg.max_chars))

    def send_to(self, n: Notification, to: str, text: str) -> DeliveryResult:
        """Deliver a text (already folded and clipped) about a notification to a number, through this gateway."""
        values = {"to": to, "text": text, "idempotency_key": n.idempotency_key, "alert_id": n.alert_id}
        url = self._url.render({k: urllib.parse.quote(v, safe="") for k, v in values.items()})
        body = self._body.render(values).encode("utf-8") if self._body and self.cfg.method == "POST" else None
        headers = {"Content-Type": self.cfg.content_type} if body is not None else {}
        if self.cfg.token_env:
            if not self._token:
                return DeliveryResult.fail(f"gateway token not set (environment variable {self.cfg.token_env})")
            headers[self.cfg.auth_header] = f"{self.cfg.auth_prefix}{self._token}"
        reply = exchange(self.cfg.method, url, n, body, headers, self.cfg.timeout_s, [self._token])
        return reply if isinstance(reply, DeliveryResult) else by_status(reply, secrets=[self._token])
