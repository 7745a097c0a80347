"""Facebook Page through the Graph API: a bulletin as a photo post of its card with the text as the caption; an alert
(or a bulletin without its card) as a text post.

Photo (Graph API Page Photos, "Publishing a single-photo story"): POST {base}/{version}/{page_id}/photos as
multipart/form-data with the file in `source` (image/png), the caption in `message`, `published=true` and
`access_token`; answer {"id": "<photo id>", "post_id": "<page>_<post>"}. PNG kept under 4 MiB as Facebook
recommends (a larger card goes as a text post).
Text: POST {base}/{version}/{page_id}/feed with `message` and `access_token` (form-encoded); answer {"id":
"<page>_<post>"}.
Errors of both: {"error": {"message", "type", "code", "fbtrace_id", "is_transient"?}}. Throttling and temporary errors
(codes 1, 2, 4, 17, 32, 341, 613, or `is_transient`) are retried, whatever the HTTP status; other errors (e.g. 190,
an expired token) need a person. The Graph API takes no idempotency key: an attempt whose answer is lost may post
twice when retried (the outbox's at-least-once policy, as for every channel without one).
"""
from __future__ import annotations

import urllib.parse

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.bulletin_media import bulletin_of
from tichwatch.alerts.channels.http import HttpReply, TokenChannel, by_status, exchange
from tichwatch.alerts.channels.multipart import FilePart, form_data
from tichwatch.config.alerts import FacebookChannel
from tichwatch.residents.bulletins.files import BulletinFiles

RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})
"""Graph API error codes of temporary problems and rate limits."""

MAX_PHOTO_BYTES = 4 * 1024 * 1024
"""Largest card uploaded as a photo (Facebook recommends photos under 4 MB)."""


def graph_result(reply: HttpReply, token: str) -> DeliveryResult:
    """A Graph API answer classified: sent (the post's id), retryable (throttling, temporary) or failed."""
    data = reply.json()
    if isinstance(data, dict) and (data.get("post_id") or data.get("id")) and reply.status < 300:
        return DeliveryResult.sent(str(data.get("post_id") or data["id"]))
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return by_status(reply, "not a Graph API answer", [token])
    detail = f"Graph API error {error.get('code')} ({error.get('type', '')}): {error.get('message', '')}"
    if error.get("code") in RETRYABLE_CODES or error.get("is_transient"):
        return DeliveryResult.retry(detail)
    return DeliveryResult.fail(detail)


class FacebookPage(TokenChannel):
    """Post on a Facebook Page: bulletins as their card (in the receiver's language) with the text, alerts as text."""

    cfg: FacebookChannel

    def __init__(self, cfg: FacebookChannel, token: str | None, files: BulletinFiles | None = None,
                 lang: str = "vi"):
        super().__init__(cfg, token)
        self.files = files
        self.lang = lang

    def _url(self, edge: str) -> str:
        return f"{self.cfg.base_url.rstrip('/')}/{self.cfg.api_version}/{self.cfg.page_id}/{edge}"

    def send_with(self, n: Notification, token: str) -> DeliveryResult:
        """Deliver one notification: the card as a photo when it is a bulletin's and the card is there."""
        text = f"{n.message.title}\n\n{n.message.text}"
        bulletin_id = bulletin_of(n)
        card = None if self.files is None or bulletin_id is None else \
            self.files.path(bulletin_id, f"card-{self.lang}.png")
        if card is not None and card.is_file():
            with open(card, "rb") as f:
                png = f.read(MAX_PHOTO_BYTES + 1)
            if len(png) <= MAX_PHOTO_BYTES:
                body, content_type = form_data({"message": text, "published": "true", "access_token": token},
                                               {"source": FilePart(f"card-{self.lang}.png", "image/png", png)})
                reply = exchange("POST", self._url("photos"), n, body, {"Content-Type": content_type},
                                 self.cfg.timeout_s, [token])
                return reply if isinstance(reply, DeliveryResult) else graph_result(reply, token)
        body = urllib.parse.urlencode({"message": text, "access_token": token}).encode("ascii")
        reply = exchange("POST", self._url("feed"), n, body, {"Content-Type": "application/x-www-form-urlencoded"},
                         self.cfg.timeout_s, [token])
        return reply if isinstance(reply, DeliveryResult) else graph_result(reply, token)
