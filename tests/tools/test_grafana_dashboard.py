"""The Grafana dashboard is generated from the deployment file: every station is coloured by its own alarm levels."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tichwatch.config.loader import load_settings
from tichwatch.config.schema import AlarmLevels
from tichwatch.tools.grafana_dashboard import dashboard, main, render

ROOT = Path(__file__).resolve().parents[2]
KP = load_settings(ROOT / "config" / "kieuphu.yaml", env={})


def steps(thresholds: dict[str, Any]) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"]) for s in thresholds["steps"]]


def colour(thresholds: dict[str, Any], level: float) -> str:
    """The colour Grafana gives a value: that of the highest step at or below it."""
    return [c for c, v in steps(thresholds) if v is None or level >= v][-1]


def test_the_committed_dashboard_is_the_one_generated_from_the_kieuphu_file() -> None:
    committed = (ROOT / "docs" / "grafana" / "tichwatch.json").read_text(encoding="utf-8")
    assert committed == render(KP), "run: python -m tichwatch.tools.grafana_dashboard docs/grafana/tichwatch.json"


def test_each_station_panel_has_that_stations_own_levels_and_data() -> None:
    panels = dashboard(KP)["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for st in KP.stations:
        (p,) = [p for p in panels if p["type"] == "timeseries" and p["title"].endswith(st.name)]
        a = st.alarm
        expected = [a.bd1_m, a.bd2_m, a.bd3_m] + ([a.record_m] if a.record_m else [])
        assert [v for _, v in steps(p["fieldConfig"]["defaults"]["thresholds"])] == [None, *expected]
        (target,) = p["targets"]
        assert f'r.station_id == "{st.id}"' in target["query"] and "${station" not in target["query"]


def test_the_latest_level_colours_each_station_by_its_own_levels() -> None:
    (stat,) = [p for p in dashboard(KP)["panels"] if p["type"] == "stat"]
    by_ref = {o["matcher"]["options"]: {q["id"]: q["value"] for q in o["properties"]}
              for o in stat["fieldConfig"]["overrides"]}
    for target in stat["targets"]:
        st = next(s for s in KP.stations if f'r.station_id == "{s.id}"' in target["query"])
        override = by_ref[target["refId"]]
        assert override["displayName"] == st.name
        th = override["thresholds"]
        assert colour(th, st.alarm.bd1_m - 0.01) == "green" and colour(th, st.alarm.bd1_m) == "yellow"
        assert colour(th, st.alarm.bd2_m) == "orange" and colour(th, st.alarm.bd3_m) == "red"
    kimquan = by_ref[next(t["refId"] for t in stat["targets"] if "tich-kimquan" in t["query"])]
    assert colour(kimquan["thresholds"], 6.5) == "green"  # Kim Quan's normal level, yellow at Vĩnh Phúc
    assert len(stat["targets"]) == len(KP.stations)


def test_levels_come_from_the_configuration(tmp_path: Path) -> None:
    moved = KP.model_copy(update={"stations": [
        s.model_copy(update={"alarm": AlarmLevels(bd1_m=3.1, bd2_m=3.2, bd3_m=3.3)}) for s in KP.stations]})
    (panel, *_) = [p for p in dashboard(moved)["panels"] if p["type"] == "timeseries"]
    assert [v for _, v in steps(panel["fieldConfig"]["defaults"]["thresholds"])] == [None, 3.1, 3.2, 3.3]
    out = tmp_path / "dash.json"
    assert main([str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == dashboard(load_settings(env={}))
