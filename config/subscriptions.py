"""Resident subscriptions (the `subscriptions:` block): who may register, consent wording, unsubscribe keywords, and
the Zalo ZNS and SMS channels that reach residents."""
from __future__ import annotations

from pydantic import Field

from tichwatch.config.base import StrictModel


class SubscriptionSettings(StrictModel):
    """Residents' subscriptions to alerts and bulletins by hamlet."""

    enabled: bool = Field(True, description="Accept subscriptions and send to subscribed residents.")
