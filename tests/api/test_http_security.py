"""HTTP edge security: rate limits (429), CORS only for configured origins, security headers, read-only public API."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import NOW
from tests.support import make_settings
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.api.ratelimit import BYTES_PER_TOKEN, TokenBuckets
from tichwatch.app.service import Service
from tichwatch.core.samples import Reading


def app_client(tmp_path: Path, **http: object) -> tuple[TestClient, Service]:
    svc = Service(make_settings(tmp_path / "data", http={"port": 0, **http}))
    return TestClient(create_app(svc, manage_lifecycle=False)), svc


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[tuple[TestClient, Service]]:
    c, svc = app_client(tmp_path, rate_limit_per_min=60, rate_limit_burst=5)
    with c:
        yield c, svc
    svc.store.close()


def test_token_bucket_refills_at_the_configured_rate() -> None:
    b = TokenBuckets(per_min=60, burst=2)
    assert b.take("a", 0.0) == 0 and b.take("a", 0.0) == 0
    assert b.take("a", 0.0) == pytest.approx(1.0)
    assert b.take("b", 0.0) == 0  # other clients have their own bucket
    assert b.take("a", 1.0) == 0


def test_public_api_answers_429_with_retry_after(limited: tuple[TestClient, Service]) -> None:
    c, _ = limited
    page = "/api/v1/stations/st1/readings?limit=100"  # not a snapshot: each one is computed
    codes = [c.get(page).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5] == 429
    r = c.get(page)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.headers["content-type"] == "application/problem+json"
    assert c.get("/healthz").status_code == 200  # probes are never limited
    # The public status and station list come from snapshots: the address's crowd is not refused them.
    assert {c.get(p).status_code for p in ("/api/v1/stations", "/api/v1/status") for _ in range(20)} == {200}


def test_big_answers_cost_by_their_size(limited: tuple[TestClient, Service]) -> None:
    c, svc = limited
    svc.store.append_readings([Reading("st1", NOW - 20_000 + i, 5.0) for i in range(10_000)])
    window = {"start": NOW - 20_000, "end": NOW}
    big = c.get("/api/v1/stations/st1/readings", params={**window, "format": "csv"})
    assert big.status_code == 200 and len(big.content) > 5 * BYTES_PER_TOKEN  # within the limit when asked ...
    after = c.get("/api/v1/stations/st1/readings", params={**window, "limit": 10})
    assert after.status_code == 429  # ... but it cost more than the burst: the next expensive read waits


def test_a_charge_can_take_the_bucket_below_zero_but_not_without_bound() -> None:
    b = TokenBuckets(per_min=60, burst=5)
    assert b.take("a", 0.0) == 0
    b.charge("a", 1000)
    assert b.take("a", 0.0) == pytest.approx(6.0)  # from -5 back to 1 token at one a second
    b.charge("nobody", 3)  # unknown clients are not created by a charge


def test_signed_in_officers_are_not_limited_but_bogus_tokens_are(limited: tuple[TestClient, Service]) -> None:
    c, svc = limited
    svc.accounts.add_user("duty", "duty-password-1", Role.OFFICER, svc.clock())
    login = {"username": "duty", "password": "duty-password-1"}
    token = c.post("/api/v1/auth/login", json=login).json()["access_token"]
    for _ in range(10):
        assert c.get("/api/v1/stations", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    bogus = [c.get("/api/v1/stations", headers={"Authorization": "Bearer forged"}).status_code for _ in range(8)]
    assert 429 in bogus


def test_cors_only_for_configured_origins(tmp_path: Path) -> None:
    c, svc = app_client(tmp_path, cors_origins=["https://portal.kieuphu.example"])
    with c:
        ok = c.get("/api/v1/stations", headers={"Origin": "https://portal.kieuphu.example"})
        assert ok.headers["access-control-allow-origin"] == "https://portal.kieuphu.example"
        other = c.get("/api/v1/stations", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        pre = c.options("/api/v1/alerts/x/ack", headers={"Origin": "https://portal.kieuphu.example",
                                                         "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 400  # no cross-origin writes
    svc.store.close()


def test_dashboard_security_headers(tmp_path: Path) -> None:
    c, svc = app_client(tmp_path)
    with c:
        r = c.get("/")
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        assert c.get("/static/../config/kieuphu.yaml").status_code == 404
    svc.store.close()


SELF_REGISTRATION = ("/api/v1/subscriptions", "/api/v1/subscriptions/confirm")
"""Residents register themselves: bounded per address and per number, proven by a code sent to the phone, and
answered alike for every number (tests/residents/subscriptions)."""


def test_public_endpoints_are_read_only(tmp_path: Path) -> None:
    """Every writing endpoint in the OpenAPI document refuses anonymous callers (sign-in, ack links, which carry
    their own signed single-use token, and residents' self-registration aside)."""
    c, svc = app_client(tmp_path)
    checked = []
    with c:
        for path, ops in c.app.openapi()["paths"].items():  # type: ignore[attr-defined]
            for method in set(ops) & {"post", "put", "patch", "delete"}:
                if path in ("/api/v1/auth/login", "/api/v1/auth/logout") or path.startswith("/api/v1/ack/") \
                        or path in SELF_REGISTRATION:
                    continue
                concrete = path.replace("{", "x").replace("}", "")
                r = c.request(method.upper(), concrete, json={})
                assert r.status_code == 401, f"anonymous {method} {path} answered {r.status_code}"
                checked.append(path)
    svc.store.close()
    assert len(checked) >= 3, f"expected the officer endpoints to be found, got {checked}"


def test_catalogue_is_served_per_language_with_an_etag(tmp_path: Path) -> None:
    client, svc = app_client(tmp_path)
    with client:
        _check_catalogue(client)
    svc.store.close()


def _check_catalogue(client: TestClient) -> None:
    vi = client.get("/i18n/vi.json")
    assert vi.status_code == 200 and vi.json()["BD2"] == "Báo động II"
    assert client.get("/i18n/en.json").json()["BD2"] == "Alarm level II"
    assert client.get("/i18n/vi.json", headers={"If-None-Match": vi.headers["etag"]}).status_code == 304
    assert client.get("/i18n/fr.json").status_code == 404
    assert client.get("/static/common.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/index.html").status_code == 404  # pages have their own routes
