"""Helpers of the residents' delivery tests: a local server speaking Zalo's ZNS API (its answers, error codes, quota,
rate limit, outages), the Kiều Phú stations and impact from config/kieuphu.yaml, subscribers inserted directly, and
an alert runtime with the residents' senders on a real store, driven by the test's clock."""
from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from tests.alerts.harness import Clock, Harness, log_receiver
from tests.alerts.servers import HttpRecorder, Recorded, Reply
from tests.support import make_settings, secret
from tichwatch.config.schema import Settings
from tichwatch.residents.subscriptions.sending import ResidentDelivery
from tichwatch.store.store import Store

KIEUPHU = Path(__file__).resolve().parents[3] / "config" / "kieuphu.yaml"
"""The deployment file whose stations and impact (EXAMPLE values) the tests use."""
TOKEN = secret("zns-test-access-token-8b1f")
"""The OA access token the fake ZNS server accepts."""
OA_SECRET = secret("zns-test-oa-secret-key-41c2")
"""The OA secret key that signs webhook events."""
APP_ID = "4321987654"
ENV = {"TICHWATCH_ZNS_ACCESS_TOKEN": TOKEN, "TICHWATCH_ZNS_OA_SECRET": OA_SECRET}

ZNS_MESSAGES = {-100: "Unknown error", -108: "Phone number invalid", -109: "Template ID invalid",
                -115: "Out of quota", -118: "Zalo account not existed", -124: "Access token invalid",
                -144: "OA has exceeded the daily quota"}
"""Error messages of the documented ZNS error codes the fake answers with."""

TEMPLATES: dict[str, Any] = {
    "flood_alert": {"template_id": "301001", "params": {
        "muc_bao_dong": {"field": "level", "max_chars": 30}, "tram": {"field": "station", "max_chars": 30},
        "muc_nuoc": {"field": "value", "max_chars": 20}, "thoi_gian": {"field": "time", "max_chars": 20},
        "thon": {"field": "hamlets", "max_chars": 50}, "viec_can_lam": {"field": "action", "max_chars": 100},
        "huy": {"field": "link", "max_chars": 200}}},
    "forecast_warning": {"template_id": "301005", "params": {
        "muc_bao_dong": {"field": "level", "max_chars": 30}, "tram": {"field": "station", "max_chars": 30},
        "thoi_gian": {"field": "time", "max_chars": 20}, "thon": {"field": "hamlets", "max_chars": 50},
        "huy": {"field": "link", "max_chars": 200}}},
    "all_clear": {"template_id": "301002", "params": {
        "tram": {"field": "station", "max_chars": 30}, "thoi_gian": {"field": "time", "max_chars": 20},
        "huy": {"field": "link", "max_chars": 200}}},
    "bulletin": {"template_id": "301003", "params": {
        "tieu_de": {"field": "title", "max_chars": 100}, "noi_dung": {"field": "text", "max_chars": 400},
        "lien_ket": {"field": "bulletin_link", "max_chars": 200}}},
    "confirmation": {"template_id": "301004", "params": {"otp": {"field": "code", "max_chars": 10}}},
}
"""Approved templates (EXAMPLE ids) for the tests."""


