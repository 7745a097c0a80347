"""What residents do themselves: register with a code sent to their phone, confirm it, and leave (by the link in a
message or by an SMS keyword).

No answer tells whether a number is subscribed: a registration is answered alike whether the number is new, pending,
active or over its daily codes (then nothing is sent), and a wrong, expired, used-up or unknown code gets one answer.
A registration never changes an active subscription until its code is confirmed, so no one can stop a resident's
alerts by registering their number. The code is queued in the same transaction as the pending row (`SendCode`): a
rolled-back registration sends nothing, a committed one is never lost.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tichwatch.alerts.actions import ActionError
from tichwatch.alerts.storage import rows_of
from tichwatch.config.subscriptions import SubscriptionSettings
from tichwatch.core.i18n import text
from tichwatch.residents.subscriptions import store
from tichwatch.residents.subscriptions.keywords import is_unsubscribe
from tichwatch.residents.subscriptions.links import LinkKey
from tichwatch.residents.subscriptions.phone import InvalidPhone, normalise
from tichwatch.store.database import Connection
from tichwatch.store.store import Store

log = logging.getLogger(__name__)

SendCode = Callable[[Connection, int, str, float], None]
"""Queues a text to one subscriber inside the caller's transaction: (connection, subscriber id, text, now)."""
Record = Callable[[Connection, str, str, str, dict[str, Any], float], None]
"""Records an action in the officer audit log inside the caller's transaction: (conn, actor, action, target, detail,
now); never given a phone number."""

DAY_S = 86_400.0
HOUR_S = 3600.0
LANGS = ("vi", "en")
"""Languages a subscriber may get messages in."""
CODE_REFUSED = "the code is wrong or no longer valid: register again for a new code"
"""The one answer to every confirmation that fails (no number's state shows through)."""
SELF = "self"
"""`registered_by` of a resident who registered themselves."""
SMS_ACTOR = "sms"
"""Audit actor of an unsubscribe by SMS keyword."""
LINK_ACTOR = "link"
"""Audit actor of an unsubscribe by link."""


def target(subscriber_id: int) -> str:
    """The audit target naming a subscriber (an id, never the number)."""
    return f"subscriber:{subscriber_id}"


@dataclass(frozen=True)
class RegistrationForm:
    """A registration as a resident sends it (not yet checked)."""

    phone: str
    hamlet_id: str
    lang: str
    channel: str
    consent: bool
    consent_version: str


def consent_text(settings: SubscriptionSettings, lang: str) -> str:
    """The consent wording shown in a language."""
    return settings.consent_en if lang == "en" else settings.consent_vi


def new_code(digits: int) -> str:
    """A random numeric code of `digits` digits (leading zeros kept)."""
    return str(secrets.randbelow(10**digits)).zfill(digits)


