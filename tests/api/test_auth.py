"""Officer authentication against the real app and store: sign-in, roles, API keys, throttling."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from tests.accounts_support import CHEAP_HASHER
from tests.support import make_settings, secret, store_text
from tichwatch.api.accounts import Principal, Role
from tichwatch.api.app import create_app
from tichwatch.api.auth import require_role
from tichwatch.app.service import Service

NOW = [1_790_000_000.0]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Service]]:
    svc = Service(make_settings(tmp_path / "data"), clock=lambda: NOW[0])
    svc.accounts.passwords.hasher = CHEAP_HASHER
    app = create_app(svc, manage_lifecycle=False)

    @app.post("/api/v1/test-admin-only")
    def admin_only(p: Principal = Depends(require_role(Role.ADMIN))) -> dict[str, str]:
        return {"who": p.username}

    svc.accounts.add_user("officer1", secret("officer-password-1"), Role.OFFICER, NOW[0])
    svc.accounts.add_user("admin1", secret("admin-password-1"), Role.ADMIN, NOW[0])
    with TestClient(app) as c:
        yield c, svc
    svc.store.close()


def login(c: TestClient, user: str, password: str) -> str:
    r = c.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_sign_in_gives_an_expiring_token(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    token = login(c, "officer1", "officer-password-1")
    r = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.json() == {"username": "officer1", "role": "officer", "via": "token"}
    NOW[0] += 13 * 3600
    r = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"] and r.headers["www-authenticate"] == "Bearer"


def test_wrong_password_and_anonymous_are_401(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    r = c.post("/api/v1/auth/login", json={"username": "officer1", "password": "nope"})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert c.get("/api/v1/auth/me").status_code == 401
    assert c.post("/api/v1/test-admin-only").status_code == 401


def test_officer_cannot_do_admin_actions(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    officer = login(c, "officer1", "officer-password-1")
    admin = login(c, "admin1", "admin-password-1")
    r = c.post("/api/v1/test-admin-only", headers={"Authorization": f"Bearer {officer}"})
    assert r.status_code == 403 and "admin role" in r.json()["detail"]
    assert c.post("/api/v1/test-admin-only", headers={"Authorization": f"Bearer {admin}"}).json() == {"who": "admin1"}


def test_logout_ends_the_session(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    token = login(c, "officer1", "officer-password-1")
    assert c.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_api_keys_for_machines(client: tuple[TestClient, Service]) -> None:
    c, svc = client
    key = svc.accounts.add_api_key("siren-gateway", Role.VIEWER, NOW[0])
    assert c.get("/api/v1/auth/me", headers={"X-API-Key": key}).json()["username"] == "key:siren-gateway"
    assert c.post("/api/v1/test-admin-only", headers={"X-API-Key": key}).status_code == 403
    assert c.get("/api/v1/auth/me", headers={"X-API-Key": key + "x"}).status_code == 401
    assert key not in store_text(svc.store)  # only its hash is kept


def test_repeated_failures_are_throttled_with_retry_after(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    for _ in range(5):
        assert c.post("/api/v1/auth/login", json={"username": "admin1", "password": "guess"}).status_code == 401
    r = c.post("/api/v1/auth/login", json={"username": "admin1", "password": "admin-password-1"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    NOW[0] += 901
    assert c.post("/api/v1/auth/login", json={"username": "admin1", "password": "admin-password-1"}).status_code == 200


def test_passwords_are_hashed_with_argon2(client: tuple[TestClient, Service]) -> None:
    _, svc = client
    row = svc.store.query_one("SELECT password_hash FROM users WHERE username = 'officer1'")
    assert row is not None and row[0].startswith("$argon2id$") and "officer-password-1" not in row[0]


def test_a_forged_forwarded_for_does_not_buy_fresh_attempts(client: tuple[TestClient, Service]) -> None:
    """X-Forwarded-For from a peer that is no trusted proxy is ignored: a guesser cannot pose as many addresses."""
    c, _ = client
    for i in range(5):
        r = c.post("/api/v1/auth/login", json={"username": "admin1", "password": "guess"},
                   headers={"X-Forwarded-For": f"10.9.0.{i}"})
        assert r.status_code == 401
    r = c.post("/api/v1/auth/login", json={"username": "admin1", "password": "guess"},
               headers={"X-Forwarded-For": "10.9.0.99"})
    assert r.status_code == 429


def test_the_sign_in_answers_are_documented(client: tuple[TestClient, Service]) -> None:
    c, _ = client
    responses = c.get("/openapi.json").json()["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "503" in responses and "4XX" in responses
