"""The officer's desk: the duty roster as officers see it, their overrides of it, and false-alarm marks.

Each change runs in one transaction with its audit entry (roster overrides in the officer audit log, false-alarm
marks in the alert's own log); alert events are published on the bus after the commit. Refusals raise
`ActionError` (404, 409 or 422) with a message a person can act on.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from tichwatch.alerts import false_alarms, roster, roster_store
from tichwatch.alerts.actions import ActionError, required_text, run_and_publish
from tichwatch.alerts.false_alarms import FalseAlarm
from tichwatch.alerts.roster import Override, Slot
from tichwatch.alerts.storage import rows_of
from tichwatch.api import audit
from tichwatch.config.schema import Settings
from tichwatch.core.bus import EventBus
from tichwatch.core.events import AlertChanged
from tichwatch.core.timefmt import iso_local, iso_utc
from tichwatch.store.database import Connection
from tichwatch.store.store import Store

MAX_OVERRIDES = 200
"""Most overrides not yet over at once (a roster has a handful; the bound keeps the routing's read small)."""
MAX_REASON_CHARS = 2000
"""Longest reason of an override or its cancellation (the API refuses longer ones)."""
OVERRIDE_CREATED = "roster.override"
"""Officer audit action of a new override."""
OVERRIDE_CANCELLED = "roster.override.cancel"
"""Officer audit action of a cancelled override."""

T = TypeVar("T")


class Desk:
    """The desk's reads and actions for one deployment."""

    def __init__(self, settings: Settings, store: Store, bus: EventBus):
        self.settings = settings
        self.roster = settings.alerts.roster
        self.tz = settings.timezone
        self._store = store
        self._bus = bus

    # -- the roster -----------------------------------------------------------------------------------------------
    def _officer(self, username: str) -> dict[str, Any]:
        o = self.roster.officer(username)
        return {"username": username, "name": o.name if o else username,
                "receivers": list(o.receivers) if o else []}

    def _times(self, **named: float) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, ts in named.items():
            out[f"{name}_at"], out[f"{name}_at_local"] = iso_utc(ts), iso_local(ts, self.tz)
        return out

    def slot_document(self, s: Slot) -> dict[str, Any]:
        """A stretch of the roster as JSON: when, which shifts, who in line order, which overrides changed it."""
        return {**self._times(starts=s.starts_ts, ends=s.ends_ts), "shifts": list(s.shifts),
                "officers": [self._officer(u) for u in s.officers], "overrides": list(s.overrides)}

    def override_document(self, o: Override) -> dict[str, Any]:
        """An override as JSON."""
        doc = {"id": o.id, "officer": self._officer(o.officer),
               "replaces": self._officer(o.replaces) if o.replaces else None, "reason": o.reason,
               "created_by": o.created_by, "cancelled_by": o.cancelled_by,
               **self._times(starts=o.starts_ts, ends=o.ends_ts, created=o.created_ts)}
        if o.cancelled_ts is not None:
            doc.update(self._times(cancelled=o.cancelled_ts))
        return doc

    def roster_view(self, now: float, days: int) -> dict[str, Any]:
        """Who is on duty now and next, the duty chain (`roster:on_duty`, `roster:next`), the slots of the coming
        `days` (from the start of the current one; gaps have no officers) and the overrides in that time."""
        end = now + days * 86400.0
        overrides = roster_store.in_force(self._store.query_all, now - 86400.0, end)
        slots = roster.timeline(self.roster, overrides, now - 86400.0, end, self.tz)
        slots = [s for s in slots if s.ends_ts > now]
        current = slots[0] if slots and slots[0].starts_ts <= now else None
        coming = next((s for s in slots[1:] if s.officers and s.officers != (current.officers if current else ())),
                      None)
        chain = roster.duty_chain(self.roster, overrides, now, self.tz)
        return {"configured": bool(self.roster.shifts), "timezone": self.tz, **self._times(generated=now),
                "now": self.slot_document(current) if current else None,
                "next": self.slot_document(coming) if coming else None,
                "chain": [self._officer(u) for u in chain],
                "slots": [self.slot_document(s) for s in slots],
                "gaps": [self.slot_document(s) for s in slots if not s.officers],
                "overrides": [self.override_document(o) for o in overrides if o.ends_ts > now],
                "officers": [self._officer(o.username) for o in self.roster.officers]}

    def add_override(self, actor: str, officer: str, replaces: str | None, starts_ts: float, ends_ts: float,
                     reason: str, now: float) -> Override:
        """Put `officer` on duty in place of `replaces` (None: first in line) for a while; audited."""
        why = roster.check_override(self.roster, officer, replaces, starts_ts, ends_ts, now)
        if why is not None:
            raise ActionError(422, why)
        o = Override(f"o-{secrets.token_urlsafe(9)}", officer, replaces, starts_ts, ends_ts,
                     required_text(reason, "a reason"), actor, now)

        def work(conn: Connection) -> Override:
            if roster_store.count_in_force(rows_of(conn), now) >= MAX_OVERRIDES:
                raise ActionError(409, f"there are already {MAX_OVERRIDES} overrides not yet over: cancel some first")
            roster_store.save(conn, o)
            audit.record(conn, actor, OVERRIDE_CREATED, o.id, {"officer": officer, "replaces": replaces,
                                                               "starts_at": iso_utc(starts_ts),
                                                               "ends_at": iso_utc(ends_ts), "reason": o.reason}, now)
            return o
        return self._run(lambda conn: (work(conn), []))

    def cancel_override(self, actor: str, override_id: str, reason: str, now: float) -> Override:
        """Cancel an override not yet over; audited."""
        why = required_text(reason, "a reason")

        def work(conn: Connection) -> Override:
            o = roster_store.get(rows_of(conn), override_id)
            if o is None:
                raise ActionError(404, f"no roster override with id {override_id!r}")
            if o.cancelled_ts is not None or o.ends_ts <= now:
                raise ActionError(409, f"override {override_id} is already cancelled or over")
            done = replace(o, cancelled_ts=now, cancelled_by=actor)
            roster_store.save(conn, done)
            audit.record(conn, actor, OVERRIDE_CANCELLED, o.id, {"reason": why}, now)
            return done
        return self._run(lambda conn: (work(conn), []))

    # -- false alarms ---------------------------------------------------------------------------------------------
    def mark_false_alarm(self, alert_id: str, actor: str, note: str, now: float) -> FalseAlarm:
        """Mark an alert (open or resolved) as a false alarm, with a note."""
        return self._run(lambda conn: false_alarms.mark(conn, alert_id, actor, now, note))

    def withdraw_false_alarm(self, alert_id: str, actor: str, note: str, now: float) -> None:
        """Withdraw an alert's false-alarm mark, with a reason."""
        self._run(lambda conn: (None, false_alarms.withdraw(conn, alert_id, actor, now, note)))

    def _run(self, work: Callable[[Connection], tuple[T, Sequence[AlertChanged]]]) -> T:
        """Run `work` in one transaction; publish its alert changes after the commit."""
        return run_and_publish(self._store, self._bus, work)
