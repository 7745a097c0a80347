"""The package's MP3: made with espeak-ng, sox and ffmpeg, playable (ffprobe: mp3, mono, the configured rate, the
script's length), made once per package and reused by every retry."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.residents.loudspeaker.support import kieuphu_settings, notification, probe
from tichwatch.config.loudspeaker import LoudspeakerSettings
from tichwatch.residents.loudspeaker import audio as audio_module
from tichwatch.residents.loudspeaker.audio import AudioCache
from tichwatch.residents.loudspeaker.package import draft_of


def test_the_mp3_plays_for_as_long_as_the_script_is_read(tmp_path: Path) -> None:
    settings = kieuphu_settings(tmp_path)
    draft = draft_of(notification("firing"), settings)
    made = AudioCache(tmp_path, settings.loudspeaker).audio(draft.id, draft.spoken_text, 60)
    assert made.path == tmp_path / "loudspeaker" / f"{draft.id}.mp3"
    info = probe(made.path)
    stream = info["streams"][0]
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == ("mp3", "44100", 1)
    duration = float(info["format"]["duration"])
    # the emergency script of BĐ II at the bridge is read in about half a minute at 140 words per minute
    assert 15 < made.info.duration_s < 90 and abs(duration - made.info.duration_s) < 0.3
    data = made.read()
    assert made.info.sha256 == hashlib.sha256(data).hexdigest() and made.info.size_bytes == len(data)
    assert 56 < len(data) * 8 / duration / 1000 < 72  # constant 64 kbit/s


def test_the_audio_is_made_once_per_package_and_again_when_the_script_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = AudioCache(tmp_path, LoudspeakerSettings(sample_rate_hz=22050))
    first = cache.audio("pkg-1", "Thông báo thử.", 60)
    assert probe(first.path)["streams"][0]["sample_rate"] == "22050"

    def refuse(*_: object) -> bytes:
        raise AssertionError("synthesised again")
    monkeypatch.setattr(audio_module, "synthesize", refuse)
    assert cache.audio("pkg-1", "Thông báo thử.", 60) == first  # a retry: the same bytes, no synthesis
    with pytest.raises(AssertionError, match="synthesised again"):
        cache.audio("pkg-1", "Thông báo đã sửa.", 60)


def test_a_damaged_cached_file_is_made_again(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, LoudspeakerSettings())
    first = cache.audio("pkg-2", "Thông báo thử.", 60)
    first.path.write_bytes(first.read()[:100])  # a disk that lost the end of the file
    again = cache.audio("pkg-2", "Thông báo thử.", 60)
    assert again.info.duration_s == first.info.duration_s and len(again.read()) > 100
    assert again.info.sha256 == hashlib.sha256(again.read()).hexdigest()
