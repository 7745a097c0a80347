"""Generate the Grafana dashboard for the historian's InfluxDB bucket from a deployment file, so every station is
coloured by its own alarm levels (báo động I–III and the record): one water-level panel per station with that station's
thresholds, and a latest-level panel with one query and one threshold override per station.

    python -m tichwatch.tools.grafana_dashboard docs/grafana/tichwatch.json [--config FILE]

docs/grafana/tichwatch.json is this output for config/kieuphu.yaml (a test keeps them equal). Levels an administrator
changes at run time are not in the file: generate again after such a change.
"""
from __future__ import annotations

import argparse
import json
import unicodedata
from pathlib import Path
from typing import Any

from tichwatch.config.loader import load_settings
from tichwatch.config.schema import Settings, StationConfig

DATASOURCE = {"type": "influxdb", "uid": "${DS_INFLUXDB}"}
LEVEL_COLOURS = ("yellow", "orange", "red", "purple")
"""Colours of báo động I, II, III and the record level."""
COLUMNS = 3
"""Station panels per row."""


def flux(where: str, *steps: str) -> str:
    """A Flux query over the dashboard's bucket and time range, filtered by `where`, then `steps`."""
    lines = ['from(bucket: "${bucket}")', "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)",
             f"  |> filter(fn: (r) => {where})"]
    return "\n".join(lines + [f"  |> {s}" for s in steps])


def level_query(station_id: str, *steps: str) -> str:
    """The water levels of one station."""
    return flux(f'r._measurement == "water_level" and r.station_id == {json.dumps(station_id)} and '
                f'r._field == "level_m"', *steps)


def alarm_levels(station: StationConfig) -> list[float]:
    """The station's báo động I, II, III and, where configured, its record level, in metres."""
    a = station.alarm
    return [a.bd1_m, a.bd2_m, a.bd3_m] + ([a.record_m] if a.record_m is not None else [])


def thresholds(station: StationConfig, below: str) -> dict[str, Any]:
    """Grafana thresholds at the station's own alarm levels; `below` is the colour under báo động I."""
    steps: list[dict[str, Any]] = [{"color": below, "value": None}]
    steps += [{"color": c, "value": v} for c, v in zip(LEVEL_COLOURS, alarm_levels(station))]
    return {"mode": "absolute", "steps": steps}


def levels_text(station: StationConfig) -> str:
    """The alarm levels in words, for a panel's description."""
    names = ["BĐ I", "BĐ II", "BĐ III", "record / lịch sử"]
    return ", ".join(f"{n} {v:.2f} m" for n, v in zip(names, alarm_levels(station)))


def panel(kind: str, title: str, description: str, grid: tuple[int, int, int, int], targets: list[dict[str, Any]],
          defaults: dict[str, Any], options: dict[str, Any], overrides: list[dict[str, Any]] | None = None
          ) -> dict[str, Any]:
    """One panel on the InfluxDB data source; `grid` is (x, y, w, h). Ids are numbered by `dashboard`."""
    x, y, w, h = grid
    return {"id": 0, "type": kind, "title": title, "description": description, "datasource": DATASOURCE,
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "targets": [{"datasource": DATASOURCE, **t} for t in targets],
            "fieldConfig": {"defaults": defaults, "overrides": overrides or []}, "options": options}


def ref_id(index: int) -> str:
    """Query ids A, B, …, Z, AA, AB, …"""
    return ref_id(index // 26 - 1) + chr(65 + index % 26) if index >= 26 else chr(65 + index)


def latest_levels(stations: list[StationConfig], y: int) -> dict[str, Any]:
    """A stat panel: each station's last level, coloured by its own alarm levels."""
    overrides = [{"matcher": {"id": "byFrameRefID", "options": ref_id(i)},
                  "properties": [{"id": "displayName", "value": s.name},
                                 {"id": "thresholds", "value": thresholds(s, "green")}]}
                 for i, s in enumerate(stations)]
    return panel("stat", "Mực nước mới nhất / Latest level",
                 "Last reading of each station in the time range, coloured by that station's own alarm levels "
                 "(green below BĐ I, then yellow, orange, red, purple at the record).", (0, y, 24, 5),
                 [{"refId": ref_id(i), "query": level_query(s.id, "last()", 'keep(columns: ["_time", "_value"])')}
                  for i, s in enumerate(stations)],
                 {"unit": "lengthm", "decimals": 2, "color": {"mode": "thresholds"},
                  "thresholds": {"mode": "absolute", "steps": [{"color": "text", "value": None}]}},
                 {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background",
                  "textMode": "value_and_name", "orientation": "vertical"}, overrides)


def station_level(station: StationConfig, grid: tuple[int, int, int, int]) -> dict[str, Any]:
    """A time series of one station's level with its own alarm levels as lines and bands."""
    return panel("timeseries", f"Mực nước / Water level — {station.name}",
                 f"Highest level of {station.id} per display interval ({station.datum}); the lines and bands are "
                 f"this station's alarm levels: {levels_text(station)}.", grid,
                 [{"refId": "A", "query": level_query(
                     station.id, "aggregateWindow(every: v.windowPeriod, fn: max, createEmpty: false)",
                     'keep(columns: ["_time", "_value"])')}],
                 {"unit": "lengthm", "decimals": 2, "displayName": station.name, "color": {"mode": "fixed",
                                                                                          "fixedColor": "blue"},
                  "custom": {"thresholdsStyle": {"mode": "line+area"}, "fillOpacity": 0},
                  "thresholds": thresholds(station, "transparent")},
                 {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "single"}})


