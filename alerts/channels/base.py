"""What every channel shares: the notification it sends, the result it returns, and the one-method interface."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """A rendered message: a title, plain text, HTML and a short variant (SMS)."""

    title: str
    text: str
    html: str
    short: str

    def to_json(self) -> dict[str, str]:
        """As a JSON object."""
        return asdict(self)


@dataclass(frozen=True)
class Notification:
    """One message to one receiver about one alert change, as stored in the outbox."""

    id: int
    idempotency_key: str  # the same on every attempt, so a receiver can drop a repeat after a crash
    alert_id: str
    receiver: str
    notice: str
    created_ts: float
    attempt: int
    message: Message
    alert: dict[str, Any]  # the alert document at the time of the change
    recipient: int | None = None  # the subscriber a resident message goes to (address looked up at send time)


@dataclass(frozen=True)
class DeliveryResult:
    """What a channel made of one attempt: accepted, or failed and whether a retry may help."""

    ok: bool
    retryable: bool = False
    retry_after_s: float | None = None  # the provider's Retry-After / retry_after
    detail: str = ""
    remote_id: str | None = None
    unknown: bool = False  # no answer in time: the message may or may not have arrived (retried, same key)
    reason: str = ""  # a channel's class of failure, for what is recorded with it (ZNS: recipient, quota, service)

    @classmethod
    def sent(cls, remote_id: str | None = None, detail: str = "") -> DeliveryResult:
        """The channel accepted the message."""
        return cls(True, detail=detail, remote_id=remote_id)

    @classmethod
    def retry(cls, detail: str, after_s: float | None = None) -> DeliveryResult:
        """A failure that may pass (timeouts, 429, 5xx)."""
        return cls(False, True, after_s, detail)

    @classmethod
    def no_answer(cls, detail: str) -> DeliveryResult:
        """The request went out but no answer came in time: outcome unknown, retried after the backoff."""
        return cls(False, True, None, detail, unknown=True)

    @classmethod
    def fail(cls, detail: str) -> DeliveryResult:
        """A failure a retry will not fix (4xx, bad configuration)."""
        return cls(False, False, None, detail)


class Channel(Protocol):
    """A way to deliver notifications."""

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one notification; never raise for delivery problems, classify them instead."""
