"""The bulletin desk's rules over HTTP: separation of duties (nobody approves what they wrote; an edit withdraws the
approval; publication needs approval except under the emergency rule, which is logged), retrying a failed delivery,
searching published bulletins, previews of drafts, and the live `bulletin` events."""
from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.residents.conftest import NOW, World
from tichwatch.alerts.channels.base import DeliveryResult
from tichwatch.api.accounts import Role
from tichwatch.app.schema import MIGRATIONS
from tichwatch.core.events import BulletinChanged
from tichwatch.residents.bulletins import storage
from tichwatch.residents.bulletins.files import PREVIEWS_KEPT
from tichwatch.residents.bulletins.storage import Search, search_words
from tichwatch.store.store import Store


def _key(world: World, name: str, role: Role) -> dict[str, str]:
    """Headers of a new API key `name` (its actor is `key:<name>`)."""
    return {"X-API-Key": world.service.accounts.add_api_key(name, role, NOW)}


def _draft(world: World, who: dict[str, str], kind: str = "routine") -> str:
    r = world.client.post("/api/v1/bulletins", json={"kind": kind}, headers=who)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _post(world: World, path: str, who: dict[str, str], body: dict[str, Any] | None = None) -> Any:
    return world.client.post(f"/api/v1/bulletins/{path}", json=body, headers=who)


def _doc(world: World, bid: str, who: dict[str, str]) -> dict[str, Any]:
    r = world.client.get(f"/api/v1/bulletins/drafts/{bid}", headers=who)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_nobody_approves_a_bulletin_they_drafted_an_admin_neither(world: World) -> None:
    officer, officer2 = world.auth("officer"), world.person("officer2", Role.OFFICER)
    admin = world.person("admin", Role.ADMIN)
    for author in (officer, admin):
        bid = _draft(world, author)
        assert _doc(world, bid, author)["allowed"]["approve"] is False  # the page shows no button
        refused = _post(world, f"{bid}/approve", author)
        assert refused.status_code == 403 and refused.json()["code"] == "own_bulletin"
        assert "another officer must approve" in refused.json()["detail"]
        assert _doc(world, bid, officer2)["allowed"]["approve"] is True
        approved = _post(world, f"{bid}/approve", officer2).json()
        assert approved["state"] == "approved" and approved["approved_by"] == "officer2"
    comm_draft = _draft(world, world.auth("comm"))
    assert _post(world, f"{comm_draft}/approve", world.auth("comm")).status_code == 403  # the role: officers approve
    assert _doc(world, comm_draft, world.auth("comm"))["allowed"]["approve"] is False


def test_an_api_key_cannot_approve_even_with_the_officer_role(world: World) -> None:
    bid = _draft(world, world.auth("comm"))
    machine = _key(world, "siren-gateway", Role.OFFICER)
    assert _doc(world, bid, machine)["allowed"]["approve"] is False
    refused = _post(world, f"{bid}/approve", machine)
    assert refused.status_code == 403 and refused.json()["code"] == "person_required"
    assert _doc(world, bid, world.auth("officer"))["state"] == "draft"
    assert _post(world, f"{bid}/approve", world.auth("officer")).status_code == 200  # a signed-in officer may


def test_whoever_edited_the_texts_cannot_approve_them(world: World) -> None:
    bid = _draft(world, world.auth("comm"))
    r = world.client.put(f"/api/v1/bulletins/{bid}", json={"title_vi": "Bản tin đã sửa"}, headers=world.auth("officer"))
    assert r.status_code == 200
    assert _doc(world, bid, world.auth("officer"))["authors"] == ["key:comm", "officer"]
    assert _post(world, f"{bid}/approve", world.auth("officer")).json()["code"] == "own_bulletin"
    assert _post(world, f"{bid}/approve", world.person("officer2", Role.OFFICER)).status_code == 200


def test_an_edit_after_approval_withdraws_it_and_publication_waits_for_a_new_one(world: World) -> None:
    comm, officer = world.auth("comm"), world.auth("officer")
    bid = _draft(world, comm)
    assert _post(world, f"{bid}/approve", officer).status_code == 200
    world.clock[0] = NOW + 60
    edited = world.client.put(f"/api/v1/bulletins/{bid}", json={"quote_vi": "Câu mới."}, headers=comm).json()
    assert edited["state"] == "draft" and edited["approved_by"] is None and edited["approved"] is None
    doc = _doc(world, bid, comm)
    assert [e["action"] for e in doc["log"]][-2:] == ["edited", "approval_withdrawn"]
    assert doc["log"][-1]["detail"] == {"reason": "edited after approval", "approved_by": "officer"}
    assert doc["allowed"]["publish"] is None and doc["allowed"]["publish_refused"] == "needs_approval"
    refused = _post(world, f"{bid}/publish", officer)
    assert refused.status_code == 409 and refused.json()["code"] == "needs_approval"
    assert _post(world, f"{bid}/approve", officer).status_code == 200
    assert _doc(world, bid, comm)["allowed"]["publish"] == "approval"
    published = _post(world, f"{bid}/publish", comm, {"channels": ["portal"]})  # the communicator sends it out
    assert published.status_code == 200 and published.json()["state"] == "published"
    entry = next(e for e in _doc(world, bid, comm)["log"] if e["action"] == "published")
    assert entry["actor"] == "key:comm" and entry["detail"]["authority"] == "approval"
    assert entry["detail"]["approved_by"] == "officer" and "without_approval" not in entry["detail"]


