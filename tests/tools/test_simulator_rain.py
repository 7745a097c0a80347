"""The demo's rain: a storm upstream before the flood, inside the charts' 24 h window, published by the simulated
rain gauges as the contract's JSON."""
from __future__ import annotations

import json

from tests.tools.test_simulator import KP, T0, Recorder, run_demo
from tichwatch.ingest.contract import Topics, decode_rain, parse_time
from tichwatch.tools.scenario import Scenario, station_leads


def rain_of(rec: Recorder, gauge_id: str) -> list[tuple[float, float]]:
    """(ts, mm) of every rain reading published for the gauge, a backlog array item by item."""
    out = []
    for topic, payload, _ in rec.messages:
        if topic == Topics().rain(gauge_id):
            items = json.loads(payload)
            for item in items if isinstance(items, list) else [items]:
                out.append((parse_time(item["ts"]), item["rain_mm"]))
    return out


def test_the_storm_falls_upstream_hours_before_the_flood_crests_and_is_valid_contract_json() -> None:
    assert KP.rain_gauges, "the default deployment has rain gauges"
    rec = Recorder()
    sim = run_demo(rec, wall_s=26 * 3600 / 600 + 5, tick_s=1.0)
    assert sim.published_rain > 0
    crest = sim.crest_at
    assert crest is not None
    for gauge in KP.rain_gauges:
        got = [(t, mm) for t, mm in rain_of(rec, gauge.id) if t >= T0 - 24 * 3600]
        total = sum(mm for _, mm in got)
        assert 80 < total < 250, total  # a storm, not a drizzle nor a deluge
        wettest = max(got, key=lambda x: x[1])[0]
        leads = station_leads(list(KP.stations))
        upstream_crest = crest - max(leads.values())
        assert crest - 16 * 3600 < wettest < upstream_crest, (wettest - crest) / 3600  # rain first, then the rise
        assert sum(mm for t, mm in got if t > crest) < 0.1 * total  # dry (showers at most) after the crest
    topic, payload, _ = next(m for m in rec.messages if m[0].startswith("tich/v1/rain/"))
    gauge_id = topic.split("/")[3]
    decoded = decode_rain(gauge_id, payload, KP, T0)
    assert decoded.rejections == [] and decoded.readings


def test_rain_is_deterministic_per_gauge_and_time() -> None:
    sc = Scenario().anchored(T0)
    g = KP.rain_gauges[0]
    assert [sc.rain_mm(g, T0 - 600 * i, 600) for i in range(100)] == [sc.rain_mm(g, T0 - 600 * i, 600)
                                                                        for i in range(100)]
    assert sc.rain_mm(g, T0 + sc.period_s - 12 * 3600, 3600) == sc.rain_mm(g, T0 - 12 * 3600, 3600)
