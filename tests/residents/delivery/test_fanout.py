"""Fan-out to residents: a flood level alert reaches the active subscribers of the hamlets its level affects (Kiều Phú
impact, EXAMPLE values), once per level, in their language, by ZNS as Zalo documents the request; the end reaches
them again; stale (backlog) changes, other hamlets and residents who left get nothing."""
from __future__ import annotations

import json

from tests.alerts.harness import flood_level
from tests.alerts.servers import HttpRecorder
from tests.residents.delivery.support import (
    TEMPLATES,
    TOKEN,
    ResidentHarness,
    ZnsFake,
    add_subscriber,
)


def test_bd2_reaches_thon_1_and_2_by_zns_in_their_language_and_not_thon_5(
        h: ResidentHarness, zns: ZnsFake, gateway: HttpRecorder) -> None:
    a1 = add_subscriber(h.store, "+84911000001", "thon-1")
    add_subscriber(h.store, "+84911000002", "thon-2", lang="en")
    add_subscriber(h.store, "+84911000003", "thon-2", channel="sms")
    add_subscriber(h.store, "+84911000005", "thon-5")
    add_subscriber(h.store, "+84911000006", "thon-3")
    add_subscriber(h.store, "+84911000007", "thon-1", status="unsubscribed")

    h.detect(flood_level("kieuphu-cau", "BD2", h.clock(), 7.25))
    h.drain()

    assert sorted(b["phone"] for b in zns.bodies()) == ["84911000001", "84911000002"]
    first = zns.to("84911000001")[0]
    request = zns.server.requests[0]
    assert request.path == "/message/template" and request.headers["access_token"] == TOKEN
    assert first["template_id"] == TEMPLATES["flood_alert"]["template_id"]
    data = first["template_data"]
    assert set(data) == set(TEMPLATES["flood_alert"]["params"])
    assert data["muc_bao_dong"] == "Báo động II" and data["tram"] == "Cầu Kiều Phú"
    assert data["muc_nuoc"] == "7,25 m" and data["thon"] == "Thôn 1, Thôn 2"
    assert len(data["viec_can_lam"]) <= 100 and data["viec_can_lam"].endswith("…")  # cut to the param's limit
    assert data["huy"].startswith(f"https://kieuphu.example/huy/{a1}.")
    english = zns.to("84911000002")[0]["template_data"]
    assert english["muc_bao_dong"] == "Alarm level II" and english["muc_nuoc"] == "7.25 m"
    rows = {r["subscriber_id"]: r for r in h.resident_rows()}
    assert first["tracking_id"] == rows[a1]["idempotency_key"]  # our idempotency key, back in receipts
    # SMS for the resident who chose it: no diacritics, 160 characters, the unsubscribe link kept at the end
    (sms,) = gateway.bodies()
    assert sms["to"] == "+84911000003" and len(sms["text"]) <= 160 and sms["text"].isascii()
    assert sms["text"].startswith("Bao dong II: Thon 1 va Thon 2") and "/huy/" in sms["text"]
    # nobody's number in the outbox: looked up at send time
    assert "91100000" not in h.payloads()
    assert all(r["state"] == "sent" for r in h.resident_rows())
    zns_rows = h.store.query_all("SELECT msg_id FROM zns_messages ORDER BY notification_id")
    assert sorted(r["msg_id"] for r in zns_rows) == ["zmsg-1", "zmsg-2"]
    costs = {r["channel"]: (r["messages"], r["cost_vnd"]) for r in h.store.query_all("SELECT * FROM resident_costs")}
    assert costs == {"zns": (2, 600), "sms": (1, 800)}
    assert h.metric("tichwatch_zns_quota_remaining") == 998
    assert h.metric("tichwatch_resident_cost_vnd_total", channel="zns") == 600


