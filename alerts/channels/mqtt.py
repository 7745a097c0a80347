"""MQTT: the alert's state as retained JSON on `<prefix>/alerts/<alert_id>`, for sirens, Node-RED, Home Assistant.

Published through the service's own connection. The message counts as delivered when the broker acknowledged it
(PUBACK for QoS 1); while the broker is away paho queues it and the outbox retries (a retained state published twice
is harmless, and carries the same idempotency key).
"""
from __future__ import annotations

from collections.abc import Callable

from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.http import json_body
from tichwatch.config.alerts import MqttChannel

Publish = Callable[..., object]
"""`publish(topic, payload, qos=, retain=)` of the service's MQTT client; returns paho's MQTTMessageInfo."""


def alert_topic(prefix: str, alert_id: str) -> str:
    """The topic of an alert's state."""
    return f"{prefix}/alerts/{alert_id}"


class MqttState:
    """Publish retained alert state."""

    def __init__(self, cfg: MqttChannel, publish: Publish | None, prefix: str):
        self.cfg = cfg
        self._publish = publish
        self._prefix = prefix

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one notification."""
        if self._publish is None:
            return DeliveryResult.fail("the service has no MQTT connection")
        payload = json_body({**n.alert, "notice": n.notice, "idempotency_key": n.idempotency_key})
        info = self._publish(alert_topic(self._prefix, n.alert_id), payload, qos=self.cfg.qos, retain=True)
        wait = getattr(info, "wait_for_publish", None)
        if wait is None or self.cfg.qos == 0:
            return DeliveryResult.sent()
        try:
            wait(timeout=self.cfg.publish_timeout_s)
        except (RuntimeError, ValueError) as exc:
            return DeliveryResult.retry(f"broker not reachable: {exc}")
        if not info.is_published():  # type: ignore[attr-defined]
            return DeliveryResult.retry(f"no PUBACK within {self.cfg.publish_timeout_s} s")
        return DeliveryResult.sent(str(getattr(info, "mid", "")) or None)
