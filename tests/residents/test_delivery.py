"""Bulletins are delivered through the alerts' outbox: the same dispatchers, retries with backoff, idempotency key,
metrics and `delivery.failed` alert as alert notifications; a hung receiver delays no other; a restart loses nothing."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.alerts.servers import HttpRecorder
from tests.residents.conftest import NOW, RecordingChannel, World, bulletin_settings, make_world, recording_delivery
from tests.support import wait_for
from tichwatch.alerts import storage as alert_storage
from tichwatch.alerts.channels.base import DeliveryResult
from tichwatch.alerts.outbox import RETRY_AFTER_MAX_S
from tichwatch.app.service import Service
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.core.detection import Detection, Severity
from tichwatch.residents.bulletins.workflow import BulletinRecord, BulletinState, LogEntry, WorkflowError


@pytest.fixture
def hook() -> Iterator[HttpRecorder]:
    rec = HttpRecorder().start()
    yield rec
    rec.stop()


def _published(world: World) -> str:
    """Draft, approve and publish a bulletin through the desk; its id."""
    record = world.desk.create("comm")
    world.desk.approve(record.id, "officer")
    world.desk.publish(record.id, "officer", officer=True)
    return record.id


def _receivers(world: World, bulletin_id: str) -> dict[str, tuple[str, int]]:
    return {r["receiver"]: (r["state"], r["attempts"]) for r in world.desk.deliveries(bulletin_id)["receivers"]}


def _metric(world: World, name: str, **labels: str) -> float | None:
    return world.service.metrics.registry.get_sample_value(name, labels)


@pytest.fixture
def failing_world(tmp_path: Path, hook: HttpRecorder) -> Iterator[World]:
    """Flood alerts go to `duty`, bulletins to `portal`: two webhooks of one receiving server; delivery failures go
    to the administrators' log receiver."""
    receivers = [{"name": "duty", "channel": {"type": "webhook", "url": f"{hook.url}/duty", "timeout_s": 2}},
                 {"name": "portal", "channel": {"type": "webhook", "url": f"{hook.url}/portal", "timeout_s": 2}},
                 {"name": "log", "channel": {"type": "log"}}]
    routes = [{"match": {"kinds": ["flood."]}, "receivers": ["duty"]},
              {"match": {"kinds": ["delivery."]}, "receivers": ["log"]}]
    yield from make_world(tmp_path, BulletinSettings(channels=["portal"]), {"receivers": receivers, "routes": routes},
                          recording=())


def test_a_failing_bulletin_channel_raises_the_same_delivery_failure_alert_as_a_failing_alert_channel(
        failing_world: World, hook: HttpRecorder) -> None:
    w = failing_world
    hook.reply = lambda _: (400, {}, {"error": "unknown receiver"})  # a failure no retry fixes
    rt = w.service.alerts
    with w.service.store.transaction() as conn:  # an alert notification to duty ...
        rt.engine.apply(conn, [Detection("flood.level", "st2", NOW, True, Severity.WARNING, 8.1, "m", "BD1",
                                         "crossed BD1 upward")], NOW)
    bid = _published(w)  # ... and a bulletin to the portal
    w.deliver()
    assert sorted(r.path for r in hook.requests) == ["/duty", "/portal"]
    alert_failure = alert_storage.open_alert(w.service.store.query_all, "delivery.failed", "duty")
    bulletin_failure = alert_storage.open_alert(w.service.store.query_all, "delivery.failed", "portal")
    assert alert_failure is not None and bulletin_failure is not None
    assert (bulletin_failure.severity, bulletin_failure.reason) == (alert_failure.severity, alert_failure.reason)
    assert set(alert_failure.evidence) - {"alert_id"} == set(bulletin_failure.evidence) - {"bulletin_id"}
    assert bulletin_failure.evidence["bulletin_id"] == bid and "HTTP 400" in bulletin_failure.evidence["error"]
    assert _metric(w, "tichwatch_alert_delivery_failures_total", channel="webhook") == 2  # one family for both
    assert _metric(w, "tichwatch_alert_deliveries_total", channel="webhook", result="failed") == 2
    w.deliver()  # the administrators are told about each, the same way
    admin = w.service.store.query_all("SELECT a.subject, n.notice, n.state FROM notifications n JOIN alerts a "
                                      "ON a.id = n.alert_id WHERE n.receiver = 'log' ORDER BY a.subject")
    assert [tuple(r) for r in admin] == [("duty", "firing", "sent"), ("portal", "firing", "sent")]
    delivery = w.desk.deliveries(bid)
    assert delivery["state"] == "failed"
    (portal,) = delivery["receivers"]
    assert portal["state"] == "failed" and "HTTP 400" in portal["error"] and "/portal" not in portal["error"]


