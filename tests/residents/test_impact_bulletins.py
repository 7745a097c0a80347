"""Bulletins name the hamlets each station's level affects and what they must do; the radio script reads them."""
from __future__ import annotations

from dataclasses import replace

from tests.residents.conftest import World
from tests.residents.impact_fixtures import IMPACT
from tests.residents.test_compose import _snapshot
from tichwatch.config.impact import ImpactSettings
from tichwatch.residents.bulletins.compose import compose_bulletin, compose_radio_script
from tichwatch.residents.bulletins.facts import derive

IMPACT_SETTINGS = ImpactSettings.model_validate(IMPACT)


def test_the_text_names_the_hamlets_of_the_station_at_a_level(world: World) -> None:
    snap = replace(_snapshot(world), impact=IMPACT_SETTINGS)  # st1 at 7.42 m: báo động II; st2 below báo động I
    facts = {s.id: s for s in derive(snap).stations}
    assert facts["st1"].impact is not None and facts["st1"].impact.hamlet_ids == ("thon-1", "thon-2")
    assert facts["st2"].impact is None
    vi, en = compose_bulletin(snap, "vi").text, compose_bulletin(snap, "en").text
    assert ("Các thôn phải chuẩn bị, di dời:\n- Trạm Vĩnh Phúc: Báo động II: Thôn 1 và Thôn 2 — ngập Đường ven sông; "
            "Đường liên thôn 1 – 2; Trường mầm non thôn 2 — chuẩn bị di dời người già, trẻ em.\n\n2. CẢNH BÁO") in vi
    assert ("Hamlets that must prepare or move:\n- Vĩnh Phúc: Alarm level II: Thôn 1 and Thôn 2 — flooding") in en
    assert "get ready to move the elderly and children." in en


def test_the_radio_script_reads_the_hamlets_and_the_action(world: World) -> None:
    script = compose_radio_script(replace(_snapshot(world), impact=IMPACT_SETTINGS))
    assert ("Các thôn phải hành động theo mực nước tại trạm Vĩnh Phúc. Báo động hai: Thôn một và Thôn hai — ngập "
            "Đường ven sông; Đường liên thôn một – hai; Trường mầm non thôn hai — chuẩn bị di dời người già, trẻ em.") \
        in script
    assert script.index("Thôn một") < script.index("Hết thông báo")


def test_without_impact_or_below_bd1_nothing_is_added(world: World) -> None:
    snap = _snapshot(world)
    assert "Các thôn" not in compose_bulletin(snap, "vi").text and "Các thôn" not in compose_radio_script(snap)
    only_st2 = ImpactSettings.model_validate({**IMPACT, "stations": [{**IMPACT["stations"][0], "station_id": "st2"}]})
    assert "Các thôn" not in compose_bulletin(replace(snap, impact=only_st2), "vi").text


def test_the_card_says_who_must_act_first(world: World) -> None:
    card = compose_bulletin(replace(_snapshot(world), impact=IMPACT_SETTINGS), "vi").card
    assert card.notes[0].startswith("Báo động II: Thôn 1 và Thôn 2 — ") and len(card.notes) == 3
    assert len(compose_bulletin(_snapshot(world), "vi").card.notes) == 2
