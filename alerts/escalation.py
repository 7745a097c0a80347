"""Escalation: which tiers of which chains an unacknowledged alert has reached (pure)."""
from __future__ import annotations

from collections.abc import Sequence

from tichwatch.alerts.model import Alert, AlertState, Labels, matches
from tichwatch.config.alerts import EscalationChain, EscalationTier


def due_tiers(alert: Alert, labels: Labels, chains: Sequence[EscalationChain], now: float) -> list[EscalationTier]:
    """Tiers whose time has come: the alert is still firing (not acknowledged) `after_s` after it began firing."""
    if alert.state is not AlertState.FIRING:
        return []
    waited = now - alert.firing_since_ts
    return [tier for chain in chains if matches(chain.match, labels) for tier in chain.tiers if waited >= tier.after_s]
