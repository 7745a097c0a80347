"""The log channel: notifications as log lines (the demo's default; never fails)."""
from __future__ import annotations

import logging

from alerts.channels.base import DeliveryResult, Notification

log = logging.getLogger("tichwatch.alerts.notify")


class LogChannel:
    """Write notifications to the service log."""

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one notification."""
        log.warning("ALERT %s [%s] → %s: %s | %s", n.alert_id, n.notice, n.receiver, n.message.title,
                    n.message.text.replace("\n", " | "))
        return DeliveryResult.sent()
