"""Taking a station over from another node (several nodes on one database, `store.ownership`): what this node's
detector said while the other owned the station, and the store does not say, is claimed at the first batch this node
owns — a crossing on a reading the old owner died before committing, the river's fall while nobody owned the
station — and nothing the store already says is said again: taking over re-alerts nothing.

Two pipelines on one store and one alert engine stand for the two nodes (each its own flood detector, both given
every message, as every node is); which one owns st1 is set by the test."""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.alerts.harness import people_settings
from tests.alerts.replay import Rig, flood_series, payload, rig
from tests.support import wait_for
from tichwatch.alerts import storage
from tichwatch.alerts.model import Alert
from tichwatch.core.metrics import Metrics
from tichwatch.detectors.flood.detector import FloodDetector
from tichwatch.ingest.contract import Topics
from tichwatch.ingest.mqtt import InboundMessage
from tichwatch.ingest.pipeline import Pipeline

HOURS = 48
BD1_M = 6.5


class Nodes:
    """Node a (the rig's pipeline) and node b (a second pipeline on the same store and engine)."""

    def __init__(self, r: Rig, b: Pipeline):
        self.r, self.a, self.b = r, r.pipeline, b
        self.live = [self.a, self.b]
        self.sent = 0

    def own(self, owner: Pipeline | None) -> None:
        """Which node owns st1 (None: neither, as between a death and the takeover)."""
        for p in (self.a, self.b):
            p.owned = (lambda s: set(s)) if p is owner else (lambda s: set())

    def deliver(self, readings: Sequence[tuple[float, float]]) -> None:
        """One gateway message to every live node; waits until each has taken it in."""
        self.sent += 1
        for p in self.live:
            before = _taken(p)
            p.submit(InboundMessage(Topics().reading("st1"), payload(readings), 1, self.sent, 0, time.time()))
            wait_for(lambda p=p, before=before: _taken(p) >= before + len(readings), timeout_s=30)  # type: ignore[misc]

    def kill(self, p: Pipeline) -> None:
        """The node is gone: it takes no more messages."""
        self.live.remove(p)

    def level_alerts(self) -> list[Alert]:
        return [a for a in storage.find_alerts(self.r.store.query_all, storage.AlertFilter(limit=100))
                if a.kind == "flood.level"]


def _taken(p: Pipeline) -> float:
    registry = p.metrics.registry
    return sum(registry.get_sample_value(name) or 0.0
               for name in ("tichwatch_readings_stored_total", "tichwatch_readings_duplicate_total"))


@contextmanager
def two_nodes(data_dir: Path) -> Iterator[Nodes]:
    with rig(people_settings(data_dir)) as r:
        b = Pipeline(r.settings, r.store, Metrics(), reading_detectors=[FloodDetector(r.settings.stations,
                                                                                        r.settings.flood)],
                     sinks=[r.runtime.engine])
        b.start()
        try:
            yield Nodes(r, b)
        finally:
            b.stop()


@pytest.fixture
def series() -> list[tuple[float, float]]:
    return flood_series(time.time() - HOURS * 3600, HOURS)


def _first(series: list[tuple[float, float]], above: bool, after: int = 0) -> int:
    return next(i for i, (_, level) in enumerate(series) if i >= after and (level > BD1_M) == above)


def test_a_crossing_the_dead_owner_never_recorded_is_claimed_once(tmp_path: Path,
                                                                    series: list[tuple[float, float]]) -> None:
    crossing = _first(series, above=True)
    with two_nodes(tmp_path / "data") as n:
        n.own(n.b)
        for i in range(crossing):
            n.deliver(series[i:i + 1])
        n.kill(n.b)  # b dies before committing the crossing; a stored the reading and saw it, not owning st1
        n.own(None)
        bd2 = next(i for i, (_, level) in enumerate(series) if level > 7.3)
        for i in range(crossing, bd2 + 1):  # nobody owns st1 while the river passes BĐ I, then BĐ II
            n.deliver(series[i:i + 1])
        assert n.level_alerts() == []
        n.own(n.a)  # a takes st1 over at its next reading
        n.deliver(series[bd2 + 1:bd2 + 2])
        (alert,) = n.level_alerts()
        assert alert.level == "BD2" and alert.started_ts == pytest.approx(series[crossing][0], abs=0.01)
        n.deliver(series[bd2 + 2:bd2 + 6])
        assert len(n.level_alerts()) == 1
        assert _statements(n) == _alone(tmp_path / "alone", series[:bd2 + 6])  # as if b had never died


def _statements(n: Nodes) -> list[tuple[str, bool, str | None, float]]:
    """The recorded changes of what is said of st1, kind by kind (a repeated statement, e.g. a forecast's new
    predicted time at the same level, is an update of the same alert: a takeover claims changes only)."""
    rows = n.r.store.query_all("SELECT kind, active, level, ts FROM detections ORDER BY ts, id")
    out, last = [], {}  # type: list[tuple[str, bool, str | None, float]], dict[str, tuple[bool, str | None]]
    for r in rows:
        state = (bool(r["active"]), r["level"] if r["active"] else None)
        if last.get(r["kind"]) != state:
            out.append((r["kind"], *state, round(r["ts"], 2)))
            last[r["kind"]] = state
    return out


