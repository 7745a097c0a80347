"""The pure parts: lifecycle steps, matchers, maintenance windows and each stage's decisions with their reasons."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.alerts.harness import T0, detection, flood_level
from tichwatch.alerts import model, stages
from tichwatch.alerts.model import Alert, AlertState, HoldPolicy, Labels, matches
from tichwatch.alerts.stages import Candidate, SentEntry, StageContext
from tichwatch.config.alerts import AlertSettings, MaintenanceWindow, Matchers
from tichwatch.core.detection import Severity

TZ = "Asia/Ho_Chi_Minh"
POLICY = HoldPolicy(resolve_hold_s=300, flap_hold_s=3600, flap_max_clears=3)


def _open(level: str = "BD2", now: float = T0) -> Alert:
    change = model.on_detection(None, flood_level("st1", level, now), now, POLICY, 0)
    assert change.alert is not None
    return change.alert


def test_alert_ids_are_stable_and_url_safe() -> None:
    a, b = model.alert_id("flood.level", "st1", T0), model.alert_id("flood.level", "st1", T0)
    assert a == b and a != model.alert_id("flood.level", "st1", T0 + 1)
    assert len(a) == 12 and a.isalnum() and a == a.lower()


def test_lifecycle_steps() -> None:
    alert = _open("BD1")
    assert alert.state is AlertState.FIRING and alert.severity is Severity.WARNING
    acked = model.acknowledge(alert, T0 + 10, "truc.ban").alert
    assert acked is not None and acked.state is AlertState.ACKNOWLEDGED
    assert model.acknowledge(acked, T0 + 11, "x").alert is None  # already acknowledged: nothing to record
    raised = model.on_detection(acked, flood_level("st1", "BD2", T0 + 20), T0 + 20, POLICY, 0)
    assert raised.alert is not None and raised.alert.state is AlertState.FIRING
    assert [e.action for e in raised.audit] == ["raised"] and raised.audit[0].data["acknowledgement_cleared"]
    cleared = model.on_detection(raised.alert, flood_level("st1", None, T0 + 30), T0 + 30, POLICY, 0).alert
    assert cleared is not None and cleared.resolve_after_ts == T0 + 330 and cleared.open
    assert model.hold_expired(cleared, T0 + 329, T0 + 329).alert is None
    late = model.hold_expired(cleared, T0 + 330, T0 + 9000)  # the readings' clock ran it out; processed much later
    done = late.alert
    assert done is not None and done.state is AlertState.RESOLVED and done.resolved_by == model.SYSTEM
    assert done.resolved_ts == T0 + 330 and done.updated_ts == T0 + 9000  # resolved when the hold ended on the river
    assert late.audit[0].ts == T0 + 9000 and late.audit[0].data == {"clock_ts": T0 + 330, "clock": "readings"}
    flapping = model.on_detection(raised.alert, flood_level("st1", None, T0 + 30), T0 + 30, POLICY, 3).alert
    assert flapping is not None and flapping.resolve_after_ts == T0 + 3630


def test_matchers() -> None:
    labels = Labels("sensor.offline", "st1", Severity.WARNING, frozenset({"kieu-phu"}))
    assert matches(Matchers(), labels)
    assert matches(Matchers(kinds=["sensor."]), labels) and not matches(Matchers(kinds=["sensor"]), labels)
    assert matches(Matchers(kinds=["sensor.offline"], subjects=["st1"], areas=["kieu-phu"]), labels)
    assert not matches(Matchers(subjects=["st2"]), labels)
    assert not matches(Matchers(min_severity="critical"), labels)
    assert not matches(Matchers(max_severity="info"), labels)


@pytest.mark.parametrize(("local", "weekdays", "span", "active"), [
    ("2026-09-28 08:30", ["mon"], ("08:00", "10:00"), True),
    ("2026-09-28 10:00", ["mon"], ("08:00", "10:00"), False),
    ("2026-09-29 08:30", ["mon"], ("08:00", "10:00"), False),
    ("2026-09-28 23:30", ["mon"], ("22:00", "02:00"), True),
    ("2026-09-29 01:30", ["mon"], ("22:00", "02:00"), True),  # Tuesday night, but the window began on Monday
    ("2026-09-29 23:30", ["mon"], ("22:00", "02:00"), False),
])
def test_maintenance_windows_in_local_time(local: str, weekdays: list, span: tuple[str, str], active: bool) -> None:
    now = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(TZ)).timestamp()
    w = MaintenanceWindow(name="w", weekdays=weekdays, start_local=span[0], end_local=span[1])
    assert stages.window_active(w, now, TZ) is active


def _ctx(alerts: list[Alert], settings: AlertSettings | None = None, sent: dict | None = None,
         now: float = T0) -> StageContext:
    return StageContext(now, settings or AlertSettings(), TZ, lambda: [a for a in alerts if a.open], [], sent or {})


def test_notice_for() -> None:
    alert = _open("BD2")
    assert stages.notice_for(alert, None, False) == "firing"
    assert stages.notice_for(alert, SentEntry("firing", Severity.WARNING, T0), False) == "raised"
    assert stages.notice_for(alert, SentEntry("firing", Severity.EMERGENCY, T0), True) == "lowered"
    assert stages.notice_for(alert, SentEntry("firing", Severity.EMERGENCY, T0), False) == "repeat"
    assert stages.notice_for(replace(alert, state=AlertState.RESOLVED), None, False) == "resolved"


def test_dedup_reasons() -> None:
    alert = _open("BD2")  # critical: repeats every hour
    told = {alert.id: {"log": SentEntry("firing", Severity.CRITICAL, T0)}}
    early = stages.run([alert], _ctx([alert], sent=told, now=T0 + 1800))
    assert [(c.receiver.name, c.notice) for c in early.kept] == [("mqtt", "firing")]  # never told yet
    assert [d.reason for d in early.dropped] == ["sent 1800 s ago; repeats every 3600 s"]
    due = stages.run([alert], _ctx([alert], sent=told, now=T0 + 3600))
    assert ("log", "repeat") in [(c.receiver.name, c.notice) for c in due.kept]
    resolved = replace(alert, state=AlertState.RESOLVED)
    never = stages.run([resolved], _ctx([], sent={}))
    assert never.kept == [] and never.dropped and all("never told" in d.reason for d in never.dropped)


def test_the_mqtt_state_mirror_hears_acknowledgements_people_do_not() -> None:
    alert = model.acknowledge(_open("BD2"), T0 + 60, "truc.ban").alert
    assert alert is not None
    told = {alert.id: {"log": SentEntry("firing", Severity.CRITICAL, T0), "mqtt": SentEntry("firing",
                                                                                            Severity.CRITICAL, T0)}}
    result = stages.run([alert], _ctx([alert], sent=told, now=T0 + 60))
    assert [(c.receiver.name, c.notice) for c in result.kept] == [("mqtt", "acknowledged")]
    assert any(d.receiver == "log" and "takes no acknowledged" in d.reason for d in result.dropped)


def test_inhibition_needs_the_same_subject_or_area() -> None:
    offline = model.on_detection(None, detection("sensor.offline", "st1", T0), T0, POLICY, 0).alert
    rise1 = model.on_detection(None, detection("flood.rapid_rise", "st1", T0), T0, POLICY, 0).alert
    rise2 = model.on_detection(None, detection("flood.rapid_rise", "st2", T0), T0, POLICY, 0).alert
    assert offline and rise1 and rise2
    result = stages.run([rise1, rise2], _ctx([offline, rise1, rise2]))
    assert {c.alert.subject for c in result.kept} == {"st2"}
    assert any(d.stage == "inhibit" and "station-offline" in d.reason for d in result.dropped)


def test_silences_let_resolutions_through() -> None:
    alert = _open("BD1")
    s = model.Silence("s-1", Matchers(subjects=["st1"]), T0 - 10, T0 + 10, "thử", "truc.ban", T0 - 10)
    told = {alert.id: {"log": SentEntry("firing", Severity.WARNING, T0 - 100)}}
    ctx = StageContext(T0, AlertSettings(), TZ, lambda: [alert], [s], told)
    firing = stages.silence([Candidate(alert, alert.labels(), AlertSettings().receivers[0], "repeat", None)], ctx)
    assert firing.kept == [] and "silenced by s-1" in firing.dropped[0].reason
    done = replace(alert, state=AlertState.RESOLVED)
    passed = stages.silence([Candidate(done, done.labels(), AlertSettings().receivers[0], "resolved", None)], ctx)
    assert len(passed.kept) == 1
