"""Migration 17: an alert's episode — (kind, subject, start) — is unique in the database, so no two nodes (nor a node
taking a station over) record one episode twice; a database from before that somehow holds one twice upgrades."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.alerts.harness import flood_level, people_settings
from tichwatch.alerts import storage
from tichwatch.alerts.model import Alert, HoldPolicy, on_detection, resolve
from tichwatch.app.schema import MIGRATIONS
from tichwatch.store import database
from tichwatch.store.store import Store

NOW = 1_790_000_000.0


def _episode(ts: float, now: float | None = None) -> Alert:
    """An alert opened on a BĐ I crossing at sample time `ts`, by a node at time `now` (the id is made of it)."""
    change = on_detection(None, flood_level("st1", "BD1", ts), now or ts, HoldPolicy(0, 3600, 3), 0)
    assert change.alert is not None
    return change.alert


def test_one_episode_cannot_be_recorded_twice(tmp_path: Path, database_url: str | None) -> None:
    store = Store(people_settings(tmp_path / "data").store.data_dir, MIGRATIONS, url=database_url)
    try:
        first = _episode(NOW)
        resolved = resolve(first, NOW + 60, "duty", "checked on site").alert
        assert resolved is not None
        with store.transaction() as conn:
            storage.save_alert(conn, resolved)
        again = _episode(NOW, NOW + 120)  # the same onset, opened anew (a second node, a stale claim): a new id
        assert again.id != first.id
        with pytest.raises(database.IntegrityError), store.transaction() as conn:
            storage.save_alert(conn, again)
        with store.transaction() as conn:
            storage.save_alert(conn, _episode(NOW + 600))  # a later onset is another episode
        assert len(store.query_all("SELECT id FROM alerts")) == 2
    finally:
        store.close()


def test_an_older_database_holding_an_episode_twice_upgrades(tmp_path: Path, database_url: str | None) -> None:
    data_dir = people_settings(tmp_path / "data").store.data_dir
    old = Store(data_dir, MIGRATIONS[:16], url=database_url)
    rows = [replace(_episode(NOW), id=f"a{i}") for i in range(3)]  # recorded three times before the index
    rows[0] = resolve(rows[0], NOW + 1, "duty", "x").alert or rows[0]
    rows[1] = resolve(rows[1], NOW + 2, "duty", "x").alert or rows[1]
    with old.transaction() as conn:
        for row in rows:
            storage.save_alert(conn, row)
    old.close()
    new = Store(data_dir, MIGRATIONS, url=database_url)
    try:
        starts = [(r["id"], r["started_ts"]) for r in new.query_all("SELECT id, started_ts FROM alerts ORDER BY id")]
        assert starts[0] == ("a0", NOW) and len({ts for _, ts in starts}) == 3  # the first keeps its start
        assert all(abs(ts - NOW) < 0.001 for _, ts in starts)
    finally:
        new.close()
