"""Delivery from the outbox to a real local webhook receiver, with the clock passed in: outages, crashes between
sending and recording, retries and backoff, rate limits, and the alert raised when a message cannot be delivered."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.alerts.harness import Clock, Harness, flood_level, log_receiver, people_settings
from tests.alerts.servers import HttpRecorder
from tichwatch.alerts.channels.base import DeliveryResult, Notification


@pytest.fixture
def hook() -> Iterator[HttpRecorder]:
    rec = HttpRecorder()
    yield rec
    rec.stop()


def hook_settings(tmp_path: Path, hook: HttpRecorder, **alerts: Any):
    """The duty officer on a webhook, the administrators on the log."""
    block: dict[str, Any] = {
        "receivers": [{"name": "duty", "channel": {"type": "webhook", "url": f"{hook.url}/hook", "timeout_s": 2}},
                      log_receiver("admin")],
        "delivery": {"max_attempts": 5, "backoff_base_s": 10, "backoff_max_s": 60},
    }
    block.update(alerts)
    return people_settings(tmp_path / "data", **block)


def _keys(hook: HttpRecorder) -> list[str]:
    return [r.headers["idempotency-key"] for r in hook.requests]


def test_a_channel_that_is_down_gets_every_message_in_order_once_back(tmp_path: Path, hook: HttpRecorder) -> None:
    h = Harness(hook_settings(tmp_path, hook))
    h.detect(flood_level("st1", "BD1", h.clock(), 6.6))
    h.tick(60)
    h.detect(flood_level("st1", "BD2", h.clock(), 7.4))
    h.tick(60)
    h.detect(flood_level("st2", "BD1", h.clock(), 6.7))
    h.tick(5)
    rows = h.rows("duty")
    assert hook.requests == [] and all(r["state"] == "pending" for r in rows)
    assert "network error" in rows[0]["last_error"] and rows[1]["attempts"] == 0  # the rest waits its turn
    hook.start()
    h.tick(40)  # after the backoff
    assert [(b["notice"], b["alert"]["subject"], b["alert"]["level"]) for b in hook.bodies()] == [
        ("firing", "st1", "BD1"), ("raised", "st1", "BD2"), ("firing", "st2", "BD1")]
    assert len(set(_keys(hook))) == 3 and all(r["state"] == "sent" for r in h.rows())
    assert h.rows("admin") == []  # retried in time: nobody had to be told
    assert h.metric("tichwatch_alert_deliveries_total", channel="webhook", result="retry") == 2
    assert h.metric("tichwatch_alert_deliveries_total", channel="webhook", result="sent") == 3
    assert h.metric("tichwatch_alert_outbox_backlog") == 0
    h.close()


def test_killed_between_sending_and_recording_costs_at_most_one_extra_delivery(tmp_path: Path,
                                                                              hook: HttpRecorder) -> None:
    hook.start()
    settings = hook_settings(tmp_path, hook)
    clock = Clock()

    def killed(n: Notification, result: DeliveryResult) -> None:
        raise KeyboardInterrupt("the process was killed here")

    first = Harness(settings, clock, after_send=killed)
    first.detect(flood_level("st1", "BD2", clock()), flood_level("st2", "BD1", clock()))
    with pytest.raises(KeyboardInterrupt):
        first.tick()
    first.close()
    assert len(hook.requests) == 1  # the channel got it, the outbox does not know yet
    second = Harness(settings, clock)
    second.tick()
    for _ in range(5):
        second.tick(600)
    keys = _keys(hook)
    assert keys[0] == keys[1] and len(keys) == 3 and len(set(keys)) == 2
    assert [b["notice"] for b in hook.bodies()] == ["firing", "firing", "firing"]
    assert all(r["state"] == "sent" for r in second.rows())
    second.close()


def test_retry_after_is_honoured_and_a_message_that_keeps_failing_alerts_the_administrators(
        tmp_path: Path, hook: HttpRecorder) -> None:
    hook.reply = lambda _: (429, {"Retry-After": "120"}, {})
    hook.start()
    h = Harness(hook_settings(tmp_path, hook))
    h.detect(flood_level("st1", "BD2", h.clock()))
    h.tick()
    assert len(hook.requests) == 1
    h.tick(119)
    assert len(hook.requests) == 1
    h.tick(1)
    assert len(hook.requests) == 2
    hook.reply = lambda _: (400, {}, {"error": "unknown receiver"})
    h.tick(120)
    assert [r["state"] for r in h.rows("duty")] == ["failed"]
    failed = h.open_alert("delivery.failed", "duty")
    assert failed is not None and "HTTP 400" in failed.evidence["error"]
    assert h.notices("admin") == ["firing"]
    assert h.metric("tichwatch_alert_delivery_failures_total", channel="webhook") == 1
    hook.reply = lambda _: (200, {}, {})
    h.detect(flood_level("st2", "BD1", h.clock()))
    h.tick()
    assert h.open_alert("delivery.failed", "duty") is None  # delivered again: the failure alert resolves
    assert h.notices("admin") == ["firing", "resolved"]
    h.close()


def test_backoff_grows_until_the_attempts_are_used_up(tmp_path: Path, hook: HttpRecorder) -> None:
    hook.reply = lambda _: (503, {}, {})
    hook.start()
    h = Harness(hook_settings(tmp_path, hook))
    h.detect(flood_level("st1", "BD2", h.clock()))
    times = []
    for _ in range(400):  # 400 s in steps of one second
        before = len(hook.requests)
        h.tick(1)
        if len(hook.requests) > before:
            times.append(h.clock())
    gaps = [round(b - a) for a, b in itertools.pairwise(times)]
    assert gaps == [10, 20, 40, 60] and h.rows("duty")[0]["state"] == "failed"
    h.close()


def test_rate_limit_per_receiver(tmp_path: Path, hook: HttpRecorder) -> None:
    hook.start()
    h = Harness(hook_settings(tmp_path, hook, delivery={"rate_limits": {"webhook_per_min": 2}}))
    h.detect(*[flood_level(f"st{i % 2 + 1}", "BD1", h.clock()) for i in range(2)])
    h.detect(*[flood_level(s, "BD2", h.clock()) for s in ("st1", "st2")])  # a later batch: each is told again
    h.tick()
    assert len(hook.requests) == 2
    h.tick(30)
    assert len(hook.requests) == 2
    h.tick(30)
    assert len(hook.requests) == 4
    h.close()
