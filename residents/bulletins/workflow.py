"""The bulletin workflow as pure functions: draft → (edit) → approved → published. Each step returns the bulletin
after it and the audit entries that say who did what, when; no I/O here (`storage` persists, `desk` orchestrates).

An edit after approval takes the bulletin back to draft (it needs approving again). An officer who publishes a draft
approves it in the same step. Emergency bulletins may be published without approval when the deployment allows it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

from tichwatch.residents.bulletins.compose import Bulletin
from tichwatch.residents.bulletins.facts import Figure
from tichwatch.residents.bulletins.snapshot import BulletinKind

EDITABLE: tuple[str, ...] = ("title_vi", "quote_vi", "text_vi", "title_en", "quote_en", "text_en", "radio_vi")
"""The texts a communicator may edit (the figures never change)."""

Origin = Literal["schedule", "demand"]
"""Who asked for the bulletin: the schedule or a person."""

Authority = Literal["officer", "emergency"]
"""On what authority a bulletin is published: an officer's, or the emergency rule without approval."""


class BulletinState(StrEnum):
    """Where a bulletin is in its workflow."""

    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"


class WorkflowError(Exception):
    """A step that the bulletin's state does not allow."""


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


def edit(record: BulletinRecord, changes: Mapping[str, str], now: float, actor: str) -> Step:
    """Change texts of an unpublished bulletin; the log keeps the old and new text of each changed field."""
    if record.state is BulletinState.PUBLISHED:
        raise WorkflowError("a published bulletin cannot be edited: draft a new one")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise WorkflowError(f"these fields cannot be edited: {unknown}; editable: {list(EDITABLE)}")
    changed = {k: {"old": record.content[k], "new": v} for k, v in changes.items() if record.content[k] != v}
    if not changed:
        return Step(record, ())
    content = {**record.content, **{k: c["new"] for k, c in changed.items()}}
    updated = replace(record, content=content, state=BulletinState.DRAFT, updated_ts=now, approved_ts=None,
                      approved_by=None)
    log = [LogEntry(now, actor, "edited", {"fields": changed})]
    if record.state is BulletinState.APPROVED:
        log.append(LogEntry(now, actor, "approval_withdrawn", {"reason": "edited after approval"}))
    return Step(updated, tuple(log))


def approve(record: BulletinRecord, now: float, actor: str) -> Step:
    """An officer approves a draft for publication."""
    if record.state is not BulletinState.DRAFT:
        raise WorkflowError(f"only a draft can be approved; this bulletin is {record.state.value}")
    done = replace(record, state=BulletinState.APPROVED, approved_ts=now, approved_by=actor, updated_ts=now)
    return Step(done, (LogEntry(now, actor, "approved"),))


def publishing_authority(is_officer: bool, kind: BulletinKind, emergency_without_approval: bool) -> Authority | None:
    """On what authority someone may publish a bulletin: an officer on their own; anyone else who may draft only an
    emergency bulletin, and only where the deployment allows those without approval. None: they may not publish."""
    if is_officer:
        return "officer"
    if kind == "emergency" and emergency_without_approval:
        return "emergency"
    return None


def publish(record: BulletinRecord, channels: Sequence[str], now: float, actor: str, authority: Authority) -> Step:
    """Publish to the channels: an officer publishes (approving a draft in the same step), or the emergency rule
    publishes an emergency bulletin without approval. Publishing again sends to the channels given."""
    if authority == "emergency" and record.kind != "emergency":
        raise WorkflowError("only emergency bulletins may be published without an officer's approval")
    log: list[LogEntry] = []
    if record.state is BulletinState.PUBLISHED:
        return Step(replace(record, channels=tuple(dict.fromkeys([*record.channels, *channels]))),
                    (LogEntry(now, actor, "republished", {"channels": list(channels)}),))
    if record.state is BulletinState.DRAFT and authority == "officer":
        record = approve(record, now, actor).record
        log.append(LogEntry(now, actor, "approved", {"with": "publish"}))
    done = replace(record, state=BulletinState.PUBLISHED, published_ts=now, published_by=actor, updated_ts=now,
                   channels=tuple(channels))
    log.append(LogEntry(now, actor, "published", {"channels": list(channels), "authority": authority,
                                                  "approved_by": done.approved_by}))
    return Step(done, tuple(log))
