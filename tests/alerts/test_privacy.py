"""No personal data or live secret in public output or logs: after real deliveries fail (an SMTP server refusing the
recipients and repeating their addresses, an SMS gateway repeating the number, a webhook echoing its URL and token),
no anonymous view of alerts, their delivery status or the feeds, no stored error text and no log line carries a
receiver's address, number, URL token or an acknowledge link; the errors still say which receiver failed and why."""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.alerts.harness import Clock, flood_level, log_receiver, people_settings
from tests.alerts.servers import HttpRecorder, Recorded, Reply, SmtpServer
from tests.support import make_settings, secret
from tichwatch.alerts.channels.base import Message, Notification
from tichwatch.alerts.channels.log import LogChannel
from tichwatch.alerts.redaction import Redactor
from tichwatch.api.app import create_app
from tichwatch.app.service import Service

SMTP_PASSWORD = secret("smtp-mat-khau-rieng")
MAIL_TO = ["truc.ban.nguyen@kieuphu.vn", "pho.chu.tich.le@kieuphu.vn"]
PHONE = "+84912345678"
HOOK_TOKEN = secret("hook-query-token-77")
HOOK_PASSWORD = secret("hook-basic-pass-99")
ADDRESSES = [*MAIL_TO, PHONE, PHONE[1:], "0912345678", "%2B84912345678", HOOK_TOKEN, HOOK_PASSWORD]
"""What no public answer, stored error or log line may contain (in any of the forms a provider repeats it)."""
PERSONAL = [*ADDRESSES, "/api/v1/ack/ey"]
"""That, and a live acknowledge link (only the message to its receiver may hold one)."""


def sms_gateway(req: Recorded) -> Reply:
    """A gateway that refuses the number and says it back, in both the usual forms."""
    to = req.json()["to"]
    return 400, {}, {"error": f"invalid destination {to} (0{to[3:]}): not a subscriber"}


def echoing_hook(req: Recorded) -> Reply:
    """A webhook receiver that repeats the URL it was called on in its error (some frameworks do)."""
    return 404, {}, {"detail": f"no route for http://alerts:{HOOK_PASSWORD}@127.0.0.1{req.path}"}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Service, Clock]]:
    smtp = SmtpServer(tmp_path, "canhbao", SMTP_PASSWORD, refuse=frozenset(MAIL_TO)).start()
    sms = HttpRecorder(sms_gateway).start()
    hook = HttpRecorder(echoing_hook).start()
    monkeypatch.setenv("TICHWATCH_SMTP_PASSWORD", SMTP_PASSWORD)
    receivers = [
        {"name": "mail", "channel": {"type": "email", "host": "127.0.0.1", "port": smtp.port,
                                     "tls_ca_file": str(smtp.cert), "username": "canhbao",
                                     "from_addr": "canhbao@kieuphu.vn", "to": MAIL_TO}},
        {"name": "sms", "channel": {"type": "sms", "url_template": f"{sms.url}/send", "to": PHONE,
                                    "body_template": '{"to": {{ to|tojson }}, "text": {{ text|tojson }}}'}},
        {"name": "hook", "channel": {"type": "webhook",
                                     "url": f"http://alerts:{HOOK_PASSWORD}@127.0.0.1:{hook.port}/h?token={HOOK_TOKEN}"}},
        log_receiver("admin"),
    ]
    routes = [{"match": {"kinds": ["flood."]}, "receivers": ["mail", "sms", "hook"]},
              {"match": {"kinds": ["delivery."]}, "receivers": ["admin"]}]
    settings = make_settings(tmp_path / "data", alerts={"receivers": receivers, "routes": routes},
                             bulletins={"public_kinds": ["flood.", "dust.", "delivery."]})  # feeds carry them too
    clock = Clock()
    svc = Service(settings, clock=clock)
    try:
        with TestClient(create_app(svc, manage_lifecycle=False)) as client:
            yield client, svc, clock
    finally:
        svc.store.close()
        for server in (smtp, sms, hook):
            server.stop()