def _alone(data_dir: Path, series: list[tuple[float, float]]) -> list[tuple[str, bool, str | None, float]]:
    """What one node alone records for these readings, message by message as the test delivers them."""
    with two_nodes(data_dir) as n:
        n.kill(n.b)
        for i in range(0, len(series)):
            n.deliver(series[i:i + 1])
        return _statements(n)


def test_taking_over_says_nothing_the_store_already_says(tmp_path: Path, series: list[tuple[float, float]]) -> None:
    crossing = _first(series, above=True)
    with two_nodes(tmp_path / "data") as n:
        n.own(n.b)
        for i in range(crossing + 3):  # b records the crossing and what follows; a sees the same, unowned
            n.deliver(series[i:i + 1])
        (alert,) = n.level_alerts()
        n.kill(n.b)
        n.own(n.a)
        for i in range(crossing + 3, crossing + 12):  # a takes over: its detector says what the store says
            n.deliver(series[i:i + 1])
        assert [a.id for a in n.level_alerts()] == [alert.id]
        assert _statements(n) == _alone(tmp_path / "alone", series[:crossing + 12])  # nothing said twice


def test_the_fall_while_nobody_recorded_it_is_claimed(tmp_path: Path, series: list[tuple[float, float]]) -> None:
    crossing = _first(series, above=True)
    with two_nodes(tmp_path / "data") as n:
        n.own(n.b)
        n.deliver(series[:crossing + 1])
        n.kill(n.b)  # b dies with the level alert open; nobody records the flood's end ...
        n.own(None)
        for i in range(crossing + 1, len(series) - 1, 6):
            n.deliver(series[i:min(i + 6, len(series) - 1)])
        assert n.level_alerts()[0].clearing_ts is None
        n.own(n.a)  # ... until a takes st1 over: the river fell below BĐ I long before
        n.deliver(series[-1:])
        (alert,) = n.level_alerts()
        assert alert.clearing_ts is not None and alert.clearing_ts < series[-2][0]


def _owner_dies_before(n: Nodes, series: list[tuple[float, float]], crossing: int) -> None:
    """b owns st1 up to the crossing and dies before committing it; a, not owning st1, sees the crossing."""
    n.own(n.b)
    n.deliver(series[:crossing])
    n.kill(n.b)
    n.own(None)
    n.deliver(series[crossing:crossing + 1])


def test_a_crossing_is_claimed_at_the_next_tick_when_no_other_reading_comes(tmp_path: Path,
                                                                          series: list[tuple[float, float]]) -> None:
    """The owner dies just before a crossing, and the gauge reports next in ten minutes: the node that takes the
    station over records the crossing at its pipeline's next tick, not at the next reading."""
    crossing = _first(series, above=True)
    with two_nodes(tmp_path / "data") as n:
        _owner_dies_before(n, series, crossing)
        assert n.level_alerts() == []
        n.own(n.a)  # a sees b gone: st1 is a's now, no reading of it comes
        n.a.tick(time.time())
        (alert,) = n.level_alerts()
        assert alert.started_ts == pytest.approx(series[crossing][0], abs=0.01)


def test_what_the_store_cannot_say_now_is_claimed_later_not_blind(tmp_path: Path, series: list[tuple[float, float]],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    crossing = _first(series, above=True)
    with two_nodes(tmp_path / "data") as n:
        _owner_dies_before(n, series, crossing)
        real = n.r.store.latest_detection

        def unreadable(kind: str, subject: str) -> object:
            raise OSError("the database is restarting")
        monkeypatch.setattr(n.r.store, "latest_detection", unreadable)
        n.own(n.a)
        n.a.tick(time.time())
        assert n.level_alerts() == []  # nothing claimed blind ...
        monkeypatch.setattr(n.r.store, "latest_detection", real)
        n.a.tick(time.time())
        (alert,) = n.level_alerts()  # ... and nothing lost
        assert alert.started_ts == pytest.approx(series[crossing][0], abs=0.01)


def _offline_alerts(n: Nodes) -> list[Alert]:
    return [a for a in storage.find_alerts(n.r.store.query_all, storage.AlertFilter(limit=100))
            if a.kind == "sensor.offline"]


def test_a_silence_seen_under_another_owner_is_claimed_while_it_lasts(tmp_path: Path,
                                                                     series: list[tuple[float, float]]) -> None:
    """The owner died as the gauge fell silent: the node taking the station over says so (its detector already
    counts the station silent and would never say it again)."""
    with two_nodes(tmp_path / "data") as n:
        n.own(n.b)
        n.deliver(series[:10])
        n.kill(n.b)
        n.own(None)
        later = time.time() + 6 * 3600  # hours without a reading
        n.a.tick(later)
        assert _offline_alerts(n) == []
        n.own(n.a)
        n.a.tick(later + 5)
        (alert,) = _offline_alerts(n)
        assert alert.clearing_ts is None


def test_a_silence_that_ended_is_not_claimed(tmp_path: Path, series: list[tuple[float, float]]) -> None:
    """What a node cut from the broker sees: every station silent, then readings again. Taking a station over
    afterwards says nothing of that silence (it was the node's, not the gauge's)."""
    with two_nodes(tmp_path / "data") as n:
        n.own(n.b)
        n.deliver(series[:10])
        n.own(None)
        n.a.tick(time.time() + 6 * 3600)  # a's own view: silent ...
        n.deliver(series[10:11])  # ... until its readings come again
        n.own(n.a)
        n.a.tick(time.time())
        assert _offline_alerts(n) == []
