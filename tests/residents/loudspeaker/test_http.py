"""HTTP mode against a local endpoint that parses what a source system receives (multipart/form-data: `metadata`
JSON and `audio` MP3): its answers (accepted, duplicate, rate limit, outage, refusal), and through the real outbox an
outage and errors: retried with the same package id and the same bytes, sent once, never lost."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.alerts.harness import Clock, Harness, flood_level, log_receiver
from tests.alerts.servers import HttpRecorder, Recorded, Reply
from tests.residents.loudspeaker.support import T0, kieuphu_settings, metadata, notification, parts, probe
from tests.support import secret
from tichwatch.alerts.channels.loudspeaker import Loudspeaker
from tichwatch.config.loudspeaker import LoudspeakerChannel
from tichwatch.config.schema import Settings
from tichwatch.residents.loudspeaker.audio import AudioCache

TOKEN = secret("loa-token-3f9c2a7e51d04b88")


def answer(*replies: Reply) -> Any:
    """A reply function answering `replies` in turn, then 200 with the package's remote id."""
    queue = list(replies)

    def reply(_: Recorded) -> Reply:
        return queue.pop(0) if queue else (200, {}, {"id": "tt-991", "status": "received"})
    return reply


@pytest.fixture
def endpoint() -> Iterator[HttpRecorder]:
    rec = HttpRecorder().start()
    yield rec
    rec.stop()


def channel(settings: Settings, url: str, token: str | None = TOKEN, **cfg: Any) -> Loudspeaker:
    block = LoudspeakerChannel.model_validate({"type": "loudspeaker", "mode": "http", "url": url, **cfg})
    return Loudspeaker(block, settings, token, AudioCache(settings.store.data_dir, settings.loudspeaker))


def test_the_package_arrives_as_metadata_and_audio_with_its_id_and_token(tmp_path: Path,
                                                                         endpoint: HttpRecorder) -> None:
    settings = kieuphu_settings(tmp_path / "data")
    endpoint.reply = answer()
    result = channel(settings, f"{endpoint.url}/api/v1/ban-tin").send(notification("firing"))
    assert result.ok and result.remote_id == "tt-991"
    [rec] = endpoint.requests
    assert rec.method == "POST" and rec.path == "/api/v1/ban-tin"
    assert rec.headers["idempotency-key"] == "pkgKEY123abc"
    assert rec.headers["authorization"] == f"Bearer {TOKEN}"
    got = parts(rec)
    assert list(got) == ["metadata", "audio"]
    assert got["metadata"][:2] == ("package.json", "application/json")
    assert got["audio"][:2] == ("audio.mp3", "audio/mpeg")
    doc, mp3 = metadata(rec), got["audio"][2]
    assert doc["id"] == "pkgKEY123abc" and doc["priority"] == "emergency" and doc["priority_vi"] == "khẩn cấp"
    assert "Thôn 1 và Thôn 2" in doc["text"]
    assert doc["audio"]["sha256"] == hashlib.sha256(mp3).hexdigest() and doc["audio"]["bytes"] == len(mp3)
    (tmp_path / "got.mp3").write_bytes(mp3)
    info = probe(tmp_path / "got.mp3")
    assert info["streams"][0]["codec_name"] == "mp3"
    assert abs(float(info["format"]["duration"]) - doc["audio"]["duration_s"]) < 0.3


@pytest.fixture(scope="module")
def shared_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose data directory the module's cases share (the audio is made once, as for retries)."""
    return kieuphu_settings(tmp_path_factory.mktemp("shared") / "data")


@pytest.mark.parametrize(("reply", "ok", "retryable", "after_s"), [
    ((201, {}, {}), True, False, None),
    ((409, {}, {"error": "duplicate id"}), True, False, None),  # held already: an earlier answer was lost
    ((429, {"Retry-After": "120"}, {"error": "rate limited"}), False, True, 120.0),
    ((503, {}, {"error": "maintenance"}), False, True, None),
    ((408, {}, {}), False, True, None),
    ((400, {}, {"error": "priority unknown"}), False, False, None),
    ((401, {}, {"error": "bad token"}), False, False, None),
    ((413, {}, {"error": "too large"}), False, False, None),
])
def test_the_endpoints_answers_are_classified(shared_settings: Settings, endpoint: HttpRecorder, reply: Reply,
                                              ok: bool, retryable: bool, after_s: float | None) -> None:
    settings = shared_settings
    endpoint.reply = answer(reply)
    result = channel(settings, endpoint.url).send(notification("firing"))
    assert (result.ok, result.retryable, result.retry_after_s) == (ok, retryable, after_s)
    assert TOKEN not in result.detail


