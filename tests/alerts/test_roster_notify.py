""""Notify next" with the real engine, store and outbox: the officer on duty is told first; when they do not
acknowledge within the escalation time, the next on the roster is; an override in the store changes who is told; a
new shift's officer takes over what is still firing."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alerts.harness import T0, Clock, Harness, flood_level, log_receiver, people_settings
from tichwatch.alerts import roster_store
from tichwatch.alerts.roster import Override
from tichwatch.config.schema import Settings

PEOPLE = ("an", "binh", "cuong")


def roster_settings(data_dir: Path) -> Settings:
    """T0 is Monday 21:13 in Hanoi: the night shift (An, Bình as backup) is on; Cường has the day shift."""
    return people_settings(
        data_dir,
        receivers=[log_receiver("admin")] + [log_receiver(f"{u}-phone") for u in PEOPLE],
        routes=[{"match": {"kinds": ["flood."]}, "receivers": ["roster:on_duty"]},
                {"match": {"kinds": ["delivery."]}, "receivers": ["admin"]}],
        escalation=[{"name": "truc", "match": {"min_severity": "warning"},
                     "tiers": [{"name": "Người trực kế tiếp", "after_s": 600, "receivers": ["roster:next"]}]}],
        roster={"officers": [{"username": u, "name": u.title(), "receivers": [f"{u}-phone"]} for u in PEOPLE],
                "shifts": [{"name": "dem", "start_local": "19:00", "end_local": "07:00", "officers": ["an", "binh"]},
                           {"name": "ngay", "start_local": "07:00", "end_local": "19:00", "officers": ["cuong"]}]})


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(roster_settings(tmp_path / "data"), Clock(T0))
    yield h
    h.close()


def _fire(desk: Harness, level: str) -> str:
    """Raise a flood alert at the clock's time, tick, and return its id."""
    desk.detect(flood_level("st1", level, desk.clock()))
    desk.tick()
    alert = desk.open_alert("flood.level", "st1")
    assert alert is not None
    return alert.id


def test_the_next_officer_is_told_when_the_one_on_duty_does_not_acknowledge(desk: Harness) -> None:
    alert_id = _fire(desk, "BD2")
    assert (desk.notices("an-phone"), desk.notices("binh-phone")) == (["firing"], [])
    desk.tick(599)
    assert desk.notices("binh-phone") == []
    desk.tick(2)
    assert desk.notices("binh-phone") == ["firing"]
    assert desk.rows("binh-phone")[0]["tier"] == "Người trực kế tiếp"
    assert desk.notices("cuong-phone") == []
    desk.runtime.actions.acknowledge(alert_id, "binh", desk.clock.advance(60))
    desk.tick()
    desk.runtime.actions.resolve(alert_id, "binh", desk.clock.advance(60), "nước rút")
    desk.tick()
    assert desk.notices("an-phone") == ["firing", "resolved"]  # both who were told hear it is over
    assert desk.notices("binh-phone") == ["firing", "resolved"]


def test_an_acknowledgement_in_time_stops_notify_next(desk: Harness) -> None:
    desk.runtime.actions.acknowledge(_fire(desk, "BD2"), "an", desk.clock.advance(300))
    desk.tick(3600)
    assert desk.notices("an-phone") == ["firing"] and desk.notices("binh-phone") == []


def test_an_override_in_the_store_changes_who_is_told(desk: Harness) -> None:
    swap = Override("o-1", "cuong", "an", T0 - 60, T0 + 4 * 3600, "An ốm", "binh", T0 - 120)
    with desk.store.transaction() as conn:
        roster_store.save(conn, swap)
    desk.detect(flood_level("st1", "BD2", T0))
    desk.tick(601)
    assert desk.notices("cuong-phone") == ["firing"]  # in An's place, first in line
    assert desk.notices("an-phone") == []
    assert desk.notices("binh-phone") == ["firing"]  # still second in line after the escalation time


def test_the_officer_of_a_new_shift_takes_over_what_still_fires(desk: Harness) -> None:
    desk.runtime.actions.acknowledge(_fire(desk, "BD1"), "an", desk.clock.advance(60))
    desk.detect(flood_level("st1", "BD2", desk.clock.advance(60)))  # worse: firing again, to be acknowledged
    desk.tick()
    desk.clock.now = T0 + 10 * 3600  # 07:13 on Tuesday: Cường's day shift
    desk.tick()
    assert desk.notices("cuong-phone")[:1] == ["firing"]
