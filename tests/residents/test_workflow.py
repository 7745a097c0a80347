"""Drafting, editing, approving and publishing bulletins over HTTP, with the audit log, the channels, the public
endpoints and feeds, and the schedule (daily, hourly in a flood, emergencies without approval)."""
from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from PIL import Image

from tests.residents.conftest import NOW, World, make_world
from tests.support import new_schema_url, wait_for
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.residents.bulletins.desk import BulletinDesk
from tichwatch.residents.bulletins.schedule import is_due, is_emergency, last_slot
from tichwatch.residents.bulletins.workflow import BulletinState
from tichwatch.store.database import URL_ENV
from tichwatch.store.leases import Leases
from tichwatch.tools.postgres import PostgresProcess

TZ = "Asia/Ho_Chi_Minh"


def test_draft_edit_approve_publish_with_audit(world: World) -> None:
    c = world.client
    assert c.post("/api/v1/bulletins", json={}).status_code == 401
    draft = c.post("/api/v1/bulletins", json={"kind": "routine"}, headers=world.auth("comm")).json()
    bid = draft["id"]
    assert draft["state"] == "draft" and draft["kind"] == "routine" and draft["channels"] == ["portal", "zalo"]
    assert c.get(f"/api/v1/bulletins/{bid}").status_code == 404  # not public before publication
    world.clock[0] = NOW + 60
    edited = c.put(f"/api/v1/bulletins/{bid}", json={"quote_vi": "Câu trích dẫn đã sửa."},
                   headers=world.auth("comm")).json()
    assert edited["vi"]["quote"] == "Câu trích dẫn đã sửa." and edited["state"] == "draft"
    assert c.post(f"/api/v1/bulletins/{bid}/approve", headers=world.auth("comm")).status_code == 403
    unapproved = c.post(f"/api/v1/bulletins/{bid}/publish", headers=world.auth("officer"))
    assert unapproved.status_code == 409 and unapproved.json()["code"] == "needs_approval"
    world.clock[0] = NOW + 120
    approved = c.post(f"/api/v1/bulletins/{bid}/approve", headers=world.auth("officer")).json()
    assert approved["state"] == "approved" and approved["approved_by"] == "officer"
    assert c.post(f"/api/v1/bulletins/{bid}/approve", headers=world.auth("officer")).status_code == 409
    world.clock[0] = NOW + 180
    published = c.post(f"/api/v1/bulletins/{bid}/publish", headers=world.auth("officer")).json()
    assert published["state"] == "published" and published["published"]["local"] == "2026-09-20T07:03:00+07:00"
    assert c.put(f"/api/v1/bulletins/{bid}", json={"text_vi": "x"}, headers=world.auth("comm")).status_code == 409
    # the request sends nothing itself: it answers with the deliveries queued in the outbox
    assert published["delivery"]["state"] == "queued"
    assert [(r["receiver"], r["state"]) for r in published["delivery"]["receivers"]] == [
        ("portal", "waiting"), ("zalo", "waiting")]
    assert world.channels["portal"].attempts == [] and world.channels["zalo"].attempts == []

    world.deliver()
    sent = world.channels["portal"].sent + world.channels["zalo"].sent
    assert [n.receiver for n in sent] == ["portal", "zalo"]
    assert sent[0].alert["id"] == bid and sent[0].notice == "bulletin"
    assert sent[0].message.text.startswith("BẢN TIN LŨ VÀ BỤI")  # the portal gets the whole text
    assert sent[1].message.text.startswith("Câu trích dẫn đã sửa.\n")  # Zalo: the quote and the links
    assert f"/api/v1/bulletins/{bid}/card.png" in sent[1].message.text

    doc = c.get(f"/api/v1/bulletins/drafts/{bid}", headers=world.auth("comm")).json()
    assert doc["delivery"]["state"] == "sent"
    assert [(r["receiver"], r["state"], r["attempts"]) for r in doc["delivery"]["receivers"]] == [
        ("portal", "sent", 1), ("zalo", "sent", 1)]
    log = doc["log"]
    assert [(e["action"], e["actor"]) for e in log] == [
        ("created", "key:comm"), ("edited", "key:comm"), ("approved", "officer"), ("published", "officer"),
        ("audio_ready", "officer"), ("queued", "officer"), ("queued", "officer")]
    assert log[1]["detail"]["fields"]["quote_vi"]["new"] == "Câu trích dẫn đã sửa."
    assert log[1]["detail"]["fields"]["quote_vi"]["old"].startswith("Theo hệ thống TichWatch")
    assert log[0]["time"]["local"] == "2026-09-20T07:00:00+07:00"