def test_the_emergency_rule_lets_an_officer_publish_an_emergency_draft_without_approval_logged(world: World) -> None:
    comm, officer = world.auth("comm"), world.auth("officer")
    rules = world.client.get("/api/v1/bulletins/desk", headers=comm).json()
    (alert_id,) = rules["emergency"]["alerts"]  # báo động II at st1 is open: an emergency is in force
    assert rules["emergency"]["in_force"] and not rules["emergency"]["communicators_without_approval"]
    by_comm = _draft(world, comm, "emergency")
    refused = _post(world, f"{by_comm}/publish", comm)
    assert refused.status_code == 403 and refused.json()["code"] == "emergency_needs_officer"
    own = _draft(world, officer, "emergency")
    assert _doc(world, own, officer)["allowed"]["publish"] == "emergency"
    published = _post(world, f"{own}/publish", officer)
    assert published.status_code == 200 and published.json()["approved_by"] is None
    entry = next(e for e in _doc(world, own, officer)["log"] if e["action"] == "published")
    assert entry["detail"]["authority"] == "emergency" and entry["detail"]["without_approval"] is True
    assert entry["detail"]["emergency_alerts"] == [alert_id]
    routine = _draft(world, officer)  # the rule is for emergency bulletins only
    assert _post(world, f"{routine}/publish", officer).json()["code"] == "needs_approval"
    with world.service.store.transaction() as conn:  # the flood is over: the rule no longer applies
        conn.execute("UPDATE alerts SET state = 'resolved', resolved_ts = ?", (NOW,))
    late = _post(world, f"{by_comm}/publish", officer)
    assert late.status_code == 409 and late.json()["code"] == "no_emergency"


def test_a_failed_delivery_is_retried_once_on_request_audited(world: World) -> None:
    comm, officer = world.auth("comm"), world.auth("officer")
    world.channels["portal"].failures = [DeliveryResult.fail("HTTP 400: unknown page")]
    bid = _draft(world, comm)
    _post(world, f"{bid}/approve", officer)
    assert _post(world, f"{bid}/deliveries/portal/retry", comm).json()["code"] == "not_published"
    _post(world, f"{bid}/publish", officer)
    world.deliver()
    portal = next(r for r in _doc(world, bid, comm)["delivery"]["receivers"] if r["receiver"] == "portal")
    assert portal["state"] == "failed" and "HTTP 400" in portal["error"]
    assert world.client.post(f"/api/v1/bulletins/{bid}/deliveries/portal/retry").status_code == 401
    assert _post(world, f"{bid}/deliveries/portal/retry", _key(world, "viewer", Role.VIEWER)).status_code == 403
    already = _post(world, f"{bid}/deliveries/zalo/retry", comm)
    assert already.status_code == 409 and already.json()["code"] == "already_sent"
    never = _post(world, f"{bid}/deliveries/log/retry", comm)
    assert never.status_code == 404 and never.json()["code"] == "no_delivery"
    world.clock[0] = NOW + 300
    first = _post(world, f"{bid}/deliveries/portal/retry", comm).json()
    second = _post(world, f"{bid}/deliveries/portal/retry", comm).json()  # a double click queues nothing more
    assert (first["retried"], second["retried"]) == (True, False)
    assert {r["receiver"]: r["state"] for r in second["delivery"]["receivers"]} == {"portal": "waiting",
                                                                                    "zalo": "sent"}
    rows = world.service.store.query_all("SELECT state FROM notifications WHERE bulletin_id = ? AND receiver = "
                                         "'portal' ORDER BY id", (bid,))
    assert [r[0] for r in rows] == ["failed", "pending"]
    world.deliver()
    assert len(world.channels["portal"].sent) == 1
    assert _doc(world, bid, comm)["delivery"]["state"] == "sent"
    with world.service.store.transaction() as conn:  # the bulletin's messages to residents: counted apart, by channel
        for i, (channel, state) in enumerate([("zns", "sent"), ("zns", "pending"), ("sms", "failed")]):
            conn.execute("INSERT INTO notifications (idempotency_key, bulletin_id, receiver, channel, notice, "
                         "severity, created_ts, payload, state, next_attempt_ts, subscriber_id) VALUES (?, ?, ?, ?, "
                         "'bulletin', 10, ?, '{}', ?, ?, ?)", (f"res-{i}", bid, f"residents-{channel}-0", channel,
                                                               NOW, state, NOW, i + 1))
    delivery = _doc(world, bid, comm)["delivery"]
    assert delivery["residents"] == {"zns_sent": 1, "zns_pending": 1, "sms_failed": 1}
    assert {r["receiver"] for r in delivery["receivers"]} == {"portal", "zalo"} and delivery["state"] == "sent"
    retries = [e for e in _doc(world, bid, comm)["log"] if e["action"] == "retry_requested"]
    assert [(e["actor"], e["detail"]) for e in retries] == [("key:comm", {"receiver": "portal", "after_attempts": 1})]
    assert _post(world, f"{bid}/deliveries/portal/retry", comm).json()["code"] == "already_sent"


