"""The officer's desk over HTTP against the real app, store and accounts: the roster (officers only) with overrides in
the officer audit log, and false-alarm marks (officers only, in the alert's log, counted on the indicators)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.alerts.harness import T0, Clock, flood_level
from tests.alerts.test_roster_notify import roster_settings
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.core.detection import Detection, Severity

PASSWORD = "desk-password-1"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Service, Clock]]:
    clock = Clock(T0)  # Monday 21:13 in Hanoi: the night shift (an, binh)
    svc = Service(roster_settings(tmp_path / "data"), clock=clock)
    for user, role in (("an", Role.OFFICER), ("nguoi.xem", Role.VIEWER), ("truyen.thong", Role.COMMUNICATOR)):
        svc.accounts.add_user(user, PASSWORD, role, clock())
    with TestClient(create_app(svc, manage_lifecycle=False)) as client:
        yield client, svc, clock
    svc.store.close()


def _auth(client: TestClient, user: str = "an") -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _names(slot: dict[str, object]) -> list[str]:
    return [o["username"] for o in slot["officers"]]  # type: ignore[attr-defined, index]


def test_only_officers_see_the_roster_now_and_next(api: tuple[TestClient, Service, Clock]) -> None:
    client, _, _ = api
    assert client.get("/api/v1/roster").status_code == 401
    assert client.get("/api/v1/roster", headers=_auth(client, "nguoi.xem")).status_code == 403
    assert client.get("/api/v1/roster", headers=_auth(client, "truyen.thong")).status_code == 403
    r = client.get("/api/v1/roster", headers=_auth(client))
    assert r.status_code == 200
    body = r.json()
    assert body["configured"] is True
    assert _names(body["now"]) == ["an", "binh"] and body["now"]["shifts"] == ["dem"]
    assert body["now"]["starts_at_local"] == "2026-09-21T19:00:00+07:00"
    assert body["now"]["ends_at_local"] == "2026-09-22T07:00:00+07:00"
    assert _names(body["next"]) == ["cuong"]
    assert [o["username"] for o in body["chain"]] == ["an", "binh", "cuong"]
    assert body["now"]["officers"][0] == {"username": "an", "name": "An", "receivers": ["an-phone"]}
    assert len(body["slots"]) == 15 and body["gaps"] == []  # 7 days of 12-hour shifts, from the current one
    assert client.get("/api/v1/roster", params={"days": 15}, headers=_auth(client)).status_code == 422


def test_an_override_swaps_the_duty_and_is_audited(api: tuple[TestClient, Service, Clock]) -> None:
    client, _, clock = api
    officer = _auth(client)
    body = {"officer": "cuong", "replaces": "an", "ends_at": "2026-09-22T07:00:00+07:00", "reason": "An đi viện"}
    assert client.post("/api/v1/roster/overrides", json=body).status_code == 401
    assert client.post("/api/v1/roster/overrides", json=body, headers=_auth(client, "nguoi.xem")).status_code == 403
    r = client.post("/api/v1/roster/overrides", json=body, headers=officer)
    assert r.status_code == 201, r.text
    made = r.json()["override"]
    assert made["officer"]["username"] == "cuong" and made["created_by"] == "an"
    roster = client.get("/api/v1/roster", headers=officer).json()
    assert _names(roster["now"]) == ["cuong", "binh"] and roster["now"]["overrides"] == [made["id"]]
    assert [o["id"] for o in roster["overrides"]] == [made["id"]]
    audit = client.get("/api/v1/audit", params={"action": "roster.override"}, headers=officer).json()["entries"]
    assert [(e["actor"], e["target"], e["detail"]["officer"], e["detail"]["replaces"], e["detail"]["reason"])
            for e in audit] == [("an", made["id"], "cuong", "an", "An đi viện")]
    bad = client.post("/api/v1/roster/overrides", json={**body, "officer": "dung"}, headers=officer)
    assert bad.status_code == 422 and "not an officer" in bad.json()["detail"]
    past = client.post("/api/v1/roster/overrides", json={**body, "ends_at": "2026-09-20T07:00:00+07:00"},
                       headers=officer)
    assert past.status_code == 422
    assert client.post("/api/v1/roster/overrides", json={**body, "ends_at": "tomorrow"},
                       headers=officer).status_code == 400
    clock.advance(60)
    cancel = f"/api/v1/roster/overrides/{made['id']}/cancel"
    assert client.post(cancel, json={"reason": "An đã khoẻ"}, headers=_auth(client, "nguoi.xem")).status_code == 403
    r = client.post(cancel, json={"reason": "An đã khoẻ"}, headers=officer)
    assert r.status_code == 200 and r.json()["override"]["cancelled_by"] == "an"
    assert client.post(cancel, json={"reason": "lần nữa"}, headers=officer).status_code == 409
    assert client.post("/api/v1/roster/overrides/o-nope/cancel", json={"reason": "x"}, headers=officer).status_code \
        == 404
    assert _names(client.get("/api/v1/roster", headers=officer).json()["now"]) == ["an", "binh"]
    cancelled = client.get("/api/v1/audit", params={"action": "roster.override.cancel"}, headers=officer).json()
    assert [(e["target"], e["detail"]["reason"]) for e in cancelled["entries"]] == [(made["id"], "An đã khoẻ")]


def _raise(svc: Service, clock: Clock, *detections: Detection) -> list[str]:
    """The ids of the alerts the detections raise, in their order."""
    with svc.store.transaction() as conn:
        svc.alerts.engine.apply(conn, list(detections), clock())
    return [svc.store.query_all("SELECT id FROM alerts WHERE kind = ?", (d.kind,))[0][0] for d in detections]


def _counts(client: TestClient) -> dict[str, tuple[int, int]]:
    rows = client.get("/api/v1/indicators").json()["false_alarms"]
    return {r["subject"]: (r["alerts"], r["false_alarms"]) for r in rows}


def test_false_alarm_mark_is_for_officers_audited_shown_and_counted(api: tuple[TestClient, Service, Clock]) -> None:
    client, svc, clock = api
    flood, dust = _raise(svc, clock, flood_level("st1", "BD2", clock(), 7.42),
                         Detection("dust.plume", "cam1", clock(), True, Severity.WARNING, 0.8, "", reason="bụi"))
    url = f"/api/v1/alerts/{flood}/false-alarm"
    note = {"note": "Rác mắc vào cảm biến, báo anh Bình 0912345678"}
    assert client.post(url, json=note).status_code == 401
    assert client.post(url, json=note, headers=_auth(client, "nguoi.xem")).status_code == 403
    officer = _auth(client)
    assert client.post(url, json={"note": ""}, headers=officer).status_code == 422
    assert client.post("/api/v1/alerts/nope/false-alarm", json=note, headers=officer).status_code == 404
    clock.advance(30)
    r = client.post(url, json=note, headers=officer)
    assert r.status_code == 201 and r.json()["false_alarm"]["marked_by"] == "an"
    assert client.post(url, json=note, headers=officer).status_code == 409
    doc = client.get(f"/api/v1/alerts/{flood}").json()
    assert doc["alert"]["false_alarm"]["note"] == "Rác mắc vào cảm biến, báo anh Bình [phone]"  # redacted: public
    assert doc["alert"]["state"] == "firing"  # a mark is not a resolution
    assert [(e["action"], e["actor"], e["reason"]) for e in doc["log"]][-1] == \
        ("false_alarm.marked", "an", "Rác mắc vào cảm biến, báo anh Bình [phone]")
    listed = {a["id"]: a["false_alarm"] for a in client.get("/api/v1/alerts").json()["alerts"]}
    assert listed[flood]["marked_by"] == "an" and listed[dust] is None
    counts = _counts(client)
    assert counts["st1"] == (1, 1) and counts["cam1"] == (1, 0) and counts["st2"] == (0, 0)
    resolved = client.post(f"/api/v1/alerts/{dust}/resolve", json={"reason": "hết bụi"}, headers=officer)
    assert resolved.status_code == 200
    assert client.post(f"/api/v1/alerts/{dust}/false-alarm", json={"note": "sương mù"},
                       headers=officer).status_code == 201  # a resolved alert can be marked too
    assert _counts(client)["cam1"] == (1, 1)
    withdraw = f"{url}/withdraw"
    assert client.post(withdraw, json={"note": "x"}, headers=_auth(client, "nguoi.xem")).status_code == 403
    r = client.post(withdraw, json={"note": "Kiểm tra lại: nước lên thật"}, headers=officer)
    assert r.status_code == 200 and r.json()["false_alarm"] is None
    assert client.post(withdraw, json={"note": "lần nữa"}, headers=officer).status_code == 409
    assert _counts(client)["st1"] == (1, 0)
    log = client.get(f"/api/v1/alerts/{flood}").json()["log"]
    assert [e["action"] for e in log][-2:] == ["false_alarm.marked", "false_alarm.withdrawn"]
