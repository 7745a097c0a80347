"""Zalo's delivery receipts at the public webhook (signature checked before anything is recorded), the confirmation
code of a self-registration (ZNS OTP template or SMS; its text leaves the outbox once settled), and bulletins to the
residents of the hamlets affected now."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.alerts.harness import flood_level
from tests.alerts.servers import HttpRecorder
from tests.residents.delivery.support import (
    APP_ID,
    OA_SECRET,
    TEMPLATES,
    ResidentHarness,
    ZnsFake,
    add_subscriber,
    resident_settings,
)
from tichwatch.api import problems, routes_zns
from tichwatch.residents.subscriptions.receipts import signature


def webhook_client(h: ResidentHarness) -> TestClient:
    """The receipts route over the harness's store, as the service serves it."""
    app = FastAPI()
    problems.install(app)
    app.include_router(routes_zns.router)
    app.state.service = SimpleNamespace(resident_delivery=h.residents, settings=h.settings, store=h.store,
                                        clock=h.clock)
    return TestClient(app)


def event(msg_id: str, tracking_id: str) -> bytes:
    return json.dumps({"app_id": APP_ID, "event_name": "user_received_message", "timestamp": "1790000100000",
                       "sender": {"id": "579745863508352884"}, "recipient": {"id": "8715638297000000000"},
                       "message": {"msg_id": msg_id, "tracking_id": tracking_id,
                                   "delivery_time": "1790000090000"}}).encode()


def test_receipt_webhook_marks_the_message_received_only_when_signed(h: ResidentHarness) -> None:
    add_subscriber(h.store, "+84911000001", "thon-1")
    h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
    h.drain()
    (row,) = h.store.query_all("SELECT * FROM zns_messages")
    body = event(row["msg_id"], row["tracking_id"])
    good = signature(APP_ID, body, "1790000100000", OA_SECRET)
    with webhook_client(h) as client:
        assert client.post("/api/v1/zns/events", content=body).status_code == 401
        forged = signature(APP_ID, body, "1790000100000", "not-the-secret")
        assert client.post("/api/v1/zns/events", content=body, headers={"X-ZEvent-Signature": forged}).status_code \
            == 403
        tampered = body.replace(b"1790000090000", b"1790000099999")
        assert client.post("/api/v1/zns/events", content=tampered,
                           headers={"X-ZEvent-Signature": good}).status_code == 403
        assert h.store.query_all("SELECT received_ts FROM zns_messages")[0][0] is None
        r = client.post("/api/v1/zns/events", content=body, headers={"X-ZEvent-Signature": good})
        assert r.status_code == 200 and r.json() == {"ok": True}
        assert client.post("/api/v1/zns/events", content=b"x" * 20_000,
                           headers={"X-ZEvent-Signature": good}).status_code == 413
    assert h.store.query_all("SELECT received_ts FROM zns_messages")[0][0] == 1790000090.0
    assert h.metric("tichwatch_zns_receipts_total", outcome="received") == 1
    assert h.metric("tichwatch_zns_receipts_total", outcome="refused") == 3  # unsigned, forged, tampered


def test_confirmation_code_by_zns_otp_template_or_sms_and_the_code_leaves_the_outbox(
        h: ResidentHarness, zns: ZnsFake, gateway: HttpRecorder) -> None:
    by_zalo = add_subscriber(h.store, "+84911000001", "thon-1", status="pending")
    by_sms = add_subscriber(h.store, "+84911000002", "thon-2", channel="sms", status="pending")
    with h.store.transaction() as conn:
        h.residents.queue_to_subscriber(conn, by_zalo, "Ma xac nhan TichWatch: 482913 (15 phut)", h.clock())
        h.residents.queue_to_subscriber(conn, by_sms, "Ma xac nhan TichWatch: 775120 (15 phut)", h.clock())
    h.drain()
    (otp,) = zns.bodies()
    assert otp["template_id"] == TEMPLATES["confirmation"]["template_id"] and otp["template_data"] == {"otp": "482913"}
    (sms,) = gateway.bodies()
    assert sms == {"to": "+84911000002", "text": "Ma xac nhan TichWatch: 775120 (15 phut)", "ref": sms["ref"]}
    assert "482913" not in h.payloads() and "775120" not in h.payloads()
    assert [r["state"] for r in h.resident_rows()] == ["sent", "sent"]


