"""The alert lifecycle runs on the readings' time: floods that clear inside a backlog (days of a gateway's stored
readings delivered in seconds) leave no alert firing, resolve at the readings' time, stay separate episodes, and are
told as they were; a subject that goes silent still resolves after the hold in wall time."""
from __future__ import annotations

import time
from pathlib import Path

from tests.alerts.harness import Harness, flood_level, people_settings
from tests.alerts.replay import flood_series, rig
from tichwatch.alerts import storage
from tichwatch.alerts.engine import BACKLOG_EPISODE
from tichwatch.alerts.model import Alert
from tichwatch.core.detection import TAKEN_OVER_BY, Detection, Severity
from tichwatch.detectors.flood.detector import FloodDetector
from tichwatch.residents.bulletins.gather import public_alerts

HOLD_S = 900.0


def _by_kind(alerts: list[Alert], kind: str) -> list[Alert]:
    return sorted((a for a in alerts if a.kind == kind), key=lambda a: a.started_ts)


def test_floods_that_clear_inside_a_backlog_leave_no_alert_firing_and_resolve_on_the_readings_clock(
        tmp_path: Path) -> None:
    wall_start = time.time()
    begin = wall_start - 85 * 3600
    series = flood_series(begin, 84, floods=(6.0, 48.0))  # two floods, 21 h apart, ending an hour before now
    with rig(people_settings(tmp_path / "data", resolve_hold_s=HOLD_S)) as r:
        for i in range(0, len(series), 12):  # two hours of readings per message, each message its own batch
            r.deliver(series[i:i + 12])
        took = time.time() - wall_start
        detector = r.pipeline.reading_detectors[0]
        assert isinstance(detector, FloodDetector)
        status = detector.status("st1")
        alerts = storage.find_alerts(r.store.query_all, storage.AlertFilter(limit=1000))
        audit = {a.id: storage.audit_of(r.store.query_all, a.id) for a in alerts}
        told = {(row["alert_id"], row["notice"]) for row in r.store.query_all("SELECT * FROM notifications")}
    assert took < 120, f"{84} h of readings took {took:.0f} s"
    assert status.level_m is not None and status.level_m < 5.1 and status.alarm_level is None
    assert [(a.kind, a.level) for a in alerts if a.open and a.kind.startswith("flood.")] == []

    first, second = _by_kind(alerts, "flood.level")  # two episodes, as on the river (not one that never cleared)
    for episode in (first, second):
        assert episode.clearing_ts is not None and episode.resolved_ts == episode.clearing_ts + HOLD_S
        assert episode.resolved_ts < wall_start - 3600  # when it ended on the river, not when it was processed
        resolved = audit[episode.id][-1]
        assert (resolved.action, resolved.actor, resolved.data["clock"]) == ("resolved", "system", "readings")
        assert resolved.data["clock_ts"] == episode.resolved_ts and resolved.ts >= wall_start  # recorded now
        cleared = next(e for e in audit[episode.id] if e.action == "cleared")
        assert cleared.data["hold_s"] == HOLD_S and not cleared.data["flapping"]
        assert {n for a, n in told if a == episode.id} == {"firing", "raised", "resolved"}
    assert first.resolved_ts is not None and first.resolved_ts < second.started_ts - 12 * 3600


def test_forecasts_end_when_their_level_is_reached_in_a_replay(tmp_path: Path) -> None:
    series = flood_series(time.time() - 50 * 3600, 48)
    with rig(people_settings(tmp_path / "data", resolve_hold_s=HOLD_S)) as r:
        for i in range(0, len(series), 6):
            r.deliver(series[i:i + 6])
        alerts = storage.find_alerts(r.store.query_all, storage.AlertFilter(limit=1000))
        level = _by_kind(alerts, "flood.level")[0]
        level_log = storage.audit_of(r.store.query_all, level.id)
    reached_at = {e.data["level"]: e.data["sample_ts"] for e in level_log if e.action in ("opened", "raised")}
    taken_over = [a for a in _by_kind(alerts, "flood.forecast") if (a.resolve_reason or "").endswith(
        "reached: the level alert takes over")]
    assert sorted(a.level or "" for a in taken_over) == ["BD1", "BD2"]
    for forecast in taken_over:  # resolved on the very reading that reached its level: no hold, no overlap
        assert forecast.level is not None and forecast.resolved_ts == reached_at[forecast.level]


def test_an_episode_that_begins_and_ends_within_one_batch_is_recorded_but_not_announced(tmp_path: Path) -> None:
    series = flood_series(time.time() - 50 * 3600, 48)
    with rig(people_settings(tmp_path / "data", resolve_hold_s=HOLD_S)) as r:
        r.deliver(series)  # the gateway's whole stored backlog in one message
        alerts = storage.find_alerts(r.store.query_all, storage.AlertFilter(limit=1000))
        logs = {a.id: storage.audit_of(r.store.query_all, a.id) for a in alerts}
        sent = r.store.query_all("SELECT * FROM notifications")
    (level,) = _by_kind(alerts, "flood.level")
    assert not level.open and level.resolved_ts is not None and level.resolved_ts < time.time() - 3600
    assert logs[level.id][-1].action == "not_notified" and logs[level.id][-1].reason == BACKLOG_EPISODE
    assert [a for a in alerts if a.open] == [] and sent == []  # history, not news: nobody is paged for it


