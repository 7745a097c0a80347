"""Sending to subscribed residents: the fan-out of alerts and bulletins to the active subscribers of the affected
hamlets, one message each in their language, queued in the alerts' outbox (in the transaction of the change they tell
of) and delivered by its dispatchers, over Zalo ZNS with SMS where ZNS fails.

- **Addressing.** An outbox row names the subscriber (`subscriber_id`), never the number: the phone is looked up when
  the message is sent, so an unsubscribed or erased resident gets nothing, even from rows queued before. The
  unsubscribe link is made then too (`link_for`).
- **Senders.** Residents' messages go through `concurrency` receivers per channel (`residents-zns-0` …), a subscriber
  always to the same one (`id % concurrency`): each sender is an ordinary outbox dispatcher (one attempt at a time,
  deadlines, retries, the bounded-copies policy), so a resident's messages go in order while different residents'
  go in parallel. Every sender's delivery.failed alert is named `residents-zns` / `residents-sms`.
- **Fallback.** A ZNS message that fails for good (the number is not on Zalo or cannot take ZNS, the template or
  token is refused, the quota is used up, or its attempts ran out) queues one SMS with the same text in the
  transaction that records the failure, its idempotency key derived from the ZNS one (`<key>.sms`): at most one SMS
  per message, however often the failure is recorded. Only the failures a person must fix (token, template, quota,
  attempts) raise the delivery.failed alert; a resident not on Zalo does not.
- **Fan-out steps.** An alert of `notify.alert_kinds` that opens or rises to a level with an impact
  (`residents.impact.impact_at`) reaches the active subscribers of the hamlets of that level, once per level
  (`resident_fanouts`); its end reaches those of the highest level told (flood level alerts only: a forecast ends when
  the level alert takes over). A change whose latest reading is older than `notify.max_reading_age_s` (a backlog) is
  history and goes to nobody. A published bulletin's quote goes to the subscribers of the hamlets affected now
  (or everybody, or nobody: `notify.bulletins`), once per bulletin.
- **Counts.** Messages and VND per local day and channel (`resident_costs`), the last ZNS quota (`zns_quota`),
  Prometheus metrics; ZNS answers and receipts per row (`zns_messages`, see `receipts`).
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, Counter, Gauge

from tichwatch.alerts import outbox, storage
from tichwatch.alerts.channels.base import DeliveryResult, Notification
from tichwatch.alerts.channels.http import mask
from tichwatch.alerts.channels.sms import Sms, fold
from tichwatch.alerts.channels.zns import Zns
from tichwatch.alerts.delivery import ExtraReceiver
from tichwatch.alerts.model import Alert, Change
from tichwatch.alerts.storage import rows_of
from tichwatch.config.alerts import SmsChannel
from tichwatch.config.loader import secret
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Severity
from tichwatch.core.events import BulletinChanged
from tichwatch.core.i18n import text
from tichwatch.residents.impact import hamlets_affected, impact_at, level_rank
from tichwatch.residents.subscriptions import messages
from tichwatch.residents.subscriptions.messages import Composed
from tichwatch.residents.subscriptions.recipients import Recipient, active_in, recipient
from tichwatch.store.database import Connection
from tichwatch.store.rows import Query
from tichwatch.store.store import Store

log = logging.getLogger(__name__)

SENDER_PREFIX = "residents-"
"""Receiver names of the residents' senders start with this (`residents-zns-0`, `residents-sms-1` …)."""
FALLBACK_SUFFIX = ".sms"
"""Appended to a ZNS message's idempotency key to make its SMS fallback's."""
CONFIRMATION = "confirmation"
"""The notice (and message kind) of a text to one subscriber about neither an alert nor a bulletin."""
CLEAR_STEP = "clear"
"""The fan-out step of an alert's end."""
LANGS = ("vi", "en")

BulletinLookup = Callable[[str], "tuple[Mapping[str, str], str, float] | None"]
"""A published bulletin by id: (its content, the link to its full text, when it was published); None if unknown."""
LinkFor = Callable[[int], str]
"""The unsubscribe link of a subscriber."""


def sender(channel: str, subscriber_id: int, concurrency: int) -> str:
    """The receiver (sender) of a subscriber's messages on a channel."""
    return f"{SENDER_PREFIX}{channel}-{subscriber_id % concurrency}"