def station_panels(stations: list[StationConfig], y: int) -> tuple[list[dict[str, Any]], int]:
    """The latest-level panel and a level panel per station from row `y`; returns them and the next free row."""
    panels = [latest_levels(stations, y)]
    y += 5
    for row in range(0, len(stations), COLUMNS):
        chunk = stations[row:row + COLUMNS]
        width = 24 // len(chunk)
        panels += [station_level(s, (i * width, y, width, 9)) for i, s in enumerate(chunk)]
        y += 9
    return panels, y


def other_panels(settings: Settings, y: int) -> list[dict[str, Any]]:
    """Battery, dust, detections, camera status and the two tables, from row `y`."""
    dust = settings.dust
    return [
        panel("timeseries", "Pin trạm / Gateway battery (V)",
              f"Battery voltage the gateways report (sensor.battery fires below {settings.flood.battery_low_v} V).",
              (0, y, 12, 8),
              [{"refId": "A", "query": flux(
                  'r._measurement == "water_level" and contains(value: r.station_id, set: ${station:json}) and '
                  'r._field == "battery_v"', "aggregateWindow(every: v.windowPeriod, fn: min, createEmpty: false)",
                  'keep(columns: ["_time", "_value", "station_id"])')}],
              {"unit": "volt", "displayName": "${__field.labels.station_id}"}, {}),
        panel("timeseries", "Chỉ số bụi / Dust index",
              f"Dust index (0..1) of each camera; the line is on_threshold {dust.on_threshold} (a camera's "
              f"sensitivity divides it). Frames that were not judged (dark, warming up) have no index.",
              (12, y, 12, 8),
              [{"refId": "A", "query": flux(
                  'r._measurement == "dust" and r._field == "dust_index" and '
                  'contains(value: r.camera_id, set: ${camera:json})',
                  "aggregateWindow(every: v.windowPeriod, fn: max, createEmpty: false)",
                  'keep(columns: ["_time", "_value", "camera_id", "site"])')}],
              {"min": 0, "max": 1, "decimals": 2, "displayName": "${__field.labels.camera_id} (${__field.labels.site})",
               "custom": {"thresholdsStyle": {"mode": "line"}},
               "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                            {"color": "red", "value": dust.on_threshold}]}}, {}),
        panel("state-timeline", "Phát hiện / Detections",
              "Each detection kind and subject: active (true) from the moment it was raised until it cleared.",
              (0, y + 8, 24, 8),
              [{"refId": "A", "query": flux('r._measurement == "detection" and r._field == "active"',
                                            "map(fn: (r) => ({r with _value: if r._value then 1 else 0}))",
                                            'keep(columns: ["_time", "_value", "kind", "subject"])')}],
              {"displayName": "${__field.labels.kind} ${__field.labels.subject}",
               "mappings": [{"type": "value", "options": {"0": {"text": "clear", "color": "green"},
                                                          "1": {"text": "active", "color": "red"}}}]},
              {"mergeValues": True, "showValue": "never", "rowHeight": 0.8}),
        panel("state-timeline", "Trạng thái camera / Camera status",
              "dust, clear, or why judging is suspended (warming up, dark, ...).", (0, y + 16, 24, 6),
              [{"refId": "A", "query": flux(
                  'r._measurement == "dust" and r._field == "status" and '
                  'contains(value: r.camera_id, set: ${camera:json})',
                  'keep(columns: ["_time", "_value", "camera_id"])')}],
              {"displayName": "${__field.labels.camera_id}",
               "mappings": [{"type": "value", "options": {"dust": {"color": "red"}, "clear": {"color": "green"}}}]},
              {"mergeValues": True, "showValue": "auto"}),
        panel("table", "Sự kiện cảnh báo / Alert events",
              "Every change of an alert's state, newest first, with who made it (system = TichWatch itself).",
              (0, y + 22, 24, 9),
              [{"refId": "A", "query": flux(
                  'r._measurement == "alert_event"', 'pivot(rowKey: ["_time"], columnKey: ["_field"], '
                  'valueColumn: "_value")', "group()",
                  'keep(columns: ["_time", "alert_id", "kind", "subject", "state", "severity", "actor"])',
                  'sort(columns: ["_time"], desc: true)')}],
              {"mappings": [{"type": "value", "options": {
                  "10": {"text": "info"}, "20": {"text": "warning", "color": "yellow"},
                  "30": {"text": "critical", "color": "orange"}, "40": {"text": "emergency", "color": "red"}}}]},
              {"showHeader": True, "sortBy": [{"displayName": "_time", "desc": True}]}),
        panel("table", "Chi tiết phát hiện / Detection details",
              "Detections with their value, alarm level and reason, newest first.", (0, y + 31, 24, 9),
              [{"refId": "A", "query": flux(
                  'r._measurement == "detection"', 'pivot(rowKey: ["_time"], columnKey: ["_field"], '
                  'valueColumn: "_value")', "group()",
                  'keep(columns: ["_time", "kind", "subject", "active", "severity", "value", "level", "reason"])',
                  'sort(columns: ["_time"], desc: true)')}],
              {}, {"showHeader": True}),
    ]


def tag_values(tag: str, measurement: str) -> str:
    """A variable's query: the values of a tag in the bucket."""
    return (f'import "influxdata/influxdb/schema"\nschema.tagValues(bucket: "${{bucket}}", tag: "{tag}", '
            f'predicate: (r) => r._measurement == "{measurement}", start: -1y)')


def variables() -> list[dict[str, Any]]:
    """The hidden bucket constant and the station and camera pickers (battery, dust and camera panels)."""
    picker = {"type": "query", "datasource": DATASOURCE, "multi": True, "includeAll": True,
              "current": {"text": "All", "value": "$__all"}, "refresh": 1, "sort": 1}
    return [{"name": "bucket", "label": "Bucket", "type": "constant", "query": "tichwatch", "hide": 2},
            {"name": "station", "label": "Trạm / Station", **picker,
             "query": tag_values("station_id", "water_level")},
            {"name": "camera", "label": "Camera", **picker, "query": tag_values("camera_id", "dust")}]


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits of a name ("Kiều Phú" → "kieuphu")."""
    plain = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in plain.lower() if c.isascii() and c.isalnum())


def dashboard(settings: Settings) -> dict[str, Any]:
    """The whole dashboard for a deployment."""
    panels, y = station_panels(list(settings.stations), 0)
    panels += other_panels(settings, y)
    for number, p in enumerate(panels, 1):
        p["id"] = number
    return {
        "__inputs": [{"name": "DS_INFLUXDB", "label": "InfluxDB (Flux)",
                      "description": "The InfluxDB 2.x data source (query language Flux) holding the TichWatch bucket.",
                      "type": "datasource", "pluginId": "influxdb", "pluginName": "InfluxDB"}],
        "__requires": [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
                       {"type": "datasource", "id": "influxdb", "name": "InfluxDB", "version": "1.0.0"}],
        "title": f"TichWatch — {settings.commune}", "uid": f"tichwatch-{slug(settings.commune)}"[:40],
        "description": "Water levels, dust, detections and alert events written by the TichWatch historian (see "
                       "docs/historian.md). Generated by `python -m tichwatch.tools.grafana_dashboard` from the "
                       "deployment file: each station is coloured by its own alarm levels.",
        "tags": ["tichwatch", "flood", "dust"], "timezone": settings.timezone, "editable": True,
        "schemaVersion": 39, "version": 1, "time": {"from": "now-3d", "to": "now"}, "refresh": "1m",
        "graphTooltip": 1, "templating": {"list": variables()},
        "annotations": {"list": [{
            "name": "Alert events", "enable": True, "iconColor": "red", "datasource": DATASOURCE,
            "target": {"refId": "Anno", "query": flux(
                'r._measurement == "alert_event" and r._field == "severity"',
                'map(fn: (r) => ({r with _value: r.kind + " " + r.subject + ": " + r.state}))')}}]},
        "panels": panels,
    }


def render(settings: Settings) -> str:
    """The dashboard as the JSON text of the file."""
    return json.dumps(dashboard(settings), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: write the dashboard of a deployment file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="file to write, e.g. docs/grafana/tichwatch.json")
    parser.add_argument("--config", type=Path, help="deployment file (default: the embedded Kiều Phú file)")
    args = parser.parse_args(argv)
    args.out.write_text(render(load_settings(args.config, env={})), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
