"""What officers and village heads do with subscriptions (add a resident on their behalf, change their hamlet, language
or channel, unsubscribe them) and what only admins do (erase a subscriber on request). Every action runs in one
transaction with its audit entry, which names the subscriber by id, never by number.

Erasure deletes the subscriber row, any pending code and the count of codes sent to the number, and runs the
`erasers` given (the resident delivery deletes its rows addressed to the subscriber there), all in one transaction.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from tichwatch.alerts.actions import ActionError, required_text
from tichwatch.alerts.storage import rows_of
from tichwatch.config.subscriptions import SubscriptionSettings
from tichwatch.residents.subscriptions import store
from tichwatch.residents.subscriptions.links import LinkKey
from tichwatch.residents.subscriptions.phone import InvalidPhone, normalise, scrub
from tichwatch.residents.subscriptions.registration import LANGS, Record, consent_text, target
from tichwatch.residents.subscriptions.store import Subscriber
from tichwatch.store.database import Connection
from tichwatch.store.store import Store

Eraser = Callable[[Connection, int], None]
"""Deletes what another part holds about a subscriber (by id), inside the erasure's transaction."""
MAX_REASON_CHARS = 500
"""Longest reason given for an erasure."""


class Management:
    """Officers' and admins' actions on subscribers."""

    def __init__(self, settings: SubscriptionSettings, hamlets: dict[str, str], store_: Store, key: LinkKey,
                 record: Record, erasers: Sequence[Eraser] = ()):
        self.settings = settings
        self.hamlets = hamlets
        self._store = store_
        self.key = key
        self._record = record
        self.erasers = list(erasers)

    def _checked(self, hamlet_id: str | None, lang: str | None, channel: str | None) -> None:
        if hamlet_id is not None and hamlet_id not in self.hamlets:
            raise ActionError(422, f"unknown hamlet {hamlet_id[:64]!r}")
        if lang is not None and lang not in LANGS:
            raise ActionError(422, f"lang must be one of {LANGS}")
        if channel is not None and channel not in store.CHANNELS:
            raise ActionError(422, f"channel must be one of {store.CHANNELS}")

    def add(self, actor: str, phone_text: str, hamlet_id: str, lang: str, channel: str, now: float) -> Subscriber:
        """Add a resident on their behalf, active at once: consent is recorded as collected by `actor` (an
        unsubscribed or pending number is subscribed; an active one is a conflict)."""
        self._checked(hamlet_id, lang, channel)
        try:
            phone = normalise(phone_text)
        except InvalidPhone as exc:
            raise ActionError(422, f"phone: {exc}") from None
        words = f"{consent_text(self.settings, lang)} [collected by {actor}]"
        version = self.settings.consent_version
        with self._store.transaction() as conn:
            sub = store.by_phone(rows_of(conn), phone)
            if sub is not None and sub.status == "active":
                raise ActionError(409, f"this number is already subscriber {sub.id}: change that one")
            if sub is None:
                sid = store.insert(conn, phone, hamlet_id, lang, channel, "active", now, words, version, actor, now)
            else:  # unsubscribed, or a self-registration never confirmed: the consent now collected counts
                sid = sub.id
                store.activate(conn, sid, hamlet_id, lang, channel, now, words, version, actor, now)
                store.drop_code(conn, sid)
            self._record(conn, actor, "subscriber.add", target(sid),
                         {"hamlet_id": hamlet_id, "lang": lang, "channel": channel, "consent_version": version,
                          "again": sub is not None}, now)
            added = store.get(rows_of(conn), sid)
        assert added is not None
        return added

    def change(self, actor: str, subscriber_id: int, hamlet_id: str | None, lang: str | None, channel: str | None,
               now: float) -> Subscriber:
        """Change a subscriber's hamlet, language or channel (those given)."""
        self._checked(hamlet_id, lang, channel)
        wanted = {k: v for k, v in (("hamlet_id", hamlet_id), ("lang", lang), ("channel", channel)) if v is not None}
        if not wanted:
            raise ActionError(422, "nothing to change: give hamlet_id, lang or channel")
        with self._store.transaction() as conn:
            sub = self._existing(conn, subscriber_id)
            before = {k: getattr(sub, k) for k in wanted}
            changes = {k: v for k, v in wanted.items() if before[k] != v}
            if changes:
                store.update(conn, sub.id, changes, now)
                self._record(conn, actor, "subscriber.change", target(sub.id),
                             {"before": {k: before[k] for k in changes}, "after": changes}, now)
            changed = store.get(rows_of(conn), sub.id)
        assert changed is not None
        return changed

    def unsubscribe(self, actor: str, subscriber_id: int, now: float) -> Subscriber:
        """Unsubscribe a subscriber on their request (already unsubscribed: nothing changes)."""
        with self._store.transaction() as conn:
            sub = self._existing(conn, subscriber_id)
            if store.unsubscribe(conn, sub.id, "officer", now):
                self._record(conn, actor, "subscriber.unsubscribe", target(sub.id), {"via": "officer"}, now)
            done = store.get(rows_of(conn), sub.id)
        assert done is not None
        return done

    def erase(self, actor: str, subscriber_id: int, reason: str, now: float) -> None:
        """Erase a subscriber on request: every row about them goes; the audit keeps that it was done, by whom, why
        (never the number)."""
        why = scrub(required_text(reason, "a reason (whose request, how received)"))[:MAX_REASON_CHARS]
        with self._store.transaction() as conn:
            sub = self._existing(conn, subscriber_id)
            for eraser in self.erasers:
                eraser(conn, sub.id)
            store.forget_sends(conn, self.key.phone_key(sub.phone))
            store.delete(conn, sub.id)
            self._record(conn, actor, "subscriber.erase", target(sub.id),
                         {"reason": why, "hamlet_id": sub.hamlet_id, "status": sub.status}, now)

    @staticmethod
    def _existing(conn: Connection, subscriber_id: int) -> Subscriber:
        sub = store.get(rows_of(conn), subscriber_id)
        if sub is None:
            raise ActionError(404, f"no subscriber {subscriber_id}")
        return sub
