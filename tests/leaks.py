"""What the session-wide log check looks for besides secrets: live acknowledge links (or their signatures) and the
addresses, phone numbers, chat and user ids and webhook credentials of configured receivers.

The session fixture registers both as the code under test makes them: every token `AckLinks.issue` signs, and every
receiver whose channel `tichwatch.alerts.channels.factory.build_channel` builds. The values are taken from the
configuration here, independently of the redaction code under test.
"""
from __future__ import annotations

import contextlib
import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tichwatch.alerts.ack_links import AckLinks
from tichwatch.alerts.channels import factory
from tichwatch.config.alerts import ChannelConfig, ReceiverConfig

ACK_LINK = re.compile(r"/api/v1/ack/[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{22}")
"""An acknowledge link with a token of the shape AckLinks signs (a redacted one reads /api/v1/ack/[hidden])."""
ISSUED_SIGNATURES: set[str] = set()
"""The signature (MAC) of every acknowledge token issued during the run: the part that makes a link work."""
RECEIVER_ADDRESSES: set[str] = set()
"""Every configured receiver's personal or secret value (6 characters or more) built into a channel during the run."""
_B64_WORD = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])")


def receiver_addresses(cfg: ChannelConfig) -> set[str]:
    """What in a channel block identifies a person or unlocks something: e-mail recipients, the SMS number (also
    without its +), Telegram chat and Zalo user ids, a webhook URL's password and query values."""
    to: Any = getattr(cfg, "to", None)
    values: list[str] = list(to) if isinstance(to, list) else [to, to.lstrip("+")] if to else []
    values += [getattr(cfg, "chat_id", ""), getattr(cfg, "user_id", "")]
    url = urllib.parse.urlsplit(getattr(cfg, "url", "") or "")
    values += [url.password or ""] + [v for _, v in urllib.parse.parse_qsl(url.query)]
    return {v for v in values if len(v) >= 6}


def personal_data_in(text: str) -> str | None:
    """What a log line must not carry, if it carries any: an acknowledge link or signature, or a receiver's address."""
    if ACK_LINK.search(text) or any(w in ISSUED_SIGNATURES for w in _B64_WORD.findall(text)):
        return "acknowledge link"
    if any(a in text for a in RECEIVER_ADDRESSES):
        return "receiver address"
    return None


def _registering_issue(issue: Callable[..., str]) -> Callable[..., str]:
    def issue_and_register(self: AckLinks, *args: Any, **kwargs: Any) -> str:
        token = issue(self, *args, **kwargs)
        ISSUED_SIGNATURES.add(token.rsplit(".", 1)[-1])
        return token
    return issue_and_register


def _registering_build(build: Callable[..., Any]) -> Callable[..., Any]:
    def build_and_register(receiver: ReceiverConfig, *args: Any, **kwargs: Any) -> Any:
        RECEIVER_ADDRESSES.update(receiver_addresses(receiver.channel))
        return build(receiver, *args, **kwargs)
    return build_and_register


@contextlib.contextmanager
def registering() -> Iterator[None]:
    """Register every acknowledge token issued and every receiver built while inside."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(AckLinks, "issue", _registering_issue(AckLinks.issue))
        mp.setattr(factory, "build_channel", _registering_build(factory.build_channel))
        yield