def bulletin_lookup(content: Mapping[str, str]) -> object:
    return lambda bid: (content, f"https://kieuphu.example/ban-tin/{bid}", 1_790_000_000.0)


def add_bulletins(h: ResidentHarness, *ids: str) -> None:
    """Published bulletin rows (the desk's own tests cover how they are made)."""
    with h.store.transaction() as conn:
        for bid in ids:
            conn.execute("INSERT INTO bulletins (id, kind, origin, state, data_ts, created_ts, created_by, updated_ts, "
                         "published_ts, published_by, content) VALUES (?, 'routine', 'demand', 'published', 0, 0, "
                         "'test', 0, 0, 'test', ?)", (bid, json.dumps(CONTENT)))


CONTENT = {"title_vi": "Bản tin lũ 21 giờ", "title_en": "Flood bulletin 21:00",
           "quote_vi": "Nước sông Tích tại cầu Kiều Phú đang lên, trên báo động II.",
           "quote_en": "The Tích is rising at the Kiều Phú bridge, above alarm level II."}


def test_a_bulletin_reaches_the_hamlets_affected_now_once(h: ResidentHarness, zns: ZnsFake) -> None:
    h.residents.bulletins = bulletin_lookup(CONTENT)  # type: ignore[assignment]
    add_bulletins(h, "b-quiet", "b-1")
    add_subscriber(h.store, "+84911000001", "thon-1")
    add_subscriber(h.store, "+84911000002", "thon-2", lang="en")
    add_subscriber(h.store, "+84911000005", "thon-5")
    assert h.residents.fan_out_bulletin("b-quiet", h.clock()) == 0  # nothing affected: nobody
    h.detect(flood_level("kieuphu-cau", "BD2", h.clock(), 7.3))
    h.drain()
    before = len(zns.bodies())
    assert h.residents.fan_out_bulletin("b-1", h.clock()) == 2
    assert h.residents.fan_out_bulletin("b-1", h.clock()) == 0  # once per bulletin
    h.drain()
    sent = zns.bodies()[before:]
    assert sorted(b["phone"] for b in sent) == ["84911000001", "84911000002"]
    english = next(b for b in sent if b["phone"] == "84911000002")["template_data"]
    assert english["tieu_de"] == "Flood bulletin 21:00" and english["lien_ket"].endswith("/ban-tin/b-1")


def test_bulletins_to_everybody_when_configured(tmp_path: Path, zns: ZnsFake, gateway: HttpRecorder) -> None:
    h = ResidentHarness(resident_settings(tmp_path / "data", zns.url, gateway.url, notify={"bulletins": "all"}))
    try:
        h.residents.bulletins = bulletin_lookup(CONTENT)  # type: ignore[assignment]
        add_bulletins(h, "b-old", "b-2")
        add_subscriber(h.store, "+84911000001", "thon-1")
        add_subscriber(h.store, "+84911000005", "thon-5")
        assert h.residents.catch_up([("b-old", h.clock() - 7200), ("b-2", h.clock() - 60)], h.clock()) == 2
        assert h.residents.catch_up([("b-2", h.clock() - 60)], h.clock()) == 0  # handed over already
        h.drain()
        assert sorted(b["phone"] for b in zns.bodies()) == ["84911000001", "84911000005"]
    finally:
        h.close()


def test_without_the_oa_secret_every_event_is_refused(tmp_path: Path, zns: ZnsFake, gateway: HttpRecorder) -> None:
    env = {"TICHWATCH_ZNS_ACCESS_TOKEN": "x"}
    h = ResidentHarness(resident_settings(tmp_path / "data", zns.url, gateway.url), env=env)
    try:
        body = event("zmsg-1", "t")
        with webhook_client(h) as client:
            assert client.post("/api/v1/zns/events", content=body).status_code == 401
            signed = {"X-ZEvent-Signature": signature(APP_ID, body, "1790000100000", "")}
            assert client.post("/api/v1/zns/events", content=body, headers=signed).status_code == 403
    finally:
        h.close()
