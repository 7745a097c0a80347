"""One HTTP exchange for the HTTP channels (stdlib urllib: no extra dependency), and the classification of what
came back: 2xx sent; 408, 429 and 5xx retryable (honouring Retry-After); other 4xx not; network errors retryable;
no answer after the request went out: retryable with an unknown outcome. Secrets that appear in URLs (Telegram's
token) are masked in every detail text."""
from __future__ import annotations

import base64
import email.utils
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.config.base import StrictModel

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
"""HTTP statuses worth another attempt."""


@dataclass(frozen=True)
class HttpReply:
    """A response: status, headers and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def mask(text: str, secrets: Sequence[str | None]) -> str:
    """The text with every secret replaced by ***."""
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


def without_credentials(url: str) -> tuple[str, dict[str, str]]:
    """A URL's `user:password@` moved into a Basic Authorization header (urllib cannot send them in the URL)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), {"Authorization": f"Basic {token}"}


def retry_after_s(value: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def exchange(method: str, url: str, n: Notification, body: bytes | None, headers: Mapping[str, str],
             timeout_s: float, secrets: Sequence[str | None] = ()) -> HttpReply | DeliveryResult:
    """Send one request carrying the notification's Idempotency-Key; a reply of any status, or a retryable result
    when the network failed."""
    all_headers = {"User-Agent": "TichWatch", "Idempotency-Key": n.idempotency_key, **headers}
    req = urllib.request.Request(url, data=body, headers=all_headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return HttpReply(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as exc:
        return HttpReply(exc.code, dict(exc.headers or {}), exc.read() or b"")
    except urllib.error.URLError as exc:  # urllib wraps what fails before the request is sent (connect, refused)
        return DeliveryResult.retry(mask(f"network error: {exc.reason}", secrets))
    except TimeoutError:  # sent, then no answer: the receiver may have it (the retry has the key)
        return DeliveryResult.no_answer(f"no answer within {timeout_s:g} s (outcome unknown)")
    except (ConnectionError, OSError) as exc:
        return DeliveryResult.retry(mask(f"network error: {exc}", secrets))


def by_status(reply: HttpReply, detail: str = "", secrets: Sequence[str | None] = ()) -> DeliveryResult:
    """Classify a reply by its HTTP status alone."""
    if 200 <= reply.status < 300:
        return DeliveryResult.sent(detail=f"HTTP {reply.status}")
    text = mask(f"HTTP {reply.status}{': ' + detail if detail else ''}: {reply.body[:200].decode('utf-8', 'replace')}",
                secrets)
    if reply.status in RETRYABLE_STATUS:
        return DeliveryResult.retry(text, retry_after_s(reply.headers.get("Retry-After")))
    return DeliveryResult.fail(text)


def json_body(data: Any) -> bytes:
    """UTF-8 JSON (Vietnamese kept readable)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class TokenChannel:
    """An HTTP channel its provider authenticates by a token from the environment; `token_field` names the config
    field that holds the variable's name. Without the token every message fails at once (and says which variable)."""

    token_field = "access_token_env"

    def __init__(self, cfg: StrictModel, token: str | None):
        self.cfg = cfg
        self._token = token

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one notification."""
        if not self._token:
            return DeliveryResult.fail(f"token not set (environment variable {getattr(self.cfg, self.token_field)})")
        return self.send_with(n, self._token)

    def send_with(self, n: Notification, token: str) -> DeliveryResult:
        """Deliver one notification with the token (each provider's own request and answer)."""
        raise NotImplementedError
