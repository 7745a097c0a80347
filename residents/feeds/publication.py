"""The public feeds of a deployment, read from the store: CAP messages by id, the Atom feed of active alerts and the
Atom feed of published bulletins."""
from __future__ import annotations

from collections.abc import Sequence

from tichwatch.alerts.model import Alert
from tichwatch.alerts.storage import audit_of, get_alert
from tichwatch.alerts.templates import Composer
from tichwatch.alerts.views import alert_url
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.config.schema import Settings
from tichwatch.core.links import atom_feed_url, bulletin_links, cap_message_url
from tichwatch.residents.bulletins.files import AUDIO_TYPES
from tichwatch.residents.bulletins.gather import is_public, public_alerts
from tichwatch.residents.bulletins.workflow import BulletinRecord
from tichwatch.residents.feeds.atom import Entry, Feed, Link, atom_xml
from tichwatch.residents.feeds.cap import CAP_MEDIA_TYPE, CapMessage, cap_messages, cap_xml, public_message
from tichwatch.store.store import Store

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

    def cap_url(self, message_id: str) -> str:
        """Public URL of a CAP message."""
        return cap_message_url(self.settings.http.public_url, message_id)

    def messages(self, alert: Alert) -> list[CapMessage]:
        """The CAP messages of an alert, oldest first."""
        return cap_messages(alert, audit_of(self.store.query_all, alert.id))

    def cap(self, message_id: str) -> bytes | None:
        """The CAP XML of a message id (<alert id>-<n>), None when there is no such public message."""
        alert_id, _, number = message_id.rpartition("-")
        # ASCII digits only: str.isdigit() also takes superscripts such as "²", which int() refuses
        alert = get_alert(self.store.query_all, alert_id) if number.isascii() and number.isdigit() else None
        if alert is None or not is_public(alert.kind, self.bulletins.public_kinds):
            return None
        messages = self.messages(alert)
        n = int(number)
        if not 1 <= n <= len(messages):
            return None
        return cap_xml(messages[n - 1], messages[:n - 1], self.settings, self.bulletins, self.composer)

    def _feed(self, which: str, lang: str, entries: Sequence[Entry], now: float) -> bytes:
        commune = self.settings.commune
        title, subtitle = FEED_TEXTS[lang][which]
        path = atom_feed_url(self.settings.http.public_url, which)
        feed = Feed(path, title.format(commune=commune), subtitle, f"{path}?lang={lang}",
                    FEED_AUTHORS[lang].format(commune=commune), lang,
                    max((e.updated_ts for e in entries), default=now), entries)
        return atom_xml(feed, self.settings.timezone)

    def alerts_atom(self, lang: str, now: float) -> bytes:
        """Atom feed of the active public alerts, newest change first, each linking its latest CAP message."""
        entries = []
        for alert in public_alerts(self.store, self.bulletins.public_kinds):
            messages = self.messages(alert)
            if not messages:
                continue
            last = messages[-1]
            message = public_message(last, lang, self.composer)
            entries.append(Entry(alert_url(self.settings, alert.id), message.title, last.sent_ts, message.text,
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

