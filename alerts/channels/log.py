"""The log channel: notifications as log lines (the demo's default; never fails).

A log is read by more people than a message, and kept longer: the line leaves out acknowledge links (anyone holding
one can acknowledge the alert for a day) and every receiver's address, through the deployment's redactor."""
from __future__ import annotations

import logging

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.redaction import Redactor

log = logging.getLogger("alerts.notify")


class LogChannel:
    """Write notifications to the service log."""

    def __init__(self, redactor: Redactor | None = None):
        self.redactor = redactor or Redactor()

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one notification."""
        text = self.redactor.text(f"{n.message.title} | {n.message.text}".replace("\n", " | "))
        log.warning("ALERT %s [%s] → %s: %s", n.alert_id, n.notice, n.receiver, text)
        return DeliveryResult.sent()