@dataclass(frozen=True)
class About:
    """What a message to residents is about: an alert (with its severity), a bulletin, or neither."""

    alert_id: str | None = None
    bulletin_id: str | None = None
    severity: Severity = Severity.INFO


@dataclass(frozen=True)
class Addressee:
    """Where a message goes, looked up at send time."""

    phone: str
    lang: str


def addressee(query: Query, subscriber_id: int | None, direct: bool) -> Addressee | None:
    """The number of an active subscriber (a registration still waiting for its code too, for a direct message);
    None once unsubscribed or erased."""
    if subscriber_id is None:
        return None
    if not direct:
        found = recipient(query, subscriber_id)
        return Addressee(found.phone, found.lang) if found else None
    rows = query("SELECT phone, lang FROM subscribers WHERE id = ? AND status IN ('pending', 'active')",
                 (subscriber_id,))
    return Addressee(str(rows[0][0]), str(rows[0][1])) if rows else None


def local_day(ts: float, tz: str) -> str:
    """The local date of a time, YYYY-MM-DD."""
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d")


def _claim(conn: Connection, about: str, step: str, now: float) -> bool:
    """Record a fan-out step; False when it was done already."""
    cur = conn.execute("INSERT INTO resident_fanouts (about, step, created_ts, recipients) "
                       "VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING", (about, step, now))
    return cur.rowcount == 1


def _told_level(conn: Connection, alert_id: str) -> int:
    """The highest level of an alert residents were told of (0: none)."""
    rows = conn.execute("SELECT step FROM resident_fanouts WHERE about = ? AND step LIKE 'level:%'",
                        (alert_id,)).fetchall()
    return max((int(r[0].split(":")[1]) for r in rows), default=0)


def summary(query: Query, alert_id: str | None = None, bulletin_id: str | None = None) -> dict[str, int]:
    """How many messages to residents about an alert or a bulletin are in each state (no personal data)."""
    column, value = ("alert_id", alert_id) if alert_id is not None else ("bulletin_id", bulletin_id)
    rows = query(f"SELECT channel, state, COUNT(*) FROM notifications WHERE {column} = ? AND subscriber_id IS NOT "
                 f"NULL GROUP BY channel, state", (value,))
    return {f"{r[0]}_{r[1]}": int(r[2]) for r in rows}


class ResidentMetrics:
    """Prometheus metrics of the residents' delivery."""

    def __init__(self, registry: CollectorRegistry):
        r = registry
        self.queued = Counter("tichwatch_resident_messages_queued", "Messages to residents queued, by message kind "
                              "and channel", ["kind", "channel"], registry=r)
        self.unreachable = Counter("tichwatch_resident_unreachable", "Residents who could not be queued a message "
                                   "(no channel configured for them)", ["kind"], registry=r)
        self.fallbacks = Counter("tichwatch_resident_sms_fallbacks", "ZNS messages that failed and were sent by SMS "
                                 "instead, by the failure's class", ["reason"], registry=r)
        self.cost = Counter("tichwatch_resident_cost_vnd", "What messages to residents cost, VND", ["channel"],
                            registry=r)
        self.sent = Counter("tichwatch_resident_messages_sent", "Messages to residents their provider accepted",
                            ["channel"], registry=r)
        self.quota_remaining = Gauge("tichwatch_zns_quota_remaining", "ZNS messages left today, as Zalo last "
                                     "reported", registry=r)
        self.quota_daily = Gauge("tichwatch_zns_quota_daily", "ZNS daily quota, as Zalo last reported", registry=r)
        self.receipts = Counter("tichwatch_zns_receipts", "ZNS delivery receipts by outcome (received, unknown, "
                                "refused)", ["outcome"], registry=r)


