"""CAP messages of flood alerts with an impact: an <area> per affected hamlet (its name and its polygon from the
hamlet-areas GeoJSON, "lat,lon" pairs, closed) besides the station's circle, and an <instruction> that starts with
who must act. Every message is checked against the OASIS schema and the CAP rules (the suite-wide `cap_checked`);
messages issued before stay byte for byte as they were."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.residents.conftest import NOW
from tests.residents.feeds.cap_schema import Checked, all_problems
from tests.residents.feeds.test_cap_issued import App, info, level_detection, messages_of, start_app
from tests.residents.impact_fixtures import IMPACT, impact_with_areas
from tichwatch.alerts import storage as alert_storage
from tichwatch.residents.feeds.cap import CAP_NS
from tichwatch.residents.feeds.cap_rules import cap_problems

NS = {"cap": CAP_NS}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """The service with IMPACT for st1 and its hamlet areas."""
    yield from start_app(tmp_path / "data", impact=impact_with_areas(tmp_path))


def _areas(xml: bytes, lang: str = "vi-VN") -> list[tuple[str, list[str]]]:
    return [(a.findtext("cap:areaDesc", default="", namespaces=NS),
             [p.text or "" for p in a.findall("cap:polygon", NS)]) for a in info(xml, lang).findall("cap:area", NS)]


def _alert_id(app: App) -> str:
    alert = alert_storage.open_alert(app.service.store.query_all, "flood.level", "st1")
    assert alert is not None
    return alert.id


def test_flood_messages_carry_a_polygon_per_affected_hamlet_and_say_who_must_act(app: App,
                                                                                 cap_checked: Checked) -> None:
    app.detect(level_detection("BD1", NOW, 6.54))
    app.detect(level_detection("BD2", NOW + 3600, 7.35, previous="BD1"), advance_s=3600)
    first, second = messages_of(app, _alert_id(app))
    for xml, hamlets in ((first, ["Thôn 1"]), (second, ["Thôn 1", "Thôn 2"])):
        assert cap_problems(xml) == [] and all_problems(xml) == []
        for lang in ("vi-VN", "en-US"):
            areas = _areas(xml, lang)
            assert [name for name, _ in areas[1:]] == hamlets  # after the station's circle area
            assert info(xml, lang).find("cap:area/cap:circle", NS) is not None
            for _, (polygon,) in areas[1:]:
                pairs = polygon.split(" ")
                assert len(pairs) >= 4 and pairs[0] == pairs[-1]
                lat, lon = (float(x) for x in pairs[0].split(","))
                assert 20.9 < lat < 21.1 and 105.5 < lon < 105.7  # lat first, as CAP writes it
    assert _areas(second)[1][1] == ["20.985000,105.630000 20.985000,105.635000 20.990000,105.635000 "
                                    "20.990000,105.630000 20.985000,105.630000"]
    vi = info(second).findtext("cap:instruction", namespaces=NS) or ""
    en = info(second, "en-US").findtext("cap:instruction", namespaces=NS) or ""
    assert vi.startswith("Báo động II: Thôn 1 và Thôn 2 — ngập Đường ven sông; Đường liên thôn 1 – 2; Trường mầm "
                         "non thôn 2 — chuẩn bị di dời người già, trẻ em. Chuẩn bị sẵn sàng sơ tán")
    assert en.startswith("Alarm level II: Thôn 1 and Thôn 2 — flooding ")
    description = info(second).findtext("cap:description", namespaces=NS) or ""
    assert "chuẩn bị di dời người già, trẻ em" not in description  # said once, in <instruction>
    assert len(cap_checked.messages) == 2


def test_the_all_clear_names_no_hamlet_and_earlier_bytes_stay(app: App) -> None:
    app.detect(level_detection("BD2", NOW, 7.35))
    aid = _alert_id(app)
    (first,) = messages_of(app, aid)
    app.detect(level_detection(None, NOW + 600, 6.0, previous="BD2"), advance_s=600)  # the water falls below BĐ I
    app.service.alerts.tick(app.clock[0] + 7200)  # its hold runs out: the alert resolves
    again, cancel = messages_of(app, aid)
    assert again == first  # issued bytes never change
    assert ET.fromstring(cancel).findtext("cap:msgType", namespaces=NS) == "Cancel"
    assert [name for name, _ in _areas(cancel)][1:] == [] and "Thôn" not in (
        info(cancel).findtext("cap:instruction", namespaces=NS) or "")


def test_a_hamlet_without_an_area_is_named_without_a_polygon(tmp_path: Path) -> None:
    for running in start_app(tmp_path / "data", impact=IMPACT):  # no areas file configured
        running.detect(level_detection("BD1", NOW, 6.54))
        (xml,) = messages_of(running, _alert_id(running))
        assert _areas(xml)[1:] == [("Thôn 1", [])] and cap_problems(xml) == []