def test_public_endpoints_of_a_published_bulletin(world: World) -> None:
    c = world.client
    bid = c.post("/api/v1/bulletins", json={}, headers=world.auth("officer")).json()["id"]
    c.post(f"/api/v1/bulletins/{bid}/publish", json={"channels": ["portal"]}, headers=world.auth("officer"))
    listed = c.get("/api/v1/bulletins").json()["bulletins"]
    assert [b["id"] for b in listed] == [bid] and listed[0]["quote"]["vi"].startswith("Theo hệ thống TichWatch")
    doc = c.get(f"/api/v1/bulletins/{bid}").json()
    assert doc["kind"] == "emergency"
    text = c.get(f"/api/v1/bulletins/{bid}.txt", params={"lang": "en"})
    assert text.headers["content-type"].startswith("text/plain") and "Quotable as is" in text.text
    for figure in doc["figures"]:  # every permalink returns exactly its figure
        path = figure["permalink"].removeprefix("http://127.0.0.1:8080")
        got = c.get(path).json()
        assert got["level_m" if figure["kind"] == "level" else "value"] == figure["value"], figure["key"]
    for name, size in (("chart.png", (1200, 630)), ("card.png", (1080, 1080))):
        for lang in ("vi", "en"):
            r = c.get(f"/api/v1/bulletins/{bid}/{name}", params={"lang": lang})
            assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == size
    audio = c.get(f"/api/v1/bulletins/{bid}/audio.ogg")
    assert audio.headers["content-type"] == "audio/ogg" and audio.content[:4] == b"OggS"
    assert c.get(f"/api/v1/bulletins/{bid}/audio.wav").status_code == 404
    assert c.get(f"/api/v1/bulletins/{bid}/figures/nope").status_code == 404


def test_feeds_parse_without_errors(world: World) -> None:
    c = world.client
    bid = c.post("/api/v1/bulletins", json={}, headers=world.auth("officer")).json()["id"]
    c.post(f"/api/v1/bulletins/{bid}/publish", headers=world.auth("officer"))
    for lang in ("vi", "en"):
        r = c.get("/feeds/bulletins.atom", params={"lang": lang})
        assert r.headers["content-type"].startswith("application/atom+xml")
        feed = feedparser.parse(r.content)
        assert not feed.bozo, feed.bozo_exception
        entry = feed.entries[0]
        assert entry.id.endswith(f"/api/v1/bulletins/{bid}") and entry.summary.startswith(
            "Theo hệ thống" if lang == "vi" else "According to")
        assert {e.type for e in entry.enclosures} == {"image/png", "audio/ogg"}
        alerts = feedparser.parse(c.get("/feeds/alerts.atom", params={"lang": lang}).content)
        assert not alerts.bozo, alerts.bozo_exception
        (item,) = alerts.entries
        cap_link = next(link.href for link in item.links if link.type == "application/cap+xml")
        cap = c.get(cap_link.removeprefix("http://127.0.0.1:8080"))
        assert cap.status_code == 200 and cap.headers["content-type"].startswith("application/cap+xml")
        assert b"<msgType>Update</msgType>" in cap.content
    assert c.get("/feeds/cap/nope-1.xml").status_code == 404


def test_schedule_rules() -> None:
    assert is_emergency([("flood.level", "BD2")], "BD2") and is_emergency([("flood.level", "RECORD")], "BD2")
    assert not is_emergency([("flood.level", "BD1"), ("flood.forecast", "BD3")], "BD2")
    at_0705 = NOW + 300
    assert last_slot(at_0705, False, "07:00", TZ) == NOW
    assert last_slot(NOW - 300, False, "07:00", TZ) == NOW - 86400  # 06:55: yesterday's 07:00
    assert last_slot(NOW + 3 * 3600 + 1200, True, "07:00", TZ) == NOW + 3 * 3600  # 10:20 in a flood: 10:00
    assert is_due(at_0705, None, False, "07:00", TZ)
    assert not is_due(at_0705, NOW + 1, False, "07:00", TZ)
    assert is_due(NOW + 3600, NOW + 1, True, "07:00", TZ)  # hourly in a flood
    assert not is_due(NOW + 3600, NOW + 1, False, "07:00", TZ)  # daily otherwise


@pytest.fixture
def auto_world(tmp_path: Path) -> Iterator[World]:
    """A world whose emergency bulletins go out without approval."""
    yield from make_world(tmp_path / "auto", BulletinSettings(channels=["zalo"], emergency_without_approval=True,
                                                                audio_format="wav"))


