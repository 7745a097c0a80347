"""The evaluation harness on small synthetic folders in both supported formats."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tichwatch.config.flood import FloodSettings
from tichwatch.tools.flood_evaluation import crossings, evaluate_flood, format_table, load_dataset, main_eval


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_levels(path: Path, t0: float, step_s: float, levels: list[float | None]) -> None:
    rows = ["time_utc,level_m"] + [f"{_iso(t0 + i * step_s)},{'' if v is None else v}" for i, v in enumerate(levels)]
    path.write_text("\n".join(rows) + "\n")


T0 = datetime(2024, 8, 1, tzinfo=UTC).timestamp()


def _flood(n_calm: int = 300) -> list[float | None]:
    calm = [3.0 + 0.05 * np.sin(i / 5) for i in range(n_calm)]
    rise = [3.0 + 0.05 * i for i in range(1, 160)]  # 0.3 m/h at 10-minute steps, up to ~10.9 m
    fall = [rise[-1] - 0.05 * i for i in range(1, 170)]
    series: list[float | None] = [round(x, 3) for x in calm + rise + fall]
    series[100] = None  # a gap
    return series


def _han_style(tmp_path: Path) -> Path:
    (tmp_path / "meta.json").write_text(json.dumps({
        "station": "Test Bridge", "station_id_hrfco": "1000001", "lat": 37.5, "lon": 127.0,
        "thresholds_m": {"flood_advisory_EL": 8.0, "flood_warning_EL": 10.0},
    }))
    _write_levels(tmp_path / "levels.csv", T0, 600, _flood())
    return tmp_path


def test_single_station_format_maps_advisory_and_warning(tmp_path):
    (series,) = load_dataset(_han_style(tmp_path)).stations
    alarm = series.config.alarm
    assert (alarm.bd1_m, alarm.bd2_m, alarm.bd3_m, alarm.record_m) == (7.0, 8.0, 10.0, None)
    assert series.config.id == "1000001" and series.config.expected_interval_s == 600
    assert len(series.ts) == len(_flood()) - 1  # the empty cell is a gap, not a reading


def test_vndms_format_with_record(tmp_path):
    (tmp_path / "stations").mkdir()
    stations = []
    for sid, scale in (("101", 1.0), ("102", 1.5)):
        levels = [round(x * scale, 3) for x in [1.0] * 5 + [2.5, 3.5, 4.5, 4.5]]
        _write_levels(tmp_path / "stations" / f"{sid}.csv", T0, 3600, levels)
        stations.append({"station_id": sid, "station": f"S{sid}", "lat": 16.0, "lon": 108.0,
                         "file": f"stations/{sid}.csv",
                         "thresholds_m": {"BD1": 2.0 * scale, "BD2": 3.0 * scale, "BD3": 4.0 * scale},
                         "historical_flood_m": 4.4 * scale, "historical_flood_year": 1999})
    stations.append({"station_id": "103", "file": "stations/103.csv", "thresholds_m": {"BD1": 2.0, "BD2": 3.0}})
    (tmp_path / "meta.json").write_text(json.dumps({"other_stations": stations}))
    data = load_dataset(tmp_path).stations
    assert [s.config.id for s in data] == ["101", "102"]
    assert data[1].config.alarm.record_m == pytest.approx(6.6)
    report = evaluate_flood(tmp_path, FloodSettings())
    assert [r.split(":")[0] for r in report.skipped] == ["103"]  # no BD3: skipped, the others still evaluated
    assert [sc.crossings for sc in report.total_levels] == [2, 2, 2, 2]
    assert all(sc.alerted_on_time == sc.crossings for sc in report.total_levels)


def test_crossings_need_the_water_below_for_the_episode_gap():
    ts = np.arange(12) * 3600.0
    lv = np.array([0, 2, 0, 2, 0, 0, 0, 0, 2, 2, 0, 0], dtype=float)
    assert crossings(ts, lv, 1.0, gap_s=3 * 3600) == [1, 8]
    assert crossings(ts, lv, 1.0, gap_s=3600) == [1, 3, 8]
    assert crossings(ts[:6], np.array([2.0, 0, 0, 0, 0, 2]), 1.0, gap_s=3600) == [5]  # starting above is no crossing


def test_report_table_json_and_cli_entry(tmp_path, capsys):
    folder = _han_style(tmp_path)
    report = evaluate_flood(folder, FloodSettings(forecast_learnt=False))
    by_level = {sc.level: sc for sc in report.total_levels}
    assert by_level["BD2"].crossings == 1 and by_level["BD2"].alerted_on_time == 1 and by_level["BD2"].alerts == 1
    assert by_level["BD3"].crossings == 1
    assert report.lead_hourly_s and min(report.lead_hourly_s) >= 2 * 3600
    assert report.total_warnings.false == 0
    assert {p.min_confidence for p in report.sweep} >= {0.5, 0.9}
    data = json.loads(report.to_json())
    assert data["targets"]["alerted_on_time"]["ok"] and data["stations"][0]["station_id"] == "1000001"
    table = format_table(report)
    assert "Targets:" in table and "Trade-off" in table and "BD2" in table
    # The CLI scores the learnt forecast leave-one-basin-out: a lone basin has nothing else to learn from.
    assert main_eval(folder, json_out=True) == 0  # the default forecast: every target holds on this flood
    capsys.readouterr()
    assert main_eval(folder, json_out=True, learnt=True) == 2
    assert "no recorded series outside" in capsys.readouterr().out
    assert main_eval(tmp_path / "missing", json_out=False) == 2


def test_sweep_replays_the_detectors_own_decision(tmp_path):
    report = evaluate_flood(_han_style(tmp_path), FloodSettings(forecast_learnt=False))
    main = next(p for p in report.sweep if p.min_confidence == FloodSettings().forecast_min_confidence)
    assert main.false_warnings == report.total_warnings.false
    assert main.lead_worst_s == min(report.total_warnings.leads_s)
