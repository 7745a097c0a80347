"""Impact by hamlet, pure: cumulative levels, the sentence naming who must act, and the hamlet-areas GeoJSON."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.residents.impact_fixtures import IMPACT, areas_document, square
from tests.support import make_settings, write_config
from tichwatch.app import cli
from tichwatch.config.impact import ImpactSettings
from tichwatch.config.loader import load_settings
from tichwatch.residents import impact_areas
from tichwatch.residents.impact import (
    hamlets_affected,
    impact_at,
    impact_document,
    impact_line,
    impact_of_alert,
    level_rank,
)
from tichwatch.residents.impact_areas import (
    MAX_AREAS_BYTES,
    AreasError,
    areas_geojson,
    areas_or_none,
    cap_polygon,
    load_areas,
    parse_areas,
)

SETTINGS = ImpactSettings.model_validate(IMPACT)
IDS = ("thon-1", "thon-2", "thon-3")


def test_levels_are_cumulative_and_the_top_level_acts() -> None:
    assert impact_at(SETTINGS, "st1", 1).hamlet_ids == ("thon-1",)
    bd3 = impact_at(SETTINGS, "st1", 3)
    assert bd3.hamlet_ids == IDS  # at BĐ III the hamlets of BĐ I and II still have water
    assert bd3.roads == ("Đường ven sông", "Đường liên thôn 1 – 2") and bd3.schools == ("Trường mầm non thôn 2",)
    assert (bd3.households, bd3.action("vi"), bd3.action("en")) == (450, "di dời ngay người già, trẻ em",
                                                                     "move the elderly and children now")
    assert impact_at(SETTINGS, "st1", 9).level == 3  # clamped


@pytest.mark.parametrize(("station", "level"), [("st1", 0), ("st1", -1), ("nowhere", 2)])
def test_no_impact_below_bd1_or_for_an_unknown_station(station: str, level: int) -> None:
    impact = impact_at(SETTINGS, station, level)
    assert impact.empty and impact.hamlets == () and impact_line(impact, "vi") == ""


def test_an_empty_configuration_affects_no_one() -> None:
    empty = ImpactSettings()
    assert impact_at(empty, "st1", 3).empty and hamlets_affected(empty, {"st1": 3}) == ()


def test_the_line_names_hamlets_what_floods_and_what_to_do() -> None:
    bd2 = impact_at(SETTINGS, "st1", 2)
    assert impact_line(bd2, "vi") == ("Báo động II: Thôn 1 và Thôn 2 — ngập Đường ven sông; Đường liên thôn 1 – 2; "
                                      "Trường mầm non thôn 2 — chuẩn bị di dời người già, trẻ em.")
    assert impact_line(bd2, "en") == ("Alarm level II: Thôn 1 and Thôn 2 — flooding Đường ven sông; Đường liên thôn "
                                      "1 – 2; Trường mầm non thôn 2 — get ready to move the elderly and children.")
    assert impact_line(bd2, "vi", coming=True).startswith("Sắp tới báo động II: Thôn 1 và Thôn 2 — ")
    assert impact_line(bd2, "en", coming=True).startswith("Alarm level II expected: Thôn 1 and Thôn 2 — ")
    bd1 = impact_at(SETTINGS, "st1", 1)
    assert impact_line(bd1, "vi") == "Báo động I: Thôn 1 — ngập Đường ven sông — kê cao đồ đạc."


def test_hamlets_affected_over_several_stations_in_configuration_order() -> None:
    two = ImpactSettings.model_validate({**IMPACT, "stations": [
        *IMPACT["stations"], {"station_id": "st2", "bd1": {"hamlets": ["thon-3"]}}]})
    assert hamlets_affected(two, {"st2": 1, "st1": 1}) == ("thon-1", "thon-3")
    assert hamlets_affected(two, {"st1": 0, "st2": 0, "unknown": 3}) == ()


def test_alert_impact_for_flood_levels_and_forecasts_only() -> None:
    assert [level_rank(x) for x in ("BD1", "BD2", "BD3", "RECORD", None, "X")] == [1, 2, 3, 3, 0, 0]
    level = impact_of_alert(SETTINGS, "flood.level", "st1", "BD2")
    assert level is not None and level.hamlet_ids == ("thon-1", "thon-2")
    forecast = impact_of_alert(SETTINGS, "flood.forecast", "st1", "RECORD")
    assert forecast is not None and forecast.hamlet_ids == IDS
    assert impact_of_alert(SETTINGS, "sensor.offline", "st1", "BD2") is None
    assert impact_of_alert(SETTINGS, "flood.level", "st2", "BD3") is None


def test_the_public_document_has_no_personal_data() -> None:
    doc = impact_document(impact_at(SETTINGS, "st1", 2))
    assert doc == {"level": "BD2", "hamlets": [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-2", "name": "Thôn 2"}],
                   "roads": ["Đường ven sông", "Đường liên thôn 1 – 2"], "schools": ["Trường mầm non thôn 2"],
                   "households": 120,
                   "action": {"vi": "chuẩn bị di dời người già, trẻ em",
                              "en": "get ready to move the elderly and children"}}


# --- the hamlet-areas GeoJSON ----------------------------------------------------------------------------------------

def _parse(doc: object) -> dict[str, impact_areas.HamletArea]:
    return parse_areas(json.dumps(doc).encode(), IDS, "areas.geojson")


def test_a_good_file_and_its_cap_polygon() -> None:
    areas = _parse(areas_document())
    assert list(areas) == list(IDS) and areas["thon-1"].exterior[0] == (105.63, 20.985)
    polygon = cap_polygon(areas["thon-1"]).split(" ")
    assert polygon[0] == polygon[-1] == "20.985000,105.630000" and len(polygon) == 5  # CAP: lat,lon; closed; >= 4


@pytest.mark.parametrize(("ring", "problem"), [
    (square(105.63, 20.985)[:-1], "closed"),  # not closed
    ([[105.63, 20.985], [105.64, 20.985], [105.63, 20.985]], "at least 4"),
    ([[105.63, 20.985], [105.63, 20.985], [105.64, 20.99], [105.63, 20.985]], "3 distinct"),
    ([[20.985, 205.63], [20.985, 205.64], [20.99, 205.64], [20.985, 205.63]], "WGS84"),  # lat, lon swapped
    ([[105.63, "20.985"], [105.64, 20.985], [105.64, 20.99], [105.63, 20.985]], "position"),
    ([[105.63, True], [105.64, 20.985], [105.64, 20.99], [105.63, True]], "position"),
])
def test_bad_rings_are_refused_naming_the_feature(ring: list[list[object]], problem: str) -> None:
    with pytest.raises(AreasError, match=problem) as err:
        _parse(areas_document(**{"thon-2": ring}))  # type: ignore[arg-type]
    assert "areas.geojson: features[1] (thon-2)" in str(err.value)


def test_unknown_or_repeated_hamlets_and_wrong_shapes_are_refused() -> None:
    doc = areas_document()
    doc["features"][0]["properties"]["id"] = "thon-9"
    with pytest.raises(AreasError, match=r"'thon-9' is not a hamlet of impact\.hamlets"):
        _parse(doc)
    doc = areas_document()
    doc["features"][2]["properties"]["id"] = "thon-1"
    with pytest.raises(AreasError, match="'thon-1' has two areas"):
        _parse(doc)
    doc = areas_document()
    doc["features"][0]["geometry"] = {"type": "Point", "coordinates": [105.63, 20.985]}
    with pytest.raises(AreasError, match="must be a Polygon"):
        _parse(doc)
    bad: object
    for bad in ({"type": "Feature"}, [], {"type": "FeatureCollection", "features": {}}):
        with pytest.raises(AreasError, match="not a GeoJSON FeatureCollection"):
            _parse(bad)
    with pytest.raises(AreasError, match="not JSON"):
        parse_areas(b"{", IDS)


def test_a_file_too_big_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    with pytest.raises(AreasError, match="more than"):
        parse_areas(b" " * (MAX_AREAS_BYTES + 1), IDS)
    big = tmp_path / "big.geojson"
    big.write_bytes(b" " * (MAX_AREAS_BYTES + 1))
    with pytest.raises(AreasError, match="more than"):
        load_areas(ImpactSettings.model_validate({**IMPACT, "areas_geojson": str(big)}))


def test_the_shipped_example_loads_from_the_config_folder() -> None:
    settings = load_settings()
    assert settings.impact.areas_geojson == "kieuphu-hamlets.geojson"  # relative: the installed config folder
    areas = load_areas(settings.impact)
    assert set(areas) == {h.id for h in settings.impact.hamlets}
    cau = settings.station("kieuphu-cau")
    assert cau is not None
    lons = [lon for a in areas.values() for lon, _ in a.exterior]
    lats = [lat for a in areas.values() for _, lat in a.exterior]
    assert min(lons) < cau.lon < max(lons) and min(lats) < cau.lat < max(lats)  # drawn around the example gauges


def test_a_changed_file_is_read_again_and_a_bad_one_means_no_areas(tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    path.write_text(json.dumps(areas_document()), encoding="utf-8")
    settings = ImpactSettings.model_validate({**IMPACT, "areas_geojson": str(path)})
    assert len(load_areas(settings)) == 3
    doc = areas_document()
    doc["features"].pop()
    path.write_text(json.dumps(doc) + "\n", encoding="utf-8")  # another size: seen as changed
    assert len(load_areas(settings)) == 2
    path.write_text("{}", encoding="utf-8")
    assert areas_or_none(settings) == {}
    with pytest.raises(AreasError, match="cannot read"):
        load_areas(ImpactSettings.model_validate({**IMPACT, "areas_geojson": str(tmp_path / "missing.geojson")}))
    assert load_areas(ImpactSettings.model_validate(IMPACT)) == {}  # none configured


def test_the_map_document_shades_each_hamlet_by_the_highest_level_affecting_it() -> None:
    two = ImpactSettings.model_validate({**IMPACT, "stations": [
        *IMPACT["stations"], {"station_id": "st2", "bd3": {"hamlets": ["thon-1"]}}]})
    doc = areas_geojson(two, _parse(areas_document()), {"st1": 2, "st2": 3})
    props = {f["id"]: f["properties"] for f in doc["features"]}
    assert props["thon-1"]["level"] == "BD3" and props["thon-1"]["stations"] == ["st1", "st2"]
    assert props["thon-2"]["level"] == "BD2" and props["thon-3"]["level"] is None
    assert props["thon-1"]["households"] == 320 and props["thon-1"]["name"] == "Thôn 1"
    assert doc["features"][0]["geometry"]["coordinates"][0][0] == [105.63, 20.985]


def test_check_config_reports_a_bad_areas_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(areas_document(**{"thon-1": square(105.63, 20.985)[:-1]})), encoding="utf-8")
    config = write_config(tmp_path / "c.yaml", make_settings(tmp_path, impact={**IMPACT, "areas_geojson": str(bad)}))
    assert cli.main(["check-config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "impact.areas_geojson" in out and "(thon-1)" in out and "closed" in out
    bad.write_text(json.dumps(areas_document()), encoding="utf-8")
    assert cli.main(["check-config", str(config)]) == 0