def _publish(world: World, title: str, at: float) -> str:
    world.clock[0] = at
    bid = _draft(world, world.auth("comm"))
    world.client.put(f"/api/v1/bulletins/{bid}", json={"title_vi": title}, headers=world.auth("comm"))
    _post(world, f"{bid}/approve", world.auth("officer"))
    assert _post(world, f"{bid}/publish", world.auth("comm"), {"channels": ["portal"]}).status_code == 200
    return bid


def test_search_published_bulletins_by_words_and_dates(world: World) -> None:
    flood = _publish(world, "NGẬP ÚNG thôn Đại Đồng", NOW)
    dust = _publish(world, "Khói mù ở Phượng Cách", NOW + 86400)
    rain = _publish(world, "Mưa đá, ngập úng cục bộ", NOW + 2 * 86400)
    _draft(world, world.auth("comm"))  # drafts are never found

    def ids(**params: str) -> list[str]:
        r = world.client.get("/api/v1/bulletins", params=params)
        assert r.status_code == 200, r.text
        return [b["id"] for b in r.json()["bulletins"]]

    assert ids(q="ngap ung dai") == [flood]  # case and tone marks ignored (đ as d), every word must be there
    assert ids(q="ĐẠI đồng") == [flood]
    assert ids(q="ngập úng") == [rain, flood]
    assert ids(q="phuong CACH") == [dust] and ids(q="Phượ mù") == [dust]  # word prefixes
    assert ids(q=dust) == [dust]  # by id
    assert set(ids(q='"khói" OR NOT * NEAR(')) <= {dust}  # operators are words to find, never FTS5 syntax
    assert ids(q='"khói" (mù)') == [dust]
    assert ids(start="2026-09-21T00:00:00+07:00") == [rain, dust]
    assert ids(start=str(NOW + 86400), end=str(NOW + 2 * 86400)) == [dust]  # end excluded
    assert ids(q="ngập", end="2026-09-21T07:00:00+07:00") == [flood]
    first = world.client.get("/api/v1/bulletins", params={"q": "ngập", "limit": 1}).json()
    assert [b["id"] for b in first["bulletins"]] == [rain] and "q=" in first["next"]
    assert [b["id"] for b in world.client.get(first["next"]).json()["bulletins"]] == [flood]
    listed = world.client.get("/api/v1/bulletins", params={"q": "khói"}).json()["bulletins"][0]
    assert (listed["created_by"], listed["approved_by"], listed["published_by"]) == ("key:comm", "officer",
                                                                                     "key:comm")
    for bad in ({"q": "?!"}, {"start": "yesterday"}, {"start": str(NOW), "end": str(NOW)}):
        r = world.client.get("/api/v1/bulletins", params=bad)
        assert r.status_code == 400 and r.json()["code"] == "bad_search", bad
    assert world.client.get("/api/v1/bulletins", params={"q": "x" * 201}).status_code == 422


def test_search_words_are_bounded() -> None:
    assert search_words("Lũ  lên—nhanh!") == ("Lũ", "lên", "nhanh")
    assert search_words("lu\u0303 Đại") == ("lũ", "Dại")  # decomposed marks join their letter; đ is d
    assert len(search_words(" ".join(["a"] * 20))) == 8 and search_words("x" * 100) == ("x" * 64,)


