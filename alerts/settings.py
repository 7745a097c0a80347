"""Alert settings (the `alerts:` block of the deployment file)."""
from __future__ import annotations

from config.base import StrictModel


class AlertSettings(StrictModel):
    """Routing, silences, repeat, escalation and channels of alert notifications."""
