"""The bulletin workflow as pure functions: draft → (edit) → approved → published. Each step returns the bulletin
after it and the audit entries that say who did what, when; no I/O here (`storage` persists, `desk` orchestrates).

Separation of duties: an officer approves, and never one who wrote the texts (its author, or anyone who edited them);
an edit after approval takes the bulletin back to draft (it needs approving again); a bulletin is published only once
approved. The one exception is the emergency rule: while a flood alert at the hourly level is open, an emergency
bulletin may be published without approval by an officer (any time) or by a communicator and the schedule (where the
deployment sets `bulletins.emergency_without_approval`); the log says so.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

from tichwatch.residents.bulletins.compose import Bulletin
from tichwatch.residents.bulletins.facts import Figure
from tichwatch.residents.bulletins.snapshot import BulletinKind

FIELD_LIMITS: dict[str, int] = {
    "title_vi": 160, "quote_vi": 1200, "text_vi": 20_000,
    "title_en": 160, "quote_en": 1200, "text_en": 20_000,
    "radio_vi": 8000,
}
"""The texts a communicator may edit (the figures never change) and their longest length, characters: a title fits a
post's first line, the quotable sentences a Zalo message (2000 characters) with its title and links, the radio script
about seven minutes of speech."""
EDITABLE: tuple[str, ...] = tuple(FIELD_LIMITS)
"""The names of the editable texts."""

Origin = Literal["schedule", "demand"]
"""Who asked for the bulletin: the schedule or a person."""

Authority = Literal["approval", "emergency"]
"""On what authority a bulletin is published: its approval, or the emergency rule without one."""


class BulletinState(StrEnum):
    """Where a bulletin is in its workflow."""

    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"


class WorkflowError(Exception):
    """A step that the bulletin's state does not allow; `code` names the rule for programs (the desk's page shows
    its own text for it)."""

    def __init__(self, message: str, code: str = "conflict"):
        super().__init__(message)
        self.code = code


class NotPermitted(WorkflowError):
    """A step this person may not take on this bulletin (e.g. approving what they wrote)."""


@dataclass(frozen=True)
class BulletinRecord:
    """A stored bulletin: texts in both languages and the radio script, its figures, state and who moved it."""

    id: str
    kind: BulletinKind
    origin: Origin
    state: BulletinState
    data_ts: float
    created_ts: float
    created_by: str
    updated_ts: float
    content: dict[str, str]  # the EDITABLE texts
    figures: tuple[Figure, ...]
    channels: tuple[str, ...] = ()
    approved_ts: float | None = None
    approved_by: str | None = None
    published_ts: float | None = None
    published_by: str | None = None


@dataclass(frozen=True)
class LogEntry:
    """One line of a bulletin's audit log."""

    ts: float
    actor: str
    action: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """A bulletin after a step and the log entries of the step."""

    record: BulletinRecord
    log: tuple[LogEntry, ...]


def draft(composed: Mapping[str, Bulletin], radio_vi: str, origin: Origin, channels: Sequence[str], now: float,
          actor: str) -> Step:
    """A new draft from the composed bulletins (one per language) and the radio script."""
    vi = composed["vi"]
    parts = ("title", "quote", "text")
    content = {f"{part}_{lang}": getattr(b, part) for lang, b in composed.items() for part in parts}
    content["radio_vi"] = radio_vi
    record = BulletinRecord(vi.id, vi.kind, origin, BulletinState.DRAFT, vi.data_ts, now, actor, now, content,
                            vi.figures, tuple(channels))
    return Step(record, (LogEntry(now, actor, "created", {"kind": vi.kind, "origin": origin,
                                                            "channels": list(channels)}),))


def check_texts(changes: Mapping[str, str]) -> None:
    """WorkflowError for a field that is not editable, empty, or longer than its limit."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise WorkflowError(f"these fields cannot be edited: {unknown}; editable: {list(EDITABLE)}", "not_editable")
    for name, value in changes.items():
        if not value.strip():
            raise WorkflowError(f"{name} cannot be empty", "empty_text")
        if len(value) > FIELD_LIMITS[name]:
            raise WorkflowError(f"{name} has {len(value)} characters; at most {FIELD_LIMITS[name]}", "too_long")


def edit(record: BulletinRecord, changes: Mapping[str, str], now: float, actor: str) -> Step:
    """Change texts of an unpublished bulletin; the log keeps the old and new text of each changed field, and an
    approved bulletin goes back to draft (its approval withdrawn)."""
    if record.state is BulletinState.PUBLISHED:
        raise WorkflowError("a published bulletin cannot be edited: draft a new one", "published")
    check_texts(changes)
    changed = {k: {"old": record.content[k], "new": v} for k, v in changes.items() if record.content[k] != v}
    if not changed:
        return Step(record, ())
    content = {**record.content, **{k: c["new"] for k, c in changed.items()}}
    updated = replace(record, content=content, state=BulletinState.DRAFT, updated_ts=now, approved_ts=None,
                      approved_by=None)
    log = [LogEntry(now, actor, "edited", {"fields": changed})]
    if record.state is BulletinState.APPROVED:
        log.append(LogEntry(now, actor, "approval_withdrawn", {"reason": "edited after approval",
                                                               "approved_by": record.approved_by}))
    return Step(updated, tuple(log))


def authors(record: BulletinRecord, log: Iterable[LogEntry]) -> frozenset[str]:
    """Who wrote the bulletin's texts: whoever drafted it and everyone who edited it since."""
    return frozenset({record.created_by, *(e.actor for e in log if e.action == "edited")})


