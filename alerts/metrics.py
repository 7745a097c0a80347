"""The alert runtime's Prometheus metrics, on the service's registry."""
from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge


class AlertMetrics:
    """Outbox backlog, notifications queued and dropped, deliveries by channel and result, delivery failures."""

    def __init__(self, registry: CollectorRegistry, backlog: Callable[[], int]):
        self.backlog = Gauge("tichwatch_alert_outbox_backlog", "Notifications waiting for delivery", registry=registry)
        self.backlog.set_function(backlog)
        self.queued = Counter("tichwatch_alert_notifications_queued", "Notifications put in the outbox", ["channel"],
                              registry=registry)
        self.dropped = Counter("tichwatch_alert_notifications_dropped", "Notifications a stage decided not to send "
                               "(route, inhibit, silence, dedup)", ["stage"], registry=registry)
        self.deliveries = Counter("tichwatch_alert_deliveries", "Delivery attempts by channel and result (sent, retry, "
                                  "unknown: no answer in time, failed)", ["channel", "result"], registry=registry)
        self.delivery_failures = Counter("tichwatch_alert_delivery_failures", "Notifications given up after their "
                                         "attempts (each raises a delivery.failed alert)", ["channel"],
                                         registry=registry)
