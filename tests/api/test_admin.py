"""Alarm levels edited at run time and the officer audit log, against the real app, store and flood detector."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import make_settings, secret
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.cli_accounts import bootstrap_admin
from tichwatch.app.service import Service
from tichwatch.core.samples import Reading

NOW = 1_790_000_000.0
NEW_LEVELS = {"bd1_m": 6.0, "bd2_m": 6.8, "bd3_m": 7.6, "record_m": 8.45, "record_year": 2024,
              "reason": "Quyết định 123/QĐ-UBND điều chỉnh mức báo động"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Service, dict[str, dict[str, str]]]]:
    svc = Service(make_settings(tmp_path / "data"), clock=lambda: NOW)
    svc.accounts.add_user("quan.tri", secret("admin-password-1"), Role.ADMIN, NOW)
    svc.accounts.add_user("truc.ban", secret("officer-password-1"), Role.OFFICER, NOW)
    with TestClient(create_app(svc, manage_lifecycle=False)) as client:
        heads = {user: _bearer(client, user, pw) for user, pw in
                 (("quan.tri", "admin-password-1"), ("truc.ban", "officer-password-1"))}
        yield client, svc, heads
    svc.store.close()


def _bearer(client: TestClient, user: str, password: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _levels(client: TestClient, station_id: str = "st1") -> dict[str, Any]:
    return client.get(f"/api/v1/stations/{station_id}").json()["alarm_levels_m"]


def test_admin_sets_levels_the_detector_uses_them_and_the_change_is_audited(
        api: tuple[TestClient, Service, dict[str, dict[str, str]]]) -> None:
    client, svc, heads = api
    svc.flood.update(Reading("st1", NOW - 600, 6.2))
    assert client.get("/api/v1/stations/st1").json()["status"]["alarm_level"] is None  # 6.2 m is below BD1 6.5 m
    r = client.put("/api/v1/stations/st1/alarm-levels", json=NEW_LEVELS, headers=heads["quan.tri"])
    assert r.status_code == 200, r.text
    assert (r.json()["before"]["BD1"], r.json()["after"]["BD1"]) == (6.5, 6.0)
    station = client.get("/api/v1/stations/st1").json()
    assert station["alarm_levels_m"]["BD2"] == 6.8
    assert station["alarm_levels_set"]["source"] == "officer" and station["alarm_levels_set"]["by"] == "quan.tri"
    assert _levels(client, "st2")["BD1"] == 6.5  # only the edited station changes
    # The detector judges the next reading against the new levels: 6.3 m is now above BD1.
    detections = svc.flood.update(Reading("st1", NOW, 6.3))
    assert [(d.kind, d.level) for d in detections if d.kind == "flood.level"] == [("flood.level", "BD1")]
    assert client.get("/api/v1/stations/st1").json()["status"]["next_level"] == "BD2"
    entries = client.get("/api/v1/audit", params={"action": "station.alarm_levels"},
                         headers=heads["truc.ban"]).json()["entries"]
    assert len(entries) == 1
    e = entries[0]
    assert (e["actor"], e["target"], e["detail"]["reason"]) == ("quan.tri", "st1", NEW_LEVELS["reason"])
    assert e["detail"]["before"]["BD3"] == 8.0 and e["detail"]["after"]["BD3"] == 7.6
    assert e["ts_local"].endswith("+07:00")


def test_levels_survive_a_restart_and_revert_to_the_file(
        api: tuple[TestClient, Service, dict[str, dict[str, str]]], tmp_path: Path) -> None:
    client, _svc, heads = api
    assert client.put("/api/v1/stations/st1/alarm-levels", json=NEW_LEVELS,
                      headers=heads["quan.tri"]).status_code == 200
    again = Service(make_settings(tmp_path / "data"), clock=lambda: NOW)
    try:
        assert again.stations.station("st1").alarm.bd1_m == 6.0  # type: ignore[union-attr]
        assert again.settings.station("st1").alarm.bd1_m == 6.5  # type: ignore[union-attr]  # the file's, unchanged
        assert again.flood.status("st1").next_level is not None
    finally:
        again.store.close()
    r = client.request("DELETE", "/api/v1/stations/st1/alarm-levels", json={"reason": "Nhập nhầm"},
                       headers=heads["quan.tri"])
    assert r.status_code == 200 and r.json()["after"]["BD1"] == 6.5
    assert client.get("/api/v1/stations/st1").json()["alarm_levels_set"] == {"source": "config"}
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=heads["quan.tri"]).json()["entries"]]
    assert actions[:2] == ["station.alarm_levels_reverted", "station.alarm_levels"]


def test_only_an_admin_may_edit_and_bad_levels_are_refused_with_a_reason(
        api: tuple[TestClient, Service, dict[str, dict[str, str]]]) -> None:
    client, _, heads = api
    url = "/api/v1/stations/st1/alarm-levels"
    assert client.put(url, json=NEW_LEVELS).status_code == 401
    assert client.put(url, json=NEW_LEVELS, headers=heads["truc.ban"]).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401
    admin = heads["quan.tri"]
    r = client.put(url, json={**NEW_LEVELS, "bd2_m": 5.9}, headers=admin)
    assert r.status_code == 422 and "bd1_m < bd2_m < bd3_m" in r.json()["detail"]
    r = client.put(url, json={**NEW_LEVELS, "bd1_m": 1.0, "bd2_m": 1.5, "bd3_m": 1.8}, headers=admin)
    assert r.status_code == 422 and "min_level_m" in r.json()["detail"]  # below the gauge's physical range
    assert r.headers["content-type"] == "application/problem+json"
    unexplained = {k: v for k, v in NEW_LEVELS.items() if k != "reason"}
    assert client.put(url, json=unexplained, headers=admin).status_code == 422
    r = client.put("/api/v1/stations/nowhere/alarm-levels", json=NEW_LEVELS, headers=admin)
    assert r.status_code == 404
    assert _levels(client)["BD1"] == 6.5  # nothing refused was applied
    assert client.get("/api/v1/audit", params={"action": "station.alarm_levels"},
                      headers=admin).json()["entries"] == []


def test_a_stored_override_that_no_longer_fits_the_file_is_ignored_loudly(
        api: tuple[TestClient, Service, dict[str, dict[str, str]]], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    client, _svc, heads = api
    assert client.put("/api/v1/stations/st1/alarm-levels", json=NEW_LEVELS,
                      headers=heads["quan.tri"]).status_code == 200
    station = {"id": "st1", "name": "Trạm thử", "lat": 21.0, "lon": 105.6, "expected_interval_s": 600,
               "alarm": {"bd1_m": 9.0, "bd2_m": 9.5, "bd3_m": 10.0}, "min_level_m": 6.5, "max_level_m": 12.0}
    with caplog.at_level(logging.ERROR, logger="tichwatch.app.stations"):
        again = Service(make_settings(tmp_path / "data", stations=[station]), clock=lambda: NOW)
    try:
        assert again.stations.station("st1").alarm.bd1_m == 9.0  # type: ignore[union-attr]
        assert "st1" in caplog.text and "ignored" in caplog.text
    finally:
        again.store.close()


def test_accounts_and_api_keys_are_audited(api: tuple[TestClient, Service, dict[str, dict[str, str]]]) -> None:
    client, svc, heads = api
    svc.accounts.add_api_key("gateway-1", Role.VIEWER, NOW)
    entries = client.get("/api/v1/audit", headers=heads["quan.tri"]).json()["entries"]
    assert [(e["action"], e["target"], e["actor"]) for e in entries] == [
        ("apikey.create", "gateway-1", "cli"), ("account.set", "truc.ban", "cli"), ("account.set", "quan.tri", "cli")]
    assert all("password" not in str(e["detail"]) for e in entries)


def test_the_first_admin_comes_from_the_environment_only_while_there_is_no_account(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = Service(make_settings(tmp_path / "data"), clock=lambda: NOW)
    monkeypatch.delenv("TICHWATCH_ADMIN_PASSWORD", raising=False)
    try:
        assert not bootstrap_admin(svc.accounts, NOW)  # no password in the environment: nothing to do
        monkeypatch.setenv("TICHWATCH_ADMIN_PASSWORD", "first-admin-password-1")
        assert bootstrap_admin(svc.accounts, NOW)
        assert [(u.username, u.role) for u in svc.accounts.users()] == [("admin", Role.ADMIN)]
        assert not bootstrap_admin(svc.accounts, NOW)  # accounts exist: the environment never resets a password
    finally:
        svc.store.close()