class ResidentDelivery:
    """The residents' delivery of one deployment: fan-out (an engine recorder and a bulletin listener), the senders
    the outbox's Delivery runs (`receivers`), what is recorded with each attempt, and `queue_to_subscriber`."""

    def __init__(self, settings: Settings, store: Store, registry: CollectorRegistry, clock: Callable[[], float],
                 link_for: LinkFor, bulletins: BulletinLookup | None = None,
                 env: Mapping[str, str] | None = None):
        self.settings = settings
        self.s = settings.subscriptions
        self.store = store
        self.clock = clock
        self.link_for = link_for
        self.bulletins = bulletins
        self.metrics = ResidentMetrics(registry)
        self.wake: Callable[[], None] = lambda: None
        """Wakes the outbox's dispatchers after a commit (set by whoever registers the senders)."""
        z = self.s.zns
        self.zns = Zns(z.url, secret(z.access_token_env, env), z.access_token_env, z.timeout_s, settings.timezone,
                       self._quota_seen) if z.enabled else None
        self.oa_secret = secret(z.oa_secret_env, env)
        """The OA secret key that signs Zalo's webhook events (None: receipts are refused)."""
        self.sms_cfg = self._sms_gateway()
        self.sms = Sms(self.sms_cfg, secret(self.sms_cfg.token_env, env) if self.sms_cfg.token_env else None) \
            if self.sms_cfg is not None else None

    def _sms_gateway(self) -> SmsChannel | None:
        """The SMS receiver's gateway residents' texts go through (ValueError when the name is no SMS receiver)."""
        name = self.s.sms.gateway_receiver
        if name is None:
            return None
        found = self.settings.alerts.receiver(name)
        if found is None or not isinstance(found.channel, SmsChannel):
            raise ValueError(f"subscriptions.sms.gateway_receiver: {name!r} is not an SMS receiver in alerts.receivers")
        return found.channel

    # -- the senders -------------------------------------------------------------------------------------------
    def receivers(self) -> dict[str, ExtraReceiver]:
        """Every sender the outbox's Delivery must run, by receiver name."""
        out: dict[str, ExtraReceiver] = {}
        z, m = self.s.zns, self.s.sms
        if self.zns is not None:
            per = max(1, z.rate_per_min // z.concurrency)
            for k in range(z.concurrency):
                out[f"{SENDER_PREFIX}zns-{k}"] = ExtraReceiver(_ZnsSender(self), "zns", z.timeout_s, per,
                                                               self._settle_zns, f"{SENDER_PREFIX}zns")
        if self.sms is not None and self.sms_cfg is not None:
            per = max(1, m.rate_per_min // m.concurrency)
            for k in range(m.concurrency):
                out[f"{SENDER_PREFIX}sms-{k}"] = ExtraReceiver(_SmsSender(self), "sms", self.sms_cfg.timeout_s, per,
                                                               self._settle_sms, f"{SENDER_PREFIX}sms")
        return out

    def _route(self, preferred: str, kind: str) -> str | None:
        """The channel a message of this kind goes by to a resident who chose `preferred`."""
        if preferred == "zns" and self.zns is not None and self.s.zns.templates.of(kind) is not None:
            return "zns"
        return "sms" if self.sms is not None else None

    def _queue(self, conn: Connection, subscriber_id: int, preferred: str, composed: Composed, now: float,
               about: About | None = None) -> bool:
        """Queue one message to one subscriber (its notice: the message kind); False when no channel can reach them."""
        channel = self._route(preferred, composed.kind)
        if channel is None:
            self.metrics.unreachable.labels(composed.kind).inc()
            return False
        about = about or About()
        concurrency = self.s.zns.concurrency if channel == "zns" else self.s.sms.concurrency
        outbox.enqueue_resident(conn, outbox.ResidentRow(
            subscriber_id, sender(channel, subscriber_id, concurrency), channel, composed.kind, composed.message,
            composed.document(), about.alert_id, about.bulletin_id, about.severity), now)
        self.metrics.queued.labels(composed.kind, channel).inc()
        return True

    def queue_to_subscriber(self, conn: Connection, subscriber_id: int, text_: str, now: float) -> None:
        """Queue a text to one subscriber (a registration's confirmation code) in the caller's transaction, by the
        channel they chose (ZNS with the confirmation template, else SMS); sent within a poll interval."""
        rows = conn.execute("SELECT channel FROM subscribers WHERE id = ?", (subscriber_id,)).fetchall()
        if rows:
            self._queue(conn, subscriber_id, str(rows[0][0]), messages.direct_message(text_), now)

    # -- fan-out of alerts (an engine recorder: inside the alert change's transaction) --------------------------
    def record(self, conn: Connection, change: Change, now: float) -> None:
        """Fan an alert change out to the residents it concerns (see the module's docstring)."""
        alert = change.alert
        kind = self.s.notify.alert_kinds.get(alert.kind) if alert is not None else None
        if alert is None or kind is None or not self.s.enabled:
            return
        if alert.open:
            self._on_level(conn, alert, kind, now)
        elif kind == "flood_alert" and self.s.notify.all_clear:
            self._on_end(conn, alert, now)

    def _on_level(self, conn: Connection, alert: Alert, kind: str, now: float) -> None:
        rank = level_rank(alert.level)
        if rank == 0 or now - alert.detected_ts > self.s.notify.max_reading_age_s:
            return
        if rank <= _told_level(conn, alert.id):
            return
        impact = impact_at(self.settings.impact, alert.subject, rank)
        if not impact.hamlet_ids or not _claim(conn, alert.id, f"level:{rank}", now):
            return
        station = self._station_name(alert.subject)
        composed = {lang: messages.alert_message(kind, alert, impact, station, self.settings.commune,
                                                 self.settings.timezone, lang) for lang in LANGS}
        self._fan_out(conn, alert.id, f"level:{rank}", active_in(rows_of(conn), impact.hamlet_ids), composed, now,
                      About(alert.id, None, alert.severity))

    def _on_end(self, conn: Connection, alert: Alert, now: float) -> None:
        told = _told_level(conn, alert.id)
        if told == 0 or not _claim(conn, alert.id, CLEAR_STEP, now):
            return
        impact = impact_at(self.settings.impact, alert.subject, told)
        station = self._station_name(alert.subject)
        composed = {lang: messages.all_clear_message(alert, impact, station, self.settings.commune,
                                                     self.settings.timezone, lang) for lang in LANGS}
        self._fan_out(conn, alert.id, CLEAR_STEP, active_in(rows_of(conn), impact.hamlet_ids), composed, now,
                      About(alert.id))

    def _fan_out(self, conn: Connection, about: str, step: str, people: Iterable[Recipient],
                 composed: Mapping[str, Composed], now: float, row: About) -> int:
        count = sum(self._queue(conn, p.id, p.channel, composed.get(p.lang, composed["vi"]), now, row)
                    for p in people)
        conn.execute("UPDATE resident_fanouts SET recipients = ? WHERE about = ? AND step = ?", (count, about, step))
        if count:
            log.info("%s %s: %d messages to residents queued", about, step, count)
        return count

    def _station_name(self, station_id: str) -> str:
        return next((s.name for s in self.settings.stations if s.id == station_id), station_id)

    # -- fan-out of bulletins (a bus listener: after the publication's commit) -----------------------------------
    def on_bulletin(self, event: BulletinChanged) -> None:
        """Bus listener: a published bulletin goes to the residents (`notify.bulletins`)."""
        if event.action == "published":
            self.fan_out_bulletin(event.bulletin_id, self.clock())

    def fan_out_bulletin(self, bulletin_id: str, now: float) -> int:
        """Queue a published bulletin's quote to its residents, once; returns how many messages were queued."""
        audience = self.s.notify.bulletins
        found = self.bulletins(bulletin_id) if self.bulletins is not None else None
        if audience == "none" or not self.s.enabled or found is None:
            return 0
        content, link, published_ts = found
        composed = {lang: messages.bulletin_message(content, link, self.settings.commune, self.settings.timezone,
                                                    published_ts, lang) for lang in LANGS}
        about = f"{outbox.BULLETIN_PREFIX}{bulletin_id}"
        with self.store.transaction() as conn:
            if not _claim(conn, about, "bulletin", now):
                return 0
            query = rows_of(conn)
            hamlets = [h.id for h in self.settings.impact.hamlets] if audience == "all" else self._affected(query)
            count = self._fan_out(conn, about, "bulletin", active_in(query, hamlets), composed, now,
                                  About(None, bulletin_id))
        self.wake()
        return count

    def _affected(self, query: Query) -> list[str]:
        """The hamlets affected now: by the open alerts whose message kind is a flood alert (a level reached)."""
        kinds = {k for k, v in self.s.notify.alert_kinds.items() if v == "flood_alert"}
        levels: dict[str, int] = {}
        for a in storage.open_alerts(query):
            if a.kind in kinds:
                levels[a.subject] = max(levels.get(a.subject, 0), level_rank(a.level))
        return list(hamlets_affected(self.settings.impact, levels))

    def catch_up(self, published: Iterable[tuple[str, float]], now: float) -> int:
        """At start: fan out the bulletins published within `notify.catch_up_s` that were not yet (a stop between
        their publication and the fan-out); `published` gives (id, published time)."""
        since = now - self.s.notify.catch_up_s
        return sum(self.fan_out_bulletin(bid, now) for bid, ts in published if ts >= since)

    # -- what is recorded with each attempt (in its transaction) -------------------------------------------------
    def _count(self, conn: Connection, channel: str, cost_vnd: int, now: float) -> None:
        conn.execute("INSERT INTO resident_costs (day, channel, messages, cost_vnd) VALUES (?, ?, 1, ?) "
                     "ON CONFLICT (day, channel) DO UPDATE SET messages = resident_costs.messages + 1, "
                     "cost_vnd = resident_costs.cost_vnd + excluded.cost_vnd",
                     (local_day(now, self.settings.timezone), channel, cost_vnd))
        self.metrics.sent.labels(channel).inc()
        self.metrics.cost.labels(channel).inc(cost_vnd)

    def _settle_zns(self, conn: Connection, n: Notification, result: DeliveryResult, state: str,
                    now: float) -> bool:
        """A ZNS attempt recorded: count and remember an accepted one; queue the SMS fallback of a failed one.
        Returns whether a failure needs a person (token, template, quota, attempts exhausted)."""
        if state == "sent":
            conn.execute("INSERT INTO zns_messages (notification_id, tracking_id, msg_id, sent_ts) "
                         "SELECT id, idempotency_key, ?, ? FROM notifications WHERE id = ? "  # gone if erased meanwhile
                         "ON CONFLICT (notification_id) DO UPDATE SET tracking_id = excluded.tracking_id, "
                         "msg_id = excluded.msg_id, sent_ts = excluded.sent_ts", (result.remote_id, now, n.id))
            self._count(conn, "zns", self.s.zns.cost_vnd, now)
        if state != "failed" or result.reason == "unsubscribed":
            self._scrub(conn, n, state)
            return False
        queued = self._fallback(conn, n, now)
        if queued:
            self.metrics.fallbacks.labels(result.reason or "attempts").inc()
        self._scrub(conn, n, state)
        return result.reason != "recipient" or not queued

    def _fallback(self, conn: Connection, n: Notification, now: float) -> bool:
        """Queue the SMS of a failed ZNS message (once: its key is derived from the ZNS message's)."""
        if self.sms is None or n.recipient is None:
            return False
        key = n.idempotency_key + FALLBACK_SUFFIX
        if conn.execute("SELECT 1 FROM notifications WHERE idempotency_key = ?", (key,)).fetchone():
            return True
        row = conn.execute("SELECT alert_id, bulletin_id, severity FROM notifications WHERE id = ?",
                           (n.id,)).fetchone()
        if row is None:  # erased while it was being sent
            return False
        outbox.enqueue_resident(conn, outbox.ResidentRow(
            n.recipient, sender("sms", n.recipient, self.s.sms.concurrency), "sms", n.notice, n.message, n.alert,
            row[0], row[1], row[2], key), now)
        self.metrics.queued.labels(str(n.alert.get("kind", "")), "sms").inc()
        return True

    def _settle_sms(self, conn: Connection, n: Notification, result: DeliveryResult, state: str,
                    now: float) -> bool:
        """An SMS attempt recorded: count an accepted one. A failure needs a person unless the resident left."""
        if state == "sent":
            self._count(conn, "sms", self.s.sms.cost_vnd, now)
        self._scrub(conn, n, state)
        return result.reason != "unsubscribed"

    @staticmethod
    def _scrub(conn: Connection, n: Notification, state: str) -> None:
        """Once a confirmation code's message is settled (sent or failed), its text (the code) leaves the outbox."""
        if n.notice == CONFIRMATION and state in ("sent", "failed"):
            gone = {"title": "", "text": "[code]", "html": "", "short": "[code]"}
            conn.execute("UPDATE notifications SET payload = ? WHERE id = ?",
                         (json.dumps({"message": gone, "alert": {"kind": CONFIRMATION, "fields": {}}}), n.id))

    def _quota_seen(self, daily: int | None, remaining: int | None) -> None:
        """Zalo's quota with an accepted message: a gauge, and the one-row table."""
        if daily is not None:
            self.metrics.quota_daily.set(daily)
        if remaining is not None:
            self.metrics.quota_remaining.set(remaining)
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO zns_quota (id, daily_quota, remaining_quota, updated_ts) VALUES (1, ?, ?, ?) "
                         "ON CONFLICT (id) DO UPDATE SET daily_quota = excluded.daily_quota, "
                         "remaining_quota = excluded.remaining_quota, updated_ts = excluded.updated_ts",
                         (daily, remaining, self.clock()))

    def erase(self, conn: Connection, subscriber_id: int) -> None:
        """An admin erases a subscriber: every message row about them goes (management.erasers)."""
        conn.execute("DELETE FROM zns_messages WHERE notification_id IN (SELECT id FROM notifications WHERE "
                     "subscriber_id = ?)", (subscriber_id,))
        conn.execute("DELETE FROM notifications WHERE subscriber_id = ?", (subscriber_id,))

    def costs(self, since_day: str) -> list[dict[str, object]]:
        """Messages and VND per local day and channel since a day (YYYY-MM-DD), for reports and the dashboard."""
        rows = self.store.query_all("SELECT day, channel, messages, cost_vnd FROM resident_costs WHERE day >= ? "
                                    "ORDER BY day, channel", (since_day,))
        return [dict(r) for r in rows]


def _unsubscribed(n: Notification) -> DeliveryResult:
    return DeliveryResult(False, detail=f"subscriber {n.recipient} unsubscribed or erased: not sent",
                          reason="unsubscribed")


class _ZnsSender:
    """The channel of the ZNS senders: the subscriber's number and link looked up now, the template filled."""

    def __init__(self, rd: ResidentDelivery):
        self.rd = rd

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one message by ZNS."""
        rd = self.rd
        assert rd.zns is not None
        who = addressee(rd.store.query_all, n.recipient, n.notice == CONFIRMATION)
        if who is None or n.recipient is None:
            return _unsubscribed(n)
        kind = str(n.alert.get("kind", ""))
        template = rd.s.zns.templates.of(kind)
        if template is None:
            return DeliveryResult(False, detail=f"no ZNS template for {kind!r} any more", reason="service")
        fields = {**n.alert.get("fields", {}), "link": rd.link_for(n.recipient)}
        data = messages.template_data({k: (p.field, p.max_chars) for k, p in template.params.items()}, fields)
        result = rd.zns.send_template(n, who.phone, template.template_id, data, rd.clock())
        return _masked(result, who.phone, rd.link_for(n.recipient))


class _SmsSender:
    """The channel of the SMS senders: the SMS gateway, to the subscriber's number looked up now, with their
    unsubscribe link at the end of the 160 characters."""

    def __init__(self, rd: ResidentDelivery):
        self.rd = rd

    def send(self, n: Notification) -> DeliveryResult:
        """Deliver one message by SMS."""
        rd = self.rd
        assert rd.sms is not None and rd.sms_cfg is not None
        who = addressee(rd.store.query_all, n.recipient, n.notice == CONFIRMATION)
        if who is None or n.recipient is None:
            return _unsubscribed(n)
        cfg = rd.sms_cfg
        tail = "" if n.notice == CONFIRMATION else \
            " " + fold(text(who.lang, "rd.unsubscribe").format(link=rd.link_for(n.recipient)), cfg.ascii_only, 200)
        body = fold(n.message.short, cfg.ascii_only, max(20, cfg.max_chars - len(tail))) + tail
        return _masked(rd.sms.send_to(n, who.phone, body[:cfg.max_chars]), who.phone, rd.link_for(n.recipient))


_NUMBER_LIKE = re.compile(r"\+?\d(?:[\d .()-]{7,}\d)")
"""Nine or more digits with blanks, dots or dashes between them: a phone number however a gateway writes it."""
_LINK_TOKEN = re.compile(r"/huy/[^\s\"'<>]+")
"""An unsubscribe link's token (in whatever message text a gateway echoes)."""


def _number_masked(m: re.Match[str]) -> str:
    """*** for a run of nine digits or more (a phone number), the run itself otherwise (a date, a code)."""
    return "***" if sum(ch.isdigit() for ch in m.group()) >= 9 else m.group()


def _masked(result: DeliveryResult, phone: str, link: str) -> DeliveryResult:
    """A result whose detail (which may reach the public `delivery.failed` alert and the logs) cannot carry the
    resident's number or their unsubscribe link, however a provider echoes them."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    detail = mask(result.detail, [link, phone, digits, digits[2:] if digits.startswith("84") else None])
    detail = _LINK_TOKEN.sub("/huy/***", _NUMBER_LIKE.sub(_number_masked, detail))
    return result if detail == result.detail else DeliveryResult(result.ok, result.retryable, result.retry_after_s,
                                                                 detail, result.remote_id, result.unknown,
                                                                 result.reason)
