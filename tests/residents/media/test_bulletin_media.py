"""A published bulletin reaches Facebook as its card and YouTube as its video, through the desk, the outbox and the
channels the service builds from the deployment file (credentials from the environment); each is sent once."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.servers import HttpRecorder
from tests.residents.conftest import World, make_world
from tests.residents.media.google import UPLOAD_PATH, FakeYouTube
from tests.residents.media.test_facebook_photo import fields
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.residents.video import probe


@pytest.fixture
def graph() -> Iterator[HttpRecorder]:
    server = HttpRecorder(reply=lambda r: (200, {}, {"id": "300000", "post_id": "100000_200000"})).start()
    yield server
    server.stop()


@pytest.fixture
def media_world(tmp_path: Path, graph: HttpRecorder, fake_youtube: FakeYouTube,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The known world publishing to a Facebook Page and a YouTube channel on local servers."""
    monkeypatch.setenv("TICHWATCH_FACEBOOK_TOKEN", "EAAB-page-token-123")
    monkeypatch.setenv("TICHWATCH_YOUTUBE_CLIENT_ID", "client-1.apps.googleusercontent.com")
    monkeypatch.setenv("TICHWATCH_YOUTUBE_CLIENT_SECRET", "client-secret-xyz")
    monkeypatch.setenv("TICHWATCH_YOUTUBE_REFRESH_TOKEN", "refresh-abc")
    receivers = [{"name": "page", "audience": "public",
                  "channel": {"type": "facebook", "base_url": graph.url, "page_id": "100000"}},
                 {"name": "kenh", "audience": "public",
                  "channel": {"type": "youtube", "upload_url": f"{fake_youtube.url}{UPLOAD_PATH}",
                              "token_url": f"{fake_youtube.url}/token", "timeout_s": 120}},
                 {"name": "log", "channel": {"type": "log"}}]
    yield from make_world(tmp_path, BulletinSettings(channels=["page", "kenh"]),
                          {"receivers": receivers, "routes": [{"receivers": ["log"]}]}, recording=())


def test_a_published_bulletin_goes_to_facebook_as_its_card_and_to_youtube_as_its_video(
        media_world: World, graph: HttpRecorder, fake_youtube: FakeYouTube) -> None:
    world = media_world
    record = world.desk.create("comm")
    world.desk.edit(record.id, {"radio_vi": "Bản tin mực nước sông Tích: Vĩnh Phúc 7,42 m, trên báo động II."}, "comm")
    world.desk.approve(record.id, "officer")
    world.desk.publish(record.id, "officer", officer=True)
    world.deliver()
    states = {r["receiver"]: r["state"] for r in world.desk.deliveries(record.id)["receivers"]}
    assert states == {"page": "sent", "kenh": "sent"}
    files = world.desk.files
    [photo] = graph.requests
    assert photo.path == "/v19.0/100000/photos"
    form = fields(photo)
    assert form["source"].get_payload(decode=True) == files.path(record.id, "card-vi.png").read_bytes()
    assert form["message"].get_content().startswith(record.content["title_vi"])
    [session] = fake_youtube.uploads()
    video = files.path(record.id, "video-vi.mp4")
    assert bytes(session.received) == video.read_bytes() and sorted(probe(video).codecs) == ["aac", "h264"]
    assert session.resource["snippet"]["title"] == record.content["title_vi"][:100]
    assert f"/bulletins/{record.id}" in session.resource["snippet"]["description"]  # the full text's link
    world.deliver(3600)
    assert len(graph.requests) == 1 and len(fake_youtube.uploads()) == 1  # nothing twice
