"""The YouTube channel against a local server speaking Google's token endpoint and the resumable upload: the
documented requests, a broken PUT resumed from the 308's Range, a 503 then success, a crash between attempts resumed
from the kept session, an expired session started anew, a 401 refreshed once, quotaExceeded / uploadLimitExceeded
not retried, invalid_grant; the video never uploaded twice."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.residents.media.conftest import BULLETIN_ID, bulletin_note
from tests.residents.media.google import UPLOAD_PATH, FakeYouTube, google_error
from tichwatch.alerts.channels.base import Message, Notification
from tichwatch.alerts.channels.youtube import Credentials, YouTube
from tichwatch.config.alerts import YouTubeChannel
from tichwatch.residents.bulletins.files import BulletinFiles

CREDENTIALS = Credentials("client-1.apps.googleusercontent.com", "client-secret-xyz", "refresh-abc")


def channel(server: FakeYouTube, data_dir: Path, credentials: Credentials = CREDENTIALS) -> YouTube:
    """A YouTube channel (a new one: as after a restart) uploading to the fake server."""
    cfg = YouTubeChannel(type="youtube", upload_url=f"{server.url}{UPLOAD_PATH}", token_url=f"{server.url}/token",
                         privacy_status="unlisted", request_timeout_s=5)
    return YouTube(cfg, credentials, BulletinFiles(data_dir), "vi", pause_s=0.0)


def video_bytes(data_dir: Path) -> bytes:
    """The bulletin's video as made."""
    return BulletinFiles(data_dir).path(BULLETIN_ID, "video-vi.mp4").read_bytes()


