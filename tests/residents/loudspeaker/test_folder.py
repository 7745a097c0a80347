"""Folder mode: `<drop>/<package id>/` with package.json, audio.mp3 and text.txt, then `.ready`; nothing half
written under the final name, a package already there not written again, and a missing folder or a full disk a
retryable failure that leaves nothing behind."""
from __future__ import annotations

import errno
import hashlib
import json
from pathlib import Path

import pytest

from tests.residents.loudspeaker.support import kieuphu_settings, notification, probe
from tichwatch.alerts.channels.loudspeaker import Loudspeaker
from tichwatch.config.loudspeaker import LoudspeakerChannel
from tichwatch.config.schema import Settings
from tichwatch.residents.loudspeaker import drop
from tichwatch.residents.loudspeaker.audio import AudioCache


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose data directory (the audio cache) the module's cases share."""
    return kieuphu_settings(tmp_path_factory.mktemp("shared") / "data")


def channel(settings: Settings, folder: Path) -> Loudspeaker:
    block = LoudspeakerChannel.model_validate({"type": "loudspeaker", "mode": "folder", "folder": str(folder)})
    return Loudspeaker(block, settings, None, AudioCache(settings.store.data_dir, settings.loudspeaker))


def test_the_package_is_dropped_with_its_marker_last(settings: Settings, tmp_path: Path) -> None:
    result = channel(settings, tmp_path).send(notification("firing"))
    assert result.ok and result.remote_id == "pkgKEY123abc" and result.detail == "written"
    folder = tmp_path / "pkgKEY123abc"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkgKEY123abc"]  # no temporary folder left
    assert sorted(p.name for p in folder.iterdir()) == [".ready", "audio.mp3", "package.json", "text.txt"]
    doc = json.loads((folder / "package.json").read_text("utf-8"))
    mp3 = (folder / "audio.mp3").read_bytes()
    assert doc["id"] == "pkgKEY123abc" and doc["priority_vi"] == "khẩn cấp"
    assert doc["audio"]["sha256"] == hashlib.sha256(mp3).hexdigest()
    assert (folder / "text.txt").read_text("utf-8") == doc["text"] + "\n"
    assert probe(folder / "audio.mp3")["streams"][0]["codec_name"] == "mp3"
    marker = json.loads((folder / ".ready").read_text())
    assert marker["files"]["audio.mp3"] == doc["audio"]["sha256"]
    # the ready marker is the newest file: a watcher that sees it finds the others complete
    assert (folder / ".ready").stat().st_mtime_ns >= max(p.stat().st_mtime_ns for p in folder.iterdir())


def test_a_package_already_dropped_is_not_written_again(settings: Settings, tmp_path: Path) -> None:
    ch = channel(settings, tmp_path)
    assert ch.send(notification("firing")).detail == "written"
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "pkgKEY123abc").iterdir()}
    again = ch.send(notification("firing", attempt=2))
    assert again.ok and again.detail == "ready already"
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "pkgKEY123abc").iterdir()} == before


def test_a_crash_between_the_rename_and_the_marker_is_finished_by_the_retry(settings: Settings,
                                                                            tmp_path: Path) -> None:
    ch = channel(settings, tmp_path)
    ch.send(notification("firing"))
    (tmp_path / "pkgKEY123abc" / ".ready").unlink()
    assert ch.send(notification("firing", attempt=2)).detail == "written"
    assert (tmp_path / "pkgKEY123abc" / ".ready").exists()


def test_a_missing_folder_is_a_retryable_failure(settings: Settings, tmp_path: Path) -> None:
    result = channel(settings, tmp_path / "share-not-mounted").send(notification("firing"))
    assert not result.ok and result.retryable and "FileNotFoundError" in result.detail
    assert not (tmp_path / "share-not-mounted").exists()


def test_a_full_disk_is_retryable_and_leaves_no_partial_package(settings: Settings, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []
    real = drop.write_file

    def full(path: Path, data: bytes) -> None:
        if path.name == "audio.mp3":
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path.name)
        real(path, data)
    monkeypatch.setattr(drop, "write_file", full)
    result = channel(settings, tmp_path).send(notification("firing"))
    assert not result.ok and result.retryable and "No space left on device" in result.detail
    assert written and list(tmp_path.iterdir()) == []  # the temporary folder went, nothing under the final name
    monkeypatch.setattr(drop, "write_file", real)  # space freed: the retry drops it whole
    assert channel(settings, tmp_path).send(notification("firing", attempt=2)).detail == "written"
    assert (tmp_path / "pkgKEY123abc" / ".ready").exists()
