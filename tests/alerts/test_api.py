"""The alert endpoints against the real app, store and accounts: public reads, officers' actions, acknowledge links."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.alerts.harness import Clock, flood_level, people_settings
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.service import Service

OFFICER_PW = "officer-password-1"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Service, Clock]]:
    clock = Clock()
    svc = Service(people_settings(tmp_path / "data"), clock=clock)
    svc.accounts.add_user("truc.ban", OFFICER_PW, Role.OFFICER, clock())
    svc.accounts.add_user("nguoi.xem", "viewer-password-1", Role.VIEWER, clock())
    with TestClient(create_app(svc, manage_lifecycle=False)) as client:
        yield client, svc, clock
    svc.store.close()


def _token(client: TestClient, user: str = "truc.ban", password: str = OFFICER_PW) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _raise_bd2(svc: Service, clock: Clock) -> str:
    with svc.store.transaction() as conn:
        svc.alerts.engine.apply(conn, [flood_level("st1", "BD2", clock(), 7.42)], clock())
    return svc.store.query_one("SELECT id FROM alerts")[0]


def test_public_reads_with_filters_and_audit_log(api: tuple[TestClient, Service, Clock]) -> None:
    client, svc, clock = api
    alert_id = _raise_bd2(svc, clock)
    listed = client.get("/api/v1/alerts").json()
    assert listed["count"] == 1 and listed["alerts"][0]["id"] == alert_id
    doc = listed["alerts"][0]
    assert doc["subject_name"] == "Trạm thử" and doc["severity"] == "critical" and doc["level"] == "BD2"
    assert doc["started_at_local"].endswith("+07:00") and doc["url"].endswith(f"/alerts/{alert_id}")
    assert doc["title"] == "[BÁO ĐỘNG II] Trạm thử: mực nước 7,42 m, vượt báo động II"
    assert client.get("/api/v1/alerts", params={"state": "resolved"}).json()["count"] == 0
    assert client.get("/api/v1/alerts", params={"kind": "flood."}).json()["count"] == 1
    assert client.get("/api/v1/alerts", params={"kind": "sensor."}).json()["count"] == 0
    assert client.get("/api/v1/alerts", params={"min_severity": "emergency"}).json()["count"] == 0
    detail = client.get(f"/api/v1/alerts/{alert_id}").json()
    assert [e["action"] for e in detail["log"]] == ["opened"]
    assert [(n["receiver"], n["notice"]) for n in detail["notifications"]] == [("duty", "firing")]
    missing = client.get("/api/v1/alerts/nope")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/alerts", params={"since": "yesterday"}).status_code == 400


def test_officer_actions_need_the_officer_role(api: tuple[TestClient, Service, Clock]) -> None:
    client, svc, clock = api
    alert_id = _raise_bd2(svc, clock)
    assert client.post(f"/api/v1/alerts/{alert_id}/ack").status_code == 401
    viewer = _token(client, "nguoi.xem", "viewer-password-1")
    assert client.post(f"/api/v1/alerts/{alert_id}/ack", headers=viewer).status_code == 403
    officer = _token(client)
    r = client.post(f"/api/v1/alerts/{alert_id}/ack", json={"comment": "Đang ra đê"}, headers=officer)
    assert r.status_code == 200 and r.json()["alert"]["state"] == "acknowledged"
    assert r.json()["alert"]["acknowledged_by"] == "truc.ban"
    r = client.post(f"/api/v1/alerts/{alert_id}/comment", json={"text": "Nước tràn ngầm thôn Đông"}, headers=officer)
    assert r.status_code == 201
    assert client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"reason": ""}, headers=officer).status_code == 422
    r = client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"reason": "Nước rút"}, headers=officer)
    assert r.status_code == 200 and r.json()["alert"]["state"] == "resolved"
    assert client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"reason": "x"}, headers=officer).status_code == 409
    log = client.get(f"/api/v1/alerts/{alert_id}").json()["log"]
    assert [(e["action"], e["actor"], e["reason"]) for e in log] == [
        ("opened", "detector", "at BD2"), ("acknowledged", "truc.ban", "Đang ra đê"),
        ("commented", "truc.ban", "Nước tràn ngầm thôn Đông"), ("resolved", "truc.ban", "Nước rút")]


def test_silences_over_http(api: tuple[TestClient, Service, Clock]) -> None:
    client, _svc, _clock = api
    officer = _token(client)
    body = {"matchers": {"subjects": ["st1"], "kinds": ["sensor."]}, "duration_s": 7200, "reason": "Thay cảm biến"}
    assert client.post("/api/v1/silences", json=body).status_code == 401
    r = client.post("/api/v1/silences", json=body, headers=officer)
    assert r.status_code == 201, r.text
    silence = r.json()["silence"]
    assert silence["active"] and silence["created_by"] == "truc.ban"
    assert [s["id"] for s in client.get("/api/v1/silences").json()["silences"]] == [silence["id"]]
    everything = {"matchers": {}, "duration_s": 60, "reason": "x"}
    assert client.post("/api/v1/silences", json=everything, headers=officer).status_code == 422
    assert client.post("/api/v1/silences", json={**body, "ends_at": "2030-01-01T00:00:00Z"},
                       headers=officer).status_code == 422
    assert client.delete(f"/api/v1/silences/{silence['id']}", headers=officer).status_code == 200
    assert client.get("/api/v1/silences").json()["silences"] == []
    assert client.delete(f"/api/v1/silences/{silence['id']}", headers=officer).status_code == 409


def _ack_link(svc: Service, alert_id: str) -> str:
    text = svc.store.query_one("SELECT payload FROM notifications WHERE alert_id = ?", (alert_id,))[0]
    match = re.search(r"/api/v1/ack/([A-Za-z0-9_\-.]+)", text)
    assert match, text
    return f"/api/v1/ack/{match.group(1)}"


def test_acknowledge_link_confirms_on_get_acknowledges_on_post_once(api: tuple[TestClient, Service, Clock]) -> None:
    client, svc, clock = api
    alert_id = _raise_bd2(svc, clock)
    link = _ack_link(svc, alert_id)
    page = client.get(link)  # what a mail scanner does: nothing changes
    assert page.status_code == 200 and "Xác nhận đã nhận tin" in page.text and "<form method=\"post\">" in page.text
    assert client.get(f"/api/v1/alerts/{alert_id}").json()["alert"]["state"] == "firing"
    done = client.post(link)
    assert done.status_code == 200 and "Đã xác nhận" in done.text
    alert = client.get(f"/api/v1/alerts/{alert_id}").json()["alert"]
    assert alert["state"] == "acknowledged" and alert["acknowledged_by"] == "link:duty"
    again = client.post(link)
    assert again.status_code == 400 and "chỉ dùng một lần" in again.text
    forged = client.post(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    assert forged.status_code == 400
    assert client.get("/api/v1/ack/garbage").status_code == 400


def test_acknowledge_link_expires(api: tuple[TestClient, Service, Clock]) -> None:
    client, svc, clock = api
    link = _ack_link(svc, _raise_bd2(svc, clock))
    clock.advance(svc.settings.alerts.ack_link_ttl_s + 1)
    r = client.post(link)
    assert r.status_code == 410 and "hết hạn" in r.text
