"""The video bulletin of a published bulletin: it plays (ffprobe: H.264 yuv420p 1280x720 and AAC, as long as the
spoken audio, the moov atom first), shows the card and then the chart, is made once and kept, and ffmpeg's size
and time limits hold."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.residents.conftest import World, make_world
from tichwatch.residents.bulletins.files import BulletinFiles
from tichwatch.residents.video import BulletinVideos, VideoSpec, VideoUnavailable, make_video, probe, segments

SHORT_SCRIPT = "Bản tin mực nước sông Tích. Trạm Vĩnh Phúc bảy mét bốn mươi hai, trên báo động hai."


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


def _published(world: World) -> str:
    """A bulletin drafted from the known data, its radio script shortened, approved and published (audio made)."""
    record = world.desk.create("comm")
    world.desk.edit(record.id, {"radio_vi": SHORT_SCRIPT}, "comm")
    world.desk.approve(record.id, "officer")
    world.desk.publish(record.id, "officer", officer=True)
    return record.id


def frame_at(video: Path, seconds: float, out: Path) -> np.ndarray:
    """The video's frame at a time, as RGB pixels."""
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-ss", f"{seconds:.2f}", "-i", str(video),
                    "-frames:v", "1", str(out)], check=True, timeout=60)
    return np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)


def fitted(picture: Path, size: tuple[int, int]) -> np.ndarray:
    """A picture scaled into a frame on white, as the video shows it."""
    img = Image.open(picture).convert("RGB")
    img.thumbnail(size)
    frame = Image.new("RGB", size, "white")
    frame.paste(img, ((size[0] - img.width) // 2, (size[1] - img.height) // 2))
    return np.asarray(frame, dtype=np.int16)


def test_the_video_plays_for_the_spoken_bulletin_with_card_then_chart(world: World, tmp_path: Path) -> None:
    bulletin_id = _published(world)
    files = world.desk.files
    audio = files.audio(bulletin_id)
    assert audio is not None and audio.name == "radio.ogg"
    video = BulletinVideos(files).video(bulletin_id, "vi")
    assert video == files.path(bulletin_id, "video-vi.mp4")
    info, spoken = probe(video), probe(audio).duration_s
    assert sorted(info.codecs) == ["aac", "h264"]
    assert (info.width, info.height, info.pix_fmt) == (1280, 720, "yuv420p")
    assert spoken > 3.0 and abs(info.duration_s - spoken) < 0.25
    head = video.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")  # faststart: plays while it downloads
    card = fitted(files.path(bulletin_id, "card-vi.png"), (1280, 720))
    chart = fitted(files.path(bulletin_id, "chart-vi.png"), (1280, 720))
    early, late = frame_at(video, spoken * 0.2, tmp_path / "a.png"), frame_at(video, spoken * 0.8, tmp_path / "b.png")
    def off(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a - b).mean())  # scaling and 4:2:0 chroma blur the text a little, never this much

    assert 2 * off(early, card) < off(early, chart) and 2 * off(late, chart) < off(late, card)
    made = video.stat().st_mtime_ns
    assert BulletinVideos(files).video(bulletin_id, "vi").stat().st_mtime_ns == made  # kept, not made again


def test_limits_and_missing_inputs(world: World, tmp_path: Path) -> None:
    bulletin_id = _published(world)
    files = world.desk.files
    card, chart, audio = (files.path(bulletin_id, n) for n in ("card-vi.png", "chart-vi.png", "radio.ogg"))
    with pytest.raises(VideoUnavailable, match="size limit") as too_big:
        make_video(card, chart, audio, tmp_path / "big.mp4", VideoSpec(max_bytes=20_000))
    with pytest.raises(VideoUnavailable, match="more than") as too_slow:
        make_video(card, chart, audio, tmp_path / "slow.mp4", VideoSpec(timeout_s=0.05))
    assert too_big.value.lasting and not too_slow.value.lasting  # a busy machine may pass
    assert not (tmp_path / "big.mp4").exists() and list(tmp_path.glob("*.tmp")) == []
    with pytest.raises(VideoUnavailable, match="no radio audio"):
        BulletinVideos(BulletinFiles(tmp_path / "empty")).video(bulletin_id, "vi")


def test_card_alone_without_a_chart_and_the_split_adds_up() -> None:
    assert segments(10.0, has_chart=False) == [("card", 10.0)]
    parts = segments(7.3, has_chart=True)
    assert [p[0] for p in parts] == ["card", "chart"] and sum(p[1] for p in parts) == pytest.approx(7.3)