class ZnsFake:
    """A local server speaking ZNS: POST /message/template with the `access_token` header; per phone a plan of
    answers ("ok", a ZNS error code, an HTTP status such as 429 or 500), success by default; a daily quota."""

    def __init__(self, quota: int = 1000, latency_s: float = 0.0):
        self.plans: dict[str, list[int | str]] = {}
        self.not_on_zalo: set[str] = set()  # numbers Zalo always answers -118 for
        self.quota = quota
        self.remaining = quota
        self.latency_s = latency_s
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = HttpRecorder(reply=self.reply)

    @property
    def url(self) -> str:
        """The send endpoint."""
        return f"{self.server.url}/message/template"

    def start(self) -> ZnsFake:
        """Listen."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.server.stop()

    def reply(self, rec: Recorded) -> Reply:
        """Zalo's answer to one request."""
        if self.latency_s:
            threading.Event().wait(self.latency_s)
        if rec.headers.get("access_token") != TOKEN:
            return 200, {}, {"error": -124, "message": ZNS_MESSAGES[-124]}
        body = rec.json()
        with self._lock:
            plan = self.plans.get(body["phone"], [])
            step = plan.pop(0) if plan else -118 if body["phone"] in self.not_on_zalo else "ok"
            if step == "ok" and self.remaining <= 0:
                step = -115
            if step == "ok":
                self.remaining -= 1
                data = {"msg_id": f"zmsg-{next(self._ids)}", "sent_time": "1790000000000",
                        "quota": {"dailyQuota": str(self.quota), "remainingQuota": str(self.remaining)}}
                return 200, {}, {"error": 0, "message": "Success", "data": data}
        if step == 429:
            return 429, {"Retry-After": "1"}, {"error": -32, "message": "Rate limit"}
        if isinstance(step, int) and step >= 400:
            return step, {}, {"error": -100, "message": "Internal server error"}
        return 200, {}, {"error": step, "message": ZNS_MESSAGES.get(int(step), "error")}

    def bodies(self) -> list[dict[str, Any]]:
        """Every request body received."""
        return [b for b in self.server.bodies() if isinstance(b, dict)]

    def to(self, phone84: str) -> list[dict[str, Any]]:
        """The bodies sent to one number."""
        return [b for b in self.bodies() if b["phone"] == phone84]


def kieuphu() -> dict[str, Any]:
    """The Kiều Phú deployment file, parsed."""
    raw: dict[str, Any] = yaml.safe_load(KIEUPHU.read_text(encoding="utf-8"))
    return raw


def resident_settings(data_dir: Path, zns_url: str | None, sms_url: str | None, port: int = 1883,
                      zns: dict[str, Any] | None = None, notify: dict[str, Any] | None = None,
                      alerts: dict[str, Any] | None = None,
                      loudspeaker: dict[str, Any] | None = None) -> Settings:
    """Settings with the Kiều Phú stations and impact, officers on the log, and residents reached by the fake ZNS
    server (when given) and the fake SMS gateway (when given); a loudspeaker receiver (when given) takes the flood
    level alerts too."""
    raw = kieuphu()
    stations = [{k: v for k, v in s.items() if k not in ("upstream", "lag_s")} for s in raw["stations"]
                if s["id"] in ("kieuphu-cau", "tich-vinhphuc")]
    impact = {k: v for k, v in raw["impact"].items() if k != "areas_geojson"}
    receivers = [log_receiver("duty"), log_receiver("admin")]
    if sms_url is not None:
        receivers.append({"name": "sms-gw", "channel": {
            "type": "sms", "url_template": f"{sms_url}/send", "to": "+84900000000", "timeout_s": 2,
            "body_template": '{"to": "{{ to }}", "text": {{ text|tojson }}, "ref": "{{ idempotency_key }}"}'}})
    block: dict[str, Any] = {
        "receivers": receivers,
        "routes": [{"match": {"kinds": ["flood.", "sensor."]}, "receivers": ["duty"]},
                   {"match": {"kinds": ["delivery."]}, "receivers": ["admin"]}],
        "resolve_hold_s": 0, "delivery": {"backoff_base_s": 10, "max_attempts": 3, "send_grace_s": 1}}
    if loudspeaker is not None:
        receivers.append(loudspeaker)
        block["routes"].append({"match": {"kinds": ["flood.level"]}, "receivers": [loudspeaker["name"]]})
    block.update(alerts or {})
    subs: dict[str, Any] = {"notify": notify or {}}
    if zns_url is not None:
        subs["zns"] = {"enabled": True, "url": zns_url, "templates": TEMPLATES, "app_id": APP_ID, "timeout_s": 2,
                       "concurrency": 2, **(zns or {})}
    if sms_url is not None:
        subs["sms"] = {"gateway_receiver": "sms-gw", "concurrency": 1}
    return make_settings(data_dir, port, stations=stations, impact=impact, alerts=block, subscriptions=subs)


