"""The alert model and its lifecycle as pure functions: a detection (or an officer) goes in, the changed alert and
the audit entries that explain the change come out. No I/O here; `storage` persists, `engine` orchestrates.

An alert is keyed by (kind, subject) and lives through one episode: firing → (acknowledged) → resolved. A rise in
severity updates the same alert (and takes an acknowledged alert back to firing: the situation got worse); a new
episode after resolution is a new alert with a new id.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from tichwatch.config.alerts import Matchers, severity_of
from tichwatch.core.detection import Detection, Severity

DETECTOR = "detector"
"""The actor of changes a detector causes."""

SYSTEM = "system"
"""The actor of time-driven changes (holds expiring, silences expiring)."""


class AlertState(StrEnum):
    """Where an alert is in its lifecycle."""

    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Labels:
    """What matchers look at: kind, subject, severity and the subject's areas."""

    kind: str
    subject: str
    severity: Severity
    areas: frozenset[str] = frozenset()


def kind_matches(pattern: str, kind: str) -> bool:
    """An exact kind, or a prefix ending in a dot (`sensor.` matches `sensor.offline`)."""
    return kind == pattern or (pattern.endswith(".") and kind.startswith(pattern))


def matches(m: Matchers, labels: Labels) -> bool:
    """True when every condition of the matchers holds for the labels."""
    return ((not m.kinds or any(kind_matches(p, labels.kind) for p in m.kinds))
            and (not m.subjects or labels.subject in m.subjects)
            and (not m.areas or bool(labels.areas.intersection(m.areas)))
            and severity_of(m.min_severity) <= labels.severity <= severity_of(m.max_severity))


def alert_id(kind: str, subject: str, opened_ts: float) -> str:
    """Stable, URL-safe id of an episode: 12 base32 characters of a hash of (kind, subject, opening time in ms)."""
    digest = hashlib.sha256(f"{kind}\x00{subject}\x00{round(opened_ts * 1000)}".encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:12].lower()


@dataclass(frozen=True)
class Alert:
    """One episode of a (kind, subject). Times ending in `_ts` are UTC epoch seconds.

    `started_ts`/`detected_ts` are the detector's times (of the first and the latest detection); the other times are the
    service's (`now`), which drive holds, repeats and escalation even when old readings arrive late.
    """

    id: str
    kind: str
    subject: str
    state: AlertState
    severity: Severity
    level: str | None
    value: float | None
    unit: str
    reason: str
    evidence: dict[str, Any]
    started_ts: float
    detected_ts: float
    opened_ts: float
    updated_ts: float
    firing_since_ts: float  # when it last entered firing: the escalation clock
    clearing_ts: float | None = None  # the detector cleared; resolves at resolve_after_ts unless raised again
    resolve_after_ts: float | None = None
    acknowledged_ts: float | None = None
    acknowledged_by: str | None = None
    resolved_ts: float | None = None
    resolved_by: str | None = None
    resolve_reason: str | None = None

    @property
    def open(self) -> bool:
        """True until resolved."""
        return self.state is not AlertState.RESOLVED

    def labels(self, areas: frozenset[str] = frozenset()) -> Labels:
        """The alert's labels for matchers."""
        return Labels(self.kind, self.subject, self.severity, areas)


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: what happened to an alert (or silence), who did it, when and why."""

    ts: float
    action: str
    actor: str
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    alert_id: str | None = None
    silence_id: str | None = None


@dataclass(frozen=True)
class Change:
    """The outcome of one step of the lifecycle: the alert after it (None: nothing to record) and its audit entries."""

    alert: Alert | None
    audit: tuple[AuditEntry, ...] = ()


@dataclass(frozen=True)
class Silence:
    """An officer's silence: matching alerts are not notified between starts_ts and ends_ts (unless expired early)."""

    id: str
    matchers: Matchers
    starts_ts: float
    ends_ts: float
    reason: str
    created_by: str
    created_ts: float
    expired_ts: float | None = None
    expired_by: str | None = None

    def active(self, now: float) -> bool:
        """True while it mutes."""
        return self.expired_ts is None and self.starts_ts <= now < self.ends_ts


@dataclass(frozen=True)
class HoldPolicy:
    """How long a cleared alert waits before it resolves."""

    resolve_hold_s: float
    flap_hold_s: float
    flap_max_clears: int

    def hold_s(self, recent_clears: int) -> float:
        """The normal hold, or the long one when the key has flapped (cleared often lately)."""
        return self.flap_hold_s if recent_clears >= self.flap_max_clears else self.resolve_hold_s


def _entry(alert: Alert, now: float, action: str, actor: str, reason: str = "", **data: Any) -> AuditEntry:
    return AuditEntry(now, action, actor, reason, data, alert_id=alert.id)


