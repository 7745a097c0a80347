"""Delivery isolated per receiver, against real servers: a webhook receiver that hangs (a local HTTP server holding
every request), a real SMTP server (aiosmtpd, STARTTLS + AUTH) and an SMS gateway. A hung receiver delays nobody else;
while it hangs it gets at most `outbox.copies_bound` copies, all with one idempotency key; an attempt still running
past its deadline is never doubled, and its late answer counts."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.alerts.harness import Harness, flood_level, log_receiver, people_settings
from tests.alerts.servers import HttpRecorder, SmtpServer
from tests.support import secret, wait_for
from tichwatch.alerts import outbox
from tichwatch.alerts.delivery import STOP_GRACE_S
from tichwatch.config.alerts import DeliverySettings

SMTP_USER = "canhbao"
SMTP_PASSWORD = secret("smtp-mat-khau-cua-xa")
ENV = {"TICHWATCH_SMTP_PASSWORD": SMTP_PASSWORD}


@pytest.fixture
def sms() -> Iterator[HttpRecorder]:
    rec = HttpRecorder().start()
    yield rec
    rec.stop()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path, SMTP_USER, SMTP_PASSWORD).start()
    yield server
    server.stop()


def three_channels(tmp_path: Path, hook: HttpRecorder, smtp: SmtpServer, sms: HttpRecorder, hook_timeout_s: float,
                   **delivery: Any) -> Any:
    """Flood alerts to a webhook (first in the outbox), an email and an SMS; delivery failures to the log."""
    receivers = [
        {"name": "hook", "channel": {"type": "webhook", "url": f"{hook.url}/hook", "timeout_s": hook_timeout_s}},
        {"name": "mail", "channel": {"type": "email", "host": "127.0.0.1", "port": smtp.port,
                                     "tls_ca_file": str(smtp.cert), "username": SMTP_USER,
                                     "from_addr": "canhbao@kieuphu.vn", "to": ["truc.ban@kieuphu.vn"]}},
        {"name": "sms", "channel": {"type": "sms", "url_template": f"{sms.url}/send", "to": "+84912345678",
                                    "body_template": '{"to": {{ to|tojson }}, "text": {{ text|tojson }}}'}},
        log_receiver("admin"),
    ]
    routes = [{"match": {"kinds": ["flood."]}, "receivers": ["hook", "mail", "sms"]},
              {"match": {"kinds": ["delivery."]}, "receivers": ["admin"]}]
    return people_settings(tmp_path / "data", receivers=receivers, routes=routes,
                           delivery={"max_attempts": 10, "backoff_base_s": 10, "backoff_max_s": 60, **delivery})


def _states(h: Harness) -> dict[str, str]:
    return {r["receiver"]: r["state"] for r in h.rows()}


def test_a_hung_webhook_delays_neither_the_email_nor_the_sms(tmp_path: Path, hook: HttpRecorder, smtp: SmtpServer,
                                                               sms: HttpRecorder) -> None:
    hook.hold()  # takes the request, never answers (until released); its own time limit is 30 s
    h = Harness(three_channels(tmp_path, hook, smtp, sms, hook_timeout_s=30), env=ENV)
    h.detect(flood_level("st1", "BD2", h.clock()))
    h.runtime.start()
    try:
        # one worker for everyone would sit on the webhook for 30 s first; each receiver has its own
        wait_for(lambda: _states(h) == {"hook": "pending", "mail": "sent", "sms": "sent"}, timeout_s=10,
                 message=lambda: str(_states(h)))
        assert len(smtp.messages) == 1 and sms.count() == 1 and hook.count() == 1
        assert smtp.messages[0].rcpt_tos == ["truc.ban@kieuphu.vn"]
        hook.release()
        wait_for(lambda: _states(h)["hook"] == "sent", timeout_s=10)
    finally:
        h.runtime.stop()
    assert hook.count() == 1 and h.rows("hook")[0]["attempts"] == 1
    h.close()


def test_a_webhook_that_never_answers_gets_at_most_the_stated_copies(tmp_path: Path, hook: HttpRecorder,
                                                                     smtp: SmtpServer, sms: HttpRecorder) -> None:
    hook.hold()  # a 40 s hang on the test's clock; each attempt gives up after the webhook's 0.5 s time limit
    settings = three_channels(tmp_path, hook, smtp, sms, hook_timeout_s=0.5)
    h = Harness(settings, env=ENV)
    h.detect(flood_level("st1", "BD2", h.clock()))
    h.tick()
    assert _states(h) == {"hook": "pending", "mail": "sent", "sms": "sent"}
    for _ in range(40):
        h.tick(1)
    bound = outbox.copies_bound(40, settings.alerts.delivery)
    keys = {r.headers["idempotency-key"] for r in hook.requests}
    assert 2 <= hook.count() <= bound == 3 and len(keys) == 1  # retried, within the bound, one key for every copy
    row = h.rows("hook")[0]
    assert row["attempts"] == hook.count() and "outcome unknown" in row["last_error"]
    assert h.metric("tichwatch_alert_deliveries_total", channel="webhook", result="unknown") == hook.count()
    assert h.rows("admin") == []  # not failed: still within its attempts
    h.close()


def test_an_attempt_running_past_its_deadline_is_never_doubled_and_its_late_answer_counts(
        tmp_path: Path, hook: HttpRecorder, smtp: SmtpServer, sms: HttpRecorder) -> None:
    hook.trickle_s = 0.1  # a byte every 0.1 s: the 0.5 s socket time limit never fires, only the deadline does
    hook.hold()
    h = Harness(three_channels(tmp_path, hook, smtp, sms, hook_timeout_s=0.5, send_grace_s=0.5), env=ENV)
    dispatcher = h.runtime.delivery.dispatchers["hook"]
    assert dispatcher.deadline_s == 1.0
    h.detect(flood_level("st1", "BD2", h.clock()))
    h.tick()
    row = h.rows("hook")[0]
    assert row["state"] == "pending" and row["attempts"] == 1 and "outcome unknown" in row["last_error"]
    assert dispatcher.in_flight and _states(h)["mail"] == "sent"
    for _ in range(40):  # the backoff runs out again and again: the first attempt still runs, so no second one
        h.tick(1)
    assert hook.count() == 1 and h.rows("hook")[0]["attempts"] == 1
    hook.release()
    wait_for(lambda: (h.tick(1), _states(h)["hook"])[1] == "sent", timeout_s=10)  # the late answer is recorded
    for _ in range(100):
        h.tick(10)
    assert hook.count() == 1 and not dispatcher.in_flight
    assert h.metric("tichwatch_alert_deliveries_total", channel="webhook", result="sent") == 1
    h.close()


def test_stopping_while_a_receiver_hangs_loses_nothing(tmp_path: Path, hook: HttpRecorder, smtp: SmtpServer,
                                                       sms: HttpRecorder) -> None:
    hook.hold()
    settings = three_channels(tmp_path, hook, smtp, sms, hook_timeout_s=30)
    first = Harness(settings, env=ENV)
    first.detect(flood_level("st1", "BD2", first.clock()))
    first.runtime.start()
    wait_for(lambda: hook.count() == 1 and _states(first)["sms"] == "sent", timeout_s=10)
    first.runtime.stop()  # returns without waiting out the webhook's 30 s
    assert _states(first)["hook"] == "pending"
    first.close()
    hook.release()
    second = Harness(settings, first.clock, env=ENV)  # the restart
    second.tick()
    assert _states(second) == {"hook": "sent", "mail": "sent", "sms": "sent"}
    keys = [r.headers["idempotency-key"] for r in hook.requests]
    assert len(keys) == 2 and keys[0] == keys[1]  # delivered at least once; the copy says it is one
    second.close()


def test_a_send_answered_while_the_service_stops_is_recorded_and_not_sent_again(
        tmp_path: Path, hook: HttpRecorder, smtp: SmtpServer, sms: HttpRecorder) -> None:
    # A graceful restart (an upgrade) in the middle of a fan-out: the provider has taken the message and answers a
    # moment later. Stopping waits briefly for that answer, so the row is recorded as sent and the restart does not
    # send the same message again.
    hook.hold()
    settings = three_channels(tmp_path, hook, smtp, sms, hook_timeout_s=30)
    first = Harness(settings, env=ENV)
    first.detect(flood_level("st1", "BD2", first.clock()))
    first.runtime.start()
    wait_for(lambda: hook.count() == 1, timeout_s=10)
    threading.Timer(0.5, hook.release).start()  # the answer comes while the stop waits
    started = time.monotonic()
    first.runtime.stop()
    assert time.monotonic() - started < STOP_GRACE_S + 2
    assert _states(first)["hook"] == "sent"
    first.close()
    second = Harness(settings, first.clock, env=ENV)  # the restart
    second.tick()
    assert hook.count() == 1  # not sent twice
    second.close()


@pytest.mark.parametrize(("window_s", "expected"), [(0, 1), (9, 1), (10, 2), (29, 2), (30, 3), (40, 3), (69, 3),
                                                    (70, 4), (130, 5), (190, 6)])
def test_copies_bound_follows_the_backoff(window_s: float, expected: int) -> None:
    settings = DeliverySettings(backoff_base_s=10, backoff_max_s=60, max_attempts=10)
    assert outbox.copies_bound(window_s, settings) == expected  # waits 10, 20, 40, then 60 each


def test_copies_bound_never_exceeds_the_attempts() -> None:
    assert outbox.copies_bound(10_000, DeliverySettings(backoff_base_s=10, max_attempts=4)) == 4
