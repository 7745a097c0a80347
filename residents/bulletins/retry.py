"""Which failed bulletin deliveries to try again, read from the bulletin's own log, with exponential backoff.

A bulletin is sent once when it is published; a receiver whose channel failed in a way a retry may fix (timeout, 429,
5xx) is tried again after 1, 2, 4 … minutes (capped), up to a number of attempts. The log is the state: every attempt
is already recorded there, so a restart loses nothing and nothing is sent twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tichwatch.residents.bulletins.workflow import LogEntry
from tichwatch.alerts.outbox import backoff_s

DELIVERY_ACTIONS = ("delivered", "delivery_failed")
"""Log actions of one delivery attempt to one receiver."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long failed deliveries are retried."""

    first_delay_s: float
    max_delay_s: float
    max_attempts: int

    def delay_s(self, attempts: int) -> float:
        """Wait after the `attempts`-th failed attempt (the provider's Retry-After, when longer, wins)."""
        return backoff_s(attempts, self.first_delay_s, self.max_delay_s)


def due_receivers(log: Sequence[LogEntry], now: float, policy: RetryPolicy) -> list[str]:
    """Receivers whose last attempt failed retryably, that have attempts left and whose wait has passed."""
    attempts: dict[str, list[LogEntry]] = {}
    for entry in log:
        if entry.action in DELIVERY_ACTIONS and "receiver" in entry.detail:
            attempts.setdefault(entry.detail["receiver"], []).append(entry)
    due = []
    for receiver, tries in attempts.items():
        last = tries[-1]
        if last.action != "delivery_failed" or not last.detail.get("retryable") or len(tries) >= policy.max_attempts:
            continue
        wait = max(policy.delay_s(len(tries)), last.detail.get("retry_after_s") or 0.0)
        if now >= last.ts + wait:
            due.append(receiver)
    return due
