"""Self-registration over HTTP: a pending row and a code queued in the same transaction, confirmation makes it active;
codes expire, wrong tries void them, limits per address and per number hold; the answers never tell whether a number
is known; an active subscription is never changed (or stopped) by someone registering its number."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.residents.subscriptions.conftest import E164, PHONE, App, build
from tichwatch.residents.subscriptions.recipients import active_in


def _status(app: App) -> str | None:
    rows = app.rows("SELECT status FROM subscribers WHERE phone = ?", (E164,))
    return str(rows[0][0]) if rows else None


def test_a_resident_registers_confirms_and_is_reached(app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    r = app.register(hamlet_id="thon-2", lang="en", channel="sms")
    assert r.status_code == 202 and r.json()["status"] == "check_your_phone"
    assert _status(app) == "pending"
    assert active_in(app.service.store.query_all, ["thon-2"]) == []  # nothing is sent before the phone is proven
    [(sid, text, _)] = app.codes.sent
    assert app.codes.in_transaction == [True]  # queued with the pending row: both commit or neither
    assert "your code" in text and "15 minutes" in text  # in the language asked for
    code = app.codes.last_code()
    assert code not in str(app.rows("SELECT * FROM subscriber_codes")[0][:])  # only its keyed hash is kept
    r = app.confirm(code, phone="+84 912 345 678")  # written another way: the same number
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert r.json()["unsubscribe_url"] == app.service.subscriptions.link_for(sid)
    assert r.json()["unsubscribe_url"].startswith("http://127.0.0.1:8080/huy/")
    [reached] = active_in(app.service.store.query_all, ["thon-2"])
    assert (reached.phone, reached.hamlet_id, reached.lang, reached.channel) == (E164, "thon-2", "en", "sms")
    row = app.rows("SELECT consent_ts, consent_text, consent_version, registered_by FROM subscribers")[0]
    assert row["consent_ts"] == app.clock.now and row["consent_version"] == "2026-1" and row["registered_by"] == "self"
    assert row["consent_text"] == app.service.settings.subscriptions.consent_en
    assert app.rows("SELECT COUNT(*) FROM subscriber_codes")[0][0] == 0  # a code is used once
    assert app.confirm(code).status_code == 400
    assert "912345678" not in caplog.text and "345 678" not in caplog.text and code not in caplog.text


def test_a_code_expires(app: App) -> None:
    app.register()
    code = app.codes.last_code()
    app.clock.now += app.service.settings.subscriptions.code_valid_s + 1
    r = app.confirm(code)
    assert r.status_code == 400 and "register again" in r.json()["detail"]
    assert _status(app) == "pending"


def test_wrong_codes_void_the_code_after_the_allowed_attempts(app: App) -> None:
    app.register()
    code = app.codes.last_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(app.service.settings.subscriptions.code_attempts):
        assert app.confirm(wrong).status_code == 400
    assert app.confirm(code).status_code == 400  # the right one, too late
    assert _status(app) == "pending"
    app.register()  # a new code works
    assert app.confirm(app.codes.last_code()).status_code == 200


def test_the_answers_are_the_same_for_known_and_unknown_numbers(app: App) -> None:
    first = app.register()
    app.confirm(app.codes.last_code())
    again = app.register()  # now active
    other = app.register(phone="0987 654 321")  # unknown
    assert first.json() == again.json() == other.json() and first.status_code == again.status_code == 202
    unknown = app.confirm("123456", phone="0388 888 888")
    wrong = app.confirm("999999" if app.codes.last_code() != "999999" else "999998", phone="0987 654 321")
    assert unknown.status_code == wrong.status_code == 400 and unknown.json()["detail"] == wrong.json()["detail"]


def test_registering_an_active_number_changes_nothing_until_its_code_is_confirmed(app: App) -> None:
    app.register(hamlet_id="thon-1")
    app.confirm(app.codes.last_code())
    app.register(hamlet_id="thon-3", channel="sms")  # someone else types the resident's number
    assert _status(app) == "active"
    [still] = active_in(app.service.store.query_all, ["thon-1"])
    assert still.channel == "zns"
    assert app.confirm(app.codes.last_code()).status_code == 200  # the resident themself moves to thôn 3
    assert [r.hamlet_id for r in active_in(app.service.store.query_all, ["thon-1", "thon-3"])] == ["thon-3"]


def test_codes_per_number_per_day_are_bounded_silently(app: App) -> None:
    limit = app.service.settings.subscriptions.codes_per_phone_per_day
    answers = [app.register() for _ in range(limit + 2)]
    assert {a.status_code for a in answers} == {202} and len({a.text for a in answers}) == 1
    assert len(app.codes.sent) == limit  # the resident's phone is not flooded
    app.clock.now += 86_400 + 1
    app.register()
    assert len(app.codes.sent) == limit + 1


def test_registrations_per_client_address_are_limited(tmp_path: Path) -> None:
    for app in build(tmp_path, registrations_per_address_per_hour=3, confirmations_per_address_per_hour=2):
        answers = [app.register(phone=f"0912 345 67{i}").status_code for i in range(4)]
        assert answers == [202, 202, 202, 429]
        limited = app.register(phone="0912 345 679")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        assert [app.confirm("000000").status_code for _ in range(3)] == [400, 400, 429]
        app.clock.now += 3600
        assert app.register(phone="0912 345 670").status_code == 202


def test_ipv6_clients_are_limited_per_64_not_per_address(tmp_path: Path) -> None:
    # One IPv6 client owns a whole /64: counted per address, it could rotate addresses and have a code sent to any
    # number it likes, without end.
    for app in build(tmp_path, registrations_per_address_per_hour=2):
        app.service.settings.http.trusted_proxies.append("testclient")  # the test client stands for a reverse proxy

        def register_from(address: str, i: int, app: App = app) -> int:
            body = {"phone": f"0912 000 {i:03d}", "hamlet_id": "thon-1", "consent": True, "consent_version": "2026-1"}
            return int(app.client.post("/api/v1/subscriptions", json=body,
                                       headers={"X-Forwarded-For": address}).status_code)

        assert [register_from(f"2001:db8:1:2::{i + 1:x}", i) for i in range(3)] == [202, 202, 429]
        assert register_from("2001:db8:1:3::1", 3) == 202  # another /64: another client
        assert [register_from("203.0.113.7", 4), register_from("::ffff:203.0.113.7", 5),
                register_from("203.0.113.7", 6)] == [202, 202, 429]  # IPv4, also written IPv4-mapped
        assert len(app.codes.sent) == 5


def test_the_deployment_sends_at_most_codes_per_hour_however_many_addresses_ask(tmp_path: Path) -> None:
    # Each code costs a message: rotating client addresses must not get past a deployment-wide budget.
    for app in build(tmp_path, codes_per_hour=3):
        app.service.settings.http.trusted_proxies.append("testclient")

        def register_from(i: int, app: App = app) -> Any:
            body = {"phone": f"0912 000 {i:03d}", "hamlet_id": "thon-1", "consent": True, "consent_version": "2026-1"}
            return app.client.post("/api/v1/subscriptions", json=body, headers={"X-Forwarded-For": f"198.51.100.{i}"})

        assert [register_from(i).status_code for i in range(3)] == [202, 202, 202]
        busy = register_from(3)
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
        assert busy.headers["content-type"].startswith("application/problem+json")
        assert len(app.codes.sent) == 3 and app.rows("SELECT COUNT(*) FROM subscribers")[0][0] == 3
        app.clock.now += 3601
        assert register_from(4).status_code == 202


def test_never_confirmed_registrations_are_deleted_with_their_number(app: App) -> None:
    app.register()
    app.clock.now += app.service.settings.subscriptions.pending_keep_s + 1
    app.register(phone="0987 654 321")
    assert [r[0] for r in app.rows("SELECT phone FROM subscribers")] == ["+84987654321"]
    assert app.rows("SELECT COUNT(*) FROM subscriber_codes")[0][0] == 1


def test_a_registration_needs_consent_a_known_hamlet_a_mobile_number_and_the_current_text(app: App) -> None:
    assert app.register(consent=False).status_code == 422
    assert app.register(hamlet_id="thon-99").status_code == 422
    assert app.register(phone="024 3826 1234").json()["detail"].startswith("phone:")
    stale = app.register(consent_version="2025-0")
    assert stale.status_code == 409 and "reload" in stale.json()["detail"]
    assert app.register(lang="fr").status_code == 422 and app.register(channel="fax").status_code == 422
    assert app.codes.sent == [] and app.rows("SELECT COUNT(*) FROM subscribers")[0][0] == 0


def test_self_registration_can_be_off(tmp_path: Path) -> None:
    for app in build(tmp_path, self_registration=False):
        form = app.client.get("/api/v1/subscriptions/form").json()
        assert form["self_registration"] is False
        assert app.register().status_code == 403 and app.codes.sent == []


def test_the_public_form_data_hold_hamlets_and_consent_and_no_personal_data(app: App) -> None:
    app.register()
    app.confirm(app.codes.last_code())
    body = app.client.get("/api/v1/subscriptions/form").json()
    assert [h["id"] for h in body["hamlets"]] == ["thon-1", "thon-2", "thon-3"]
    assert body["consent_version"] == "2026-1" and body["consent"]["vi"].startswith("Tôi đồng ý")
    assert "+84" not in str(body) and "678" not in str(body)
    assert app.client.get("/api/v1/subscribers").status_code == 401
    assert app.client.get("/api/v1/subscribers/summary").status_code == 401


def test_hostile_bodies_are_refused_before_anything_is_stored(app: App) -> None:
    huge = b'{"phone": "' + b"9" * 100_000 + b'"}'
    assert app.client.post("/api/v1/subscriptions", content=huge,
                           headers={"content-type": "application/json"}).status_code == 413
    assert app.client.post("/api/v1/subscriptions", content=b"{not json",
                           headers={"content-type": "application/json"}).status_code == 400
    assert app.client.post("/api/v1/subscriptions", content=b"[1, 2]",
                           headers={"content-type": "application/json"}).status_code == 400
    assert app.client.post("/api/v1/subscriptions", content=b"[" * 2000 + b"]" * 2000,
                           headers={"content-type": "application/json"}).status_code == 400
    assert app.client.post("/api/v1/subscriptions", content=b"[" * 2000,
                           headers={"content-type": "application/json"}).status_code == 400
    assert app.client.post("/api/v1/subscriptions", content="&".join(f"f{i}=1" for i in range(50)).encode(),
                           headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    assert app.client.post("/api/v1/subscriptions", content=b"\xff\xfe",
                           headers={"content-type": "application/json"}).status_code == 400
    assert app.client.post("/api/v1/subscriptions", json={"phone": 912345678}).status_code == 422
    assert app.client.post("/api/v1/subscriptions/confirm", json={"phone": PHONE, "code": "1" * 500}).status_code == 422
    assert app.register(phone="0912<script>").status_code == 422
    assert app.register(hamlet_id="thon-1' OR 1=1 --").status_code == 422
    assert app.rows("SELECT COUNT(*) FROM subscribers")[0][0] == 0
