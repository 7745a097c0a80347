"""Leaving: the link in every message shows a page whose button unsubscribes (a GET changes nothing: link previews
fetch it), idempotent and still "done" once erased; the SMS gateway's inbound messages, authenticated by the shared
secret, unsubscribe the sender on a keyword and do nothing otherwise, logged without the number."""
from __future__ import annotations

import logging

import pytest

from tests.residents.subscriptions.conftest import E164, App
from tests.support import secret
from tichwatch.api import audit
from tichwatch.residents.subscriptions.recipients import recipient

INBOUND_SECRET = secret("inbound-shared-secret-4f9a2c")


def _subscribed(app: App) -> int:
    app.register()
    r = app.confirm(app.codes.last_code())
    assert r.status_code == 200
    return int(app.rows("SELECT id FROM subscribers WHERE phone = ?", (E164,))[0][0])


def _path(app: App, sid: int) -> str:
    return app.service.subscriptions.link_for(sid).removeprefix("http://127.0.0.1:8080")


def test_the_link_shows_a_page_and_only_its_button_unsubscribes(app: App) -> None:
    sid = _subscribed(app)
    path = _path(app, sid)
    page = app.client.get(path)
    assert page.status_code == 200 and '<form method="post"' in page.text and "Ngừng nhận tin" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert "+84" not in page.text and "678" not in page.text  # the page names no one
    assert recipient(app.service.store.query_all, sid) is not None  # looking changed nothing
    for _ in range(2):
        done = app.client.post(path)
        assert done.status_code == 200 and "Đã ngừng nhận tin" in done.text
    assert recipient(app.service.store.query_all, sid) is None
    row = app.rows("SELECT status, unsubscribe_via FROM subscribers WHERE id = ?", (sid,))[0]
    assert tuple(row) == ("unsubscribed", "link")
    entries = [e for e in audit.entries(app.service.store.query_all, 50) if e.action == "subscriber.unsubscribe"]
    assert [(e.actor, e.target) for e in entries] == [("link", f"subscriber:{sid}")]  # once, though clicked twice
    english = app.client.get(path.replace("/huy/", "/unsubscribe/") + "?lang=en")
    assert english.status_code == 200 and "Stop messages" in english.text


def test_a_forged_or_cut_link_is_refused(app: App) -> None:
    sid = _subscribed(app)
    good = _path(app, sid)
    for bad in (good[:-3], f"/huy/{sid + 1}.{good.rsplit('.', 1)[1]}", "/huy/1.AAAAAAAAAAAAAAAAAAAAAA", "/huy/x" * 3):
        assert app.client.get(bad).status_code == 404
        assert app.client.post(bad).status_code == 404
    assert recipient(app.service.store.query_all, sid) is not None
    assert app.client.post(good, content=b"x" * 100_000).status_code == 413


def _inbound(app: App, body: dict[str, str], headers: dict[str, str] | None = None, form: bool = False) -> object:
    if form:
        return app.client.post("/api/v1/sms/inbound", data=body, headers=headers or {})
    return app.client.post("/api/v1/sms/inbound", json=body, headers=headers or {})


def test_inbound_sms_needs_the_shared_secret(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = _subscribed(app)
    body = {"from": "84912345678", "text": "HUY"}
    r = app.client.post("/api/v1/sms/inbound", json=body)
    assert r.status_code == 401 and "not configured" in r.json()["detail"]  # never open
    monkeypatch.setenv("TICHWATCH_SMS_INBOUND_SECRET", INBOUND_SECRET)
    assert app.client.post("/api/v1/sms/inbound", json=body).status_code == 401
    assert app.client.post("/api/v1/sms/inbound", json=body,
                           headers={"X-Inbound-Secret": INBOUND_SECRET[:-1]}).status_code == 401
    assert app.client.post("/api/v1/sms/inbound", json=body,
                           headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert recipient(app.service.store.query_all, sid) is not None


@pytest.mark.parametrize("text", ["HUY", "Huỷ đăng ký", "tu choi", "STOP."])
def test_an_unsubscribe_keyword_unsubscribes_the_sender(app: App, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("TICHWATCH_SMS_INBOUND_SECRET", INBOUND_SECRET)
    sid = _subscribed(app)
    r = app.client.post("/api/v1/sms/inbound", data={"from": "+84912345678", "text": text},
                        headers={"X-Inbound-Secret": INBOUND_SECRET})
    assert r.status_code == 200 and r.json() == {"action": "unsubscribe"}
    assert tuple(app.rows("SELECT status, unsubscribe_via FROM subscribers")[0]) == ("unsubscribed", "sms")
    again = app.client.post("/api/v1/sms/inbound", json={"from": "0912345678", "text": text},
                            headers={"Authorization": f"Bearer {INBOUND_SECRET}"})
    assert again.json() == {"action": "unsubscribe"}  # idempotent
    assert [e.actor for e in audit.entries(app.service.store.query_all, 50, target=f"subscriber:{sid}")
            if e.action == "subscriber.unsubscribe"] == ["sms"]


def test_other_texts_and_strangers_change_nothing_and_are_logged_without_the_number(
        app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("TICHWATCH_SMS_INBOUND_SECRET", INBOUND_SECRET)
    caplog.set_level(logging.INFO)
    sid = _subscribed(app)
    headers = {"X-Inbound-Secret": INBOUND_SECRET}
    r = app.client.post("/api/v1/sms/inbound", json={"from": "84912345678", "text": "Nước lên chưa?"}, headers=headers)
    assert r.status_code == 200 and r.json() == {"action": "none"}
    stranger = app.client.post("/api/v1/sms/inbound", json={"from": "0987654321", "text": "HUY"}, headers=headers)
    assert stranger.json() == {"action": "unsubscribe"}  # the gateway learns nothing about who is subscribed
    assert recipient(app.service.store.query_all, sid) is not None
    assert "no action" in caplog.text
    for trace in ("912345678", "987654321", "0912", "Nước lên"):
        assert trace not in caplog.text
    assert app.client.post("/api/v1/sms/inbound", content=b"{", headers={**headers, "content-type":
                                                                          "application/json"}).status_code == 400
    assert app.client.post("/api/v1/sms/inbound", json={"text": "HUY"}, headers=headers).status_code == 422
    assert app.client.post("/api/v1/sms/inbound", content=b"t" * 10_000, headers=headers).status_code == 413


def test_registering_an_unsubscribed_number_changes_nothing_until_its_code_is_confirmed(app: App) -> None:
    # Anyone may type a number: a resident who left keeps their record (and when and how they left) unless the
    # code sent to their phone comes back.
    app.register(hamlet_id="thon-1")
    app.confirm(app.codes.last_code())
    [sid] = [r[0] for r in app.rows("SELECT id FROM subscribers")]
    assert app.client.post(app.service.subscriptions.link_for(sid).split("8080", 1)[1]).status_code == 200
    left = tuple(app.rows("SELECT status, hamlet_id, channel, unsubscribed_ts, unsubscribe_via FROM subscribers")[0])
    assert left[0] == "unsubscribed"
    app.clock.now += 60
    assert app.register(hamlet_id="thon-3", channel="sms").status_code == 202
    assert tuple(app.rows("SELECT status, hamlet_id, channel, unsubscribed_ts, unsubscribe_via "
                          "FROM subscribers")[0]) == left
    assert app.confirm(app.codes.last_code()).status_code == 200  # the resident's own phone got the code
    now = app.rows("SELECT status, hamlet_id, channel, unsubscribed_ts FROM subscribers")[0]
    assert tuple(now) == ("active", "thon-3", "sms", None)