def test_the_search_migration_indexes_bulletins_stored_before_it(world: World, tmp_path: Any) -> None:
    record = world.desk.create("comm")
    with world.service.store.transaction() as conn:
        conn.execute("UPDATE bulletins SET state = 'published', published_ts = ?", (NOW,))
    rows = world.service.store.query_all("SELECT * FROM bulletins")
    older = Store(tmp_path / "old", MIGRATIONS[:10])  # a database from before migration 11
    with older.transaction() as conn:
        cols = rows[0].keys()
        conn.execute(f"INSERT INTO bulletins ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     tuple(rows[0]))
    older.close()
    upgraded = Store(tmp_path / "old", MIGRATIONS)
    found = storage.published(upgraded.query_all, 10, None, Search(search_words("bản tin")))
    assert [r.id for r in found] == [record.id]
    assert storage.published(upgraded.query_all, 10, None, Search(("nothingofthesort",))) == []
    upgraded.close()


def test_limits_of_each_text_are_told_and_kept(world: World) -> None:
    comm = world.auth("comm")
    limits = world.client.get("/api/v1/bulletins/desk", headers=comm).json()["limits"]
    assert limits["title_vi"] == 160 and limits["radio_vi"] == 8000 and set(limits) == {
        "title_vi", "quote_vi", "text_vi", "title_en", "quote_en", "text_en", "radio_vi"}
    bid = _draft(world, comm)
    too_long = world.client.put(f"/api/v1/bulletins/{bid}", json={"title_vi": "x" * 161}, headers=comm)
    assert too_long.status_code == 422 and "160" in too_long.text
    assert world.client.put(f"/api/v1/bulletins/{bid}", json={"title_vi": "x" * 160}, headers=comm).status_code == 200
    blank = world.client.put(f"/api/v1/bulletins/{bid}", json={"quote_en": "   "}, headers=comm)
    assert blank.status_code == 409 and blank.json()["code"] == "empty_text"


def test_previews_of_a_draft_need_the_communicator_role(world: World) -> None:
    comm = world.auth("comm")
    bid = _draft(world, comm)
    assert world.client.get(f"/api/v1/bulletins/drafts/{bid}/card.png").status_code == 401
    for name, size in (("card", (1080, 1080)), ("chart", (1200, 630))):
        r = world.client.get(f"/api/v1/bulletins/drafts/{bid}/{name}.png", params={"lang": "en"}, headers=comm)
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == size
    assert world.client.get(f"/api/v1/bulletins/{bid}/card.png").status_code == 404  # not public yet
    doc = _doc(world, bid, comm)
    assert "mét" in doc["radio_spoken"] and "7,42" not in doc["radio_spoken"]  # figures as they are read
    audio = world.client.get(f"/api/v1/bulletins/drafts/{bid}/audio", headers=comm)
    assert audio.status_code == 200 and audio.content[:4] == b"OggS"
    folder = world.desk.files.path(bid, "")
    first = sorted(p.name for p in folder.glob("preview-*"))
    assert world.client.get(f"/api/v1/bulletins/drafts/{bid}/audio", headers=comm).content == audio.content
    world.client.put(f"/api/v1/bulletins/{bid}", json={"radio_vi": "Bản tin ngắn lúc 07:00."}, headers=comm)
    assert world.client.get(f"/api/v1/bulletins/drafts/{bid}/audio", headers=comm).content != audio.content
    second = sorted(p.name for p in folder.glob("preview-*"))
    assert len(first) == 1 and len(second) == 2 and set(first) < set(second)  # the older one may still be streaming
    for n in range(PREVIEWS_KEPT + 2):  # more edits: only the newest PREVIEWS_KEPT stay
        world.client.put(f"/api/v1/bulletins/{bid}", json={"radio_vi": f"Bản tin số {n}."}, headers=comm)
        assert world.client.get(f"/api/v1/bulletins/drafts/{bid}/audio", headers=comm).status_code == 200
    assert len(list(folder.glob("preview-*"))) == PREVIEWS_KEPT


def test_each_step_and_delivery_is_a_live_bulletin_event(world: World) -> None:
    heard: list[BulletinChanged] = []
    world.service.bus.subscribe(BulletinChanged, heard.append)
    hub = world.service.hub
    start = hub.last_seq
    bid = _draft(world, world.auth("comm"))
    world.client.put(f"/api/v1/bulletins/{bid}", json={"quote_vi": "Sửa."}, headers=world.auth("comm"))
    _post(world, f"{bid}/approve", world.auth("officer"))
    _post(world, f"{bid}/publish", world.auth("officer"))
    world.deliver()
    assert [(e.action, e.state, e.actor) for e in heard] == [
        ("created", "draft", "key:comm"), ("edited", "draft", "key:comm"), ("approved", "approved", "officer"),
        ("published", "published", "officer")]
    events, lost = hub.since(f"{hub.boot}-{start}")
    assert not lost
    live = [e.data for e in events if e.type == "bulletin"]
    assert [d["action"] for d in live] == ["created", "edited", "approved", "published", "delivery", "delivery"]
    assert {d["receiver"]: d["delivery"] for d in live[4:]} == {"portal": "sent", "zalo": "sent"}
    assert all(d["bulletin_id"] == bid and "actor" not in d for d in live)  # the stream is public: no names
