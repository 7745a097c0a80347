"""A restart puts the open alerts to the detectors rebuilt from the stored readings: an alert whose condition no
longer holds is resolved (audited, saying why); one that still holds, or that no detector can judge, stays."""
from __future__ import annotations

import time
from pathlib import Path

from tests.alerts.harness import detection, flood_level, people_settings
from tichwatch.alerts import storage
from tichwatch.alerts.model import RESTART_REASON, SYSTEM, AlertState
from tichwatch.alerts.runtime import AlertRuntime
from tichwatch.app.schema import open_store
from tichwatch.app.service import Service
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.metrics import Metrics
from tichwatch.core.samples import Reading
from tichwatch.tools.broker import MosquittoProcess


def _readings(station: str, start: float, end: float, level: float) -> list[Reading]:
    return [Reading(station, ts, level + 0.01 * (i % 3), received_ts=ts) for i, ts in
            enumerate(range(int(start), int(end), 600))]


def test_a_restart_resolves_the_alerts_whose_condition_cleared_and_keeps_the_others(
        tmp_path: Path, broker: MosquittoProcess) -> None:
    settings = people_settings(tmp_path / "data", broker.port, resolve_hold_s=900)
    now = time.time()
    store = open_store(settings.store.data_dir)
    before = AlertRuntime(settings, store, Metrics(), env={})
    with store.transaction() as conn:
        # st1 rose past BĐ I, then fell back to normal, but those readings were stored without the detectors (as a
        # message the detectors failed on is): its level alert was left open. st2 is still at BĐ II.
        store.insert_readings(conn, [*_readings("st1", now - 6 * 3600, now - 3 * 3600, 6.8),
                                     *_readings("st1", now - 3 * 3600, now - 60, 5.0),
                                     *_readings("st2", now - 6 * 3600, now - 60, 7.5)])
        before.engine.apply(conn, [
            flood_level("st1", "BD1", now - 6 * 3600, 6.8), flood_level("st2", "BD2", now - 6 * 3600, 7.5),
            Detection("flood.forecast", "st1", now - 6 * 3600, True, Severity.WARNING, 2.0, "h", "BD2", "eta"),
            detection("camera.offline", "cam1", now - 600)], now - 6 * 3600)
    opened = {(a.kind, a.subject): a.id for a in storage.open_alerts(store.query_all)}
    store.close()

    svc = Service(settings)
    svc.start()
    try:
        after = {(a.kind, a.subject): a for a in storage.find_alerts(svc.store.query_all,
                                                                     storage.AlertFilter(limit=100))}
        st1 = after[("flood.level", "st1")]
        assert st1.id == opened[("flood.level", "st1")] and st1.state is AlertState.RESOLVED
        assert (st1.resolved_by, st1.resolve_reason) == (SYSTEM, RESTART_REASON)
        log = storage.audit_of(svc.store.query_all, st1.id)
        assert (log[-1].action, log[-1].actor, log[-1].reason) == ("resolved", SYSTEM, RESTART_REASON)
        assert after[("flood.forecast", "st1")].state is AlertState.RESOLVED  # no warning in the rebuilt state
        assert after[("flood.level", "st2")].state is AlertState.FIRING  # still at BĐ II: kept
        assert after[("camera.offline", "cam1")].state is AlertState.FIRING  # no detector can tell: kept
        told = [(r["alert_id"], r["notice"]) for r in svc.store.query_all("SELECT * FROM notifications ORDER BY id")]
        assert (st1.id, "resolved") in told and (after[("flood.level", "st2")].id, "resolved") not in told
    finally:
        svc.stop()
