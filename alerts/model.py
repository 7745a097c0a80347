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
from tichwatch.core.detection import TAKEN_OVER_BY, Detection, Severity

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

    Two clocks. The readings' time (when the water or the frame was as stated): `started_ts`/`detected_ts` (the first
    and the latest detection), `clearing_ts` and `resolve_after_ts` (the hold runs on the subject's readings, so a
    condition that cleared inside a backlog resolves inside it), and `resolved_ts` when the detector's hold resolved it.
    The service's time (`now`): `opened_ts`, `updated_ts`, `firing_since_ts` (repeats and escalation are about people
    being told, so they run on the wall clock), `acknowledged_ts`, and `resolved_ts` of an officer's or a restart's
    resolution. Audit entries carry the service's time; their `sample_ts`/`clock_ts` data the readings'.
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
    clearing_ts: float | None = None  # the detector cleared (readings' time); resolves at resolve_after_ts unless
    resolve_after_ts: float | None = None  # raised again, on the subject's readings' clock (see `hold_expired`)
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


def facts(d: Detection) -> dict[str, Any]:
    """What a detection said, for its audit entry: the unit, the sample time and the evidence (threshold, trend,
    forecast …), so the entry alone tells what the alert stated at that change (the CAP feed relies on it)."""
    return {"unit": d.unit, "sample_ts": d.ts, "evidence": dict(d.evidence)}


def on_detection(alert: Alert | None, d: Detection, now: float, policy: HoldPolicy, recent_clears: int) -> Change:
    """Apply a detection to the open alert of its key (None when there is none); `recent_clears` counts the key's
    clears within the flap window (it decides the hold).

    A clear starts the hold on the readings' clock (from the clear's sample time, never before the alert's latest
    detection: an offline alert raised by the wall clock and cleared by an older reading of a backlog holds from its
    raise). A clear whose evidence names `TAKEN_OVER_BY` resolves at once: another alert now says it (a forecast
    whose level was reached)."""
    if d.active:
        return _raise(alert, d, now) if alert is not None else _open(d, now)
    if alert is None:
        return Change(None)
    if d.evidence.get(TAKEN_OVER_BY):
        return _taken_over(alert, d, now)
    if alert.clearing_ts is not None:
        return Change(None)
    hold = policy.hold_s(recent_clears)
    at = max(d.ts, alert.detected_ts)
    cleared = replace(alert, clearing_ts=at, resolve_after_ts=at + hold, updated_ts=now, detected_ts=d.ts,
                      value=d.value if d.value is not None else alert.value, reason=d.reason or alert.reason)
    note = _entry(alert, now, "cleared", DETECTOR, d.reason, hold_s=hold, flapping=recent_clears >=
                  policy.flap_max_clears, value=d.value, sample_ts=d.ts)
    if hold > 0:
        return Change(cleared, (note,))
    done = resolve(cleared, now, DETECTOR, "detector cleared", at=at)
    return Change(done.alert, (note, *done.audit))


def _taken_over(alert: Alert, d: Detection, now: float) -> Change:
    """Another alert takes the situation over (e.g. `flood.level` once a forecast level is reached): resolve now."""
    cleared = replace(alert, detected_ts=d.ts, reason=d.reason or alert.reason,
                      value=d.value if d.value is not None else alert.value)
    done = resolve(cleared, now, DETECTOR, d.reason or f"{d.evidence[TAKEN_OVER_BY]} takes over", at=d.ts)
    entry = replace(done.audit[0], data={**done.audit[0].data, TAKEN_OVER_BY: d.evidence[TAKEN_OVER_BY],
                                         "sample_ts": d.ts})
    return Change(done.alert, (entry,))


def _open(d: Detection, now: float) -> Change:
    alert = Alert(alert_id(d.kind, d.subject, now), d.kind, d.subject, AlertState.FIRING, d.severity, d.level,
                  d.value, d.unit, d.reason, dict(d.evidence), d.ts, d.ts, now, now, now)
    return Change(alert, (_entry(alert, now, "opened", DETECTOR, d.reason, severity=d.severity.name.lower(),
                                 level=d.level, value=d.value, **facts(d)),))


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
                            acknowledgement_cleared=alert.state is AlertState.ACKNOWLEDGED, **facts(d)))
    elif d.severity < alert.severity:
        audit.append(_entry(alert, now, "lowered", DETECTOR, d.reason, severity=d.severity.name.lower(),
                            previous=alert.severity.name.lower(), level=d.level, value=d.value, **facts(d)))
    else:
        audit.append(_entry(alert, now, "updated", DETECTOR, d.reason, level=d.level, value=d.value, **facts(d)))
    return Change(updated, tuple(audit))


def hold_expired(alert: Alert, clock_ts: float, now: float, clock: str = "readings") -> Change:
    """Resolve a cleared alert whose hold has run out by `clock_ts`, the time on its subject's clock (None when it
    has not). It resolves at the hold's end on that clock; `clock` says which one ran it out for the audit:
    "readings" (a later reading's time) or "wall" (the subject went silent, so the wall clock stood in)."""
    if not alert.open or alert.resolve_after_ts is None or clock_ts < alert.resolve_after_ts:
        return Change(None)
    done = resolve(alert, now, SYSTEM, "detector stayed clear", at=alert.resolve_after_ts)
    entry = replace(done.audit[0], data={**done.audit[0].data, "clock": clock})
    return Change(done.alert, (entry,))


RESTART_REASON = "no longer holds after the restart (the detector, rebuilt from the stored readings, does not say it)"
"""Why a restart resolved an alert."""


def reevaluated(alert: Alert, holds: bool, now: float) -> Change:
    """A restart's verdict on an open alert (does its detector, rebuilt from the stored readings, still hold the
    condition?): an alert it no longer holds resolves at once, one cleared earlier that holds again fires again; a
    cleared one that still does not hold keeps its hold (None: nothing changes)."""
    if not alert.open:
        return Change(None)
    if holds and alert.clearing_ts is not None:
        again = replace(alert, clearing_ts=None, resolve_after_ts=None, updated_ts=now)
        return Change(again, (_entry(alert, now, "refired", SYSTEM, "holds again after the restart"),))
    if holds or alert.clearing_ts is not None:
        return Change(None)
    return resolve(alert, now, SYSTEM, RESTART_REASON)


def resolve(alert: Alert, now: float, actor: str, reason: str, at: float | None = None) -> Change:
    """Resolve an open alert (by its detector, the hold, or an officer with a reason). `at` is when, on the readings'
    clock, when that is what ended it (a hold ran out in sample time); else the service's time `now`."""
    when = now if at is None else at
    done = replace(alert, state=AlertState.RESOLVED, resolved_ts=when, resolved_by=actor, resolve_reason=reason,
                   updated_ts=now, resolve_after_ts=None)
    data = {} if at is None else {"clock_ts": at}
    return Change(done, (_entry(alert, now, "resolved", actor, reason, **data),))


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