def approve(record: BulletinRecord, now: float, actor: str, written_by: Collection[str]) -> Step:
    """An officer approves a draft for publication: never one of those who wrote it (`written_by`, see `authors`).
    Checking the officer's role is the caller's part."""
    if record.state is not BulletinState.DRAFT:
        raise WorkflowError(f"only a draft can be approved; this bulletin is {record.state.value}", "not_draft")
    if actor in written_by:
        raise NotPermitted(f"{actor} wrote or edited this bulletin: another officer must approve it", "own_bulletin")
    done = replace(record, state=BulletinState.APPROVED, approved_ts=now, approved_by=actor, updated_ts=now)
    return Step(done, (LogEntry(now, actor, "approved"),))


def may_approve(record: BulletinRecord, is_officer: bool, actor: str, written_by: Collection[str]) -> bool:
    """Whether this person may approve the bulletin now (what `approve` would accept, for the desk's buttons)."""
    return is_officer and record.state is BulletinState.DRAFT and actor not in written_by


@dataclass(frozen=True)
class EmergencyRule:
    """The emergency rule as it stands: whether an emergency is in force (the flood alerts that make it one) and
    whether the deployment lets communicators and the schedule publish without approval."""

    alerts: tuple[str, ...]  # ids of the open flood.level alerts at the hourly level or above
    without_approval: bool  # bulletins.emergency_without_approval

    @property
    def in_force(self) -> bool:
        """True while such an alert is open."""
        return bool(self.alerts)


def publishing_authority(record: BulletinRecord, is_officer: bool, rule: EmergencyRule) -> Authority:
    """On what authority this person may publish the bulletin: its approval (anyone who may draft publishes an
    approved bulletin, or publishes a published one again), or the emergency rule for an emergency draft while an
    emergency is in force (an officer always, a communicator where the deployment allows it). WorkflowError (or
    NotPermitted) saying why not otherwise."""
    if record.state is not BulletinState.DRAFT:
        return "approval"
    if record.kind != "emergency":
        raise WorkflowError("this draft needs an officer's approval (not its author's) before it can be published",
                            "needs_approval")
    if not rule.in_force:
        raise WorkflowError("no flood alert at the hourly level is open, so the emergency rule does not apply: this "
                            "draft needs an officer's approval before it can be published", "no_emergency")
    if is_officer or rule.without_approval:
        return "emergency"
    raise NotPermitted("an emergency bulletin goes out without approval only from an officer (or from a "
                       "communicator where bulletins.emergency_without_approval is set): ask an officer to approve "
                       "or publish it", "emergency_needs_officer")


def publish(record: BulletinRecord, channels: Sequence[str], now: float, actor: str, authority: Authority,
            rule: EmergencyRule | None = None) -> Step:
    """Publish to the channels: an approved bulletin, or (authority `emergency`, while `rule` is in force) an
    emergency draft without approval, logged as such with the alerts that made it an emergency. Publishing again
    sends to the channels given."""
    if record.state is BulletinState.PUBLISHED:
        return Step(replace(record, channels=tuple(dict.fromkeys([*record.channels, *channels]))),
                    (LogEntry(now, actor, "republished", {"channels": list(channels)}),))
    detail: dict[str, Any] = {"channels": list(channels), "authority": authority, "approved_by": record.approved_by}
    if record.state is BulletinState.DRAFT:
        if authority != "emergency":
            raise WorkflowError("this draft needs an officer's approval (not its author's) before it can be "
                                "published", "needs_approval")
        if record.kind != "emergency" or rule is None or not rule.in_force:
            raise WorkflowError("only an emergency bulletin, while a flood alert at the hourly level is open, may be "
                                "published without approval", "no_emergency")
        detail.update(without_approval=True, emergency_alerts=list(rule.alerts))
    done = replace(record, state=BulletinState.PUBLISHED, published_ts=now, published_by=actor, updated_ts=now,
                   channels=tuple(channels))
    return Step(done, (LogEntry(now, actor, "published", detail),))


OutboxState = Literal["pending", "sent", "failed"]
"""The state of a delivery's outbox row."""


def retry_needed(record: BulletinRecord, latest: OutboxState | None, receiver: str) -> bool:
    """Whether a receiver's delivery of the bulletin should be queued again: only when its latest one failed (True).
    One still waiting needs nothing (False: asking twice queues once). WorkflowError when there is nothing to retry."""
    if record.state is not BulletinState.PUBLISHED:
        raise WorkflowError(f"this bulletin is {record.state.value}: only a published one has deliveries",
                            "not_published")
    if latest is None:
        raise WorkflowError(f"this bulletin was never sent to {receiver!r}", "no_delivery")
    if latest == "sent":
        raise WorkflowError(f"{receiver!r} has this bulletin already: nothing to retry", "already_sent")
    return latest == "failed"
