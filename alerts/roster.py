"""The duty roster (pure): who is on duty when, from the weekly shifts in the configuration and the officers'
overrides, and which receivers `roster:on_duty` and `roster:next` stand for at a moment.

Shifts are in local time (the deployment's zone); a shift starts on each of its weekdays and ends at `end_local` the
same day, or the next day when the end is not after the start. At any moment the officers *in line* are those of the
shifts running then, in the order the shifts are listed and each shift's officers in order, after the overrides in
force (oldest first): an override puts its officer in place of the one it replaces (or first in line when it names
nobody). The *duty chain* at a moment is the officers in line then, followed by those of the next stretch of the roster
with other people in it: `roster:on_duty` is its first officer, `roster:next` its second, so with a one-person shift
"notify next" reaches whoever comes on next.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from tichwatch.config.alerts import ROSTER_TARGETS, WEEKDAYS, RosterSettings, RosterShift

CHAIN_HORIZON_S = 8 * 86400.0
"""How far ahead the duty chain looks for the next people on duty (a weekly roster repeats within it)."""
MAX_OVERRIDE_S = 31 * 86400.0
"""Longest override: a swap is for shifts, not a new roster."""


@dataclass(frozen=True)
class Override:
    """An officer's change to the roster: `officer` is on duty in place of `replaces` (None: first in line) from
    `starts_ts` to `ends_ts` (UTC epoch seconds), unless cancelled."""

    id: str
    officer: str
    replaces: str | None
    starts_ts: float
    ends_ts: float
    reason: str
    created_by: str
    created_ts: float
    cancelled_ts: float | None = None
    cancelled_by: str | None = None

    def active(self, ts: float) -> bool:
        """True when the override is in force at `ts`."""
        return self.cancelled_ts is None and self.starts_ts <= ts < self.ends_ts


@dataclass(frozen=True)
class Slot:
    """A stretch of time with the same people in line: the shifts running, the officers in line order and the
    overrides that changed it."""

    starts_ts: float
    ends_ts: float
    shifts: tuple[str, ...]
    officers: tuple[str, ...]
    overrides: tuple[str, ...] = ()


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def shift_length_s(shift: RosterShift) -> float:
    """How long one occurrence of a shift lasts (an end not after the start runs into the next day)."""
    start, end = _minutes(shift.start_local), _minutes(shift.end_local)
    return float(((end - start) % 1440 or 1440) * 60)


def occurrences(shift: RosterShift, from_ts: float, to_ts: float, tz: str) -> list[tuple[float, float]]:
    """(start, end) of every occurrence of a shift that overlaps [from_ts, to_ts), in time order."""
    zone = ZoneInfo(tz)
    start_of_day = time(_minutes(shift.start_local) // 60, _minutes(shift.start_local) % 60)
    length = shift_length_s(shift)
    day = datetime.fromtimestamp(from_ts, zone).date() - timedelta(days=1)  # yesterday's may still run
    last = datetime.fromtimestamp(to_ts, zone).date()
    found: list[tuple[float, float]] = []
    while day <= last:
        if WEEKDAYS[day.weekday()] in shift.weekdays:
            start = datetime.combine(day, start_of_day, zone).timestamp()
            if start < to_ts and start + length > from_ts:
                found.append((start, start + length))
        day += timedelta(days=1)
    return found


def scheduled(roster: RosterSettings, ts: float, tz: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The shifts running at `ts` and their officers in line order, before overrides."""
    shifts = [s for s in roster.shifts if occurrences(s, ts, ts + 1e-3, tz)]
    officers: list[str] = []
    for s in shifts:
        officers += [o for o in s.officers if o not in officers]
    return tuple(s.name for s in shifts), tuple(officers)


