"""Officers and admins over HTTP: officers list residents with masked numbers, add on a resident's behalf (consent
collected by them, active at once), change and unsubscribe; admins see whole numbers, export (CSV, JSON) and erase,
and the erasure leaves nothing about the number. Every action is in the officer audit log, never with the number."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from tests.residents.subscriptions.conftest import E164, PHONE, App, build
from tests.support import store_text
from tichwatch.api import audit
from tichwatch.residents.subscriptions.recipients import active_in, recipient


def _add(app: App, user: str = "an", phone: str = PHONE, hamlet_id: str = "thon-1", **extra: Any) -> Any:
    body = {"phone": phone, "hamlet_id": hamlet_id, "lang": "vi", "channel": "zns", "consent_collected": True, **extra}
    return app.client.post("/api/v1/subscribers", json=body, headers=app.auth(user))


def _audit(app: App) -> list[audit.AuditEntry]:
    return [e for e in reversed(audit.entries(app.service.store.query_all, 100)) if e.action.startswith("subscriber")]


def test_an_officer_adds_a_resident_who_is_active_at_once_with_consent_collected_by_them(app: App) -> None:
    r = _add(app, hamlet_id="thon-2")
    assert r.status_code == 201, r.text
    sub = r.json()["subscriber"]
    assert sub["status"] == "active" and sub["registered_by"] == "an" and sub["phone_masked"] == "+84 9x xxx x678"
    assert "phone" not in sub and "consent_text" not in sub
    assert recipient(app.service.store.query_all, sub["id"]) is not None
    consent = app.rows("SELECT consent_text, consent_ts FROM subscribers")[0]
    assert consent[0].endswith("[collected by an]") and consent[1] == app.clock.now
    assert _add(app).status_code == 409  # already there
    assert _add(app, consent_collected=False).status_code == 422
    assert _add(app, hamlet_id="thon-9").status_code == 422
    assert _add(app, "nguoi.xem").status_code == 403
    assert app.client.post("/api/v1/subscribers", json={}).status_code == 401
    [entry] = _audit(app)
    assert (entry.actor, entry.action, entry.target) == ("an", "subscriber.add", f"subscriber:{sub['id']}")
    assert entry.detail["hamlet_id"] == "thon-2"


def test_officers_see_numbers_masked_and_admins_whole(app: App) -> None:
    _add(app)
    _add(app, phone="0388 123 456", hamlet_id="thon-2")
    officer = app.client.get("/api/v1/subscribers", headers=app.auth("an")).json()
    assert officer["full_numbers"] is False
    assert [s["phone_masked"] for s in officer["items"]] == ["+84 9x xxx x678", "+84 3x xxx x456"]
    assert "912345678" not in json.dumps(officer) and "388123456" not in json.dumps(officer)
    admin = app.client.get("/api/v1/subscribers", headers=app.auth("quan.tri")).json()
    assert [s["phone"] for s in admin["items"]] == [E164, "+84388123456"]
    assert admin["items"][0]["phone_national"] == PHONE
    found = app.client.get("/api/v1/subscribers", params={"phone": "+84 388 123 456"}, headers=app.auth("an")).json()
    assert [s["hamlet_id"] for s in found["items"]] == ["thon-2"]
    assert app.client.get("/api/v1/subscribers", headers=app.auth("nguoi.xem")).status_code == 403
    assert app.client.get("/api/v1/subscribers", params={"status": "x"}, headers=app.auth("an")).status_code == 422


def test_officers_searching_whole_numbers_are_audited_and_limited(tmp_path: Path) -> None:
    # Officers see numbers masked: a search by whole number reveals whether it is subscribed, so each search is
    # audited (without the number) and officers get a bounded number of them per hour; admins see numbers anyway.
    for app in build(tmp_path, officer_lookups_per_hour=3):
        _add(app)
        officer = app.auth("an")

        def search(phone: str, headers: dict[str, str] = officer, app: App = app) -> int:
            return int(app.client.get("/api/v1/subscribers", params={"phone": phone}, headers=headers).status_code)

        assert [search(PHONE), search("0388 000 001"), search("0388 000 002"), search("0388 000 003")] == \
            [200, 200, 200, 429]
        assert search("0388 000 004", app.auth("quan.tri")) == 200  # admins see whole numbers anyway
        lookups = [e for e in _audit(app) if e.action == "subscribers.lookup"]
        assert [(e.actor, e.detail["found"]) for e in lookups] == [("an", 1), ("an", 0), ("an", 0), ("quan.tri", 0)]
        assert lookups[0].target.startswith("subscriber:")
        assert "912345678" not in str([e.detail for e in lookups]) and "388000" not in str([e.target for e in lookups])
        app.client.get("/api/v1/subscribers", headers=officer)  # a list without a number is neither audited nor counted
        assert len([e for e in _audit(app) if e.action == "subscribers.lookup"]) == 4


def test_the_list_pages_and_the_summary_counts_by_hamlet_status_and_channel(app: App) -> None:
    for i in range(5):
        _add(app, phone=f"0912 000 00{i}", hamlet_id="thon-1" if i < 3 else "thon-3", channel="sms" if i else "zns")
    headers = app.auth("an")
    first = app.client.get("/api/v1/subscribers", params={"limit": 2}, headers=headers).json()
    second = app.client.get(first["next"], headers=headers).json()
    third = app.client.get(second["next"], headers=headers).json()
    assert [s["id"] for s in first["items"] + second["items"] + third["items"]] == [1, 2, 3, 4, 5]
    assert third["next"] is None
    app.client.post("/api/v1/subscribers/5/unsubscribe", headers=headers)
    hamlets = app.client.get("/api/v1/subscribers/summary", headers=headers).json()["hamlets"]
    summary = {h["hamlet_id"]: h for h in hamlets}
    assert summary["thon-1"]["by_status"] == {"pending": 0, "active": 3, "unsubscribed": 0}
    assert summary["thon-1"]["active_by_channel"] == {"zns": 1, "sms": 2}
    assert summary["thon-3"]["by_status"]["unsubscribed"] == 1 and summary["thon-3"]["active_by_channel"]["sms"] == 1
    assert summary["thon-2"]["total"] == 0
    only = app.client.get("/api/v1/subscribers", params={"hamlet_id": "thon-3", "status": "active"}, headers=headers)
    assert [s["id"] for s in only.json()["items"]] == [4]


def test_officers_change_and_unsubscribe_and_each_change_is_audited(app: App) -> None:
    sid = _add(app).json()["subscriber"]["id"]
    headers = app.auth("an")
    r = app.client.patch(f"/api/v1/subscribers/{sid}", json={"hamlet_id": "thon-3", "channel": "sms"}, headers=headers)
    assert r.status_code == 200 and r.json()["subscriber"]["hamlet_id"] == "thon-3"
    assert app.client.patch(f"/api/v1/subscribers/{sid}", json={"hamlet_id": "nowhere"}, headers=headers).status_code \
        == 422
    assert app.client.patch(f"/api/v1/subscribers/{sid}", json={}, headers=headers).status_code == 422
    assert app.client.patch("/api/v1/subscribers/999", json={"lang": "en"}, headers=headers).status_code == 404
    assert [r.channel for r in active_in(app.service.store.query_all, ["thon-3"])] == ["sms"]
    for _ in range(2):  # idempotent
        r = app.client.post(f"/api/v1/subscribers/{sid}/unsubscribe", headers=headers)
        assert r.status_code == 200 and r.json()["subscriber"]["unsubscribe_via"] == "officer"
    assert recipient(app.service.store.query_all, sid) is None
    actions = [(e.action, e.detail) for e in _audit(app)]
    assert actions[1] == ("subscriber.change", {"before": {"hamlet_id": "thon-1", "channel": "zns"},
                                                "after": {"hamlet_id": "thon-3", "channel": "sms"}})
    assert [a for a, _ in actions] == ["subscriber.add", "subscriber.change", "subscriber.unsubscribe"]
    assert _add(app).status_code == 201  # asked again: subscribed again, same row
    assert recipient(app.service.store.query_all, sid) is not None


def test_an_officer_completes_a_self_registration_never_confirmed(app: App) -> None:
    app.register(hamlet_id="thon-2")
    code = app.codes.last_code()
    r = _add(app, hamlet_id="thon-3")
    assert r.status_code == 201 and r.json()["subscriber"]["status"] == "active"
    assert r.json()["subscriber"]["hamlet_id"] == "thon-3" and r.json()["subscriber"]["registered_by"] == "an"
    assert app.rows("SELECT COUNT(*) FROM subscriber_codes")[0][0] == 0
    assert app.confirm(code).status_code == 400  # the pending code went with it


def test_only_admins_export_and_the_export_holds_everything_about_the_number(app: App) -> None:
    sid = _add(app, hamlet_id="thon-2").json()["subscriber"]["id"]
    _add(app, phone="0388 123 456")
    assert app.client.get("/api/v1/subscribers/export", headers=app.auth("an")).status_code == 403
    headers = app.auth("quan.tri")
    one = app.client.get("/api/v1/subscribers/export", params={"phone": PHONE}, headers=headers)
    assert one.status_code == 200 and one.headers["cache-control"] == "no-store"
    [doc] = one.json()["subscribers"]
    assert doc["phone"] == E164 and doc["hamlet_id"] == "thon-2" and doc["consent_text"].endswith("[collected by an]")
    assert doc["unsubscribe_url"] == app.service.subscriptions.link_for(sid)
    assert [e["action"] for e in doc["audit"]] == ["subscriber.add", "subscribers.export"]  # oldest first
    everyone = app.client.get("/api/v1/subscribers/export", params={"format": "csv"}, headers=headers)
    assert everyone.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(everyone.text.lstrip("\ufeff"))))
    assert [r["phone"] for r in rows] == [E164, "+84388123456"] and rows[0]["hamlet"] == "Thôn 2"
    exports = [e for e in _audit(app) if e.action == "subscribers.export"]
    assert [(e.actor, e.target, e.detail["count"]) for e in exports] == [("quan.tri", f"subscriber:{sid}", 1),
                                                                         ("quan.tri", "subscribers", 2)]


def test_erasure_removes_every_trace_of_the_number_and_the_audit_says_so_without_it(app: App) -> None:
    app.register()  # a code sent (counted by the number's key), then confirmed
    app.confirm(app.codes.last_code())
    app.register(hamlet_id="thon-3")  # and a code pending again
    sid = app.rows("SELECT id FROM subscribers")[0][0]
    link = app.service.subscriptions.link_for(sid).split("127.0.0.1:8080")[1]
    erased_elsewhere: list[int] = []
    app.service.subscriptions.management.erasers.append(lambda conn, i: erased_elsewhere.append(i))
    assert app.client.post(f"/api/v1/subscribers/{sid}/erase", json={"reason": "x"},
                           headers=app.auth("an")).status_code == 403
    r = app.client.post(f"/api/v1/subscribers/{sid}/erase", headers=app.auth("quan.tri"),
                        json={"reason": "Chủ thuê bao 0912 345 678 yêu cầu, đơn ngày 02/12"})
    assert r.status_code == 200 and erased_elsewhere == [sid]
    everything = store_text(app.service.store)
    for trace in ("912345678", "0912 345 678", app.service.subscriptions.key.phone_key(E164)):
        assert trace not in everything
    [entry] = [e for e in _audit(app) if e.action == "subscriber.erase"]
    assert entry.actor == "quan.tri" and entry.target == f"subscriber:{sid}" and "[…]" in entry.detail["reason"]
    assert app.client.post(f"/api/v1/subscribers/{sid}/erase", json={"reason": "again"},
                           headers=app.auth("quan.tri")).status_code == 404
    page = app.client.post(link)  # the link in an old message still answers: done
    assert page.status_code == 200 and "Đã ngừng nhận tin" in page.text
    assert app.rows("SELECT COUNT(*) FROM subscribers")[0][0] == 0
    assert _add(app).json()["subscriber"]["id"] != sid  # ids are never given again


def test_hostile_bodies_to_officer_endpoints_are_refused(app: App) -> None:
    headers = app.auth("an")
    sid = _add(app).json()["subscriber"]["id"]
    huge = {**headers, "content-type": "application/json"}
    assert app.client.patch(f"/api/v1/subscribers/{sid}", content=b" " * 100_000, headers=huge).status_code == 413
    assert app.client.post("/api/v1/subscribers", content=b'{"phone": [', headers=huge).status_code == 400
    assert app.client.patch(f"/api/v1/subscribers/{sid}", json={"lang": "xx"}, headers=headers).status_code == 422
    assert app.client.patch(f"/api/v1/subscribers/{sid}", json={"hamlet_id": "x" * 65}, headers=headers).status_code \
        == 422
    assert app.client.get("/api/v1/subscribers", params={"cursor": "garbage"}, headers=headers).status_code == 400
    assert app.client.get("/api/v1/subscribers", params={"phone": "'; DROP TABLE"}, headers=headers).status_code == 422
    assert app.client.get("/api/v1/subscribers", params={"limit": 100_000}, headers=headers).status_code == 422
    assert app.rows("SELECT hamlet_id, lang FROM subscribers")[0][:] == ("thon-1", "vi")
