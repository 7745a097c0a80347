"""The station registry: the only writer of alarm levels, over a real store, with recording detectors and bus."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import make_settings
from tichwatch.api import audit
from tichwatch.app.schema import open_store
from tichwatch.app.stations import EDIT_ACTION, REVERT_ACTION, StationRegistry, StationTable, load_table
from tichwatch.config.schema import AlarmLevels, Settings, StationConfig
from tichwatch.core.events import StationChanged
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.detector import FloodDetector
from tichwatch.store.store import Store

NOW = 1_790_000_000.0
NEW = AlarmLevels(bd1_m=6.0, bd2_m=6.8, bd3_m=7.6, record_m=8.45, record_year=2024)
FILE_BD1 = 6.5  # tests.support's stations: BD1 6.5, BD2 7.3, BD3 8.0


class RecordingDetector:
    """A detector that records what it is told, and what the registry's table said at that moment."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.told: list[StationConfig] = []
        self.registry: StationRegistry | None = None
        self.table_agreed: list[bool] = []

    def set_station(self, cfg: StationConfig) -> None:
        assert self.lock.locked(), "detectors are told under the detectors' lock"
        self.told.append(cfg)
        if self.registry is not None:
            self.table_agreed.append(self.registry.station(cfg.id) == cfg)


class World:
    """A registry over a real store, with a recording detector, the real flood detector and a recording bus."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store
        self.lock = threading.Lock()
        self.detector = RecordingDetector(self.lock)
        table = load_table(settings.stations, store)
        self.flood = FloodDetector(table.stations(), settings.flood)
        self.events: list[StationChanged] = []
        self.registry = StationRegistry(settings.stations, table, store, [self.detector, self.flood], self.lock,
                                        self.events.append, lambda: NOW)
        self.detector.registry = self.registry

    def audit(self) -> list[audit.AuditEntry]:
        return audit.entries(self.store.query_all, 1000)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = make_settings(tmp_path / "data")
    store = open_store(settings.store.data_dir)
    try:
        yield World(settings, store)
    finally:
        store.close()


def test_an_edit_swaps_in_a_new_table_and_leaves_the_old_one_and_the_settings_alone(world: World) -> None:
    before = world.registry.table()
    edit = world.registry.set_alarm_levels("st1", NEW, "quan.tri", "Quyết định 123")
    after = world.registry.table()
    assert after is not before
    assert before.station("st1").alarm.bd1_m == FILE_BD1  # type: ignore[union-attr]  # a reader's table stays whole
    assert after.station("st1").alarm == NEW  # type: ignore[union-attr]
    assert after.entry("st2") is before.entry("st2")  # other stations untouched
    assert world.settings.station("st1").alarm.bd1_m == FILE_BD1  # type: ignore[union-attr]  # configuration
    assert (edit.before.alarm.bd1_m, edit.after.alarm, edit.ts) == (FILE_BD1, NEW, NOW)
    assert edit.override is not None and edit.override.updated_by == "quan.tri"
    assert [s.id for s in world.registry.stations()] == ["st1", "st2"]  # the file's order


def test_an_edit_is_stored_audited_told_to_the_detectors_and_published(world: World) -> None:
    world.registry.set_alarm_levels("st1", NEW, "quan.tri", "Quyết định 123")
    again = load_table(world.settings.stations, world.store)  # what a restart would load
    assert again.station("st1").alarm == NEW  # type: ignore[union-attr]
    assert again.entry("st1").override.updated_by == "quan.tri"  # type: ignore[union-attr]
    [entry] = world.audit()
    assert (entry.actor, entry.action, entry.target) == ("quan.tri", EDIT_ACTION, "st1")
    assert entry.detail == {"before": world.settings.station("st1").alarm.named(),  # type: ignore[union-attr]
                            "after": NEW.named(), "reason": "Quyết định 123"}
    assert [c.alarm for c in world.detector.told] == [NEW]
    assert world.detector.table_agreed == [True]  # the table was swapped before the detectors heard of it
    detections = world.flood.update(Reading("st1", NOW, 6.3))  # above the new BD1 (6.0), below the file's (6.5)
    assert [d.level for d in detections if d.kind == "flood.level"] == ["BD1"]
    assert world.events == [StationChanged("st1", NEW.named(), "quan.tri", NOW)]


def test_revert_goes_back_to_the_file_everywhere(world: World) -> None:
    world.registry.set_alarm_levels("st1", NEW, "quan.tri", "Quyết định 123")
    edit = world.registry.set_alarm_levels("st1", None, "quan.tri", "Nhập nhầm")
    configured = world.settings.station("st1")
    assert edit.after == configured and edit.override is None
    assert world.registry.table().entry("st1").override is None  # type: ignore[union-attr]
    assert load_table(world.settings.stations, world.store).station("st1") == configured
    assert [e.action for e in world.audit()] == [REVERT_ACTION, EDIT_ACTION]
    assert world.detector.told[-1] == configured
    assert world.events[-1].alarm_levels_m["BD1"] == FILE_BD1


def test_a_refused_edit_changes_nothing(world: World) -> None:
    table = world.registry.table()
    with pytest.raises(KeyError):
        world.registry.set_alarm_levels("nowhere", NEW, "quan.tri", "thử")
    with pytest.raises(ValueError, match="min_level_m"):  # below the gauge's physical range
        world.registry.set_alarm_levels("st1", AlarmLevels(bd1_m=1.0, bd2_m=1.5, bd3_m=1.8), "quan.tri", "thử")
    assert world.registry.table() is table
    assert world.audit() == [] and world.detector.told == [] and world.events == []
    assert load_table(world.settings.stations, world.store).entry("st1").override is None  # type: ignore[union-attr]


def test_a_stored_override_that_no_longer_fits_the_file_is_ignored(world: World, tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    world.registry.set_alarm_levels("st1", NEW, "quan.tri", "Quyết định 123")
    moved = world.settings.station("st1").model_copy(update={"min_level_m": 6.5})  # type: ignore[union-attr]
    table = load_table([moved], world.store)
    assert table.station("st1") == moved and table.entry("st1").override is None  # type: ignore[union-attr]
    assert "st1" in caplog.text and "ignored" in caplog.text


def test_a_table_is_never_changed_in_place() -> None:
    table = StationTable(())
    with pytest.raises(AttributeError):
        table.entries = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        table._by_id["x"] = None  # type: ignore[index]


def test_a_reader_never_sees_a_half_edited_station(world: World) -> None:
    """Levels and who set them come from one table: a reader on another thread sees both from before an edit or
    both from after it, never the new levels with the old override (or the other way round)."""
    configured = world.settings.station("st1").alarm  # type: ignore[union-attr]
    edits, done, seen = 200, threading.Event(), []

    def read() -> None:
        while not done.is_set():
            entry = world.registry.table().entry("st1")
            seen.append(entry is not None and
                        entry.config.alarm == (entry.override.alarm if entry.override else configured))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(edits):
            world.registry.set_alarm_levels("st1", NEW if i % 2 == 0 else None, "quan.tri", "diễn tập")
    finally:
        done.set()
        reader.join()
    assert seen and all(seen)
    assert len(world.events) == edits and len(world.audit()) == edits