def test_without_its_token_or_over_the_size_limit_nothing_is_sent(tmp_path: Path, endpoint: HttpRecorder) -> None:
    settings = kieuphu_settings(tmp_path / "data", loudspeaker={"max_package_bytes": 65536})
    missing = channel(settings, endpoint.url, token=None).send(notification("firing"))
    assert not missing.ok and not missing.retryable and "TICHWATCH_LOUDSPEAKER_TOKEN" in missing.detail
    big = channel(settings, endpoint.url).send(notification("firing"))  # ~30 s of speech: ~250 kB of MP3
    assert not big.ok and not big.retryable and "max_package_bytes" in big.detail
    assert endpoint.count() == 0


def outbox_settings(data_dir: Path, url: str) -> Settings:
    return kieuphu_settings(data_dir, alerts={
        "receivers": [{"name": "radio", "channel": {"type": "loudspeaker", "url": url},
                       "notify_on": ["firing", "raised", "resolved"]}, log_receiver("admin")],
        "routes": [{"match": {"kinds": ["flood.level"]}, "receivers": ["radio"]},
                   {"match": {"kinds": ["delivery."]}, "receivers": ["admin"]}],
        "resolve_hold_s": 0})


@pytest.fixture
def harness_at(tmp_path: Path) -> Iterator[Any]:
    made: list[Harness] = []

    def make(url: str) -> Harness:
        h = Harness(outbox_settings(tmp_path / "data", url), Clock(T0), env={"TICHWATCH_LOUDSPEAKER_TOKEN": TOKEN})
        made.append(h)
        return h
    yield make
    for h in made:
        h.close()


def test_an_outage_is_retried_through_the_outbox_and_the_package_sent_once(harness_at: Any) -> None:
    endpoint = HttpRecorder()  # not listening yet: the source system is down
    h = harness_at(endpoint.url)
    h.detect(flood_level("kieuphu-cau", "BD2", T0, 7.2))
    h.tick()
    [row] = h.rows("radio")
    assert row["state"] == "pending" and row["attempts"] == 1 and "network error" in row["last_error"]
    endpoint.start()
    try:
        h.tick(5)  # still within the backoff (10 s): nothing goes
        assert endpoint.count() == 0
        h.tick(10)
        [row] = h.rows("radio")
        assert row["state"] == "sent" and row["attempts"] == 2
        h.tick(3600)
        [rec] = endpoint.requests  # once, however long we wait
        assert rec.headers["idempotency-key"] == row["idempotency_key"] == metadata(rec)["id"]
    finally:
        endpoint.stop()


def test_a_retried_package_carries_the_same_id_document_and_audio(harness_at: Any, endpoint: HttpRecorder) -> None:
    endpoint.reply = answer((503, {"Retry-After": "30"}, {"error": "busy"}), (500, {}, {}))
    h = harness_at(endpoint.url)
    h.detect(flood_level("kieuphu-cau", "BD2", T0, 7.2))
    h.tick()
    [row] = h.rows("radio")
    assert row["state"] == "pending" and row["next_attempt_ts"] == pytest.approx(h.clock() + 30)
    h.tick(30)
    h.tick(20)  # the backoff after the second failure (20 s)
    assert [r["state"] for r in h.rows("radio")] == ["sent"]
    first, second, third = endpoint.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == third.headers["idempotency-key"]
    assert metadata(first) == metadata(second) == metadata(third)
    assert parts(first)["audio"][2] == parts(third)["audio"][2]


def test_a_refused_package_fails_at_once_and_tells_the_administrators(harness_at: Any,
                                                                      endpoint: HttpRecorder) -> None:
    endpoint.reply = answer((422, {}, {"error": "area unknown"}))
    h = harness_at(endpoint.url)
    h.detect(flood_level("kieuphu-cau", "BD2", T0, 7.2))
    h.tick()
    h.tick(60)
    [row] = h.rows("radio")
    assert row["state"] == "failed" and row["attempts"] == 1 and "HTTP 422" in row["last_error"]
    assert endpoint.count() == 1
    assert h.open_alert("delivery.failed", "radio") is not None