def add_subscriber(store: Store, phone: str, hamlet: str, channel: str = "zns", lang: str = "vi",
                   status: str = "active") -> int:
    """A subscriber row, as registration would leave it."""
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO subscribers (phone, hamlet_id, lang, channel, status, consent_ts, consent_text, "
            "registered_by, created_ts, updated_ts) VALUES (?, ?, ?, ?, ?, 0, 'đồng ý', 'test', 0, 0) RETURNING id",
            (phone, hamlet, lang, channel, status))
        return int(cur.fetchone()[0])


def link_for(subscriber_id: int) -> str:
    """A stand-in unsubscribe link."""
    return f"https://kieuphu.example/huy/{subscriber_id}.{hashlib.sha256(str(subscriber_id).encode()).hexdigest()[:8]}"


class ResidentHarness(Harness):
    """The alert harness with the residents' delivery wired as the service wires it."""

    def __init__(self, settings: Settings, clock: Clock | None = None, env: dict[str, str] | None = None):
        super().__init__(settings, clock, env=env if env is not None else ENV)
        self.residents = ResidentDelivery(settings, self.store, self.metrics.registry, self.clock, link_for,
                                          env=env if env is not None else ENV)
        for name, sender in self.residents.receivers().items():
            self.runtime.delivery.add_receiver(name, sender)
        self.runtime.engine.recorders.append(self.residents.record)

    def drain(self, rounds: int = 3, advance_s: float = 0.0) -> None:
        """Deliver what is due (a few rounds: a fallback queued in one is sent in the next)."""
        for _ in range(rounds):
            self.tick(advance_s)

    def resident_rows(self) -> list[dict[str, Any]]:
        """Every outbox row addressed to a subscriber, oldest first."""
        return [dict(r) for r in self.store.query_all("SELECT * FROM notifications WHERE subscriber_id IS NOT NULL "
                                                      "ORDER BY id")]

    def payloads(self) -> str:
        """Every outbox payload, as one text (to look for numbers that must not be there)."""
        return "\n".join(json.dumps(json.loads(r["payload"]), ensure_ascii=False) for r in self.resident_rows())


def send_rate(data_dir: Path, gateway_url: str, concurrency: int, count: int = 500, latency_s: float = 0.02) -> float:
    """ZNS messages per second the residents' senders reach: `count` thôn 1 residents told of a BĐ I alert, against a
    local ZNS server taking `latency_s` per request, with `concurrency` senders and their delivery threads (every
    message checked sent once, each with its own tracking_id)."""
    from tests.alerts.harness import flood_level
    from tests.support import separate_database, wait_for
    separate_database()  # a test compares two runs
    zns = ZnsFake(quota=count * 10, latency_s=latency_s).start()
    h = ResidentHarness(resident_settings(data_dir, zns.url, gateway_url,
                                          zns={"concurrency": concurrency, "rate_per_min": 60_000}))
    try:
        with h.store.transaction() as conn:
            conn.executemany("INSERT INTO subscribers (phone, hamlet_id, lang, channel, status, consent_ts, "
                             "consent_text, registered_by, created_ts, updated_ts) VALUES (?, 'thon-1', 'vi', 'zns', "
                             "'active', 0, 'x', 'test', 0, 0)", [(f"+849130{i:05d}",) for i in range(count)])
        h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
        started = time.monotonic()
        h.runtime.delivery.start(h.clock)
        h.runtime.delivery.wake()
        wait_for(lambda: len(zns.bodies()) >= count, timeout_s=120, interval_s=0.05)
        rate = count / (time.monotonic() - started)
        h.runtime.delivery.stop(5)
        bodies = zns.bodies()
        assert len(bodies) == count == len({b["tracking_id"] for b in bodies})
        return rate
    finally:
        h.close()
        zns.stop()