def _fail_every_delivery(svc: Service, clock: Clock) -> None:
    with svc.store.transaction() as conn:
        svc.alerts.engine.apply(conn, [flood_level("st1", "BD2", clock(), 7.42)], clock())
    svc.alerts.tick(clock())  # every receiver refuses for good: three delivery.failed alerts
    svc.alerts.tick(clock.advance(1))  # the administrators are told (on the log)


def _public_answers(client: TestClient) -> dict[str, str]:
    """Every anonymous view of alerts: the list, each alert with its log and delivery status, both Atom feeds and
    every CAP message they link."""
    listed = client.get("/api/v1/alerts", params={"state": "all"})
    pages = {"list": listed.text}
    for a in listed.json()["alerts"]:
        pages[a["id"]] = client.get(f"/api/v1/alerts/{a['id']}").text
    for lang in ("vi", "en"):
        feed = client.get("/feeds/alerts.atom", params={"lang": lang}).text
        pages[f"atom-{lang}"] = feed
        for path in set(re.findall(r"/feeds/cap/[^\"<]+\.xml", feed)):
            pages[path] = client.get(path).text
    return pages


def _leaks(text: str, what: list[str] = PERSONAL) -> list[str]:
    return [p for p in what if p in text]


def test_public_views_stored_errors_and_logs_carry_no_receiver_data(
        world: tuple[TestClient, Service, Clock], caplog: pytest.LogCaptureFixture) -> None:
    client, svc, clock = world
    caplog.set_level(logging.DEBUG)
    _fail_every_delivery(svc, clock)
    pages = _public_answers(client)
    assert len([k for k in pages if k.startswith("/feeds/cap/")]) >= 4  # the flood alert and the three failures
    assert {k: _leaks(v) for k, v in pages.items() if _leaks(v)} == {}
    stored = svc.store.query_all("SELECT last_error FROM notifications UNION ALL SELECT evidence FROM alerts "
                                 "UNION ALL SELECT data FROM alert_log UNION ALL "
                                 "SELECT payload FROM notifications WHERE receiver = 'admin'")
    assert [_leaks(str(r[0]), ADDRESSES) for r in stored if _leaks(str(r[0]), ADDRESSES)] == []
    assert _leaks(caplog.text) == [] and "/api/v1/ack/[hidden]" in caplog.text  # the admin's link, hidden
    # still useful to an administrator: which receiver, which address of it, what the provider said
    errors = {a["subject"]: a["evidence"]["error"] for a in client.get("/api/v1/alerts").json()["alerts"]
              if a["kind"] == "delivery.failed"}
    assert "[mail.to#1]" in errors["mail"] and "[mail.to#2]" in errors["mail"] and "refused" in errors["mail"]
    assert errors["sms"].startswith("HTTP 400") and "[sms.to]" in errors["sms"] and "[phone]" in errors["sms"]
    assert errors["hook"].startswith("HTTP 404") and "***@127.0.0.1" in errors["hook"]


def test_errors_stored_before_redaction_are_hidden_in_public_views(world: tuple[TestClient, Service, Clock]) -> None:
    client, svc, clock = world
    _fail_every_delivery(svc, clock)
    raw = f"every recipient refused: {MAIL_TO} / {PHONE} / ?token={HOOK_TOKEN}"
    with svc.store.transaction() as conn:  # as an older version stored them
        conn.execute("UPDATE notifications SET last_error = ?", (raw,))
        for alert_id, evidence in conn.execute("SELECT id, evidence FROM alerts WHERE kind = 'delivery.failed'"
                                               ).fetchall():
            conn.execute("UPDATE alerts SET evidence = ? WHERE id = ?",
                         (json.dumps({**json.loads(evidence), "error": raw}), alert_id))
    pages = _public_answers(client)
    assert {k: _leaks(v) for k, v in pages.items() if _leaks(v)} == {}
    assert "[mail.to#1]" in pages["list"]


