"""The notification pipeline as small pure stages with one contract (after Alertmanager's notify.go).

`route` fans alerts out to receivers (routes and escalation tiers) and says what each receiver would be told; then
`inhibit`, `silence` and `dedup` each take candidates and return the ones they keep plus, for every one they drop, the
reason. Everything a stage needs comes in a `StageContext` loaded beforehand, so the stages do no I/O.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from tichwatch.alerts import roster
from tichwatch.alerts.escalation import due_tiers
from tichwatch.alerts.model import Alert, AlertState, Labels, Silence, matches
from tichwatch.alerts.roster import Override
from tichwatch.config.alerts import (
    WEEKDAYS,
    AlertSettings,
    EscalationTier,
    MaintenanceWindow,
    NoticeKind,
    ReceiverConfig,
)
from tichwatch.core.detection import Severity


@dataclass(frozen=True)
class SentEntry:
    """The last notification queued for one alert to one receiver (the dedup log)."""

    notice: str
    severity: Severity
    ts: float


@dataclass(frozen=True)
class Candidate:
    """A notification that may be sent: this alert, to this receiver, saying `notice`."""

    alert: Alert
    labels: Labels
    receiver: ReceiverConfig
    notice: NoticeKind
    last: SentEntry | None
    tier: EscalationTier | None = None  # set when the receiver was reached through escalation


@dataclass(frozen=True)
class Dropped:
    """A notification a stage decided not to send, and why."""

    alert_id: str
    receiver: str | None
    notice: str | None
    stage: str
    reason: str


@dataclass(frozen=True)
class StageResult:
    """What a stage kept and what it dropped."""

    kept: list[Candidate]
    dropped: list[Dropped] = field(default_factory=list)


@dataclass(frozen=True)
class StageContext:
    """Everything the stages look at, loaded before they run (the open alerts only when inhibition needs them)."""

    now: float
    settings: AlertSettings
    timezone: str
    load_open_alerts: Callable[[], Sequence[Alert]]
    silences: Sequence[Silence]
    sent: Mapping[str, Mapping[str, SentEntry]]  # alert id → receiver → last notification
    load_roster_overrides: Callable[[], Sequence[Override]] = tuple  # only when a route names `roster:…`

    @cached_property
    def open_alerts(self) -> Sequence[Alert]:
        """Every open alert (possible inhibition sources)."""
        return self.load_open_alerts()

    @cached_property
    def duty_chain(self) -> tuple[str, ...]:
        """The duty roster's officers in line now, then those who come on next (see `roster.duty_chain`)."""
        return roster.duty_chain(self.settings.roster, self.load_roster_overrides(), self.now, self.timezone)

    def receivers(self, names: Sequence[str]) -> list[str]:
        """Receiver names, with `roster:on_duty` / `roster:next` standing for the officers in line now."""
        return roster.expand(names, self.settings.roster, lambda: self.duty_chain)

    def labels(self, alert: Alert) -> Labels:
        """An alert's labels with its subject's areas."""
        return alert.labels(self.settings.areas_of(alert.subject))


Stage = Callable[[Sequence[Candidate], StageContext], StageResult]
"""The contract of every stage after routing."""


def notice_for(alert: Alert, last: SentEntry | None, takes_lowered: bool) -> NoticeKind:
    """What a receiver would be told now, given the last thing it was told about this alert."""
    if alert.state is AlertState.RESOLVED:
        return "resolved"
    if alert.state is AlertState.ACKNOWLEDGED:
        return "acknowledged"
    if last is None:
        return "firing"
    if alert.severity > last.severity:
        return "raised"
    if alert.severity < last.severity and takes_lowered:
        return "lowered"
    return "repeat"


def route(alerts: Sequence[Alert], ctx: StageContext) -> StageResult:
    """Fan out: matching routes, due escalation tiers, and (for follow-ups) everyone already told about the alert."""
    kept: list[Candidate] = []
    dropped: list[Dropped] = []
    for alert in alerts:
        labels = ctx.labels(alert)
        names: dict[str, EscalationTier | None] = {}
        for r in ctx.settings.routes:
            if matches(r.match, labels):
                names.update({n: None for n in ctx.receivers(r.receivers) if n not in names})
        for due in due_tiers(alert, labels, ctx.settings.escalation, ctx.now):
            names.update({n: due for n in ctx.receivers(due.receivers) if n not in names})
        told = ctx.sent.get(alert.id, {})
        if alert.state is not AlertState.FIRING:
            names.update({n: None for n in told if n not in names})
        for name, tier in names.items():
            receiver = ctx.settings.receiver(name)
            if receiver is None:
                dropped.append(Dropped(alert.id, name, None, "route", "receiver no longer configured"))
                continue
            last = told.get(name)
            kept.append(Candidate(alert, labels, receiver, notice_for(alert, last, "lowered" in receiver.notify_on),
                                  last, tier))
        if not names:
            dropped.append(Dropped(alert.id, None, None, "route", "no route matches"))
    return StageResult(kept, dropped)