def test_upload_sends_the_documented_requests_and_keeps_the_video_id(fake_youtube: FakeYouTube,
                                                                      data_dir: Path) -> None:
    result = channel(fake_youtube, data_dir).send(bulletin_note())
    assert result.ok, result.detail
    [token_request] = fake_youtube.token_requests
    assert token_request == {"client_id": CREDENTIALS.client_id, "client_secret": "client-secret-xyz",
                             "refresh_token": "refresh-abc", "grant_type": "refresh_token"}
    [session] = fake_youtube.uploads()
    video = video_bytes(data_dir)
    assert bytes(session.received) == video and result.remote_id == session.video_id
    assert session.size == len(video) and session.content_type == "video/mp4"
    snippet, status = session.resource["snippet"], session.resource["status"]
    assert snippet["title"] == "Bản tin mực nước sông Tích 07:00 20/09/2026"
    assert "<" not in snippet["description"] and f"/bulletins/{BULLETIN_ID}" in snippet["description"]
    assert snippet["defaultLanguage"] == "vi" and snippet["categoryId"] == "25" and "sông Tích" in snippet["tags"]
    assert status == {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": False}
    [(_, _, start_headers)] = fake_youtube.requests("POST")[1:]
    assert start_headers["X-Upload-Content-Length"] == str(len(video))
    assert start_headers["Authorization"].startswith("Bearer ya29.")
    # a retry of the same delivery (its answer lost) and a republication: no second upload
    again = channel(fake_youtube, data_dir).send(bulletin_note(attempt=2))
    republished = channel(fake_youtube, data_dir).send(bulletin_note(key="key-yt-2"))
    assert again.ok and republished.ok and again.remote_id == republished.remote_id == result.remote_id
    assert len(fake_youtube.uploads()) == 1 and len(fake_youtube.requests("PUT")) == 1


def test_a_broken_put_is_resumed_from_the_range_the_server_holds(fake_youtube: FakeYouTube, data_dir: Path) -> None:
    fake_youtube.break_after = [20_000]
    result = channel(fake_youtube, data_dir).send(bulletin_note())
    assert result.ok, result.detail
    [session] = fake_youtube.uploads()
    video = video_bytes(data_dir)
    assert bytes(session.received) == video
    puts = [headers for _, _, headers in fake_youtube.requests("PUT")]
    assert [h.get("Content-Range") for h in puts] == [None, f"bytes */{len(video)}",
                                                       f"bytes 20000-{len(video) - 1}/{len(video)}"]
    assert int(puts[2]["Content-Length"]) == len(video) - 20_000  # only what the server lacked


def test_a_503_is_followed_by_a_status_query_and_the_upload_from_what_is_stored(fake_youtube: FakeYouTube,
                                                                               data_dir: Path) -> None:
    fake_youtube.put_errors = [503]
    result = channel(fake_youtube, data_dir).send(bulletin_note())
    assert result.ok, result.detail
    assert len(fake_youtube.uploads()) == 1 and bytes(fake_youtube.uploads()[0].received) == video_bytes(data_dir)
    ranges = [h.get("Content-Range") for _, _, h in fake_youtube.requests("PUT")]
    assert ranges == [None, f"bytes */{len(video_bytes(data_dir))}", None]  # 308 without Range: from the start


def test_after_a_crash_the_next_attempt_resumes_the_kept_session(fake_youtube: FakeYouTube, data_dir: Path) -> None:
    fake_youtube.break_after = [10_000, 0, 0, 0]  # the network fails all through the first attempt
    first = channel(fake_youtube, data_dir).send(bulletin_note())
    assert not first.ok and first.retryable and "session is kept" in first.detail
    kept = json.loads(BulletinFiles(data_dir).path(BULLETIN_ID, "youtube-youtube.json").read_text())
    assert kept["session_uri"].startswith(fake_youtube.url) and kept["session_uri"] not in first.detail
    assert (BulletinFiles(data_dir).path(BULLETIN_ID, "youtube-youtube.json").stat().st_mode & 0o077) == 0
    second = channel(fake_youtube, data_dir).send(bulletin_note(attempt=2))  # a new process: only the file remains
    assert second.ok, second.detail
    [session] = fake_youtube.uploads()  # one session, one video
    assert bytes(session.received) == video_bytes(data_dir)


def test_an_expired_session_starts_a_new_one(fake_youtube: FakeYouTube, data_dir: Path) -> None:
    fake_youtube.break_after = [10_000, 0, 0, 0]
    assert not channel(fake_youtube, data_dir).send(bulletin_note()).ok
    fake_youtube.sessions.clear()  # a week later: the session URI answers 404
    result = channel(fake_youtube, data_dir).send(bulletin_note(attempt=2))
    assert result.ok, result.detail
    [session] = fake_youtube.uploads()
    assert bytes(session.received) == video_bytes(data_dir)


def test_a_refused_access_token_is_renewed_once(fake_youtube: FakeYouTube, data_dir: Path) -> None:
    yt = channel(fake_youtube, data_dir)
    assert yt.send(bulletin_note(receiver="first")).ok
    fake_youtube.access_tokens.clear()  # revoked before it expired
    result = yt.send(bulletin_note(receiver="second"))
    assert result.ok, result.detail
    assert len(fake_youtube.token_requests) == 2


@pytest.mark.parametrize(("status", "reason"), [(403, "quotaExceeded"), (400, "uploadLimitExceeded")])
def test_daily_limits_fail_without_retry_and_say_when_to_publish_again(fake_youtube: FakeYouTube, data_dir: Path,
                                                                      status: int, reason: str) -> None:
    fake_youtube.start_error = (status, google_error(status, reason, "The request cannot be completed.",
                                                     "youtube.quota"))
    result = channel(fake_youtube, data_dir).send(bulletin_note())
    assert not result.ok and not result.retryable
    assert reason in result.detail and "bulletin desk" in result.detail
    assert fake_youtube.requests("PUT") == []


def test_a_revoked_refresh_token_needs_a_person(fake_youtube: FakeYouTube, data_dir: Path) -> None:
    revoked = Credentials(CREDENTIALS.client_id, "client-secret-xyz", "refresh-revoked")
    result = channel(fake_youtube, data_dir, revoked).send(bulletin_note())
    assert not result.ok and not result.retryable
    assert "invalid_grant" in result.detail and "authorise" in result.detail
    assert "refresh-revoked" not in result.detail and "client-secret-xyz" not in result.detail
    assert fake_youtube.uploads() == []


def test_an_outage_of_the_upload_endpoint_is_retried(fake_youtube: FakeYouTube, data_dir: Path) -> None:
    fake_youtube.start_error = (503, google_error(503, "backendError", "Backend Error", "global"))
    result = channel(fake_youtube, data_dir).send(bulletin_note())
    assert not result.ok and result.retryable


def test_alerts_and_missing_credentials_are_refused(fake_youtube: FakeYouTube, data_dir: Path) -> None:
    alert = Notification(1, "k", "abcdefabcdef", "youtube", "firing", 0.0, 1, Message("t", "x", "h", "s"), {})
    refused = channel(fake_youtube, data_dir).send(alert)
    assert not refused.ok and not refused.retryable and "bulletins only" in refused.detail
    unset = channel(fake_youtube, data_dir, Credentials(None, None, None)).send(bulletin_note())
    assert not unset.ok and "TICHWATCH_YOUTUBE_REFRESH_TOKEN" in unset.detail
    assert fake_youtube.log == []


def test_a_video_made_again_never_continues_the_old_ones_session(fake_youtube: FakeYouTube, data_dir: Path) -> None:
    fake_youtube.break_after = [10_000, 0, 0, 0]
    assert not channel(fake_youtube, data_dir).send(bulletin_note()).ok
    path = BulletinFiles(data_dir).path(BULLETIN_ID, "video-vi.mp4")
    remade = bytearray(path.read_bytes())
    remade[5_000] ^= 0xFF  # the same size, other bytes (as after the audio was synthesised again)
    path.write_bytes(bytes(remade))
    result = channel(fake_youtube, data_dir).send(bulletin_note(attempt=2))
    assert result.ok, result.detail
    first, second = fake_youtube.uploads()
    assert bytes(second.received) == bytes(remade) and len(first.received) < first.size
