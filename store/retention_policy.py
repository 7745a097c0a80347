"""What retention keeps: the age limit of every kind of stored data as plain timestamps, and the tally of what went.

Pure: no I/O, time passed in. `tichwatch.store.pruning` does the deleting, `tichwatch.store.retention` runs it on a
schedule.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for annotations: the store imports this module and stays free of the settings package
    from tichwatch.config.schema import StoreSettings
    from tichwatch.config.subscriptions import SubscriptionSettings

DAY_S = 86400.0
LOGIN_FAILURE_KEEP_S = DAY_S
"""Login failures are kept a day: longer than any throttle window (tichwatch.api.accounts uses 15 min), short because
they hold client addresses (personal data); tichwatch.api.accounts removes them the same way after a successful
sign-in."""
ORPHAN_MIN_AGE_S = DAY_S
"""A file without a row is only an orphan when older than this: a younger one may be an evidence write whose row is not
committed yet."""


@dataclass(frozen=True)
class RetentionPlan:
    """One run's limits: rows and files older than these Unix times go; latest frames of `cameras` stay."""

    now: float
    """When the run was planned (PostgreSQL makes the coming months' partitions of readings from it)."""
    readings_before_ts: float
    dust_index_before_ts: float
    evidence_before_ts: float
    notifications_before_ts: float
    audit_before_ts: float
    login_failures_before_ts: float
    sessions_before_ts: float
    orphans_before_ts: float
    pending_subscribers_before_ts: float
    """Registrations never confirmed since before this go, their numbers with them."""
    left_subscribers_before_ts: float
    """Residents who unsubscribed before this go (numbers and all; the audit log keeps that they left)."""
    cameras: frozenset[str]


def retention_plan(settings: StoreSettings, subscriptions: SubscriptionSettings, now: float,
                   cameras: Collection[str]) -> RetentionPlan:
    """The limits of a run at `now` for these settings (the store's and the residents' subscriptions') and
    configured cameras."""
    return RetentionPlan(
        now=now,
        readings_before_ts=now - settings.readings_retention_days * DAY_S,
        dust_index_before_ts=now - settings.dust_index_retention_days * DAY_S,
        evidence_before_ts=now - settings.evidence_retention_days * DAY_S,
        notifications_before_ts=now - settings.notifications_retention_days * DAY_S,
        audit_before_ts=now - settings.audit_retention_days * DAY_S,
        login_failures_before_ts=now - LOGIN_FAILURE_KEEP_S,
        sessions_before_ts=now,
        orphans_before_ts=now - ORPHAN_MIN_AGE_S,
        pending_subscribers_before_ts=now - subscriptions.pending_keep_s,
        left_subscribers_before_ts=now - subscriptions.unsubscribed_keep_days * DAY_S,
        cameras=frozenset(cameras),
    )


@dataclass
class Tally:
    """Rows, files and file bytes removed, per kind (a table, or a family of files)."""

    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)

    def add_rows(self, kind: str, n: int) -> None:
        """Count `n` rows of `kind` removed."""
        if n:
            self.rows[kind] = self.rows.get(kind, 0) + n

    def add_file(self, kind: str, size: int) -> None:
        """Count one file of `kind` and `size` bytes removed."""
        self.files[kind] = self.files.get(kind, 0) + 1
        self.bytes[kind] = self.bytes.get(kind, 0) + size

    def merge(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        for mine, theirs in ((self.rows, other.rows), (self.files, other.files), (self.bytes, other.bytes)):
            for kind, n in theirs.items():
                mine[kind] = mine.get(kind, 0) + n

    def summary(self) -> str:
        """One log line's worth: rows and files per kind, bytes freed."""
        rows = ", ".join(f"{k} {n}" for k, n in sorted(self.rows.items())) or "none"
        files = ", ".join(f"{k} {n}" for k, n in sorted(self.files.items())) or "none"
        return f"rows: {rows}; files: {files}; {sum(self.bytes.values())} bytes freed"
