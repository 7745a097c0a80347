"""The duty roster (pure): shifts in local time, across midnight, overrides, the duty chain, and what `roster:` targets
stand for in routing."""
from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from tests.alerts.harness import flood_level, log_receiver
from tichwatch.alerts import roster
from tichwatch.alerts.model import Alert, AlertState
from tichwatch.alerts.roster import Override
from tichwatch.alerts.stages import StageContext, route
from tichwatch.config.alerts import AlertSettings, RosterSettings
from tichwatch.core.detection import Severity

TZ = "Asia/Ho_Chi_Minh"


def local(day: int, hour: int, minute: int = 0) -> float:
    """A time in Hanoi in the week of Monday 21 September 2026 (day 21 = Monday, 26 = Saturday)."""
    return datetime(2026, 9, day, hour, minute, tzinfo=ZoneInfo(TZ)).timestamp()


OFFICERS = [{"username": u, "name": n, "receivers": [f"{u}-phone"]}
            for u, n in (("an", "Nguyễn Văn An"), ("binh", "Trần Thị Bình"), ("cuong", "Lê Văn Cường"))]


def make_roster(**extra: Any) -> RosterSettings:
    """Weekday day shifts (An, then Bình as backup) and nightly night shifts across midnight (Cường)."""
    return RosterSettings.model_validate({"officers": OFFICERS, "shifts": [
        {"name": "ngay", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start_local": "07:00",
         "end_local": "19:00", "officers": ["an", "binh"]},
        {"name": "dem", "start_local": "19:00", "end_local": "07:00", "officers": ["cuong"]}], **extra})


def test_a_night_shift_runs_past_midnight_into_the_next_day() -> None:
    r = make_roster()
    night = r.shifts[1]
    assert roster.shift_length_s(night) == 12 * 3600
    assert roster.occurrences(night, local(22, 2), local(22, 3), TZ) == [(local(21, 19), local(22, 7))]
    assert roster.on_duty(r, [], local(22, 2), TZ).officers == ("cuong",)  # Tuesday 02:00: Monday's night shift
    assert roster.on_duty(r, [], local(22, 6, 59), TZ).shifts == ("dem",)
    assert roster.on_duty(r, [], local(22, 7), TZ).officers == ("an", "binh")  # the end is exclusive
    assert roster.on_duty(r, [], local(21, 19), TZ).officers == ("cuong",)


def test_a_shift_starts_only_on_its_weekdays_and_a_weekend_day_is_a_gap() -> None:
    r = make_roster()
    assert roster.on_duty(r, [], local(26, 10), TZ).officers == ()  # Saturday 10:00: no day shift
    friday_only = RosterSettings.model_validate({"officers": OFFICERS, "shifts": [
        {"name": "cuoi-tuan", "weekdays": ["fri"], "start_local": "22:00", "end_local": "06:00",
         "officers": ["an"]}]})
    assert roster.on_duty(friday_only, [], local(26, 3), TZ).officers == ("an",)  # Saturday 03:00: Friday's
    assert roster.on_duty(friday_only, [], local(27, 3), TZ).officers == ()  # Sunday 03:00: none started Saturday
    assert roster.shift_length_s(RosterSettings.model_validate({"officers": OFFICERS, "shifts": [
        {"name": "ca-24h", "start_local": "08:00", "end_local": "08:00", "officers": ["an"]}]}).shifts[0]) == 86400


def test_the_timeline_has_one_slot_per_stretch_and_shows_the_weekend_gap() -> None:
    slots = roster.timeline(make_roster(), [], local(25, 12), local(27, 12), TZ)
    assert [(s.starts_ts, s.ends_ts, s.officers) for s in slots] == [
        (local(25, 12), local(25, 19), ("an", "binh")),
        (local(25, 19), local(26, 7), ("cuong",)),
        (local(26, 7), local(26, 19), ()),  # Saturday daytime: nobody
        (local(26, 19), local(27, 7), ("cuong",)),
        (local(27, 7), local(27, 12), ())]
    assert all(a.ends_ts == b.starts_ts for a, b in pairwise(slots))


def _override(officer: str, replaces: str | None, starts: float, ends: float, created: float = 0.0,
              **extra: Any) -> Override:
    return Override(f"o-{officer}-{starts}", officer, replaces, starts, ends, "đổi ca", "an", created, **extra)


def test_an_override_swaps_a_shift_only_while_it_lasts() -> None:
    r = make_roster()
    swap = _override("binh", "cuong", local(22, 19), local(23, 7))  # Bình takes Tuesday's night for Cường
    assert roster.on_duty(r, [swap], local(23, 1), TZ).officers == ("binh",)
    assert roster.on_duty(r, [swap], local(23, 1), TZ).overrides == (swap.id,)
    assert roster.on_duty(r, [swap], local(22, 1), TZ).officers == ("cuong",)  # Monday's night is untouched
    assert roster.on_duty(r, [swap], local(23, 8), TZ).officers == ("an", "binh")  # it ran out
    cancelled = _override("binh", "cuong", local(22, 19), local(23, 7), cancelled_ts=local(22, 12),
                          cancelled_by="an")
    assert roster.on_duty(r, [cancelled], local(23, 1), TZ).officers == ("cuong",)
    first = _override("cuong", None, local(22, 8), local(22, 12))  # Cường first in line; not twice in line
    assert roster.on_duty(r, [first], local(22, 9), TZ).officers == ("cuong", "an", "binh")
    in_place = _override("binh", "an", local(22, 8), local(22, 12))  # Bình for An: Bình once, first
    assert roster.on_duty(r, [in_place], local(22, 9), TZ).officers == ("binh",)
    nobody_to_replace = _override("an", "cuong", local(22, 8), local(22, 12))  # Cường is not on by day
    assert roster.on_duty(r, [nobody_to_replace], local(22, 9), TZ).overrides == ()
    slots = roster.timeline(r, [swap], local(22, 18), local(23, 8), TZ)
    assert [s.officers for s in slots] == [("an", "binh"), ("binh",), ("an", "binh")]


