"""The session-wide secret check itself: it catches a registered secret or a secret-named environment value."""
from __future__ import annotations

import logging

import pytest

from tests.conftest import SecretLeakHandler
from tests.support import SECRETS


def test_leak_handler_catches_registered_and_environment_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = SecretLeakHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("leak-check")
    log.addHandler(handler)
    log.propagate = False  # keep these deliberate leaks away from the session-wide check
    try:
        SECRETS.add("hunter2-registered")
        monkeypatch.setenv("TICHWATCH_TEST_TOKEN", "env-secret-value")
        log.warning("connecting with %s", "hunter2-registered")
        log.warning("token is env-secret-value")
        log.warning("nothing to see")
        assert len(handler.leaks) == 2
    finally:
        SECRETS.discard("hunter2-registered")
        log.removeHandler(handler)
