"""The wrapper every configured channel is built in: the one place a channel's answer passes before anything records,
logs or shows it, so no delivery error text carries a receiver's address, number, URL or secret."""
from __future__ import annotations

import logging
import traceback
from dataclasses import replace

from tichwatch.alerts.channels.base import Channel, DeliveryResult, Notification
from tichwatch.alerts.redaction import Redactor

log = logging.getLogger(__name__)


class RedactedChannel:
    """A channel whose answers (and errors) are redacted; a channel that raises counts as a retryable failure."""

    def __init__(self, name: str, channel: Channel, redactor: Redactor):
        self.name = name
        self.inner = channel
        self.redactor = redactor

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one notification through the wrapped channel."""
        try:
            result = self.inner.send(n)
        except Exception as exc:  # a bug in one channel must not stop the others, nor leak what its message said
            log.error("channel %s raised while sending notification %s:\n%s", self.name, n.id,
                      self.redactor.text("".join(traceback.format_exception(exc)).rstrip()))
            return DeliveryResult.retry(self.redactor.text(f"channel error: {type(exc).__name__}: {exc}"))
        return replace(result, detail=self.redactor.text(result.detail))
