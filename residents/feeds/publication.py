"""The public feeds of a deployment, read from the store: CAP messages by id (their bytes as issued), the Atom feed of
active alerts (each entry the latest issued message's headline and description) and the Atom feed of published
bulletins."""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from tichwatch.alerts.model import Alert
from tichwatch.alerts.storage import get_alert, rows_of
from tichwatch.alerts.templates import Composer
from tichwatch.alerts.views import alert_url
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.config.schema import Settings
from tichwatch.core.links import atom_feed_url, bulletin_links, cap_message_url
from tichwatch.residents.bulletins.files import AUDIO_TYPES
from tichwatch.residents.bulletins.gather import public_alerts
from tichwatch.residents.bulletins.workflow import BulletinRecord
from tichwatch.residents.feeds.atom import Entry, Feed, Link, atom_xml
from tichwatch.residents.feeds.cap import CAP_LANGUAGES, CAP_MEDIA_TYPE, CAP_NS
from tichwatch.residents.feeds.issued import IssuedMessage, issued_message, issued_of
from tichwatch.residents.feeds.issuer import CapIssuer, pending
from tichwatch.store.store import Store

log = logging.getLogger(__name__)

FEED_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "vi": {"alerts": ("Cảnh báo lũ và bụi – xã {commune}",
                      "Cảnh báo đang có hiệu lực, mỗi cảnh báo kèm bản tin CAP 1.2 mới nhất"),
           "bulletins": ("Bản tin lũ và bụi – xã {commune}", "Bản tin đã được duyệt và đăng")},
    "en": {"alerts": ("Flood and dust alerts – {commune} commune",
                      "Active alerts, each with its latest CAP 1.2 message"),
           "bulletins": ("Flood and dust bulletins – {commune} commune", "Approved and published bulletins")},
}
"""Per language: each feed's title and subtitle."""
FEED_AUTHORS = {"vi": "UBND xã {commune}", "en": "{commune} People's Committee"}
"""Per language: the feeds' author."""


class Feeds:
    """CAP and Atom documents of one deployment."""

    def __init__(self, settings: Settings, bulletins: BulletinSettings, store: Store):
        self.settings = settings
        self.bulletins = bulletins
        self.store = store
        self.composer = Composer(settings)
        self.issuer = CapIssuer(settings, bulletins, self.composer)
        """Issues the CAP messages; its `record` is the alert engine's recorder (see app.service)."""

    def cap_url(self, message_id: str) -> str:
        """Public URL of a CAP message."""
        return cap_message_url(self.settings.http.public_url, message_id)

    def messages(self, alert: Alert) -> list[IssuedMessage]:
        """The issued CAP messages of an alert, oldest first; changes without one yet (an older database) are issued
        now from their audit entries, once."""
        if pending(self.store.query_all, alert.id):
            try:
                with self.store.transaction() as conn:
                    current = get_alert(rows_of(conn), alert.id)
                    if current is not None:
                        return self.issuer.catch_up(conn, current)
            except Exception:  # a read must not fail for it: what is issued already is still served
                log.exception("could not issue the pending CAP messages of alert %s", alert.id)
        return issued_of(self.store.query_all, alert.id)

    def cap(self, message_id: str) -> IssuedMessage | None:
        """The issued CAP message with this id (<alert id>-<n>), None when there is no such public message."""
        alert_id, _, number = message_id.rpartition("-")
        # ASCII digits only: str.isdigit() also takes superscripts such as "²", which int() refuses
        if not (number.isascii() and number.isdigit()):
            return None
        found = issued_message(self.store.query_all, message_id)
        if found is not None:
            return found
        alert = get_alert(self.store.query_all, alert_id)
        if alert is None or not self.issuer.is_public(alert):
            return None
        return next((m for m in self.messages(alert) if m.message_id == message_id), None)

    def _feed(self, which: str, lang: str, entries: Sequence[Entry], now: float) -> bytes:
        commune = self.settings.commune
        title, subtitle = FEED_TEXTS[lang][which]
        path = atom_feed_url(self.settings.http.public_url, which)
        feed = Feed(path, title.format(commune=commune), subtitle, f"{path}?lang={lang}",
                    FEED_AUTHORS[lang].format(commune=commune), lang,
                    max((e.updated_ts for e in entries), default=now), entries)
        return atom_xml(feed, self.settings.timezone)

    def alerts_atom(self, lang: str, now: float) -> bytes:
        """Atom feed of the active public alerts, newest change first: each entry is the alert's latest issued CAP
        message (its headline and description as issued, in the feed's language) and links it."""
        entries = []
        for alert in public_alerts(self.store, self.bulletins.public_kinds):
            messages = self.messages(alert)
            if not messages:
                continue
            last = messages[-1]
            title, summary = headline_and_description(last.xml, lang)
            entries.append(Entry(alert_url(self.settings, alert.id), title, last.sent_ts, summary,
                                 [Link(self.cap_url(last.message_id), "alternate", CAP_MEDIA_TYPE, "CAP 1.2"),
                                  Link(alert_url(self.settings, alert.id), "related", "text/html")],
                                 published_ts=messages[0].sent_ts, categories=[alert.kind]))
        entries.sort(key=lambda e: e.updated_ts, reverse=True)
        return self._feed("alerts", lang, entries, now)

    def bulletins_atom(self, records: Sequence[BulletinRecord], lang: str, now: float) -> bytes:
        """Atom feed of published bulletins (newest first) with the text, the card and the radio audio."""
        fmt = self.bulletins.audio_format
        entries = []
        for r in records:
            links = bulletin_links(self.settings.http.public_url, r.id, fmt)
            entries.append(Entry(
                links["self"], r.content[f"title_{lang}"], r.published_ts or r.updated_ts, r.content[f"quote_{lang}"],
                [Link(links[f"text_{lang}"], "alternate", "text/plain"),
                 Link(links["card" if lang == "vi" else "card_en"], "enclosure", "image/png"),
                 Link(links["chart"], "related", "image/png"),
                 Link(links["audio"], "enclosure", AUDIO_TYPES[fmt])],
                content=r.content[f"text_{lang}"], published_ts=r.published_ts, categories=[r.kind]))
        return self._feed("bulletins", lang, entries, now)



def headline_and_description(xml: bytes, lang: str) -> tuple[str, str]:
    """The headline and description of an issued CAP message's info block in a language (vi or en)."""
    ns = {"cap": CAP_NS}
    root = ET.fromstring(xml)
    for info in root.findall("cap:info", ns):
        if info.findtext("cap:language", namespaces=ns) == CAP_LANGUAGES[lang]:
            return (info.findtext("cap:headline", default="", namespaces=ns),
                    info.findtext("cap:description", default="", namespaces=ns))
    return "", ""
