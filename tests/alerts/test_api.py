"""The alert endpoints against the real app, store and accounts: public reads, officers' actions, acknowledge links."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.alerts.harness import Clock, detection, flood_level, people_settings
from tests.support import jpeg
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.core.detection import Detection, Severity

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
    return svc.store.query_one("SELECT id FROM alerts WHERE kind = 'flood.level'")[0]


def test_public_reads_with_filters_and_audit_log(api: tuple[TestClient, Service, Clock]) -> None:
    client, svc, clock = api
    alert_id = _raise_bd2(svc, clock)
    listed = client.get("/api/v1/alerts").json()
    assert listed["count"] == 1 and listed["alerts"][0]["id"] == alert_id
    doc = listed["alerts"][0]
    assert doc["subject_name"] == "Trạm thử" and doc["severity"] == "critical" and doc["level"] == "BD2"
    assert doc["started_at_local"].endswith("+07:00") and doc["url"].endswith(f"/alerts/{alert_id}")
    assert doc["title"] == "[BÁO ĐỘNG II] Trạm thử: mực nước 7,42 m lúc 21:13 ngày 21/09/2026, vượt báo động II"
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


def test_the_active_list_is_most_severe_first_then_newest_across_pages(api: tuple[TestClient, Service, Clock]) -> None:
    client, svc, clock = api
    raised = [("camera.offline", "cam1", Severity.WARNING), ("flood.level", "st1", Severity.EMERGENCY),
              ("sensor.spike", "st2", Severity.INFO), ("flood.rapid_rise", "st2", Severity.WARNING),
              ("flood.level", "st2", Severity.CRITICAL), ("sensor.battery", "st1", Severity.WARNING)]
    for kind, subject, severity in raised:  # one a minute: the camera first, the battery last
        d = (flood_level(subject, {Severity.EMERGENCY: "BD3", Severity.CRITICAL: "BD2"}[severity], clock())
             if kind == "flood.level" else detection(kind, subject, clock(), severity=severity))
        with svc.store.transaction() as conn:
            svc.alerts.engine.apply(conn, [d], clock())
        clock.advance(60)
    expected = [("flood.level", "st1"), ("flood.level", "st2"), ("sensor.battery", "st1"),
                ("flood.rapid_rise", "st2"), ("camera.offline", "cam1"), ("sensor.spike", "st2")]
    listed = client.get("/api/v1/alerts").json()["alerts"]
    assert [(a["kind"], a["subject"]) for a in listed] == expected
    paged, url = [], "/api/v1/alerts?limit=4"
    while url:
        page = client.get(url).json()
        paged += [(a["kind"], a["subject"]) for a in page["alerts"]]
        url = page["next"]
    assert paged == expected  # the cursor carries the severity: no alert twice or missed
    history = client.get("/api/v1/alerts", params={"state": "all"}).json()["alerts"]
    assert [(a["kind"], a["subject"]) for a in history] == [(k, s) for k, s, _ in reversed(raised)]  # newest first


def test_titles_in_the_language_asked_for(api: tuple[TestClient, Service, Clock]) -> None:
    client, svc, clock = api
    alert_id = _raise_bd2(svc, clock)
    english = "[ALARM LEVEL II] Trạm thử: water level 7.42 m at 21:13 on 21/09/2026, above alarm level II"
    vietnamese = "[BÁO ĐỘNG II] Trạm thử: mực nước 7,42 m lúc 21:13 ngày 21/09/2026, vượt báo động II"
    assert client.get("/api/v1/alerts", params={"lang": "en"}).json()["alerts"][0]["title"] == english
    assert client.get(f"/api/v1/alerts/{alert_id}", params={"lang": "en"}).json()["alert"]["title"] == english
    by_header = client.get("/api/v1/alerts", headers={"Accept-Language": "fr;q=0.9, en-GB;q=0.8, vi;q=0.1"})
    assert by_header.json()["alerts"][0]["title"] == english and "Accept-Language" in by_header.headers["vary"]
    assert client.get("/api/v1/alerts", headers={"Accept-Language": "de"}).json()["alerts"][0]["title"] == vietnamese
    assert client.get("/api/v1/alerts", params={"lang": "fr"}).status_code == 422


def test_an_alert_page_says_what_the_detector_saw(api: tuple[TestClient, Service, Clock]) -> None:
    """The alert document carries the body officers are sent (figures, threshold, a dust detection's evidence that
    fired with its values, in the language asked for) and a dust detection's outlined snapshot, so that a "false
    alarm" answer is an informed one."""
    client, svc, clock = api
    facts = {"hand_model": {"value": 0.91, "fired": True}, "growth": {"value": 1.35, "fired": True},
             "haze": {"value": 0.004, "fired": False}}
    plume = Detection("dust.plume", "cam1", clock(), True, Severity.WARNING, 0.91, "index", reason="plume",
                      evidence={"dust_index": 0.91, "threshold": 0.6, "cells": [[2, 3]], "evidence": facts},
                      snapshot_jpeg=jpeg())
    with svc.store.transaction() as conn:
        evidence_id = svc.store.save_evidence(conn, plume, clock())
        assert evidence_id is not None
        plume.evidence["evidence_id"] = evidence_id
        svc.store.insert_detection(conn, plume, evidence_id)
        svc.alerts.engine.apply(conn, [plume], clock())
    dust_id = svc.store.query_one("SELECT id FROM alerts WHERE kind = 'dust.plume'")[0]
    doc = client.get(f"/api/v1/alerts/{dust_id}").json()["alert"]
    assert "Bằng chứng: đặc trưng ảnh 0,91, lan rộng 1,35." in doc["message"], doc["message"]
    assert not any("mờ đục" in line for line in doc["message"])  # what did not fire is not claimed
    image = client.get(doc["evidence_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    english = client.get(f"/api/v1/alerts/{dust_id}", params={"lang": "en"}).json()["alert"]["message"]
    assert "Evidence: image features 0.91, growth 1.35." in english
    flood_id = _raise_bd2(svc, clock)
    flood = client.get(f"/api/v1/alerts/{flood_id}").json()["alert"]
    assert "evidence_url" not in flood
    assert flood["message"][:2] == ["Trạm thử, sông Tích: mực nước 7,42 m lúc 21:13 ngày 21/09/2026, vượt báo động II.",
                                    "Xu thế: đang lên 0,10 m/giờ."], flood["message"]
