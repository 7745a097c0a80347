"""PostgreSQL's readings partitioned by month: where rows land, and retention dropping whole months."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import make_settings
from tichwatch.app.schema import open_store
from tichwatch.core.samples import Reading
from tichwatch.store import partitions
from tichwatch.store.retention_policy import DAY_S, Tally, retention_plan
from tichwatch.store.store import Store

JAN_2027 = partitions.month_bounds(2027, 1)[0]
DAY = DAY_S


@pytest.fixture
def store(tmp_path: Path, database_url: str | None) -> Iterator[Store]:
    if database_url is None:
        pytest.skip("PostgreSQL's partitions: needs the PostgreSQL pass (TICHWATCH_TEST_DATABASE=postgresql)")
    s = open_store(tmp_path / "data")
    yield s
    s.close()


def _partition_of(store: Store, station: str, ts: float) -> str:
    row = store.query_one("SELECT tableoid::regclass::text FROM readings WHERE station_id = ? AND ts = ?",
                          (station, ts))
    assert row is not None
    return str(row[0])


def test_month_arithmetic_in_utc() -> None:
    start, end = partitions.month_bounds(2026, 12)
    assert (start, end) == (1796083200.0, 1798761600.0)  # 2026-12-01 and 2027-01-01, 00:00 UTC
    assert partitions.month_of(end - 0.001) == (2026, 12) and partitions.month_of(end) == (2027, 1)
    assert partitions.months((2026, 11), 4) == [(2026, 11), (2026, 12), (2027, 1), (2027, 2)]


def test_readings_land_in_their_month_and_history_in_the_default(store: Store) -> None:
    with store.transaction() as conn:
        partitions.ensure_months(conn, JAN_2027)
        assert {(2027, 1), (2027, 2), (2027, 3)} <= set(partitions.existing_months(conn))
        assert partitions.ensure_months(conn, JAN_2027) == []  # made once
    old = JAN_2027 - 400 * DAY  # replayed history: no month was made for it
    store.append_readings([Reading("st1", JAN_2027 + 3600, 5.0), Reading("st1", JAN_2027 + 40 * DAY, 5.1),
                           Reading("st1", old, 4.0)])
    assert _partition_of(store, "st1", JAN_2027 + 3600) == "readings_p202701"
    assert _partition_of(store, "st1", JAN_2027 + 40 * DAY) == "readings_p202702"
    assert _partition_of(store, "st1", old) == "readings_default"
    # a reading delivered twice is stored once, across the partitioned table too
    assert store.append_readings([Reading("st1", JAN_2027 + 3600, 9.9)]) == []
    assert store.count_readings("st1") == 3
    # a month whose rows already sit in the default partition is left to it (PostgreSQL would refuse the month)
    with store.transaction() as conn:
        made = partitions.ensure_months(conn, old)
    y, m = partitions.month_of(old)
    assert f"readings_p{y:04d}{m:02d}" not in made and len(made) == 3  # the month before and the two after


def test_retention_drops_whole_months_and_deletes_the_rest_row_by_row(store: Store, tmp_path: Path) -> None:
    with store.transaction() as conn:
        partitions.ensure_months(conn, JAN_2027, ahead=3)
    history = JAN_2027 - 200 * DAY
    readings = [Reading("st1", JAN_2027 + h * 3600.0, 5.0) for h in range(0, 24 * 110, 6)]  # Jan … mid-April
    store.append_readings([*readings, Reading("st1", history, 4.0), Reading("st2", history + 60, 4.0)])
    settings = make_settings(tmp_path / "data", store={"data_dir": str(tmp_path / "data"),
                                                       "readings_retention_days": 30})
    now = partitions.month_bounds(2027, 3)[0] + 10 * DAY  # cut-off: 30 days earlier, inside February
    plan = retention_plan(settings.store, settings.subscriptions, now, ())
    tally = Tally()
    store.prune("readings", plan, tally)
    left = store.query_all("SELECT ts FROM readings ORDER BY ts")
    assert min(r[0] for r in left) >= plan.readings_before_ts  # everything older went
    expected = [r for r in readings if r.ts >= plan.readings_before_ts]
    assert len(left) == len(expected) and tally.rows["readings"] == len(readings) + 2 - len(expected)
    with store.transaction() as conn:
        have = partitions.existing_months(conn)
    assert (2027, 1) not in have  # dropped whole: its rows went without a DELETE
    assert {(2027, 2), (2027, 3), (2027, 4)} <= set(have)  # the month of the cut-off stays, trimmed row by row
    assert (2027, 5) in have  # the run made the months ahead of its time
    assert store.query_one("SELECT COUNT(*) FROM readings_default")[0] == 0  # type: ignore[index]
