"""Account administration against the real app and store: password reset and disable end sessions at once, a
disabled account cannot sign in, API keys are listed without secrets and revoked at once, everything audited with
actor, target, before and after and never a secret; the same through the `tichwatch` commands."""
from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.accounts_support import NOW, cheap_service
from tests.support import secret, write_config
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.cli import build_parser
from tichwatch.app.cli_accounts import ROLES
from tichwatch.app.service import Service

ADMIN_PASSWORD = secret("admin-password-admin-1")
OFFICER_PASSWORD = secret("officer-password-admin-1")
NEW_PASSWORD = secret("officer-password-admin-2")
REASON = {"reason": "Cán bộ chuyển công tác"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Service]]:
    svc = cheap_service(tmp_path / "data")
    svc.accounts.add_user("quan.tri", ADMIN_PASSWORD, Role.ADMIN, NOW)
    svc.accounts.add_user("truc.ban", OFFICER_PASSWORD, Role.OFFICER, NOW)
    with TestClient(create_app(svc, manage_lifecycle=False)) as client:
        yield client, svc
    svc.store.close()


def sign_in(client: TestClient, user: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {secret(r.json()['access_token'])}"}


def me(client: TestClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/auth/me", headers=headers).status_code


def audit(client: TestClient, admin: dict[str, str], **filters: str) -> list[dict[str, object]]:
    r = client.get("/api/v1/audit", params=filters, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def test_a_password_reset_ends_every_session_of_the_account(api: tuple[TestClient, Service]) -> None:
    client, svc = api
    phone, desk = sign_in(client, "truc.ban", OFFICER_PASSWORD), sign_in(client, "truc.ban", OFFICER_PASSWORD)
    admin = sign_in(client, "quan.tri", ADMIN_PASSWORD)
    change = svc.accounts.add_user("truc.ban", NEW_PASSWORD, Role.OFFICER, NOW)
    assert change.sessions_revoked == 2
    assert me(client, phone) == 401 and me(client, desk) == 401
    assert me(client, admin) == 200  # other accounts keep theirs
    assert client.post("/api/v1/auth/login", json={"username": "truc.ban", "password": OFFICER_PASSWORD}
                       ).status_code == 401
    assert me(client, sign_in(client, "truc.ban", NEW_PASSWORD)) == 200
    entry = audit(client, admin, action="account.set", target="truc.ban")[0]
    assert entry["actor"] == "cli"
    assert entry["detail"] == {"before": {"role": "officer", "disabled": False},
                               "after": {"role": "officer", "disabled": False}, "created": False,
                               "sessions_revoked": 2}


def test_a_disabled_account_loses_its_sessions_and_cannot_sign_in_until_enabled(
        api: tuple[TestClient, Service]) -> None:
    client, _ = api
    admin = sign_in(client, "quan.tri", ADMIN_PASSWORD)
    officer = sign_in(client, "truc.ban", OFFICER_PASSWORD)
    r = client.post("/api/v1/admin/accounts/truc.ban/disable", json=REASON, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["account"]["disabled"] is True and body["account"]["sessions"] == 0
    assert (body["before"], body["after"], body["sessions_revoked"]) == ({"disabled": False}, {"disabled": True}, 1)
    assert me(client, officer) == 401  # at once
    wrong_or_disabled = client.post("/api/v1/auth/login", json={"username": "truc.ban", "password": OFFICER_PASSWORD})
    assert wrong_or_disabled.status_code == 401  # the same answer as a wrong password: no oracle for a guesser
    again = client.post("/api/v1/admin/accounts/truc.ban/disable", json=REASON, headers=admin).json()
    assert again["changed"] is False
    r = client.post("/api/v1/admin/accounts/truc.ban/enable", json={"reason": "Trở lại trực ban"}, headers=admin)
    assert r.status_code == 200 and r.json()["after"] == {"disabled": False}
    assert me(client, officer) == 401  # an old token stays ended
    assert me(client, sign_in(client, "truc.ban", OFFICER_PASSWORD)) == 200
    entries = audit(client, admin, target="truc.ban")
    assert [(e["action"], e["actor"]) for e in entries[:2]] == [("account.enable", "quan.tri"),
                                                               ("account.disable", "quan.tri")]
    assert entries[1]["detail"] == {"before": {"disabled": False}, "after": {"disabled": True},
                                    "sessions_revoked": 1, "reason": REASON["reason"]}
    assert len([e for e in entries if e["action"] == "account.disable"]) == 1  # the no-op was not recorded


def test_account_administration_needs_an_admin_and_names_what_is_wrong(api: tuple[TestClient, Service]) -> None:
    client, _ = api
    officer = sign_in(client, "truc.ban", OFFICER_PASSWORD)
    admin = sign_in(client, "quan.tri", ADMIN_PASSWORD)
    assert client.post("/api/v1/admin/accounts/quan.tri/disable", json=REASON).status_code == 401
    assert client.post("/api/v1/admin/accounts/quan.tri/disable", json=REASON, headers=officer).status_code == 403
    assert client.get("/api/v1/admin/accounts", headers=officer).status_code == 403
    r = client.post("/api/v1/admin/accounts/nobody/disable", json=REASON, headers=admin)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.post("/api/v1/admin/accounts/quan.tri/disable", json=REASON, headers=admin)
    assert r.status_code == 409 and "last enabled admin" in r.json()["detail"]
    assert me(client, admin) == 200
    assert client.post("/api/v1/admin/accounts/truc.ban/disable", json={}, headers=admin).status_code == 422
    listed = client.get("/api/v1/admin/accounts", headers=admin)
    assert listed.headers["cache-control"] == "no-store"
    accounts = {a["username"]: a for a in listed.json()["accounts"]}
    assert accounts["truc.ban"]["role"] == "officer" and accounts["truc.ban"]["sessions"] == 1
    assert "password" not in listed.text and "hash" not in listed.text


def test_api_keys_are_listed_without_secrets_and_revoked_at_once(api: tuple[TestClient, Service]) -> None:
    client, svc = api
    admin = sign_in(client, "quan.tri", ADMIN_PASSWORD)
    key = secret(svc.accounts.add_api_key("siren-gateway", Role.OFFICER, NOW))
    machine = {"X-API-Key": key}
    assert me(client, machine) == 200
    listed = client.get("/api/v1/admin/api-keys", headers=admin)
    assert listed.json()["api_keys"] == [{"name": "siren-gateway", "role": "officer", "created_at":
                                          "2026-09-21T14:13:20Z", "created_at_local": "2026-09-21T21:13:20+07:00",
                                          "revoked": False}]
    assert key not in listed.text and key[4:12] not in listed.text
    r = client.post("/api/v1/admin/api-keys/siren-gateway/revoke", json={"reason": "Thiết bị bị mất"}, headers=admin)
    assert r.status_code == 200 and r.json()["api_key"]["revoked"] is True
    assert me(client, machine) == 401  # at once
    assert client.post("/api/v1/admin/api-keys/nothing/revoke", json=REASON, headers=admin).status_code == 404
    entry = audit(client, admin, action="apikey.revoke")[0]
    assert (entry["actor"], entry["target"]) == ("quan.tri", "siren-gateway")
    assert entry["detail"] == {"before": {"revoked": False}, "after": {"revoked": True}, "role": "officer",
                               "reason": "Thiết bị bị mất"}
    with pytest.raises(ValueError, match="exists"):  # a revoked key's name is not reused: the audit log stays clear
        svc.accounts.add_api_key("siren-gateway", Role.VIEWER, NOW)


def test_a_revoked_admin_key_cannot_act_and_a_key_may_revoke_itself(api: tuple[TestClient, Service]) -> None:
    client, svc = api
    key = {"X-API-Key": secret(svc.accounts.add_api_key("ops-robot", Role.ADMIN, NOW))}
    r = client.post("/api/v1/admin/api-keys/ops-robot/revoke", json={"reason": "Khoá bị lộ"}, headers=key)
    assert r.status_code == 200
    assert client.get("/api/v1/admin/accounts", headers=key).status_code == 401
    assert audit(client, sign_in(client, "quan.tri", ADMIN_PASSWORD), action="apikey.revoke")[0]["actor"] == \
        "key:ops-robot"


def test_names_that_could_pass_for_another_actor_are_refused(api: tuple[TestClient, Service]) -> None:
    _, svc = api
    for bad in ("key:ops-robot", "hai tu", "", "x" * 65):
        with pytest.raises(ValueError):
            svc.accounts.add_user(bad, OFFICER_PASSWORD, Role.OFFICER, NOW)
    with pytest.raises(ValueError, match="10 characters"):
        svc.accounts.add_user("ngan", "short", Role.OFFICER, NOW)


def test_no_secret_reaches_the_audit_log_or_the_logs(api: tuple[TestClient, Service],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    client, svc = api
    with caplog.at_level(logging.DEBUG):
        token = sign_in(client, "truc.ban", OFFICER_PASSWORD)["Authorization"][7:]
        key = svc.accounts.add_api_key("gateway-9", Role.VIEWER, NOW)
        svc.accounts.add_user("truc.ban", NEW_PASSWORD, Role.OFFICER, NOW)
        admin = sign_in(client, "quan.tri", ADMIN_PASSWORD)
        client.post("/api/v1/admin/api-keys/gateway-9/revoke", json=REASON, headers=admin)
        client.post("/api/v1/admin/accounts/truc.ban/disable", json=REASON, headers=admin)
    stored = "\n".join(str(tuple(r)) for r in svc.store.query_all("SELECT * FROM officer_audit"))
    for value in (OFFICER_PASSWORD, NEW_PASSWORD, ADMIN_PASSWORD, token, key):
        assert value not in stored and value not in caplog.text
    assert "truc.ban" in caplog.text  # the changes themselves are logged


# -- the same through `tichwatch` ---------------------------------------------------------------------------------
def run(*argv: str) -> int:
    """Run a command as `tichwatch` does, without its logging set-up (which would replace the test's handlers)."""
    args: argparse.Namespace = build_parser().parse_args(list(argv))
    return int(args.func(args))


def test_the_commands_offer_every_role() -> None:
    assert [r.value for r in Role] == ROLES


def test_the_account_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    svc = cheap_service(tmp_path / "data")
    config = str(write_config(tmp_path / "tw.yaml", svc.settings))
    svc.accounts.add_user("quan.tri", ADMIN_PASSWORD, Role.ADMIN, NOW)
    with TestClient(create_app(svc, manage_lifecycle=False)) as client:
        officer = sign_in(client, "quan.tri", ADMIN_PASSWORD)
        monkeypatch.setenv("TICHWATCH_NEW_PASSWORD", NEW_PASSWORD)
        assert run("user-add", "quan.tri", "--role", "admin", "--config", config) == 0
        assert "password reset, 1 session(s) signed out" in capsys.readouterr().out
        assert me(client, officer) == 401  # the running service honours the command at once
        assert run("user-add", "truc.ban", "--config", config) == 0
        assert run("user-disable", "truc.ban", "--reason", "nghỉ phép", "--config", config) == 0
        assert client.post("/api/v1/auth/login", json={"username": "truc.ban", "password": NEW_PASSWORD}
                           ).status_code == 401
        assert run("user-add", "truc.ban", "--config", config) == 0
        assert "still disabled" in capsys.readouterr().out  # a reset does not enable the account by the way
        assert run("user-enable", "truc.ban", "--config", config) == 0
        assert me(client, sign_in(client, "truc.ban", NEW_PASSWORD)) == 200
        capsys.readouterr()
        assert run("user-list", "--config", config) == 0
        listing = capsys.readouterr().out
        assert "truc.ban" in listing and "officer" in listing and "enabled" in listing
        assert run("apikey-add", "siren-1", "--role", "viewer", "--config", config) == 0
        key = secret(capsys.readouterr().out.strip())
        assert me(client, {"X-API-Key": key}) == 200
        assert run("apikey-list", "--config", config) == 0
        listing = capsys.readouterr().out
        assert "siren-1" in listing and "active" in listing and key not in listing
        assert run("apikey-revoke", "siren-1", "--reason", "thay thiết bị", "--config", config) == 0
        assert me(client, {"X-API-Key": key}) == 401
        assert run("apikey-revoke", "nothing", "--config", config) == 2
        assert run("user-disable", "nobody", "--config", config) == 2
        assert run("user-disable", "quan.tri", "--config", config) == 2  # the last admin
        assert run("apikey-add", "siren-1", "--config", config) == 2  # the name is taken
    actions = [(r["action"], r["actor"], r["target"]) for r in
               svc.store.query_all("SELECT action, actor, target FROM officer_audit ORDER BY id")]
    assert actions[1:] == [("account.set", "cli", "quan.tri"), ("account.set", "cli", "truc.ban"),
                           ("account.disable", "cli", "truc.ban"), ("account.set", "cli", "truc.ban"),
                           ("account.enable", "cli", "truc.ban"), ("apikey.create", "cli", "siren-1"),
                           ("apikey.revoke", "cli", "siren-1")]
    svc.store.close()