def test_the_duty_chain_is_who_is_in_line_then_who_comes_on_next() -> None:
    r = make_roster()
    assert roster.duty_chain(r, [], local(22, 10), TZ) == ("an", "binh", "cuong")
    assert roster.duty_chain(r, [], local(22, 2), TZ) == ("cuong", "an", "binh")  # one-person night: next shift
    assert roster.duty_chain(r, [], local(26, 10), TZ) == ("cuong",)  # Saturday gap: the first to come on
    assert roster.next_change(r, [], local(22, 10), TZ).starts_ts == local(22, 19)  # type: ignore[union-attr]
    empty = RosterSettings()
    assert roster.duty_chain(empty, [], local(22, 10), TZ) == ()


def test_roster_targets_expand_to_the_receivers_of_the_officers_in_line() -> None:
    r = make_roster()
    calls: list[int] = []

    def chain() -> tuple[str, ...]:
        calls.append(1)
        return roster.duty_chain(r, [], local(22, 2), TZ)
    assert roster.expand(["log"], r, chain) == ["log"] and calls == []  # no target: the overrides are not read
    assert roster.expand(["roster:on_duty", "log", "roster:next"], r, chain) == ["cuong-phone", "log", "an-phone"]
    assert roster.expand(["roster:next"], r, lambda: ("an",)) == []  # nobody second in line


def test_overrides_are_checked() -> None:
    r = make_roster()
    now = local(22, 10)
    assert roster.check_override(r, "binh", "an", now, now + 3600, now) is None
    assert "not an officer" in (roster.check_override(r, "dung", None, now, now + 3600, now) or "")
    assert "not an officer" in (roster.check_override(r, "binh", "dung", now, now + 3600, now) or "")
    assert "themself" in (roster.check_override(r, "an", "an", now, now + 3600, now) or "")
    assert "end after" in (roster.check_override(r, "binh", None, now, now - 1, now) or "")
    assert "end after" in (roster.check_override(r, "binh", None, now - 7200, now - 3600, now) or "")
    assert "at most 31 days" in (roster.check_override(r, "binh", None, now, now + 40 * 86400, now) or "")


def _settings(**roster_block: Any) -> AlertSettings:
    return AlertSettings.model_validate({
        "receivers": [log_receiver("log")] + [log_receiver(f"{u}-phone") for u in ("an", "binh", "cuong")],
        "routes": [{"match": {"kinds": ["flood."]}, "receivers": ["roster:on_duty"]}],
        "escalation": [{"name": "truc", "tiers": [{"name": "Người trực kế tiếp", "after_s": 600,
                                                   "receivers": ["roster:next"]}]}],
        "roster": roster_block or make_roster().model_dump()})


def test_the_configuration_refuses_what_the_roster_cannot_reach() -> None:
    _settings()
    with pytest.raises(ValidationError, match=r"not in roster\.officers"):
        RosterSettings.model_validate({"officers": OFFICERS, "shifts": [
            {"name": "dem", "start_local": "19:00", "end_local": "07:00", "officers": ["dung"]}]})
    with pytest.raises(ValidationError, match="unknown receivers"):
        _settings(officers=[{"username": "an", "name": "An", "receivers": ["an-zalo"]}],
                  shifts=[{"name": "dem", "start_local": "19:00", "end_local": "07:00", "officers": ["an"]}])
    with pytest.raises(ValidationError, match="has no shifts"):
        _settings(officers=OFFICERS, shifts=[])
    with pytest.raises(ValidationError, match="start_local"):
        RosterSettings.model_validate({"officers": OFFICERS, "shifts": [
            {"name": "dem", "start_local": "7:00", "end_local": "19:00", "officers": ["an"]}]})


def _firing(since: float) -> Alert:
    d = flood_level("st1", "BD2", since)
    return Alert("a1", d.kind, d.subject, AlertState.FIRING, Severity.CRITICAL, "BD2", 7.4, "m", "BĐ II", {}, since,
                 since, since, since, since)


def test_routing_reaches_the_officer_on_duty_then_the_next_one_after_the_escalation_time() -> None:
    settings = _settings()
    now = local(22, 2)  # Tuesday 02:00: Cường's night
    swap = _override("binh", "cuong", local(22, 1), local(22, 7))

    def ctx(at: float, overrides: list[Override]) -> StageContext:
        return StageContext(at, settings, TZ, lambda: [], [], {}, lambda: overrides)
    alert = _firing(now)
    assert [c.receiver.name for c in route([alert], ctx(now, [])).kept] == ["cuong-phone"]
    later = route([alert], ctx(now + 600, [])).kept
    assert [(c.receiver.name, c.tier.name if c.tier else None) for c in later] == [
        ("cuong-phone", None), ("an-phone", "Người trực kế tiếp")]
    assert [c.receiver.name for c in route([alert], ctx(now, [swap])).kept] == ["binh-phone"]
