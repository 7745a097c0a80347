"""Gateway message authentication settings (the `gateway_auth:` block of the deployment file)."""
from __future__ import annotations

from config.base import StrictModel


class GatewayAuthSettings(StrictModel):
    """Optional per-message HMAC from gateways, so forged or replayed readings are rejected."""