def test_the_log_channel_never_prints_an_acknowledge_link_or_an_address(caplog: pytest.LogCaptureFixture) -> None:
    link = "https://canhbao.kieuphu.vn/api/v1/ack/eyJhIjoiYWJjIiwiciI6ImR1dHkifQ.Zm9vYmFyYmF6cXV4MTIzNDU2"
    text = f"Mực nước 7,42 m\nBấm để xác nhận đã nhận tin: {link}\nGọi {PHONE} hoặc {MAIL_TO[0]}"
    n = Notification(1, "k", "abcdefabcdef", "duty", "firing", 0.0, 1, Message("Báo động II", text, "", ""), {})
    with caplog.at_level(logging.WARNING, logger="alerts.notify"):
        assert LogChannel(Redactor()).send(n).ok
    line = caplog.records[-1].getMessage()
    assert "Mực nước 7,42 m" in line and "/api/v1/ack/[hidden]" in line
    assert _leaks(line) == [] and "Zm9vYmFy" not in line


@pytest.mark.parametrize(("raw", "expected"), [
    ("SMTP 550: 5.1.1 <truc.ban@kieuphu.vn>: Recipient address rejected",
     "SMTP 550: 5.1.1 <[duty.to]>: Recipient address rejected"),
    ("5.1.1 <other.person@gmail.com> unknown", "5.1.1 <[email]> unknown"),
    ("invalid number +84912345678 / 84912345678 / 0912345678 / %2B84912345678",
     "invalid number [sms.to] / [sms.to] / [phone] / [sms.to]"),
    ("Telegram 400: Bad Request: chat -1001234567890 not found",
     "Telegram 400: Bad Request: chat [tg.chat_id] not found"),
    ("network error for https://u:p4ss@hook.example/x?key=abc&lang=vi", "network error for https://***@hook.example/x?key=***&lang=***"),
    ("posted to https://hooks.example/services/T0/B0/XyZsecretpath", "posted to [hook.url]"),
    ("open https://x.vn/api/v1/ack/eyJhIjoi.c2lnbmF0dXJl to acknowledge",
     "open https://x.vn/api/v1/ack/[hidden] to acknowledge"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "jwt [token]"),
    ("token tok-12345 expired", "token [hook2.url.token] expired"),
    ("HTTP 503: Service Unavailable", "HTTP 503: Service Unavailable"),
    ("Zalo error -216: Access token is invalid", "Zalo error -216: Access token is invalid"),
    ("mực nước 7,42 m lúc 1790000000, mã abcdefabcdef", "mực nước 7,42 m lúc 1790000000, mã abcdefabcdef"),
    ("no answer within 10 s (outcome unknown)", "no answer within 10 s (outcome unknown)"),
])
def test_redactor(raw: str, expected: str) -> None:
    settings = people_settings(Path("/nonexistent"), receivers=[
        {"name": "duty", "channel": {"type": "email", "host": "h", "from_addr": "canhbao@kieuphu.vn",
                                     "to": ["truc.ban@kieuphu.vn"]}},
        {"name": "sms", "channel": {"type": "sms", "url_template": "http://gw/send", "to": PHONE}},
        {"name": "tg", "channel": {"type": "telegram", "chat_id": "-1001234567890"}},
        {"name": "hook", "channel": {"type": "webhook", "url": "https://hooks.example/services/T0/B0/XyZsecretpath"}},
        {"name": "hook2", "channel": {"type": "webhook", "url": "https://h.vn/x?token=tok-12345"}},
    ], routes=[{"receivers": ["duty"]}])
    assert Redactor.for_receivers(settings.alerts.receivers).text(raw) == expected


def test_redactor_walks_documents_and_keeps_their_shape() -> None:
    doc = {"error": f"refused {MAIL_TO[0]}", "attempts": 3, "list": [PHONE, None, 1.5], "nested": {"k": "ok"}}
    assert json.dumps(Redactor().document(doc)) == json.dumps(
        {"error": "refused [email]", "attempts": 3, "list": ["[phone]", None, 1.5], "nested": {"k": "ok"}})