def test_the_hold_runs_on_the_readings_and_on_the_wall_clock_only_in_silence(tmp_path: Path) -> None:
    h = Harness(people_settings(tmp_path / "data", resolve_hold_s=600))
    sample = h.clock() - 2 * 86400  # a backlog: readings two days old arrive now

    def batch(*detections: object, newest: float) -> None:
        with h.store.transaction() as conn:
            h.runtime.engine.apply(conn, detections, h.clock(), {"st1": newest})  # type: ignore[arg-type]

    batch(flood_level("st1", "BD1", sample), newest=sample)
    batch(flood_level("st1", None, sample + 600), newest=sample + 600)
    h.tick(30)  # the wall clock moves, the readings do not yet: the hold is not over
    batch(newest=sample + 1199)
    alert = h.open_alert("flood.level", "st1")
    assert alert is not None and alert.resolve_after_ts == sample + 1200
    batch(newest=sample + 1200)  # a normal reading at the end of the hold, seconds later in wall time
    assert h.open_alert("flood.level", "st1") is None
    assert h.all_alerts()[0].resolved_ts == sample + 1200

    batch(flood_level("st1", "BD1", sample + 3600), newest=sample + 3600)
    batch(flood_level("st1", None, sample + 4200), newest=sample + 4200)  # then the gauge goes silent
    h.tick(599)
    assert h.open_alert("flood.level", "st1") is not None
    h.tick(1)  # silent for the whole hold in wall time: resolved, on the gauge's clock run on by the wall clock
    second = h.all_alerts()[0]
    assert not second.open and second.resolved_ts == sample + 4800
    assert storage.audit_of(h.store.query_all, second.id)[-1].data["clock"] == "wall"
    h.close()


def test_flapping_is_counted_in_the_readings_time(tmp_path: Path) -> None:
    h = Harness(people_settings(tmp_path / "data", resolve_hold_s=300, flap_window_s=3600, flap_max_clears=3))
    sample = h.clock() - 86400
    for k in range(5):  # a day of a level crossing every 4 h, delivered within seconds: not flapping
        with h.store.transaction() as conn:
            t = sample + k * 4 * 3600
            h.runtime.engine.apply(conn, [flood_level("st1", "BD1", t), flood_level("st1", None, t + 600)],
                                   h.clock.advance(1), {"st1": t + 3600})
    alerts = h.all_alerts()
    assert len(alerts) == 5 and not any(a.open for a in alerts)
    holds = [e.data["hold_s"] for a in alerts for e in storage.audit_of(h.store.query_all, a.id)
             if e.action == "cleared"]
    assert holds == [300] * 5
    for k in range(4):  # four crossings within one hour of readings: flapping, the long hold
        with h.store.transaction() as conn:
            t = sample + 86400 + k * 600
            h.runtime.engine.apply(conn, [flood_level("st1", "BD1", t), flood_level("st1", None, t + 300)],
                                   h.clock.advance(1), {"st1": t + 300})
    alert = h.open_alert("flood.level", "st1")
    assert alert is not None and alert.resolve_after_ts == alert.clearing_ts + 3600  # type: ignore[operator]
    h.close()


def test_a_forecast_resolves_at_once_when_the_level_alert_takes_over_and_leaves_the_bulletins(tmp_path: Path) -> None:
    h = Harness(people_settings(tmp_path / "data", resolve_hold_s=HOLD_S))
    t = h.clock()
    warned = Detection("flood.forecast", "st1", t, True, Severity.CRITICAL, 2.0, "h", "BD3", "BD3 predicted",
                       {"next_level": "BD3", "eta_ts": t + 7200, "forecast_ts": t})
    h.detect(warned)
    kinds = h.settings.bulletins.public_kinds
    assert [a.kind for a in public_alerts(h.store, kinds)] == ["flood.forecast"]  # the radio would read it
    reached = Detection("flood.forecast", "st1", t + 5400, False, Severity.INFO, None, "h", None,
                        "BD3 reached: the level alert takes over", {TAKEN_OVER_BY: "flood.level"})
    h.clock.advance(60)
    h.detect(flood_level("st1", "BD3", t + 5400, 8.02), reached)  # one reading: the level and the forecast's end
    forecast = next(a for a in h.all_alerts() if a.kind == "flood.forecast")
    assert not forecast.open and forecast.resolved_ts == t + 5400  # no hold: the level alert says it now
    assert forecast.resolve_reason == "BD3 reached: the level alert takes over"
    entry = storage.audit_of(h.store.query_all, forecast.id)[-1]
    assert (entry.action, entry.data[TAKEN_OVER_BY]) == ("resolved", "flood.level")
    assert [a.kind for a in public_alerts(h.store, kinds)] == ["flood.level"]  # bulletins and radio: the level only
    assert [r["notice"] for r in h.rows("duty") if r["alert_id"] == forecast.id] == ["firing", "resolved"]
    h.close()
