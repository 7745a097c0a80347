"""Keeps personal data and live secrets out of what people and logs see: receivers' e-mail addresses, phone numbers,
Telegram chat ids, Zalo user ids, webhook URLs (their paths, credentials and query tokens), channel secrets, and
acknowledge links (signed, valid for a day: whoever reads one can acknowledge a flood alert).

A `Redactor` replaces each configured value by a label naming the receiver and the field (`[duty-mail.to#1]`), so an
administrator still learns which destination failed without the text carrying the address. It also hides whatever is
shaped like an address, a phone number, URL credentials, a query value or a signed token, for what a provider echoes
back that the configuration never said (an SMTP server's "<a@b.vn>: Recipient address rejected").
"""
from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

from tichwatch.alerts.channels.http import mask
from tichwatch.config.alerts import (
    EmailChannel,
    ReceiverConfig,
    SmsChannel,
    TelegramChannel,
    WebhookChannel,
    ZaloChannel,
)
from tichwatch.core.links import ACK_PATH

_SHAPES = re.compile("|".join([
    r"(?P<ack>" + re.escape(ACK_PATH) + r")[^\s\"'<>]+",
    r"(?P<token>(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}(?:\.[A-Za-z0-9_-]+)?)",  # ack, JWT
    r"(?<=://)(?P<userinfo>[^/\s@\"'<>]+@)",  # user:password@ of a URL
    r"(?<=[?&])(?P<query>[^=&#\s\"'<>]+=)[^&#\s\"'<>]+",  # query values (api keys, tokens, numbers)
    r"(?P<email>(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})",
    r"(?P<phone>(?<![\w+])(?:\+\d{8,15}|(?:84|0)\d{8,10})(?!\w))",  # E.164, or Vietnamese 0…/84…
]))
"""Shapes hidden in every text, in one pass (the leftmost match wins, the first alternative at a tie)."""
_MAYBE_SHAPE = re.compile(r"[@/?&]|\d{8}|[A-Za-z0-9_-]{16}\.")
"""A cheap test that a text may hold one of the shapes (most texts of an alert document do not)."""


_PLACEHOLDERS = {"ack": "[hidden]", "query": "***", "userinfo": "***@", "token": "[token]", "email": "[email]",
                 "phone": "[phone]"}
"""What each shape becomes (after what stays of it: the link's path, the query's key)."""


def _shape(m: re.Match[str]) -> str:
    """The replacement of one shape."""
    kind = m.lastgroup or "token"
    kept = m.group(kind) if kind in ("ack", "query") else ""
    return kept + _PLACEHOLDERS[kind]


def receiver_values(receiver: ReceiverConfig) -> list[tuple[str, str]]:
    """The personal or secret values of a receiver's channel block, each with the label that replaces it."""
    cfg, name = receiver.channel, receiver.name
    out: list[tuple[str, str]] = []
    if isinstance(cfg, EmailChannel):
        many = len(cfg.to) > 1
        out += [(addr, f"[{name}.to#{i + 1}]" if many else f"[{name}.to]") for i, addr in enumerate(cfg.to)]
        out += [(cfg.from_addr, f"[{name}.from_addr]")]
        out += [(cfg.username, f"[{name}.username]")] if cfg.username else []
    elif isinstance(cfg, SmsChannel):
        out += [(cfg.to, f"[{name}.to]"), (urllib.parse.quote(cfg.to, safe=""), f"[{name}.to]"),
                (cfg.to.lstrip("+"), f"[{name}.to]")]
    elif isinstance(cfg, TelegramChannel):
        out.append((cfg.chat_id, f"[{name}.chat_id]"))
    elif isinstance(cfg, ZaloChannel):
        out.append((cfg.user_id, f"[{name}.user_id]"))
    elif isinstance(cfg, WebhookChannel):
        out.append((cfg.url, f"[{name}.url]"))  # the path itself may be the secret (chat-service hooks)
        parts = urllib.parse.urlsplit(cfg.url)
        out += [(parts.password, f"[{name}.url.password]")] if parts.password else []
        out += [(v, f"[{name}.url.{k}]") for k, v in urllib.parse.parse_qsl(parts.query)]
    return out


class Redactor:
    """Hides configured values (by label), secrets (as ***) and the shapes of addresses, numbers and tokens."""

    def __init__(self, values: Iterable[tuple[str, str]] = (), secrets: Sequence[str | None] = ()):
        self._secrets = [s for s in secrets if s]
        self._labels = {v: label for v, label in values if v}
        longest_first = sorted(self._labels, key=len, reverse=True)
        self._values = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, longest_first)) + r")(?!\w)") \
            if longest_first else None

    @classmethod
    def for_receivers(cls, receivers: Iterable[ReceiverConfig], secrets: Sequence[str | None] = ()) -> Redactor:
        """A redactor for these receivers' values (and the given secrets)."""
        return cls([pair for r in receivers for pair in receiver_values(r)], secrets)

    def text(self, text: str) -> str:
        """The text with nothing personal or secret left in it."""
        text = mask(text, self._secrets)
        if self._values is not None:
            text = self._values.sub(lambda m: self._labels[m.group(0)], text)
        return _SHAPES.sub(_shape, text) if _MAYBE_SHAPE.search(text) else text

    def document(self, value: Any) -> Any:
        """A JSON-like value with every string in it redacted (keys are names, kept)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.document(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.document(v) for v in value]
        return value