def _shares(equal: str, a: Alert, b: Alert, settings: AlertSettings) -> bool:
    """Whether two alerts share their subject (or, with equal=area, an area)."""
    if a.subject == b.subject:
        return True
    return equal == "area" and bool(settings.areas_of(a.subject) & settings.areas_of(b.subject))


def _filter(candidates: Sequence[Candidate], stage: str, reason: Callable[[Candidate], str | None]) -> StageResult:
    """Keep the candidates `reason` has nothing against; drop the others with its reason."""
    kept: list[Candidate] = []
    dropped: list[Dropped] = []
    for c in candidates:
        why = reason(c)
        if why is None:
            kept.append(c)
        else:
            dropped.append(Dropped(c.alert.id, c.receiver.name, c.notice, stage, why))
    return StageResult(kept, dropped)


def _inhibit_reason(c: Candidate, ctx: StageContext) -> str | None:
    """The open alert and rule that mute this candidate, if any."""
    for rule in ctx.settings.inhibit:
        if c.notice not in rule.notices or not matches(rule.target, c.labels):
            continue
        source = next((s for s in ctx.open_alerts if s.id != c.alert.id and matches(rule.source, ctx.labels(s))
                       and _shares(rule.equal, s, c.alert, ctx.settings)), None)
        if source is not None:
            return f"inhibited by {source.kind} on {source.subject} (alert {source.id}, rule {rule.name})"
    return None


def inhibit(candidates: Sequence[Candidate], ctx: StageContext) -> StageResult:
    """Mute targets of an inhibition rule while a matching source alert is open on the same subject or area."""
    return _filter(candidates, "inhibit", lambda c: _inhibit_reason(c, ctx))


def window_active(w: MaintenanceWindow, now: float, tz: str) -> bool:
    """True when `now` falls in a maintenance window (local time; an end before the start runs past midnight)."""
    local = datetime.fromtimestamp(now, ZoneInfo(tz))
    minute = local.hour * 60 + local.minute
    start = int(w.start_local[:2]) * 60 + int(w.start_local[3:])
    end = int(w.end_local[:2]) * 60 + int(w.end_local[3:])
    today = WEEKDAYS[local.weekday()] in w.weekdays
    if start < end:
        return today and start <= minute < end
    yesterday = WEEKDAYS[(local - timedelta(days=1)).weekday()] in w.weekdays
    return (today and minute >= start) or (yesterday and minute < end)


def _silence_reason(c: Candidate, ctx: StageContext, windows: Sequence[MaintenanceWindow]) -> str | None:
    """The silence or maintenance window that mutes this candidate, if any (a resolution always goes out)."""
    if c.notice == "resolved":
        return None
    s = next((s for s in ctx.silences if s.active(ctx.now) and matches(s.matchers, c.labels)), None)
    if s is not None:
        return f"silenced by {s.id} ({s.created_by}): {s.reason}"
    w = next((w for w in windows if matches(w.match, c.labels)), None)
    return None if w is None else f"maintenance window {w.name}: {w.reason}"


def silence(candidates: Sequence[Candidate], ctx: StageContext) -> StageResult:
    """Mute what an active silence or maintenance window matches."""
    windows = [w for w in ctx.settings.maintenance if window_active(w, ctx.now, ctx.timezone)]
    return _filter(candidates, "silence", lambda c: _silence_reason(c, ctx, windows))


def _dedup_reason(c: Candidate, ctx: StageContext) -> str | None:
    """Why this notice need not go out now, or None to send it."""
    last = c.last
    if c.notice in ("resolved", "acknowledged"):
        if last is None:
            return f"receiver was never told of the alert: no {c.notice} notice"
        if last.notice == c.notice:
            return f"{c.notice} notice already sent"
    elif c.notice == "firing" and c.alert.clearing_ts is not None:
        return "its condition cleared before this receiver was told: announced only if it fires again"
    elif c.notice == "repeat" and last is not None:
        interval = ctx.settings.repeat.for_severity(c.alert.severity)
        if interval is None:
            return f"no repeats for {c.alert.severity.name.lower()} alerts"
        if ctx.now - last.ts < interval:
            return f"sent {ctx.now - last.ts:.0f} s ago; repeats every {interval:.0f} s"
    if c.notice not in c.receiver.notify_on:
        return f"receiver takes no {c.notice} notices"
    return None


def dedup(candidates: Sequence[Candidate], ctx: StageContext) -> StageResult:
    """Keep what the receiver has not been told yet, and reminders that are due."""
    return _filter(candidates, "dedup", lambda c: _dedup_reason(c, ctx))


STAGES: tuple[Stage, ...] = (inhibit, silence, dedup)
"""The stages after routing, in order."""


def run(alerts: Sequence[Alert], ctx: StageContext) -> StageResult:
    """Route, then every stage in turn; returns what survives and everything dropped on the way."""
    result = route(alerts, ctx)
    dropped = list(result.dropped)
    kept = result.kept
    for stage in STAGES:
        step = stage(kept, ctx)
        kept = step.kept
        dropped += step.dropped
    return StageResult(kept, dropped)