def test_scheduled_emergency_bulletins_go_out_hourly_without_approval(auto_world: World) -> None:
    desk = auto_world.desk
    first = desk.tick()
    assert first is not None and first.kind == "emergency" and first.state is BulletinState.PUBLISHED
    assert first.published_by == "schedule" and first.approved_by is None
    assert desk.tick() is None  # not due again within the hour
    auto_world.clock[0] = NOW + 3600 + 5
    second = desk.tick()
    assert second is not None and second.state is BulletinState.PUBLISHED
    auto_world.deliver()
    assert len(auto_world.channels["zalo"].sent) == 2
    assert desk.files.path(second.id, "radio.wav").stat().st_size > 10_000
    log = desk.log_of(first.id)
    assert log[1].action == "published" and log[1].detail["authority"] == "emergency"


def test_communicator_publishes_emergency_without_approval_only_when_allowed(auto_world: World,
                                                                            world: World) -> None:
    for w, expected in ((auto_world, 200), (world, 403)):
        bid = w.client.post("/api/v1/bulletins", json={"kind": "emergency"}, headers=w.auth("comm")).json()["id"]
        assert w.client.post(f"/api/v1/bulletins/{bid}/publish", headers=w.auth("comm")).status_code == expected
    routine = auto_world.client.post("/api/v1/bulletins", json={"kind": "routine"},
                                     headers=auto_world.auth("comm")).json()["id"]
    refused = auto_world.client.post(f"/api/v1/bulletins/{routine}/publish", headers=auto_world.auth("comm"))
    assert refused.status_code == 409 and refused.json()["code"] == "needs_approval"


def test_routine_schedule_makes_a_draft_and_unknown_receivers_are_refused(world: World) -> None:
    with world.service.store.transaction() as conn:  # the flood is over: no open alerts
        conn.execute("UPDATE alerts SET state = 'resolved', resolved_ts = ?", (NOW,))
    made = world.desk.tick()
    assert made is not None and made.kind == "routine" and made.state is BulletinState.DRAFT
    assert world.desk.tick() is None
    r = world.client.post("/api/v1/bulletins", json={"channels": ["nope"]}, headers=world.auth("comm"))
    assert r.status_code == 400 and "not receivers that can take a bulletin" in r.json()["detail"]


def test_published_list_pages_newest_first(world: World) -> None:
    c = world.client
    ids = []
    for i in range(3):
        world.clock[0] = NOW + 60 * i
        bid = c.post("/api/v1/bulletins", json={"kind": "routine"}, headers=world.auth("comm")).json()["id"]
        assert c.post(f"/api/v1/bulletins/{bid}/approve", headers=world.auth("officer")).status_code == 200
        assert c.post(f"/api/v1/bulletins/{bid}/publish", headers=world.auth("officer")).status_code == 200
        ids.append(bid)
    first = c.get("/api/v1/bulletins", params={"limit": 2})
    assert [b["id"] for b in first.json()["bulletins"]] == ids[:0:-1]
    assert first.headers["link"] == f'<{first.json()["next"]}>; rel="next"'
    second = c.get(first.json()["next"]).json()
    assert [b["id"] for b in second["bulletins"]] == ids[:1] and second["next"] is None


def test_two_nodes_make_each_scheduled_bulletin_once_and_the_survivor_goes_on(
        tmp_path: Path, postgres_server: PostgresProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two nodes' schedules on one PostgreSQL database, each under its node's lease (`bulletin-schedule`): the
    hourly emergency bulletin is published once; when the holder dies, the other publishes the next one."""
    monkeypatch.setenv(URL_ENV, new_schema_url(postgres_server.url))
    settings = BulletinSettings(channels=["zalo"], emergency_without_approval=True, audio_format="wav",
                                tick_interval_s=0.05)
    world = make_world(tmp_path, settings)
    w = next(world)
    other = BulletinDesk(w.service.settings, settings, w.service.store, lambda r: "", lambda: w.clock[0], w.flood,
                         outbox=w.desk.outbox, stations=w.service.stations.stations)
    nodes = [(w.desk, Leases(os.environ[URL_ENV])), (other, Leases(os.environ[URL_ENV]))]

    def scheduled() -> list[str]:
        return [r.id for r in w.desk.published(limit=50) if r.published_by == "schedule"]
    try:
        for desk, leases in nodes:
            desk.lease = leases.lease("bulletin-schedule")
            desk.start()
        wait_for(lambda: len(scheduled()) == 1, timeout_s=10)
        time.sleep(0.5)  # both schedules keep ticking: nothing more is due within the hour
        assert len(scheduled()) == 1
        holder = next(leases for _, leases in nodes if leases.held())
        holder.close()  # that node dies
        w.clock[0] = NOW + 3600 + 5
        wait_for(lambda: len(scheduled()) == 2, timeout_s=10)
        time.sleep(0.5)
        assert len(scheduled()) == 2
    finally:
        for desk, leases in nodes:
            desk.stop()
            leases.close()
        next(world, None)  # the world's own teardown
