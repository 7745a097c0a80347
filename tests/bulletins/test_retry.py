"""Failed bulletin deliveries are retried with backoff, from the bulletin's log: pure rules and through the desk."""
from __future__ import annotations

from tichwatch.residents.bulletins.retry import RetryPolicy, due_receivers
from tichwatch.residents.bulletins.workflow import LogEntry
from tichwatch.alerts.channels.base import DeliveryResult
from tests.bulletins.conftest import NOW, World

POLICY = RetryPolicy(first_delay_s=60, max_delay_s=600, max_attempts=4)


def failed(ts: float, receiver: str, retryable: bool = True, after: float | None = None) -> LogEntry:
    return LogEntry(ts, "x", "delivery_failed", {"receiver": receiver, "retryable": retryable, "retry_after_s": after})


def test_backoff_doubles_and_attempts_run_out() -> None:
    log = [failed(0, "zalo")]
    assert due_receivers(log, 59, POLICY) == [] and due_receivers(log, 60, POLICY) == ["zalo"]
    log.append(failed(60, "zalo"))
    assert due_receivers(log, 179, POLICY) == [] and due_receivers(log, 180, POLICY) == ["zalo"]  # 2 min
    log += [failed(180, "zalo"), failed(420, "zalo")]  # the fourth attempt failed: no more
    assert due_receivers(log, 10_000, POLICY) == []
    assert POLICY.delay_s(10) == 600  # capped


def test_only_retryable_failures_that_are_still_failing_are_tried() -> None:
    log = [failed(0, "zalo"), LogEntry(60, "retry", "delivered", {"receiver": "zalo"}),
           failed(0, "facebook", retryable=False), failed(0, "portal", after=300),
           LogEntry(0, "x", "delivery_failed", {"receiver": "ghost", "detail": "no such receiver"})]
    assert due_receivers(log, 120, POLICY) == []  # portal waits for the provider's Retry-After
    assert due_receivers(log, 300, POLICY) == ["portal"]


def test_desk_retries_a_failed_channel_until_it_takes_the_bulletin(world: World) -> None:
    zalo = world.channels["zalo"]
    zalo.failures = [DeliveryResult.retry("HTTP 503"), DeliveryResult.retry("timeout")]
    record = world.desk.create("comm")
    world.desk.approve(record.id, "officer")
    world.desk.publish(record.id, "officer", "officer")
    assert len(world.channels["portal"].sent) == 1 and zalo.sent == []
    world.clock[0] = NOW + 30
    assert world.desk.retry_deliveries() == 0  # not yet: the first retry waits a minute
    world.clock[0] = NOW + 61
    assert world.desk.retry_deliveries() == 1 and zalo.sent == []  # failed again: now two minutes
    world.clock[0] = NOW + 61 + 119
    assert world.desk.retry_deliveries() == 0
    world.clock[0] = NOW + 61 + 121
    assert world.desk.retry_deliveries() == 1 and len(zalo.sent) == 1
    world.clock[0] = NOW + 3600
    assert world.desk.retry_deliveries() == 0 and len(zalo.sent) == 1 and len(world.channels["portal"].sent) == 1
    attempts = [(e.actor, e.action, e.detail["detail"]) for e in world.desk.log_of(record.id)
                if e.detail.get("receiver") == "zalo"]
    assert attempts == [("officer", "delivery_failed", "HTTP 503"), ("retry", "delivery_failed", "timeout"),
                        ("retry", "delivered", "")]


def test_a_permanent_failure_is_not_retried(world: World) -> None:
    world.channels["zalo"].failures = [DeliveryResult.fail("HTTP 400: access token invalid")]
    record = world.desk.create("comm")
    world.desk.approve(record.id, "officer")
    world.desk.publish(record.id, "officer", "officer")
    world.clock[0] = NOW + 7200
    assert world.desk.retry_deliveries() == 0 and world.channels["zalo"].sent == []