def test_each_level_once_rise_reaches_more_hamlets_and_the_end_reaches_those_told(
        h: ResidentHarness, zns: ZnsFake) -> None:
    add_subscriber(h.store, "+84911000001", "thon-1")
    add_subscriber(h.store, "+84911000003", "thon-3")
    h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
    h.drain()
    h.detect(flood_level("kieuphu-cau", "BD1", h.clock.advance(600), 6.6))  # the same level again: nothing new
    h.drain()
    assert [b["phone"] for b in zns.bodies()] == ["84911000001"]
    h.detect(flood_level("kieuphu-cau", "BD3", h.clock.advance(600), 7.9))
    h.drain()
    assert sorted(b["phone"] for b in zns.bodies()[1:]) == ["84911000001", "84911000003"]
    h.detect(flood_level("kieuphu-cau", "BD2", h.clock.advance(600), 7.5))  # falling: no message
    h.detect(flood_level("kieuphu-cau", None, h.clock.advance(600), 6.0))
    h.drain()
    ends = [b for b in zns.bodies() if b["template_id"] == TEMPLATES["all_clear"]["template_id"]]
    assert sorted(b["phone"] for b in ends) == ["84911000001", "84911000003"]
    assert len(zns.bodies()) == 5
    steps = [r["step"] for r in h.store.query_all("SELECT step FROM resident_fanouts ORDER BY created_ts, step")]
    assert steps == ["level:1", "level:3", "clear"]


def test_a_backlog_and_an_alert_of_a_station_without_impact_reach_nobody(h: ResidentHarness, zns: ZnsFake) -> None:
    add_subscriber(h.store, "+84911000001", "thon-1")
    h.detect(flood_level("kieuphu-cau", "BD2", h.clock() - 2 * 3600, 7.3))  # readings two hours old
    h.detect(flood_level("tich-vinhphuc", "BD1", h.clock(), 6.0))  # nothing configured at BĐ I there
    h.drain()
    assert zns.bodies() == [] and h.resident_rows() == []


def test_who_leaves_after_the_message_was_queued_gets_nothing(h: ResidentHarness, zns: ZnsFake,
                                                             gateway: HttpRecorder) -> None:
    gone = add_subscriber(h.store, "+84911000001", "thon-1")
    erased = add_subscriber(h.store, "+84911000002", "thon-1", channel="sms")
    h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
    assert len(h.resident_rows()) == 2
    with h.store.transaction() as conn:
        conn.execute("UPDATE subscribers SET status = 'unsubscribed' WHERE id = ?", (gone,))
        conn.execute("DELETE FROM subscribers WHERE id = ?", (erased,))
    h.drain()
    assert zns.bodies() == [] and gateway.bodies() == []
    rows = h.resident_rows()
    assert [r["state"] for r in rows] == ["failed", "failed"] and all("unsubscribed" in r["last_error"] for r in rows)
    assert [r for r in h.resident_rows() if r["channel"] == "sms" and r["subscriber_id"] == gone] == []
    assert h.open_alert("delivery.failed", "residents-zns") is None  # a resident leaving needs no administrator


def test_erasure_removes_the_rows_about_a_subscriber(h: ResidentHarness, zns: ZnsFake) -> None:
    sid = add_subscriber(h.store, "+84911000001", "thon-1")
    h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
    h.drain()
    assert h.store.query_all("SELECT COUNT(*) FROM zns_messages")[0][0] == 1
    with h.store.transaction() as conn:
        h.residents.erase(conn, sid)
        conn.execute("DELETE FROM subscribers WHERE id = ?", (sid,))
    assert h.resident_rows() == [] and h.store.query_all("SELECT COUNT(*) FROM zns_messages")[0][0] == 0


def test_an_officers_alert_page_lists_receivers_and_counts_residents_apart(h: ResidentHarness) -> None:
    for i in range(3):
        add_subscriber(h.store, f"+8491100001{i}", "thon-1")
    h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
    h.drain()
    alert = h.open_alert("flood.level", "kieuphu-cau")
    assert alert is not None
    from tichwatch.alerts.outbox import of_alert
    from tichwatch.residents.subscriptions.sending import summary
    assert {r["receiver"] for r in of_alert(h.store.query_all, alert.id)} == {"duty"}
    assert summary(h.store.query_all, alert_id=alert.id) == {"zns_sent": 3}
    assert json.dumps(summary(h.store.query_all, alert_id=alert.id)).isascii()
