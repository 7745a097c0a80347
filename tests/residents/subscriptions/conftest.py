"""Fixtures of the subscription tests: the real app over a real store with three hamlets, a recording code sender
instead of a channel, a clock the test moves, and an officer, an admin and a viewer to sign in as."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.residents.impact_fixtures import IMPACT
from tests.support import make_settings
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.store.database import Connection, Row

NOW = 1_790_000_000.0
"""21:13 on 21/09/2026 in Hà Nội."""
PASSWORD = "residents-password-1"
PHONE = "0912 345 678"
"""A resident's number as typed; +84912345678 in E.164."""
E164 = "+84912345678"
ROLES = {"an": Role.OFFICER, "quan.tri": Role.ADMIN, "nguoi.xem": Role.VIEWER}
"""The accounts tests sign in as."""


@dataclass
class Clock:
    """A clock the test moves."""

    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class SentCodes:
    """What the registration queued: (subscriber id, text, now), and whether it was inside an open transaction."""

    sent: list[tuple[int, str, float]] = field(default_factory=list)
    in_transaction: list[bool] = field(default_factory=list)

    def __call__(self, conn: Connection, subscriber_id: int, message: str, now: float) -> None:
        self.in_transaction.append(conn.in_transaction)
        self.sent.append((subscriber_id, message, now))

    def last_code(self) -> str:
        """The code in the last text sent."""
        m = re.search(r"\d{6}", self.sent[-1][1])
        assert m is not None
        return m.group(0)


@dataclass
class App:
    """The app under test and what the tests reach into."""

    client: TestClient
    service: Service
    clock: Clock
    codes: SentCodes
    users: set[str] = field(default_factory=set)

    def auth(self, user: str) -> dict[str, str]:
        """Headers of a signed-in user (the account is made on first use: hashing passwords is slow)."""
        if user not in self.users:
            self.service.accounts.add_user(user, PASSWORD, ROLES[user], self.clock())
            self.users.add(user)
        r = self.client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def register(self, phone: str = PHONE, hamlet_id: str = "thon-1", **extra: Any) -> Any:
        """A self-registration."""
        body = {"phone": phone, "hamlet_id": hamlet_id, "lang": "vi", "channel": "zns", "consent": True,
                "consent_version": "2026-1", **extra}
        return self.client.post("/api/v1/subscriptions", json=body)

    def confirm(self, code: str, phone: str = PHONE) -> Any:
        """A confirmation."""
        return self.client.post("/api/v1/subscriptions/confirm", json={"phone": phone, "code": code})

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> list[Row]:
        """Rows straight from the store."""
        return self.service.store.query_all(sql, params)


def build(tmp_path: Path, **subscriptions: Any) -> Iterator[App]:
    """The app with `subscriptions` settings overridden."""
    clock, codes = Clock(), SentCodes()
    settings = make_settings(tmp_path / "data", impact=IMPACT, subscriptions=subscriptions)
    svc = Service(settings, clock=clock)
    svc.subscriptions.registration.send_code = codes
    with TestClient(create_app(svc, manage_lifecycle=False)) as client:
        yield App(client, svc, clock, codes)
    svc.store.close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """The app with the default subscription settings."""
    yield from build(tmp_path)
