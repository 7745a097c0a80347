"""The station registry: the running service's stations with the alarm levels in force, and the only writer of them.

The configuration file's stations (`Settings.stations`) never change while the service runs. Alarm levels an
administrator sets at run time live in the store (`station_overrides`) and win over the file's until reverted; the
registry holds the result as an immutable `StationTable`. An edit checks the levels, stores and audits them in one
transaction, builds a new table and swaps it in with one assignment while holding the detectors' lock (telling the
detectors in the same step), then publishes `StationChanged`. A reader takes the table once (`table()`) and reads a
consistent whole from it, on any thread, without a lock: a station it sees is either all before an edit or all after.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from pydantic import ValidationError

from tichwatch.api import audit
from tichwatch.config.schema import AlarmLevels, StationConfig
from tichwatch.core.events import StationChanged
from tichwatch.store import overrides
from tichwatch.store.overrides import AlarmOverride
from tichwatch.store.store import Store

log = logging.getLogger(__name__)

EDIT_ACTION = "station.alarm_levels"
"""Audit action of alarm levels set at run time."""
REVERT_ACTION = "station.alarm_levels_reverted"
"""Audit action of a station put back to the configuration file's levels."""


@dataclass(frozen=True)
class StationEntry:
    """A station as the service runs it: its configuration with the alarm levels in force, and the run-time override
    that set them (None: the configuration file's levels)."""

    config: StationConfig
    override: AlarmOverride | None = None


@dataclass(frozen=True)
class StationTable:
    """Every station in the configuration file's order; never changed in place (an edit makes a new table)."""

    entries: tuple[StationEntry, ...]
    _by_id: Mapping[str, StationEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", MappingProxyType({e.config.id: e for e in self.entries}))

    def entry(self, station_id: str) -> StationEntry | None:
        """A station with its override, None for an unknown id."""
        return self._by_id.get(station_id)

    def station(self, station_id: str) -> StationConfig | None:
        """A station with the alarm levels in force, None for an unknown id."""
        entry = self._by_id.get(station_id)
        return entry.config if entry is not None else None

    def stations(self) -> tuple[StationConfig, ...]:
        """Every station with the alarm levels in force."""
        return tuple(e.config for e in self.entries)

    def replaced(self, entry: StationEntry) -> StationTable:
        """A new table with one station's entry replaced (KeyError for an unknown station)."""
        if entry.config.id not in self._by_id:
            raise KeyError(entry.config.id)
        return StationTable(tuple(entry if e.config.id == entry.config.id else e for e in self.entries))


@dataclass(frozen=True)
class StationEdit:
    """One alarm-level edit: the station before and after, the override now in force (None: the file's), when."""

    before: StationConfig
    after: StationConfig
    override: AlarmOverride | None
    ts: float


class StationListener(Protocol):
    """A detector that keeps its own copy of a station's configuration (the flood detector's ladder)."""

    def set_station(self, cfg: StationConfig) -> None:
        """Take a station's new configuration."""


def with_alarm(station: StationConfig, alarm: AlarmLevels) -> StationConfig:
    """The station with other alarm levels, checked like the configuration file (ValueError naming the problem)."""
    try:
        return StationConfig.model_validate({**station.model_dump(), "alarm": alarm.model_dump()})
    except ValidationError as exc:
        raise ValueError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None


def build_table(configured: Iterable[StationConfig], stored: Mapping[str, AlarmOverride]) -> StationTable:
    """The file's stations with the stored overrides applied; an override that no longer fits its station (the file
    changed since) is ignored, loudly, and the file's levels apply."""
    entries = []
    for station in configured:
        override = stored.get(station.id)
        if override is not None:
            try:
                entries.append(StationEntry(with_alarm(station, override.alarm), override))
                continue
            except ValueError as exc:
                log.error("alarm levels of %s set by %s are ignored (%s): the configuration file's apply",
                          station.id, override.updated_by, exc)
        entries.append(StationEntry(station))
    return StationTable(tuple(entries))


def load_table(configured: Iterable[StationConfig], store: Store) -> StationTable:
    """The station table as the store's overrides make it, for starting the service."""
    return build_table(configured, overrides.load(store.query_all))


class StationRegistry:
    """The live station table: readers ask it, `set_alarm_levels` is the only way the alarm levels change."""

    def __init__(self, configured: Sequence[StationConfig], table: StationTable, store: Store,
                 detectors: Sequence[StationListener], detector_lock: AbstractContextManager[Any],
                 publish: Callable[[StationChanged], None], clock: Callable[[], float]):
        self._configured = {s.id: s for s in configured}
        self._table = table
        self._store = store
        self._detectors = tuple(detectors)
        self._detector_lock = detector_lock
        self._publish = publish
        self._clock = clock
        self._edit_lock = threading.Lock()  # one edit at a time: the store, the table and the detectors change in order

    def table(self) -> StationTable:
        """The table now: take it once and read everything from it for answers that must agree with themselves."""
        return self._table

    def station(self, station_id: str) -> StationConfig | None:
        """A station with the alarm levels in force now, None for an unknown id."""
        return self._table.station(station_id)

    def stations(self) -> tuple[StationConfig, ...]:
        """Every station with the alarm levels in force now, in the configuration file's order."""
        return self._table.stations()

    def set_alarm_levels(self, station_id: str, alarm: AlarmLevels | None, actor: str, reason: str) -> StationEdit:
        """Change a station's alarm levels now (None: back to the configuration file's), stored and audited.

        KeyError for an unknown station, ValueError (naming the problem) for levels the station cannot have."""
        # Lock order: the edit lock, then the store's writer lock, released, then the detectors' lock; never the
        # store's and the detectors' at once (the pipeline never holds both either), so no order can deadlock.
        with self._edit_lock:
            now = self._clock()  # inside the lock: two edits at once are stored and audited in the order they won
            entry = self._table.entry(station_id)
            if entry is None:
                raise KeyError(station_id)
            if alarm is None:
                new = StationEntry(self._configured[station_id])
                action = REVERT_ACTION
            else:
                new = StationEntry(with_alarm(entry.config, alarm), AlarmOverride(station_id, alarm, now, actor))
                action = EDIT_ACTION
            before, after = entry.config.alarm.named(), new.config.alarm.named()
            with self._store.transaction() as conn:
                if new.override is None:
                    overrides.delete(conn, station_id)
                else:
                    overrides.save(conn, new.override)
                audit.record(conn, actor, action, station_id, {"before": before, "after": after, "reason": reason},
                             now)
            table = self._table.replaced(new)
            # Under the detectors' lock: whoever reads the detectors under it sees their ladder and the table agree.
            with self._detector_lock:
                self._table = table
                for detector in self._detectors:
                    detector.set_station(new.config)
            log.warning("alarm levels of %s changed by %s: %s -> %s (%s)", station_id, actor, before, after, reason)
            # Still under the edit lock, so listeners hear of two quick edits in the order they were made.
            self._publish(StationChanged(station_id, after, actor, now))
        return StationEdit(entry.config, new.config, new.override, now)
