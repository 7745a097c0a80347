"""A published bulletin's files for the media channels' tests: card and chart PNGs, a short spoken audio and its
video, made once per session and copied into each test's data directory; a notification delivering it."""
from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.residents.media.google import FakeYouTube
from tichwatch.alerts.channels.base import Message, Notification
from tichwatch.alerts.outbox import BULLETIN_NOTICE, BULLETIN_PREFIX
from tichwatch.residents.bulletins.files import BulletinFiles
from tichwatch.residents.video import BulletinVideos

BULLETIN_ID = "20260920-0700-abc123"
"""The test bulletin's id."""


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    """A plain PNG with a darker band, so it is told apart from another picture in a frame."""
    img = Image.new("RGB", size, colour)
    img.paste((20, 20, 20), (0, size[1] // 3, size[0], size[1] // 2))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def made_bulletin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the bulletin's card and chart (vi), radio audio and video, made once."""
    data = tmp_path_factory.mktemp("media-data")
    files = BulletinFiles(data)
    folder = files.path(BULLETIN_ID, "x").parent
    folder.mkdir(parents=True)
    (folder / "card-vi.png").write_bytes(png((1080, 1080), (200, 40, 40)))
    (folder / "chart-vi.png").write_bytes(png((1200, 630), (40, 90, 200)))
    files.write_audio(BULLETIN_ID, "Bản tin mực nước sông Tích lúc bảy giờ sáng. Mực nước bảy mét bốn mươi hai.",
                      "ogg", 160)
    BulletinVideos(files).video(BULLETIN_ID, "vi")
    return data


@pytest.fixture
def data_dir(made_bulletin: Path, tmp_path: Path) -> Iterator[Path]:
    """This test's own copy of the data directory (times kept: the video stays newer than its inputs)."""
    target = tmp_path / "data"
    shutil.copytree(made_bulletin, target, copy_function=shutil.copy2)
    yield target


@pytest.fixture
def fake_youtube() -> Iterator[FakeYouTube]:
    """The Google token and upload endpoints on a loopback port."""
    server = FakeYouTube().start()
    yield server
    server.stop()


def bulletin_note(key: str = "key-yt-1", receiver: str = "youtube", attempt: int = 1) -> Notification:
    """The delivery of the test bulletin to a receiver, as the outbox hands it to a channel."""
    text = ("Mực nước sông Tích tại Vĩnh Phúc 7,42 m, trên báo động II <đang lên>.\n\n"
            "Toàn văn: https://canhbao.kieuphu.vn/bulletins/" + BULLETIN_ID)
    return Notification(11, key, BULLETIN_PREFIX + BULLETIN_ID, receiver, BULLETIN_NOTICE, 1_789_862_400.0, attempt,
                        Message("Bản tin mực nước sông Tích 07:00 20/09/2026", text, "<p>…</p>", "quote"),
                        {"id": BULLETIN_ID, "kind": "regular"})
