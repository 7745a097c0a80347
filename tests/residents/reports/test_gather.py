"""The report's figures from a store holding a known week: exact alert counts by kind and highest level, response
times, availability of stations and cameras, dust episodes with their marks, bulletins per channel, daily charts'
data and notable events; rows just outside the week never count."""
from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from tests.residents.reports.fixtures import DAY, HOUR, MON, TZ, WEEK, filled_store, settings_for
from tichwatch.residents.reports.gather import ReportData, gather, nearest_rank
from tichwatch.residents.reports.rows import read_rows


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    """The figures of the known week."""
    d: Path = tmp_path_factory.mktemp("gather")
    settings = settings_for(d)
    store = filled_store(d)
    try:
        return gather(read_rows(store.query_all, WEEK, TZ, settings.stations, settings.cameras))
    finally:
        store.close()


def test_alerts_are_counted_once_at_the_highest_level_they_reached(data: ReportData) -> None:
    counts = {(c.kind, c.level): (c.count, c.by_subject) for c in data.alert_counts}
    assert counts == {
        ("flood.level", "BD2"): (1, (("kieuphu-cau", 1),)),  # rose BĐ I → II → back to I: counted at II
        ("flood.rapid_rise", None): (1, (("kieuphu-cau", 1),)),
        ("sensor.offline", None): (1, (("tich-vinhphuc", 1),)),
        ("dust.plume", None): (3, (("cam1", 3),)),
    }
    assert data.alerts_total == 6  # the BĐ III alert of the Sunday before is not this week's


def test_response_times_are_median_p90_and_max_of_acknowledged_alerts(data: ReportData) -> None:
    total = data.total_response
    waits = [120.0, 600.0, 300.0, 60.0]
    assert (total.opened, total.acknowledged, total.unacknowledged) == (6, 4, 2)
    assert total.median_s == statistics.median(waits) == 210.0
    assert total.p90_s == 600.0 and total.max_s == 600.0  # nearest rank: the 4th of 4
    by_kind = {r.kind: r for r in data.responses[:-1]}
    dust = by_kind["dust.plume"]
    assert (dust.opened, dust.acknowledged, dust.median_s, dust.max_s) == (3, 2, 180.0, 300.0)
    assert by_kind["sensor.offline"].median_s is None and by_kind["sensor.offline"].unacknowledged == 1


def test_nearest_rank_percentile() -> None:
    assert nearest_rank([5.0, 1.0, 3.0, 2.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == 9.0
    assert nearest_rank([7.0], 0.9) == 7.0
    with pytest.raises(ValueError):
        nearest_rank([], 0.5)


def test_availability_counts_samples_inside_the_week_against_the_expected_interval(data: ReportData) -> None:
    kp, vp = data.stations
    assert (kp.received, kp.expected) == (972, 1008)  # 10-min readings less 6 silent hours; the edges excluded
    assert kp.ratio == pytest.approx(972 / 1008)
    assert kp.longest_gap_s == 6 * HOUR + 600 and kp.longest_gap_from_ts == MON + 2 * DAY + 6 * HOUR - 600
    assert (vp.received, vp.expected, vp.ratio, vp.longest_gap_s) == (0, 672, 0.0, 7 * DAY)
    (cam,) = data.cameras
    assert (cam.received, cam.expected, cam.ratio, cam.name) == (5040, 10080, 0.5, "Công trường Đường 419")


def test_dust_episodes_per_site_with_marks_and_durations_clipped_to_the_week(data: ReportData) -> None:
    (site,) = data.dust
    assert (site.site, site.episodes, site.confirmed, site.false_alarms) == ("Công trường Đường 419", 3, 1, 1)
    assert site.duration_s == HOUR + 0.5 * HOUR + HOUR  # the last one, still open, counts to the week's end


def test_bulletins_published_in_the_week_and_their_deliveries_per_channel(data: ReportData) -> None:
    assert data.bulletins_published == 2 and dict(data.bulletins_by_kind) == {"emergency": 1, "routine": 1}
    channels = {c.receiver: (c.channel, c.bulletins, c.delivered, c.failed, c.waiting) for c in data.channels}
    assert channels == {"portal": ("webhook", 2, 2, 0, 0), "zalo": ("zalo", 2, 0, 1, 1)}


def test_daily_figures_for_the_charts_are_in_local_days(data: ReportData) -> None:
    assert [d.isoformat() for d in (data.days[0], data.days[-1])] == ["2026-11-23", "2026-11-29"]
    kp, vp = data.station_days
    assert kp.daily_max_m == (5.0, 7.62, 5.0, 5.0, 5.0, 5.0, 5.0) and kp.peak == (MON + DAY + 12 * HOUR, 7.62)
    assert vp.daily_max_m == (None,) * 7 and vp.peak is None
    per_day = dict(data.alerts_per_day)
    assert per_day["flood"] == (0, 2, 0, 0, 0, 0, 0)
    assert per_day["dust"] == (0, 0, 1, 1, 0, 0, 1)  # Sunday 23:00 local is still Sunday
    assert per_day["sensor"] == (1, 0, 0, 0, 0, 0, 0)


def test_notable_events_name_the_flood_its_peak_and_the_silences(data: ReportData) -> None:
    keys = [(n.key, n.values.get("station") or n.values.get("subject")) for n in data.notable]
    assert ("report.notable.flood", "Cầu Kiều Phú") in keys
    assert ("report.notable.peak", "Cầu Kiều Phú") in keys
    assert ("report.notable.gap", "Vĩnh Phúc") in keys and ("report.notable.gap", "Cầu Kiều Phú") in keys
    flood = next(n for n in data.notable if n.key == "report.notable.flood")
    assert flood.values == {"station": "Cầu Kiều Phú", "level": "BD2", "peak_m": 7.62}
    assert [n.ts for n in data.notable] == sorted(n.ts for n in data.notable)


def test_a_period_not_over_yet_counts_availability_and_durations_up_to_when_it_was_read(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = filled_store(tmp_path)
    try:
        as_of = MON + 2 * DAY  # Wednesday 00:00 local, the report asked for the whole week
        data = gather(read_rows(store.query_all, WEEK, TZ, settings.stations, settings.cameras, as_of))
    finally:
        store.close()
    kp, vp = data.stations
    assert (kp.received, kp.expected) == (288, 288) and kp.ratio == 1.0  # two whole days, no silence yet
    assert (vp.expected, vp.longest_gap_s) == (192, 2 * DAY)
    assert data.cameras[0].expected == 2880
