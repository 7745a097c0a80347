"""The engine over a real store with the clock passed in: lifecycle, flapping, repeats, escalation, silences,
inhibition, restarts and the audit log."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.alerts.harness import Clock, Harness, detection, flood_level, people_settings
from tichwatch.alerts import actions
from tichwatch.alerts.model import AlertState
from tichwatch.config.alerts import Matchers
from tichwatch.core.detection import Severity


def test_severity_rise_updates_the_same_alert_and_notifies_again(harness: Harness) -> None:
    harness.detect(flood_level("st1", "BD1", harness.clock(), 6.6))
    first = harness.open_alert("flood.level", "st1")
    harness.clock.advance(600)
    harness.detect(flood_level("st1", "BD2", harness.clock(), 7.4))
    harness.clock.advance(600)
    harness.detect(flood_level("st1", "BD3", harness.clock(), 8.1))
    alert = harness.open_alert("flood.level", "st1")
    assert alert is not None and first is not None and alert.id == first.id
    assert alert.severity is Severity.EMERGENCY and alert.level == "BD3"
    assert harness.notices("duty") == ["firing", "raised", "raised"]
    assert [r["severity"] for r in harness.rows("duty")] == [20, 30, 40]


def test_a_new_episode_after_resolution_is_a_new_alert(harness: Harness) -> None:
    harness.detect(flood_level("st1", "BD1", harness.clock()))
    first = harness.open_alert("flood.level", "st1")
    harness.clock.advance(60)
    harness.detect(flood_level("st1", None, harness.clock()))
    assert harness.open_alert("flood.level", "st1") is None
    harness.clock.advance(7200)
    harness.detect(flood_level("st1", "BD1", harness.clock()))
    second = harness.open_alert("flood.level", "st1")
    assert first and second and first.id != second.id
    assert harness.notices("duty") == ["firing", "resolved", "firing"]
    assert all((c.isalnum() and c.islower()) or c.isdigit() for c in second.id) and len(second.id) == 12


def test_resolution_waits_for_the_hold_and_a_reraise_within_it_continues_the_alert(tmp_path: Path) -> None:
    h = Harness(people_settings(tmp_path / "data", resolve_hold_s=300))
    h.detect(detection("sensor.offline", "st1", h.clock()))
    alert = h.open_alert("sensor.offline", "st1")
    h.clock.advance(60)
    h.detect(detection("sensor.offline", "st1", h.clock(), active=False))
    h.tick(120)
    h.detect(detection("sensor.offline", "st1", h.clock()))  # back within the hold: same alert, no news
    h.tick(30)
    h.detect(detection("sensor.offline", "st1", h.clock(), active=False))
    h.tick(299)
    assert h.open_alert("sensor.offline", "st1") is not None
    h.tick(1)
    assert h.open_alert("sensor.offline", "st1") is None
    assert h.notices("duty") == ["firing", "resolved"]
    assert alert and h.log(alert.id) == ["opened", "cleared", "refired", "updated", "cleared", "resolved"]
    h.close()


def test_flapping_detection_yields_a_bounded_number_of_notifications(tmp_path: Path) -> None:
    h = Harness(people_settings(tmp_path / "data", resolve_hold_s=120, flap_window_s=3600, flap_max_clears=3))
    for _ in range(12 * 6):  # twelve hours of a detector flipping every five minutes
        h.detect(detection("flood.rapid_rise", "st1", h.clock()))
        h.tick(300)
        h.detect(detection("flood.rapid_rise", "st1", h.clock(), active=False))
        h.tick(300)
    notices = h.notices("duty")
    repeats_possible = 12 * 3600 / 4 / 3600 + 1  # warning repeats every 4 h
    assert len(notices) <= 2 * 3 + repeats_possible + 1, notices
    assert len(h.all_alerts()) <= 4
    h.close()


def test_repeat_intervals_hold_per_severity_and_stop_on_acknowledgement(harness: Harness) -> None:
    harness.detect(flood_level("st1", "BD2", harness.clock()))  # critical: every hour
    harness.detect(flood_level("st2", "BD1", harness.clock()))  # warning: every 4 hours
    for _ in range(8 * 6):
        harness.tick(600)
    by_subject = {s: [r["notice"] for r in harness.rows("duty") if r["alert_id"] == a.id]
                  for s in ("st1", "st2") if (a := harness.open_alert("flood.level", s))}
    assert by_subject["st1"] == ["firing"] + ["repeat"] * 8
    assert by_subject["st2"] == ["firing"] + ["repeat"] * 2
    st1 = harness.open_alert("flood.level", "st1")
    assert st1 is not None
    harness.act(actions.acknowledge, harness.runtime.engine, st1.id, "truc.ban", harness.clock(), "đang xử lý")
    for _ in range(6 * 6):
        harness.tick(600)
    assert [r["notice"] for r in harness.rows("duty") if r["alert_id"] == st1.id][-1] == "repeat"
    assert len([r for r in harness.rows("duty") if r["alert_id"] == st1.id]) == 9


def test_escalation_at_the_configured_time_stops_on_acknowledgement(tmp_path: Path) -> None:
    chain = {"name": "flood", "match": {"kinds": ["flood."], "min_severity": "warning"},
             "tiers": [{"name": "Phó Chủ tịch UBND xã", "after_s": 900, "receivers": ["vicechair"]},
                       {"name": "Chủ tịch UBND xã", "after_s": 1800, "receivers": ["chair"]}]}
    h = Harness(people_settings(tmp_path / "data", escalation=[chain]))
    h.detect(flood_level("st1", "BD3", h.clock()))
    h.tick(899)
    assert h.notices("vicechair") == []
    h.tick(1)
    assert h.notices("vicechair") == ["firing"] and h.rows("vicechair")[0]["tier"] == "Phó Chủ tịch UBND xã"
    assert "Chưa ai xác nhận từ 21:13 ngày 21/09/2026" in h.rows("vicechair")[0]["payload"]
    alert = h.open_alert("flood.level", "st1")
    assert alert is not None
    h.act(actions.acknowledge, h.runtime.engine, alert.id, "pho.chu.tich", h.clock())
    h.tick(3600)
    assert h.notices("chair") == []
    assert h.notices("vicechair") == ["firing"]  # no reminders after the acknowledgement
    h.close()


def test_escalation_restarts_when_severity_rises_after_acknowledgement(tmp_path: Path) -> None:
    chain = {"name": "flood", "tiers": [{"name": "Chủ tịch", "after_s": 600, "receivers": ["chair"]}]}
    h = Harness(people_settings(tmp_path / "data", escalation=[chain]))
    h.detect(flood_level("st1", "BD2", h.clock()))
    alert = h.open_alert("flood.level", "st1")
    assert alert is not None
    h.act(actions.acknowledge, h.runtime.engine, alert.id, "truc.ban", h.clock())
    h.tick(900)
    assert h.notices("chair") == []
    h.detect(flood_level("st1", "BD3", h.clock(), 8.1))
    raised = h.open_alert("flood.level", "st1")
    assert raised is not None and raised.state is AlertState.FIRING and raised.acknowledged_by is None
    h.tick(599)
    assert h.notices("chair") == []
    h.tick(1)
    assert h.notices("chair") == ["firing"]
    h.close()


def test_inhibition_mutes_trend_alerts_of_an_offline_station_only(harness: Harness) -> None:
    harness.detect(detection("sensor.offline", "st1", harness.clock()))
    harness.detect(detection("flood.rapid_rise", "st1", harness.clock()),
                   detection("flood.rapid_rise", "st2", harness.clock()),
                   flood_level("st1", "BD1", harness.clock()))
    sent = {(r["alert_id"], r["notice"]) for r in harness.rows("duty")}
    ids = {(a.kind, a.subject): a.id for a in harness.all_alerts()}
    assert (ids[("sensor.offline", "st1")], "firing") in sent
    assert (ids[("flood.rapid_rise", "st2")], "firing") in sent
    assert (ids[("flood.level", "st1")], "firing") in sent  # the level is not a trend alert
    assert not any(a == ids[("flood.rapid_rise", "st1")] for a, _ in sent)
    harness.detect(detection("sensor.offline", "st1", harness.clock(), active=False))
    harness.tick(10)  # the source is gone: the muted alert is told now
    assert (ids[("flood.rapid_rise", "st1")], "firing") in {(r["alert_id"], r["notice"]) for r in harness.rows("duty")}


def test_bd3_inhibits_only_the_reminders_of_lower_flood_alerts_in_its_area(tmp_path: Path) -> None:
    h = Harness(people_settings(tmp_path / "data", areas=[{"name": "kieu-phu", "subjects": ["st1", "st2"]}]))
    h.detect(flood_level("st2", "BD2", h.clock()))
    h.detect(flood_level("st1", "BD3", h.clock()))
    h.tick(3 * 3600)
    st1, st2 = h.open_alert("flood.level", "st1"), h.open_alert("flood.level", "st2")
    assert st1 and st2
    assert [r["notice"] for r in h.rows("duty") if r["alert_id"] == st2.id] == ["firing"]  # no BD2 reminders
    assert [r["notice"] for r in h.rows("duty") if r["alert_id"] == st1.id] == ["firing", "repeat"]
    h.close()


def test_silence_mutes_what_it_matches_and_nothing_else_until_it_ends(harness: Harness) -> None:
    silence = harness.act(actions.create_silence, Matchers(kinds=["sensor."], subjects=["st1"]), harness.clock(),
                          harness.clock() + 3600, "thay cảm biến", "truc.ban", harness.clock())
    harness.detect(detection("sensor.stuck", "st1", harness.clock()), detection("sensor.stuck", "st2", harness.clock()),
                   flood_level("st1", "BD1", harness.clock()))
    ids = {(a.kind, a.subject): a.id for a in harness.all_alerts()}
    told = {r["alert_id"] for r in harness.rows("duty")}
    assert told == {ids[("sensor.stuck", "st2")], ids[("flood.level", "st1")]}
    harness.tick(3599)
    assert ids[("sensor.stuck", "st1")] not in {r["alert_id"] for r in harness.rows("duty")}
    harness.tick(1)  # expired: the muted alert is told at the next tick
    assert ids[("sensor.stuck", "st1")] in {r["alert_id"] for r in harness.rows("duty")}
    log = harness.store.query_all("SELECT action, actor FROM alert_log WHERE silence_id = ? ORDER BY id", (silence.id,))
    assert [tuple(r) for r in log] == [("silence.created", "truc.ban"), ("silence.expired", "system")]


def test_an_officer_ends_a_silence_early(harness: Harness) -> None:
    silence = harness.act(actions.create_silence, Matchers(subjects=["cam1"]), harness.clock(),
                          harness.clock() + 86400, "thi công ban đêm", "truc.ban", harness.clock())
    harness.detect(detection("dust.plume", "cam1", harness.clock()))
    assert harness.rows("duty") == []
    harness.act(actions.expire_silence, harness.runtime.engine, silence.id, "truc.ban", harness.clock())
    assert harness.notices("duty") == ["firing"]


def test_maintenance_window_in_local_time(tmp_path: Path) -> None:
    window = {"name": "hieu-chuan", "weekdays": ["mon"], "start_local": "08:00", "end_local": "10:00",
              "match": {"subjects": ["st1"]}}
    monday_0830_hanoi = datetime(2026, 9, 28, 8, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()
    h = Harness(people_settings(tmp_path / "data", maintenance=[window]), Clock(monday_0830_hanoi))
    h.detect(detection("sensor.spike", "st1", h.clock()), detection("sensor.spike", "st2", h.clock()))
    st2 = h.open_alert("sensor.spike", "st2")
    assert st2 is not None and {r["alert_id"] for r in h.rows("duty")} == {st2.id}
    h.tick(2 * 3600)  # 10:30: the window is over
    assert len({r["alert_id"] for r in h.rows("duty")}) == 2
    h.close()


def test_resolution_after_a_restart_is_still_sent(tmp_path: Path) -> None:
    settings = people_settings(tmp_path / "data", resolve_hold_s=300)
    clock = Clock()
    first = Harness(settings, clock)
    first.detect(flood_level("st1", "BD2", clock()))
    first.tick(60)
    first.detect(flood_level("st1", None, clock()))  # cleared; resolves after the hold
    first.close()  # the service stops in the middle of the episode
    second = Harness(settings, clock)
    second.tick(600)
    assert second.notices("duty") == ["firing", "resolved"]
    assert all(r["state"] == "sent" for r in second.rows())
    second.close()


def test_audit_log_records_what_who_when_why(harness: Harness) -> None:
    harness.detect(flood_level("st1", "BD1", harness.clock()))
    alert = harness.open_alert("flood.level", "st1")
    assert alert is not None
    harness.clock.advance(60)
    harness.act(actions.acknowledge, harness.runtime.engine, alert.id, "truc.ban", harness.clock(), "ra đê")
    harness.act(actions.comment, alert.id, "truc.ban", harness.clock(), "nước ngập ngầm thôn Đông")
    harness.act(actions.resolve, harness.runtime.engine, alert.id, "pho.chu.tich", harness.clock(),
                "đã kiểm tra, nước rút")
    rows = harness.store.query_all("SELECT ts, action, actor, reason FROM alert_log WHERE alert_id = ? ORDER BY id",
                                   (alert.id,))
    assert [(r["action"], r["actor"], r["reason"]) for r in rows] == [
        ("opened", "detector", "at BD1"), ("acknowledged", "truc.ban", "ra đê"),
        ("commented", "truc.ban", "nước ngập ngầm thôn Đông"), ("resolved", "pho.chu.tich", "đã kiểm tra, nước rút")]
    assert rows[1]["ts"] == harness.clock()
    assert harness.notices("duty") == ["firing", "resolved"]  # people are not told of acknowledgements by default


def test_actions_refuse_what_cannot_be_done(harness: Harness) -> None:
    harness.detect(flood_level("st1", "BD1", harness.clock()))
    alert = harness.open_alert("flood.level", "st1")
    assert alert is not None
    with pytest.raises(actions.ActionError) as exc:
        harness.act(actions.resolve, harness.runtime.engine, alert.id, "truc.ban", harness.clock(), "  ")
    assert exc.value.status == 422
    harness.act(actions.resolve, harness.runtime.engine, alert.id, "truc.ban", harness.clock(), "báo nhầm")
    with pytest.raises(actions.ActionError) as exc:
        harness.act(actions.acknowledge, harness.runtime.engine, alert.id, "truc.ban", harness.clock())
    assert exc.value.status == 409
    with pytest.raises(actions.ActionError) as exc:
        harness.act(actions.create_silence, Matchers(), harness.clock(), harness.clock() + 60, "x", "a",
                    harness.clock())
    assert exc.value.status == 422
