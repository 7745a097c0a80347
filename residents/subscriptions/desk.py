"""Residents' subscriptions of one deployment, as the composition root builds them: self-registration, officers' and
admins' actions, the lists and exports, and the unsubscribe link of any subscriber for the messages that reach them.

For the resident delivery: `link_for(subscriber_id)` is the link every message must carry; append to
`management.erasers` what deletes your rows about a subscriber when an admin erases them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tichwatch.config.schema import Settings
from tichwatch.residents.subscriptions import store, views
from tichwatch.residents.subscriptions.links import load_key, unsubscribe_link
from tichwatch.residents.subscriptions.management import Eraser, Management
from tichwatch.residents.subscriptions.registration import Record, Registration, SendCode, target
from tichwatch.residents.subscriptions.store import Subscriber
from tichwatch.store.store import Store


class Subscriptions:
    """Subscriptions, registration and management over one store."""

    def __init__(self, settings: Settings, store_: Store, send_code: SendCode, record: Record,
                 erasers: Sequence[Eraser] = (), env: Mapping[str, str] | None = None):
        s = settings.subscriptions
        self.settings = s
        self.tz = settings.timezone
        self.public_url = settings.http.public_url
        self.hamlets = {h.id: h.name for h in settings.impact.hamlets}
        """Hamlet names by id, in the configured order."""
        self._store = store_
        self._record = record
        self.key = load_key(s.link_secret_env, settings.store.data_dir, env)
        self.registration = Registration(s, self.hamlets, settings.commune, store_, self.key, send_code, record)
        self.management = Management(s, self.hamlets, store_, self.key, record, erasers)

    def link_for(self, subscriber_id: int) -> str:
        """The unsubscribe link of a subscriber, for every message sent to them."""
        return unsubscribe_link(self.public_url, self.key.token_for(subscriber_id))

    def page(self, limit: int, after_id: int | None, full: bool, **filters: str | None) -> list[dict[str, Any]]:
        """Subscriber documents by id (`limit` of them after `after_id`), numbers masked unless `full`."""
        rows = store.page(self._store.query_all, limit, after_id, **filters)
        return [views.document(r, self.hamlets, self.tz, full) for r in rows]

    def audit_lookup(self, actor: str, found: list[int], now: float) -> None:
        """Record a search for one whole number (the number itself is not written; what it found is)."""
        with self._store.transaction() as conn:
            self._record(conn, actor, "subscribers.lookup", target(found[0]) if found else "subscribers",
                         {"found": len(found)}, now)

    def document(self, sub: Subscriber, full: bool) -> dict[str, Any]:
        """One subscriber as JSON."""
        return views.document(sub, self.hamlets, self.tz, full)

    def summary(self) -> list[dict[str, Any]]:
        """Counts per hamlet by status and channel."""
        return views.summary(store.counts(self._store.query_all), self.hamlets)

    def export(self, actor: str, phone: str | None, now: float) -> list[dict[str, Any]]:
        """Everything held about one number (E.164), or about every subscriber (at most `export_max`), with the
        pending confirmation and the unsubscribe link; the export itself is audited (without the number)."""
        rows = store.page(self._store.query_all, self.settings.export_max, None, phone=phone)
        docs = []
        for sub in rows:
            doc = views.document(sub, self.hamlets, self.tz, full=True)
            code = store.code_of(self._store.query_all, sub.id)
            doc["pending_confirmation"] = views.code_document(code, self.tz) if code else None
            doc["unsubscribe_url"] = self.link_for(sub.id)
            docs.append(doc)
        with self._store.transaction() as conn:
            self._record(conn, actor, "subscribers.export", target(rows[0].id) if phone and rows else "subscribers",
                         {"one": phone is not None, "count": len(docs)}, now)
        return docs