def on_detection(alert: Alert | None, d: Detection, now: float, policy: HoldPolicy, recent_clears: int) -> Change:
    """Apply a detection to the open alert of its key (None when there is none); `recent_clears` counts the key's
    clears within the flap window (it decides the hold)."""
    if d.active:
        return _raise(alert, d, now) if alert is not None else _open(d, now)
    if alert is None or alert.clearing_ts is not None:
        return Change(None)
    hold = policy.hold_s(recent_clears)
    cleared = replace(alert, clearing_ts=now, resolve_after_ts=now + hold, updated_ts=now, detected_ts=d.ts,
                      value=d.value if d.value is not None else alert.value, reason=d.reason or alert.reason)
    note = _entry(alert, now, "cleared", DETECTOR, d.reason, hold_s=hold, flapping=recent_clears >=
                  policy.flap_max_clears)
    if hold > 0:
        return Change(cleared, (note,))
    done = resolve(cleared, now, DETECTOR, "detector cleared")
    return Change(done.alert, (note, *done.audit))


def _open(d: Detection, now: float) -> Change:
    alert = Alert(alert_id(d.kind, d.subject, now), d.kind, d.subject, AlertState.FIRING, d.severity, d.level,
                  d.value, d.unit, d.reason, dict(d.evidence), d.ts, d.ts, now, now, now)
    return Change(alert, (_entry(alert, now, "opened", DETECTOR, d.reason, severity=d.severity.name.lower(),
                                 level=d.level, value=d.value, unit=d.unit),))


def _raise(alert: Alert, d: Detection, now: float) -> Change:
    """An active detection for an open alert: update it; a rise in severity needs a new acknowledgement."""
    updated = replace(alert, severity=d.severity, level=d.level, value=d.value, unit=d.unit or alert.unit,
                      reason=d.reason or alert.reason, evidence=dict(d.evidence), detected_ts=d.ts, updated_ts=now,
                      clearing_ts=None, resolve_after_ts=None)
    audit: list[AuditEntry] = []
    if alert.clearing_ts is not None:
        audit.append(_entry(alert, now, "refired", DETECTOR, "raised again before the hold ran out"))
    if d.severity > alert.severity:
        updated = replace(updated, state=AlertState.FIRING, firing_since_ts=now, acknowledged_ts=None,
                          acknowledged_by=None)
        audit.append(_entry(alert, now, "raised", DETECTOR, d.reason, severity=d.severity.name.lower(),
                            previous=alert.severity.name.lower(), level=d.level, value=d.value,
                            acknowledgement_cleared=alert.state is AlertState.ACKNOWLEDGED))
    elif d.severity < alert.severity:
        audit.append(_entry(alert, now, "lowered", DETECTOR, d.reason, severity=d.severity.name.lower(),
                            previous=alert.severity.name.lower(), level=d.level, value=d.value))
    else:
        audit.append(_entry(alert, now, "updated", DETECTOR, d.reason, level=d.level, value=d.value))
    return Change(updated, tuple(audit))


def hold_expired(alert: Alert, now: float) -> Change:
    """Resolve a cleared alert whose hold has run out (None when it has not)."""
    if not alert.open or alert.resolve_after_ts is None or now < alert.resolve_after_ts:
        return Change(None)
    return resolve(alert, now, SYSTEM, "detector stayed clear")


def resolve(alert: Alert, now: float, actor: str, reason: str) -> Change:
    """Resolve an open alert (by its detector, the hold, or an officer with a reason)."""
    done = replace(alert, state=AlertState.RESOLVED, resolved_ts=now, resolved_by=actor, resolve_reason=reason,
                   updated_ts=now, resolve_after_ts=None)
    return Change(done, (_entry(alert, now, "resolved", actor, reason),))


def acknowledge(alert: Alert, now: float, actor: str, note: str = "") -> Change:
    """An officer takes the alert on: repeats and escalation stop (None when it already was acknowledged)."""
    if alert.state is not AlertState.FIRING:
        return Change(None)
    done = replace(alert, state=AlertState.ACKNOWLEDGED, acknowledged_ts=now, acknowledged_by=actor, updated_ts=now)
    return Change(done, (_entry(alert, now, "acknowledged", actor, note),))


def expire_silence(s: Silence, now: float, actor: str, reason: str) -> tuple[Silence, AuditEntry]:
    """End a silence (its time passed, or an officer ended it early) with the audit entry saying so."""
    return replace(s, expired_ts=min(now, s.ends_ts), expired_by=actor), AuditEntry(
        now, "silence.expired", actor, reason, silence_id=s.id)
