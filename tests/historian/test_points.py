"""The historian's line protocol, and the Grafana dashboard and docs that must name what it writes."""
from __future__ import annotations

import json
import re
from pathlib import Path

from tichwatch.core.detection import Detection, Severity
from tichwatch.core.samples import Reading
from tichwatch.historian.points import MEASUREMENTS, alert_event_line, detection_line, dust_line, epoch_ms, reading_line

ROOT = Path(__file__).resolve().parents[2]


def test_lines_carry_the_documented_tags_fields_and_millisecond_times() -> None:
    assert reading_line(Reading("tich-vinhphuc", 1790000000.25, 7.42, 15, 12.4), "Sông Tích") == (
        r"water_level,river=Sông\ Tích,station_id=tich-vinhphuc battery_v=12.4,level_m=7.42,seq=15i 1790000000250")
    assert reading_line(Reading("st1", 1790000000, 7), "") == "water_level,station_id=st1 level_m=7 1790000000000"
    assert dust_line("cam1", "Site A", 1790000000, None, "warming up") == (
        r'dust,camera_id=cam1,site=Site\ A status="warming up" 1790000000000')
    assert detection_line(Detection("flood.level", "st1", 1790000000, False, Severity.CRITICAL, 7.9, "m", "BD2",
                                    "fell below BD3")) == (
        'detection,kind=flood.level,subject=st1 active=false,level="BD2",reason="fell below BD3",severity=30i,'
        'value=7.9 1790000000000')
    assert alert_event_line("a=1", "dust.plume", "cam1", "resolved", 20, 1790000000.0004, None) == (
        r'alert_event,alert_id=a\=1,kind=dust.plume,state=resolved,subject=cam1 actor="system",severity=20i '
        '1790000000000')
    opened = alert_event_line("a1", "k", "s", "firing", 20, 1790000000, None, "opened")
    raised = alert_event_line("a1", "k", "s", "firing", 30, 1790000000, None, "raised")
    assert opened.startswith("alert_event,action=opened,") and raised.startswith("alert_event,action=raised,")
    assert alert_event_line("a1", "k", "s", "acknowledged", 20, 1790000000, "Nguyễn \"Văn\"\nA").endswith(
        r' actor="Nguyễn \"Văn\" A",severity=20i 1790000000000')


def test_a_point_keeps_its_identity_however_its_time_was_computed() -> None:
    assert epoch_ms(1790000000.1) == epoch_ms(1790000000 + 0.1) == 1790000000100
    r = Reading("st1", 1790000000.1, 5.0)
    assert reading_line(r, "x") == reading_line(Reading("st1", 1790000000.1, 5.0, received_ts=1), "x")


def dashboard_queries() -> list[str]:
    dash = json.loads((ROOT / "docs/grafana/tichwatch.json").read_text(encoding="utf-8"))
    queries = [t["query"] for p in dash["panels"] for t in p["targets"]]
    queries += [v["query"] for v in dash["templating"]["list"] if v["type"] == "query"]
    queries += [a["target"]["query"] for a in dash["annotations"]["list"]]
    return queries


def test_the_grafana_dashboard_queries_only_what_the_historian_writes() -> None:
    known = {m.name: m for m in MEASUREMENTS}
    queries = dashboard_queries()
    assert len(queries) >= 8
    for q in queries:
        names = re.findall(r'r\._measurement == "(\w+)"', q)
        assert names and set(names) <= set(known), q
        allowed_fields = {f for n in names for f in known[n].fields}
        allowed_tags = {t for n in names for t in known[n].tags}
        assert set(re.findall(r'r\._field == "(\w+)"', q)) <= allowed_fields, q
        used_tags = set(re.findall(r"\br\.(\w+)", q)) - {"_measurement", "_field", "_value", "_time"}
        assert used_tags <= allowed_tags, q
        assert "from(bucket" in q or "schema.tagValues" in q


def test_the_docs_describe_every_measurement_tag_and_field() -> None:
    doc = (ROOT / "docs/historian.md").read_text(encoding="utf-8")
    for m in MEASUREMENTS:
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{m.name}`")), "")
        assert row, f"docs/historian.md has no table row for {m.name}"
        for name in m.tags + m.fields:
            assert f"`{name}`" in row, f"{m.name}.{name} is not documented"
