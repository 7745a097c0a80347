"""ZNS failures against a local server speaking Zalo's documented answers: a message that fails for good is sent once
by SMS instead (same text, key derived from the ZNS one), in the transaction that records the failure; what may pass
(429, 5xx, no answer) is retried with the same tracking_id and no SMS; only failures a person must fix raise the
delivery.failed alert; a used-up quota sends the rest by SMS at once without asking Zalo again."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.alerts.harness import flood_level
from tests.alerts.servers import HttpRecorder, Recorded, Reply
from tests.residents.delivery.support import ResidentHarness, ZnsFake, add_subscriber, resident_settings
from tichwatch.alerts import outbox
from tichwatch.alerts.channels.base import DeliveryResult
from tichwatch.residents.subscriptions.sending import FALLBACK_SUFFIX


def harness(tmp_path: Path, zns: ZnsFake, gateway: HttpRecorder, **zns_cfg: Any) -> ResidentHarness:
    return ResidentHarness(resident_settings(tmp_path / "data", zns.url, gateway.url, zns=zns_cfg))


def rows_by_channel(h: ResidentHarness) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in h.resident_rows():
        out.setdefault(r["channel"], []).append(r)
    return out


@pytest.mark.parametrize(("code", "admin_alert"), [(-118, False), (-108, False), (-124, True), (-109, True),
                                                    (-115, True)])
def test_a_lasting_zns_failure_sends_one_sms_instead(tmp_path: Path, zns: ZnsFake, gateway: HttpRecorder,
                                                     code: int, admin_alert: bool) -> None:
    h = harness(tmp_path, zns, gateway)
    try:
        add_subscriber(h.store, "+84911000001", "thon-1")
        zns.plans["84911000001"] = [code]
        h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
        h.drain()
        assert len(zns.bodies()) == 1
        (sms,) = gateway.bodies()
        assert sms["to"] == "+84911000001" and sms["text"].startswith("Bao dong I: Thon 1")
        rows = rows_by_channel(h)
        (z,), (s,) = rows["zns"], rows["sms"]
        assert z["state"] == "failed" and f"ZNS error {code}" in z["last_error"] and s["state"] == "sent"
        assert s["idempotency_key"] == z["idempotency_key"] + FALLBACK_SUFFIX == sms["ref"]
        assert (h.open_alert("delivery.failed", "residents-zns") is not None) is admin_alert
        assert "84911000001" not in (z["last_error"] or "")
    finally:
        h.close()


def test_the_fallback_is_queued_once_however_often_the_failure_is_recorded(tmp_path: Path, zns: ZnsFake,
                                                                          gateway: HttpRecorder) -> None:
    h = harness(tmp_path, zns, gateway)
    try:
        sid = add_subscriber(h.store, "+84911000001", "thon-1")
        h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
        (row,) = h.resident_rows()
        settle = h.residents.receivers()[row["receiver"]].settle
        assert settle is not None
        for _ in range(2):  # a crash after the answer and before the commit: recorded again
            with h.store.transaction() as conn:
                n = outbox.begin_attempt(conn, row["id"], h.clock())
                assert n.recipient == sid
                failure = DeliveryResult(False, detail="ZNS error -118: Zalo account not existed", reason="recipient")
                outbox.record(conn, n, failure, h.clock(), h.settings.alerts.delivery)
                assert settle(conn, n, failure, "failed", h.clock()) is False  # the fallback is enough
        assert len(rows_by_channel(h)["sms"]) == 1
    finally:
        h.close()


def test_a_used_up_quota_sends_the_rest_by_sms_without_asking_zalo(tmp_path: Path, gateway: HttpRecorder) -> None:
    zns = ZnsFake(quota=1).start()
    h = harness(tmp_path, zns, gateway, concurrency=1)
    try:
        for i in range(3):
            add_subscriber(h.store, f"+8491100000{i}", "thon-1")
        h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
        h.drain()
        assert len(zns.bodies()) == 1  # the answer said 0 left: the other two never asked
        assert sorted(b["to"] for b in gateway.bodies()) == ["+84911000001", "+84911000002"]
        assert h.metric("tichwatch_zns_quota_remaining") == 0
        assert h.metric("tichwatch_resident_sms_fallbacks_total", reason="quota") == 2
        assert h.open_alert("delivery.failed", "residents-zns") is not None
        assert h.store.query_all("SELECT remaining_quota FROM zns_quota")[0][0] == 0
    finally:
        h.close()
        zns.stop()


def test_outage_retries_with_the_same_tracking_id_then_falls_back_when_attempts_run_out(
        tmp_path: Path, zns: ZnsFake, gateway: HttpRecorder) -> None:
    h = harness(tmp_path, zns, gateway)
    try:
        add_subscriber(h.store, "+84911000001", "thon-1")
        zns.plans["84911000001"] = [500, 503, 502]
        h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
        h.drain(rounds=1)
        assert len(zns.bodies()) == 1 and gateway.bodies() == []  # retryable: no SMS yet
        h.drain(rounds=1, advance_s=15)
        h.drain(rounds=2, advance_s=30)
        bodies = zns.bodies()
        assert len(bodies) == 3 and len({b["tracking_id"] for b in bodies}) == 1
        assert len(gateway.bodies()) == 1
        assert h.open_alert("delivery.failed", "residents-zns") is not None  # attempts ran out: a person looks
    finally:
        h.close()


def test_rate_limited_then_accepted_no_sms(tmp_path: Path, zns: ZnsFake, gateway: HttpRecorder) -> None:
    h = harness(tmp_path, zns, gateway)
    try:
        add_subscriber(h.store, "+84911000001", "thon-1")
        zns.plans["84911000001"] = [429]
        h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
        h.drain(rounds=1)
        (row,) = h.resident_rows()
        assert row["state"] == "pending" and "HTTP 429" in row["last_error"]
        h.drain(rounds=1, advance_s=11)
        bodies = zns.bodies()
        assert len(bodies) == 2 and bodies[0]["tracking_id"] == bodies[1]["tracking_id"]
        assert [r["state"] for r in h.resident_rows()] == ["sent"] and gateway.bodies() == []
    finally:
        h.close()


def test_no_answer_is_retried_with_the_same_tracking_id_and_never_falls_back_while_it_may_pass(
        tmp_path: Path, zns: ZnsFake, gateway: HttpRecorder) -> None:
    h = harness(tmp_path, zns, gateway, timeout_s=0.3)
    try:
        add_subscriber(h.store, "+84911000001", "thon-1")
        h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
        zns.server.hold()
        h.drain(rounds=1)
        (row,) = h.resident_rows()
        assert row["state"] == "pending" and "outcome unknown" in row["last_error"]
        zns.server.release()
        h.drain(rounds=1, advance_s=15)
        bodies = zns.bodies()
        assert len(bodies) == 2 and bodies[0]["tracking_id"] == bodies[1]["tracking_id"] == row["idempotency_key"]
        assert [r["state"] for r in h.resident_rows()] == ["sent"] and gateway.bodies() == []
    finally:
        h.close()


def test_a_failing_sms_gateway_is_retried_nothing_lost(tmp_path: Path, zns: ZnsFake) -> None:
    answers = [503]

    def flaky(_: Recorded) -> Reply:
        return (answers.pop(), {}, {"error": "busy"}) if answers else (200, {}, {"ok": True})
    gateway = HttpRecorder(reply=flaky).start()
    h = harness(tmp_path, zns, gateway)
    try:
        add_subscriber(h.store, "+84911000001", "thon-1")
        zns.plans["84911000001"] = [-118]
        h.detect(flood_level("kieuphu-cau", "BD1", h.clock(), 6.5))
        h.drain(rounds=2)
        assert rows_by_channel(h)["sms"][0]["state"] == "pending"
        h.drain(rounds=1, advance_s=15)
        assert [r["state"] for r in rows_by_channel(h)["sms"]] == ["sent"] and len(gateway.bodies()) == 2
    finally:
        h.close()
        gateway.stop()