def apply_overrides(officers: Sequence[str], overrides: Sequence[Override],
                    ts: float) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The officers in line after the overrides in force at `ts` (oldest first), and the ids of those that changed
    it. An override whose `replaces` is not in line at `ts` changes nothing then."""
    line = list(officers)
    used: list[str] = []
    for o in sorted((o for o in overrides if o.active(ts)), key=lambda o: (o.created_ts, o.id)):
        if o.replaces is None:
            line = [o.officer] + [x for x in line if x != o.officer]
        elif o.replaces in line:
            line = [o.officer if x == o.replaces else x for x in line if x != o.officer]
        else:
            continue
        used.append(o.id)
    return tuple(line), tuple(used)


def on_duty(roster: RosterSettings, overrides: Sequence[Override], ts: float, tz: str) -> Slot:
    """Who is in line at `ts` (a slot of zero length: see `timeline` for how long)."""
    shifts, officers = scheduled(roster, ts, tz)
    line, used = apply_overrides(officers, overrides, ts)
    return Slot(ts, ts, shifts, line, used)


def timeline(roster: RosterSettings, overrides: Sequence[Override], from_ts: float, to_ts: float,
             tz: str) -> list[Slot]:
    """The roster from `from_ts` to `to_ts` as consecutive slots, each with the same people in line throughout
    (a slot with nobody is a gap in the roster)."""
    edges = {from_ts, to_ts}
    for s in roster.shifts:
        for start, end in occurrences(s, from_ts, to_ts, tz):
            edges.update((start, end))
    for o in overrides:
        if o.cancelled_ts is None:
            edges.update((o.starts_ts, o.ends_ts))
    points = sorted(e for e in edges if from_ts <= e <= to_ts)
    slots: list[Slot] = []
    for start, end in pairwise(points):
        here = on_duty(roster, overrides, start, tz)
        if slots and (slots[-1].shifts, slots[-1].officers, slots[-1].overrides) == (here.shifts, here.officers,
                                                                                   here.overrides):
            slots[-1] = Slot(slots[-1].starts_ts, end, here.shifts, here.officers, here.overrides)
        else:
            slots.append(Slot(start, end, here.shifts, here.officers, here.overrides))
    return slots


def next_change(roster: RosterSettings, overrides: Sequence[Override], now: float, tz: str) -> Slot | None:
    """The first slot after the current one with other people in line (None when none within the horizon)."""
    current = on_duty(roster, overrides, now, tz).officers
    return next((s for s in timeline(roster, overrides, now, now + CHAIN_HORIZON_S, tz)
                 if s.officers and s.officers != current), None)


def duty_chain(roster: RosterSettings, overrides: Sequence[Override], now: float, tz: str) -> tuple[str, ...]:
    """The officers in line now, then those who come on next: the order in which `roster:` targets reach people."""
    chain = list(on_duty(roster, overrides, now, tz).officers)
    coming = next_change(roster, overrides, now, tz)
    chain += [o for o in (coming.officers if coming else ()) if o not in chain]
    return tuple(chain)


def expand(names: Sequence[str], roster: RosterSettings, chain: Callable[[], Sequence[str]]) -> list[str]:
    """Receiver names with each roster target (`roster:on_duty`, `roster:next`) replaced by the receivers of the
    officer at that place in the duty chain (nothing when nobody is there). `chain` is only called when a target is
    named (it reads the overrides)."""
    out: list[str] = []
    for name in names:
        if name not in ROSTER_TARGETS:
            out.append(name)
            continue
        place = ROSTER_TARGETS.index(name)
        people = chain()
        officer = roster.officer(people[place]) if place < len(people) else None
        out += officer.receivers if officer is not None else []
    return out


def check_override(roster: RosterSettings, officer: str, replaces: str | None, starts_ts: float, ends_ts: float,
                   now: float) -> str | None:
    """Why an override cannot be made (None when it can): unknown officers, an end not after the start or already
    past, longer than `MAX_OVERRIDE_S`, or an officer replacing themself."""
    if roster.officer(officer) is None:
        return f"{officer!r} is not an officer on the roster (alerts.roster.officers)"
    if replaces is not None and roster.officer(replaces) is None:
        return f"{replaces!r} is not an officer on the roster (alerts.roster.officers)"
    if replaces == officer:
        return "an officer cannot replace themself"
    if ends_ts <= starts_ts or ends_ts <= now:
        return "the override must end after it starts and in the future"
    if ends_ts - starts_ts > MAX_OVERRIDE_S:
        return f"an override may last at most {MAX_OVERRIDE_S / 86400:.0f} days"
    return None
