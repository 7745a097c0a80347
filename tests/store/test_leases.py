"""Leases among nodes sharing one PostgreSQL database (the private server of the run, a schema per test), and on SQLite
(one process per file: always held)."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support import new_schema_url, wait_for
from tichwatch.store.leases import Leases
from tichwatch.tools.broker import free_port
from tichwatch.tools.postgres import PostgresProcess


@pytest.fixture
def url(postgres_server: PostgresProcess) -> str:
    return new_schema_url(postgres_server.url)


@pytest.fixture
def nodes(url: str) -> Iterator[tuple[Leases, Leases]]:
    a, b = Leases(url), Leases(url)
    yield a, b
    a.close()
    b.close()


def test_one_node_holds_a_lease_the_other_waits(nodes: tuple[Leases, Leases]) -> None:
    a, b = nodes
    assert a.holds("bulletin-schedule") and a.holds("bulletin-schedule")  # kept, checked alive
    assert not b.holds("bulletin-schedule")
    assert b.holds("retention") and not a.holds("retention")  # each lease on its own
    assert a.held() == ["bulletin-schedule"] and b.held() == ["retention"]


def test_a_lease_given_back_or_closed_is_taken_by_the_other(nodes: tuple[Leases, Leases]) -> None:
    a, b = nodes
    assert a.holds("delivery:duty") and a.holds("retention")
    a.release("delivery:duty")
    assert b.holds("delivery:duty") and not b.holds("retention")
    a.close()
    assert b.holds("retention") and not a.holds("retention")  # a closed node holds nothing


def test_a_node_killed_loses_its_leases_to_the_others(url: str, tmp_path: Path) -> None:
    """SIGKILL: the server sees the connection end and frees the lock; the other node takes it at its next try."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom tichwatch.store.leases import Leases\n"
         "node = Leases(sys.argv[1])\nassert node.holds('alerts-ticker')\n"
         "print('held', flush=True)\ntime.sleep(600)\n", url],
        stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])
    other = Leases(url)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        assert not other.holds("alerts-ticker")
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        killed = time.monotonic()
        wait_for(lambda: other.holds("alerts-ticker"), timeout_s=10, interval_s=0.05)
        assert time.monotonic() - killed < 5
    finally:
        holder.kill()
        holder.wait()
        other.close()


def test_a_node_whose_session_the_server_ends_stops_holding(nodes: tuple[Leases, Leases], url: str) -> None:
    """The server ends the session (a restart, an operator's pg_terminate_backend): the node notices at its next
    check and holds nothing until it takes the lease again."""
    a, b = nodes
    assert a.holds("reports")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                      "'tichwatch-leases' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')")
    wait_for(lambda: b.holds("reports"), timeout_s=10, interval_s=0.05)
    assert not a.holds("reports") and a.held() == []


def test_two_deployments_in_two_schemas_do_not_share_leases(postgres_server: PostgresProcess) -> None:
    first, second = Leases(new_schema_url(postgres_server.url)), Leases(new_schema_url(postgres_server.url))
    try:
        assert first.holds("retention") and second.holds("retention")
    finally:
        first.close()
        second.close()


def test_on_sqlite_every_lease_is_always_held(tmp_path: Path) -> None:
    a, b = Leases(f"sqlite:///{tmp_path / 'db.sqlite3'}"), Leases(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert a.holds("retention") and b.holds("retention") and not a.shared
    assert a.held() == ["retention"]


def test_each_change_is_told_once(url: str) -> None:
    """What the metric tichwatch_lease_held follows: taken, then lost with the session or given back."""
    changes: list[tuple[str, bool]] = []
    a = Leases(url, on_change=lambda name, held: changes.append((name, held)))
    assert a.holds("retention") and a.holds("retention") and a.holds("reports")
    a.release("reports")
    a.close()
    assert changes == [("retention", True), ("reports", True), ("reports", False), ("retention", False)]


def test_subjects_are_owned_by_one_node_and_move_when_it_goes(nodes: tuple[Leases, Leases]) -> None:
    """A batch's stations in one call: the first node to ask owns them, the other owns none until the first goes."""
    a, b = nodes
    assert a.owned({"st1", "st2"}) == {"st1", "st2"}
    assert b.owned({"st1", "st2", "cam1"}) == {"cam1"}  # only what nobody held
    assert a.owned({"st1", "cam1"}) == {"st1"}
    a.close()
    assert b.owned({"st1", "st2", "cam1"}) == {"st1", "st2", "cam1"}
    assert b.held() == ["subject:cam1", "subject:st1", "subject:st2"]


def test_when_the_database_cannot_say_a_node_detects_but_runs_no_singleton(tmp_path: Path) -> None:
    """A restart or a cut network: no singleton runs (another node may hold it), but every subject counts as owned —
    a flood crossing must not go undetected because its lease could not be checked."""
    unreachable = Leases(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", connect_timeout_s=1)
    try:
        assert not unreachable.holds("retention") and unreachable.holding({"retention"}) == set()
        assert unreachable.owned({"st1", "cam1"}) == {"st1", "cam1"}
        assert unreachable.held() == []
    finally:
        unreachable.close()