class Registration:
    """Self-registration, confirmation and unsubscribing for one deployment."""

    def __init__(self, settings: SubscriptionSettings, hamlets: dict[str, str], commune: str, store_: Store,
                 key: LinkKey, send_code: SendCode, record: Record):
        self.settings = settings
        self.hamlets = hamlets
        self.commune = commune
        self._store = store_
        self.key = key
        self.send_code = send_code
        self._record = record

    def check(self, req: RegistrationForm) -> str:
        """The request's phone in E.164 once everything else is right; ActionError (403, 409, 422) otherwise."""
        if not self.settings.enabled or not self.settings.self_registration:
            raise ActionError(403, "self-registration is off: ask your village head or the commune to add you")
        if req.hamlet_id not in self.hamlets:
            raise ActionError(422, f"unknown hamlet {req.hamlet_id[:64]!r}; choose one of the list")
        if req.lang not in LANGS or req.channel not in store.CHANNELS:
            raise ActionError(422, f"lang must be one of {LANGS}, channel one of {store.CHANNELS}")
        if not req.consent:
            raise ActionError(422, "consent is required to receive messages")
        if req.consent_version != self.settings.consent_version:
            raise ActionError(409, "the consent text has changed: reload the page and read it again")
        try:
            return normalise(req.phone)
        except InvalidPhone as exc:
            raise ActionError(422, f"phone: {exc}") from None

    def register(self, req: RegistrationForm, now: float) -> None:
        """Register (or register again) a phone and send it a code; the same outcome for every number."""
        phone = self.check(req)
        s = self.settings
        with self._store.transaction() as conn:
            self._drop_unconfirmed(conn, now)
            if store.all_sends_since(conn, now - HOUR_S) >= s.codes_per_hour:
                log.warning("registration refused: %d confirmation codes sent in the last hour (codes_per_hour)",
                            s.codes_per_hour)
                raise ActionError(503, "too many registrations right now; please try again in an hour")
            phone_key = self.key.phone_key(phone)
            if store.sends_since(conn, phone_key, now - DAY_S) >= s.codes_per_phone_per_day:
                return  # answered alike; nothing sent (the number's owner is not flooded with codes)
            sub = store.by_phone(rows_of(conn), phone)
            words = consent_text(s, req.lang)
            if sub is None:
                sid = store.insert(conn, phone, req.hamlet_id, req.lang, req.channel, "pending", now, words,
                                   s.consent_version, SELF, now)
            else:
                sid = sub.id
                store.make_pending(conn, sid, req.hamlet_id, req.lang, req.channel, now)  # only a pending one changes
            code = new_code(s.code_digits)
            store.save_code(conn, store.PendingCode(sid, self.key.code_hash(sid, code), now + s.code_valid_s, 0,
                                                    req.hamlet_id, req.lang, req.channel, now, words,
                                                    s.consent_version, now))
            store.record_send(conn, phone_key, now, DAY_S)
            self.send_code(conn, sid, self.code_message(req.lang, code), now)

    def code_message(self, lang: str, code: str) -> str:
        """The text carrying a confirmation code (no diacritics in Vietnamese: one plain SMS)."""
        minutes = max(1, round(self.settings.code_valid_s / 60))
        return text(lang, "sub.code_sms").format(commune=self.commune, code=code, minutes=minutes)

    def confirm(self, phone_text: str, code: str, now: float) -> int:
        """Check a code: the subscriber's id, now active with what they registered; ActionError 400 otherwise."""
        try:
            phone = normalise(phone_text)
        except InvalidPhone:
            raise ActionError(400, CODE_REFUSED) from None
        with self._store.transaction() as conn:
            outcome = self._confirm(conn, phone, code.strip(), now)
        if outcome is None:
            raise ActionError(400, CODE_REFUSED)
        return outcome

    def _confirm(self, conn: Connection, phone: str, code: str, now: float) -> int | None:
        sub = store.by_phone(rows_of(conn), phone)
        pending = store.code_of(rows_of(conn), sub.id) if sub else None
        if sub is None or pending is None:
            return None
        if pending.expires_ts <= now or pending.attempts >= self.settings.code_attempts:
            store.drop_code(conn, sub.id)
            return None
        if not (code.isascii() and code.isdigit()) or not hmac.compare_digest(self.key.code_hash(sub.id, code),
                                                                               pending.code_hash):
            store.count_wrong(conn, sub.id)
            if pending.attempts + 1 >= self.settings.code_attempts:
                store.drop_code(conn, sub.id)
            return None
        store.activate(conn, sub.id, pending.hamlet_id, pending.lang, pending.channel, pending.consent_ts,
                       pending.consent_text, pending.consent_version, SELF, now)
        store.drop_code(conn, sub.id)
        self._record(conn, SELF, "subscriber.confirm", target(sub.id),
                     {"hamlet_id": pending.hamlet_id, "lang": pending.lang, "channel": pending.channel,
                      "consent_version": pending.consent_version, "was": sub.status}, now)
        return sub.id

    def _drop_unconfirmed(self, conn: Connection, now: float) -> None:
        """Delete registrations pending for longer than `pending_keep_s`, their numbers with them."""
        for sid in store.expired_pending(conn, now - self.settings.pending_keep_s):
            store.delete(conn, sid)

    def unsubscribe_by_token(self, token: str, now: float) -> bool:
        """Unsubscribe the link's subscriber: True when the link is genuine (done now, before, or erased since);
        False when it is no link of ours."""
        sid = self.key.subscriber_of(token)
        if sid is None:
            return False
        with self._store.transaction() as conn:
            if store.unsubscribe(conn, sid, "link", now):
                self._record(conn, LINK_ACTOR, "subscriber.unsubscribe", target(sid), {"via": "link"}, now)
        return True

    def inbound_sms(self, sender: str, message: str, now: float) -> bool:
        """An SMS to the commune's number: True when it asks to stop (the sender, if subscribed, is unsubscribed)."""
        if not is_unsubscribe(message, self.settings.unsubscribe_keywords):
            log.info("inbound SMS without an unsubscribe keyword (%d characters): no action", len(message))
            return False
        try:
            phone = normalise(sender)
        except InvalidPhone:
            log.info("inbound SMS unsubscribe keyword from a number that is no Vietnamese mobile: no action")
            return True
        with self._store.transaction() as conn:
            sub = store.by_phone(rows_of(conn), phone)
            if sub is not None and store.unsubscribe(conn, sub.id, "sms", now):
                self._record(conn, SMS_ACTOR, "subscriber.unsubscribe", target(sub.id), {"via": "sms"}, now)
                log.info("inbound SMS: subscriber %d unsubscribed", sub.id)
            else:
                log.info("inbound SMS unsubscribe keyword from a number not subscribed: no action")
        return True