def test_a_bulletin_delivery_is_retried_with_backoff_and_sent_once(world: World) -> None:
    zalo = world.channels["zalo"]
    zalo.failures = [DeliveryResult.retry("HTTP 503"), DeliveryResult.retry("timeout")]
    bid = _published(world)
    world.deliver()
    assert _receivers(world, bid) == {"portal": ("sent", 1), "zalo": ("waiting", 1)}
    world.deliver(9)  # alerts.delivery.backoff_base_s is 10 s: not yet
    assert len(zalo.attempts) == 1
    world.deliver(1)
    assert len(zalo.attempts) == 2 and zalo.sent == []  # failed again: now 20 s
    world.deliver(19)
    assert len(zalo.attempts) == 2
    world.deliver(1)
    assert len(zalo.sent) == 1
    for _ in range(10):
        world.deliver(600)
    assert len(zalo.attempts) == 3 and len(zalo.sent) == 1 and len(world.channels["portal"].attempts) == 1
    assert len({n.idempotency_key for n in zalo.attempts}) == 1  # one key on every attempt
    assert [n.attempt for n in zalo.attempts] == [1, 2, 3]
    assert _receivers(world, bid) == {"portal": ("sent", 1), "zalo": ("sent", 3)}
    assert world.desk.deliveries(bid)["state"] == "sent"
    assert _metric(world, "tichwatch_alert_deliveries_total", channel="zalo", result="retry") == 2
    assert _metric(world, "tichwatch_alert_deliveries_total", channel="zalo", result="sent") == 1
    assert alert_storage.open_alert(world.service.store.query_all, "delivery.failed", "zalo") is None


@pytest.fixture
def hung_world(tmp_path: Path, hook: HttpRecorder) -> Iterator[World]:
    """The portal is a real webhook receiver (that the test makes hang); Zalo records."""
    receivers: list[dict[str, Any]] = [
        {"name": "portal", "channel": {"type": "webhook", "url": f"{hook.url}/hook", "timeout_s": 30}},
        {"name": "zalo", "channel": {"type": "zalo", "user_id": "u1"}, "language": "vi"},
        {"name": "log", "channel": {"type": "log"}}]
    yield from make_world(tmp_path, alerts={"receivers": receivers}, recording=("zalo",))


def test_a_hung_bulletin_receiver_delays_no_other_receiver(hung_world: World, hook: HttpRecorder) -> None:
    w = hung_world
    hook.hold()  # takes the request, never answers until released; its own time limit is 30 s
    delivery = w.service.alerts.delivery
    delivery.start(lambda: w.clock[0])
    try:
        bid = _published(w)  # wakes the dispatchers: no drain by the test; the portal is first in the outbox
        # Zalo is sent while the portal holds its request unanswered: one worker for everyone would wait 30 s first
        wait_for(lambda: hook.count() == 1 and _receivers(w, bid)["zalo"] == ("sent", 1), timeout_s=10,
                 message=lambda: f"{hook.count()} requests, {_receivers(w, bid)}")
        assert _receivers(w, bid)["portal"] == ("waiting", 1)
        hook.release()
        wait_for(lambda: _receivers(w, bid)["portal"] == ("sent", 1), timeout_s=10)
    finally:
        delivery.stop(5)
    assert hook.count() == 1 and len(w.channels["zalo"].attempts) == 1


def test_queued_bulletin_deliveries_go_after_a_restart(tmp_path: Path) -> None:
    first = make_world(tmp_path)
    world = next(first)
    bid = _published(world)  # queued, not yet delivered when the service stops
    keys = {r["receiver"]: r["idempotency_key"] for r in world.service.store.query_all(
        "SELECT receiver, idempotency_key FROM notifications WHERE bulletin_id = ?", (bid,))}
    assert world.channels["portal"].attempts == [] and world.channels["zalo"].attempts == []
    first.close()  # the service stops: its store closes
    restarted = Service(bulletin_settings(tmp_path / "data"), clock=lambda: NOW + 60)
    channels = {"portal": RecordingChannel(), "zalo": RecordingChannel()}
    try:
        recording_delivery(restarted, channels).drain(NOW + 60)
        assert {name: [n.idempotency_key for n in c.sent] for name, c in channels.items()} == {
            name: [key] for name, key in keys.items()}
        assert all(n.alert["id"] == bid and n.notice == "bulletin" for c in channels.values() for n in c.sent)
        assert restarted.store.query_all("SELECT COUNT(*) FROM notifications WHERE state = 'pending'")[0][0] == 0
    finally:
        restarted.store.close()


