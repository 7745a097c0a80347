"""Notification channels, one module each, sharing `base.Channel`: send(notification) -> DeliveryResult."""
