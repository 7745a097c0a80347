"""The session-wide log check itself: it catches a registered secret, a secret-named environment value, a live
acknowledge link or its signature alone, and a configured receiver's address — and lets redacted text through."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SecretLeakHandler
from tests.leaks import ISSUED_SIGNATURES, RECEIVER_ADDRESSES
from tests.support import SECRETS, make_settings
from tichwatch.alerts.ack_links import AckLinks
from tichwatch.alerts.channels.factory import build_channels, deployment_redactor


@pytest.fixture
def checked() -> Iterator[tuple[logging.Logger, SecretLeakHandler]]:
    """A logger of its own with the check on it, kept away from the session-wide check (these leaks are deliberate)."""
    handler = SecretLeakHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("leak-check")
    log.addHandler(handler)
    log.propagate = False
    yield log, handler
    log.removeHandler(handler)
    log.propagate = True


def test_leak_handler_catches_registered_and_environment_secrets(
        checked: tuple[logging.Logger, SecretLeakHandler], monkeypatch: pytest.MonkeyPatch) -> None:
    log, handler = checked
    try:
        SECRETS.add("hunter2-registered")
        monkeypatch.setenv("TICHWATCH_TEST_TOKEN", "env-secret-value")
        log.warning("connecting with %s", "hunter2-registered")
        log.warning("token is env-secret-value")
        log.warning("nothing to see")
        assert len(handler.leaks) == 2
    finally:
        SECRETS.discard("hunter2-registered")


def test_leak_handler_catches_acknowledge_links_and_their_signatures(
        checked: tuple[logging.Logger, SecretLeakHandler]) -> None:
    log, handler = checked
    links = AckLinks(b"k" * 32, 86400, "https://canhbao.kieuphu.vn")
    url = links.url("abcdefabcdef", "duty", 1_790_000_000.0)  # the session fixture registers what AckLinks issues
    signature = url.rsplit(".", 1)[1]
    try:
        assert signature in ISSUED_SIGNATURES
        log.warning("ALERT abcdefabcdef: Bấm để xác nhận: %s", url)
        log.warning("mac=%s", signature)  # the signature alone: enough, with the readable payload, to rebuild it
        log.warning("Bấm để xác nhận: https://canhbao.kieuphu.vn/api/v1/ack/[hidden]")
        assert [leak.split(":")[0] for leak in handler.leaks] == ["leak-check (acknowledge link)"] * 2
    finally:
        ISSUED_SIGNATURES.discard(signature)


def test_leak_handler_catches_configured_receiver_addresses(tmp_path: Path,
                                                            checked: tuple[logging.Logger, SecretLeakHandler]) -> None:
    log, handler = checked
    receivers = [{"name": "mail", "channel": {"type": "email", "host": "h", "from_addr": "canhbao@kieuphu.vn",
                                              "to": ["nguoi.nhan.rieng@kieuphu.vn"]}},
                 {"name": "sms", "channel": {"type": "sms", "url_template": "http://gw/send", "to": "+84987654321"}},
                 {"name": "zalo", "channel": {"type": "zalo", "user_id": "zalo-user-4242"}},
                 {"name": "hook", "channel": {"type": "webhook", "url": "https://hooks.vn/x?token=tok-998877"}}]
    settings = make_settings(tmp_path, alerts={"receivers": receivers, "routes": [{"receivers": ["mail"]}]})
    build_channels(settings, None, deployment_redactor(settings, {}), {})  # as the runtime builds them
    registered = {"nguoi.nhan.rieng@kieuphu.vn", "+84987654321", "84987654321", "zalo-user-4242", "tok-998877"}
    try:
        assert registered <= RECEIVER_ADDRESSES
        for value in sorted(registered):
            log.error("delivery failed: %s refused", value)
        redactor = deployment_redactor(settings, {})
        log.error(redactor.text(f"delivery failed: {' '.join(sorted(registered))}; https://hooks.vn/x?token=tok-998877"))
        assert len(handler.leaks) == len(registered)
        assert all("(receiver address)" in leak for leak in handler.leaks)
    finally:
        RECEIVER_ADDRESSES.difference_update(registered)