def test_an_edit_while_the_audio_is_made_stops_the_publication(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    record = world.desk.create("comm")
    made = world.desk._synthesise

    def edited_meanwhile(r: BulletinRecord, now: float, actor: str) -> list[LogEntry]:
        world.desk.edit(r.id, {"radio_vi": "Kịch bản đã sửa."}, "comm")  # lands between the check and the commit
        return made(r, now, actor)

    monkeypatch.setattr(world.desk, "_synthesise", edited_meanwhile)
    with pytest.raises(WorkflowError, match="changed while publishing"):
        world.desk.publish(record.id, "officer", officer=True)
    again = world.desk.get(record.id)
    assert again is not None and again.state is BulletinState.DRAFT  # not published with audio of the old script
    assert world.desk.deliveries(record.id) == {"state": "none", "receivers": [], "residents": {}}


@pytest.fixture
def shared_world(tmp_path: Path, hook: HttpRecorder) -> Iterator[World]:
    """One receiver (the commune's webhook) takes both flood alerts and bulletins."""
    receivers = [{"name": "portal", "channel": {"type": "webhook", "url": f"{hook.url}/portal", "timeout_s": 2}}]
    routes = [{"match": {"kinds": ["flood."]}, "receivers": ["portal"]}]
    yield from make_world(tmp_path, BulletinSettings(channels=["portal"]), {"receivers": receivers, "routes": routes},
                          recording=())


def test_a_bulletin_waiting_for_its_retry_never_holds_back_a_flood_alert(shared_world: World,
                                                                          hook: HttpRecorder) -> None:
    w = shared_world
    # The provider refuses the bulletin for an hour; the alert that follows must still go at once.
    hook.reply = lambda rec: ((429, {"Retry-After": "3600"}, {"error": "slow down"}) if "bulletin" in rec.path
                              or "bulletin" in str(rec.json()).lower()[:400] else (200, {}, {"ok": True}))
    bid = _published(w)
    w.deliver()
    assert _receivers(w, bid) == {"portal": ("waiting", 1)}
    with w.service.store.transaction() as conn:
        w.service.alerts.engine.apply(conn, [Detection("flood.level", "st2", NOW, True, Severity.WARNING, 8.1, "m",
                                                       "BD1", "crossed BD1 upward")], NOW)
    w.deliver(1)
    alerts_sent = w.service.store.query_all("SELECT state FROM notifications WHERE alert_id IS NOT NULL")
    assert [r[0] for r in alerts_sent] == ["sent"]
    (row,) = w.service.store.query_all("SELECT next_attempt_ts, attempts FROM notifications WHERE bulletin_id = ?",
                                       (bid,))
    # The provider's hour is capped (15 min, or alerts.delivery.backoff_max_s when longer).
    assert row[0] - NOW <= max(RETRY_AFTER_MAX_S, w.service.settings.alerts.delivery.backoff_max_s) + 5


def test_deliveries_an_older_version_still_had_to_retry_are_queued_after_the_upgrade(world: World) -> None:
    from tichwatch.residents.bulletins import storage as bulletin_storage

    bid = _published(world)
    with world.service.store.transaction() as conn:  # as the previous version left it: no outbox rows, a log saying
        conn.execute("DELETE FROM notifications WHERE bulletin_id = ?", (bid,))  # zalo failed retryably, portal ok
        bulletin_storage.add_log(conn, bid, [
            LogEntry(NOW, "officer", "delivered", {"receiver": "portal"}),
            LogEntry(NOW, "officer", "delivery_failed", {"receiver": "zalo", "retryable": True, "detail": "HTTP 503"})])
    assert world.desk.adopt_legacy_retries() == 1
    assert world.desk.adopt_legacy_retries() == 0  # once only
    world.deliver()
    assert _receivers(world, bid) == {"zalo": ("sent", 1)}
