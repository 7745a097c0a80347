"""Sign-in throttling against the real app and store: per (account, address) so a guesser cannot lock the officer out
from elsewhere, per address across accounts, per account across addresses, and atomic under a crowd of attempts."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.accounts_support import NOW, RecordingHasher, cheap_service, post_all, serve
from tests.support import secret
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.api.login_throttle import Failures, Scope, ThrottleLimits, retry_after_s
from tichwatch.app.service import Service
from tichwatch.config.accounts import AccountSettings

ADMIN_PASSWORD = secret("admin-password-throttle-1")
OFFICER_PASSWORD = secret("officer-password-throttle-1")
LIMITS = {"login_failures_per_account_address": 3, "login_failures_per_address": 7, "login_failures_per_account": 9,
          "login_window_s": 900}


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Service]:
    service = cheap_service(tmp_path / "data", accounts=LIMITS, http={"trusted_proxies": ["testclient"]})
    service.accounts.add_user("quan.tri", ADMIN_PASSWORD, Role.ADMIN, NOW)
    service.accounts.add_user("truc.ban", OFFICER_PASSWORD, Role.OFFICER, NOW)
    yield service
    service.store.close()


@pytest.fixture
def client(svc: Service) -> Iterator[TestClient]:
    with TestClient(create_app(svc, manage_lifecycle=False)) as c:
        yield c


def attempt(client: TestClient, user: str, password: str, address: str) -> Any:
    """A sign-in from `address` (as the trusted reverse proxy reports it)."""
    return client.post("/api/v1/auth/login", json={"username": user, "password": password},
                       headers={"X-Forwarded-For": address})


def test_a_guesser_at_one_address_does_not_lock_the_officer_out_from_another(client: TestClient) -> None:
    for _ in range(3):
        assert attempt(client, "quan.tri", "guess-guess", "203.0.113.66").status_code == 401
    refused = attempt(client, "quan.tri", ADMIN_PASSWORD, "203.0.113.66")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) == 900
    assert refused.headers["content-type"] == "application/problem+json"
    assert attempt(client, "quan.tri", ADMIN_PASSWORD, "198.51.100.7").status_code == 200  # the officer, elsewhere
    # the guesser's own address stays refused, even with the right password
    assert attempt(client, "quan.tri", ADMIN_PASSWORD, "203.0.113.66").status_code == 429


def test_a_successful_sign_in_clears_that_address_failures(client: TestClient) -> None:
    for _ in range(2):
        assert attempt(client, "truc.ban", "typo-typo", "198.51.100.7").status_code == 401
    assert attempt(client, "truc.ban", OFFICER_PASSWORD, "198.51.100.7").status_code == 200
    for _ in range(2):  # a fresh allowance after the success: two typos more are still answered
        assert attempt(client, "truc.ban", "typo-typo", "198.51.100.7").status_code == 401
    assert attempt(client, "truc.ban", OFFICER_PASSWORD, "198.51.100.7").status_code == 200


def test_password_spraying_from_one_address_is_bounded_across_accounts(client: TestClient, svc: Service) -> None:
    users = [f"user{i}" for i in range(4)]
    for user in users:
        svc.accounts.add_user(user, OFFICER_PASSWORD, Role.VIEWER, NOW)
    answers = [attempt(client, user, "Spring2026!", "192.0.2.9").status_code for user in [*users, *users]]
    assert answers == [401] * 7 + [429]  # 7 per address, although no account got its 3
    assert attempt(client, "truc.ban", OFFICER_PASSWORD, "192.0.2.9").status_code == 429
    assert attempt(client, "truc.ban", OFFICER_PASSWORD, "192.0.2.10").status_code == 200


def test_guessing_one_account_from_many_addresses_is_bounded(client: TestClient, svc: Service) -> None:
    answers = [attempt(client, "quan.tri", "guess-guess", f"10.0.0.{i}").status_code for i in range(10)]
    assert answers == [401] * 9 + [429]  # the account-wide bound, though each address made one attempt
    # The documented trade-off: now the officer too is refused from a new address until the window passes...
    assert attempt(client, "quan.tri", ADMIN_PASSWORD, "198.51.100.7").status_code == 429
    # ...other accounts are not, and the window passing lets the officer in again.
    assert attempt(client, "truc.ban", OFFICER_PASSWORD, "198.51.100.7").status_code == 200
    svc.clock = lambda: NOW + 901
    assert attempt(client, "quan.tri", ADMIN_PASSWORD, "198.51.100.7").status_code == 200


def test_unknown_accounts_are_throttled_like_known_ones(client: TestClient) -> None:
    """No difference in answers between a real and a made-up username (the throttle is no user-enumeration oracle)."""
    for user in ("quan.tri", "khong.co"):
        answers = [attempt(client, user, "guess-guess", "192.0.2.50").status_code for _ in range(4)]
        assert answers == [401, 401, 401, 429], user


def test_a_crowd_of_wrong_passwords_checks_at_most_the_limit(tmp_path: Path) -> None:
    """100 wrong passwords at once from one address: at most 3 (the limit) reach the hash, the rest are refused
    with 429 and Retry-After without hashing (the count and the reservation are one transaction)."""
    svc = cheap_service(tmp_path / "crowd", accounts=LIMITS)
    svc.accounts.add_user("quan.tri", ADMIN_PASSWORD, Role.ADMIN, NOW)
    hasher = RecordingHasher(svc.accounts.passwords.hasher)
    svc.accounts.passwords.hasher = hasher
    try:
        with serve(svc) as served:
            answers = post_all(f"{served.url}/api/v1/auth/login",
                               [{"username": "quan.tri", "password": f"guess-{i:03d}"} for i in range(100)])
        statuses = [r.status_code for r in answers]
        assert statuses.count(401) + statuses.count(429) == 100, statuses
        assert hasher.calls == statuses.count(401) <= 3
        assert statuses.count(401) >= 1
        assert all(int(r.headers["retry-after"]) > 0 for r in answers if r.status_code == 429)
        row = svc.store.query_one("SELECT COUNT(*) FROM login_failures WHERE username = 'quan.tri'")
        assert row is not None and row[0] == hasher.calls  # every check recorded, nothing more
    finally:
        svc.store.close()


def test_retry_after_waits_for_every_full_bound() -> None:
    limits = ThrottleLimits(per_account_address=3, per_address=7, per_account=0, window_s=900)
    free = Scope(0, None)
    assert retry_after_s(Failures(Scope(2, NOW - 100), Scope(6, NOW - 50), Scope(500, NOW - 10)), limits, NOW) is None
    pair_full = Failures(Scope(3, NOW - 100), Scope(3, NOW - 100), free)
    assert retry_after_s(pair_full, limits, NOW) == 800
    both_full = Failures(Scope(3, NOW - 100), Scope(7, NOW - 20), free)
    assert retry_after_s(both_full, limits, NOW) == 880  # the later of the two
    almost_over = Failures(Scope(3, NOW - 899.5), free, free)
    assert retry_after_s(almost_over, limits, NOW) == 1  # never 0: the client is told to wait at least a second


def test_bounds_that_do_not_nest_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="login_failures_per_address must be at least"):
        AccountSettings(login_failures_per_account_address=10, login_failures_per_address=5)
    with pytest.raises(ValueError, match="login_failures_per_account must be 0"):
        AccountSettings(login_failures_per_account=3)
    assert AccountSettings(login_failures_per_account=0).login_failures_per_account == 0  # no account-wide bound
