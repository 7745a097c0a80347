"""A published bulletin reaches a loudspeaker receiver as a package of its radio script as approved: thông thường
for a routine bulletin, ưu tiên for an emergency one, in the commune's programme."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.residents.conftest import World, make_world
from tests.residents.loudspeaker.support import probe
from tichwatch.config.bulletins import BulletinSettings


@pytest.fixture
def radio_world(tmp_path: Path) -> Iterator[World]:
    drop = tmp_path / "drop"
    drop.mkdir()
    alerts = {"receivers": [{"name": "radio", "channel": {"type": "loudspeaker", "mode": "folder",
                                                          "folder": str(drop)}},
                            {"name": "log", "channel": {"type": "log"}}]}
    yield from make_world(tmp_path, BulletinSettings(channels=["radio"]), alerts, recording=())


@pytest.mark.parametrize("kind", ["routine", "emergency"])
def test_a_published_bulletin_is_dropped_as_its_approved_radio_script(radio_world: World, tmp_path: Path,
                                                                      kind: str) -> None:
    desk = radio_world.desk
    record = desk.create("comm", kind=kind)  # type: ignore[arg-type]
    desk.edit(record.id, {"radio_vi": record.content["radio_vi"] + " Xin cảm ơn bà con đã lắng nghe."}, "comm")
    desk.approve(record.id, "officer")
    published = desk.publish(record.id, "officer", officer=True)
    radio_world.deliver()
    assert desk.deliveries(record.id)["receivers"][0]["state"] == "sent"
    [folder] = list((tmp_path / "drop").iterdir())
    doc = json.loads((folder / "package.json").read_text("utf-8"))
    assert doc["kind"] == "bulletin" and doc["about"]["bulletin_id"] == record.id
    assert doc["text"] == published.content["radio_vi"] and doc["text"].endswith("Xin cảm ơn bà con đã lắng nghe.")
    assert doc["title"] == published.content["title_vi"]
    assert (doc["priority"], doc["priority_vi"]) == (("normal", "thông thường") if kind == "routine"
                                                     else ("priority", "ưu tiên"))
    assert doc["schedule"]["mode"] == "programme" and doc["schedule"]["plays"]
    assert probe(folder / "audio.mp3")["streams"][0]["codec_name"] == "mp3"
