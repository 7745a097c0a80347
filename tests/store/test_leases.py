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


def test_pg_locks_shows_which_leases_anyone_holds(nodes: tuple[Leases, Leases]) -> None:
    """How members see each other: read from pg_locks without taking anything (hash keys of either sign)."""
    a, b = nodes
    names = {f"node:{k}" for k in range(64)}
    assert a.holds("node:3") and b.holds("node:17") and b.holds("retention")
    assert a.taken_by_anyone(names) == {"node:3", "node:17"} == b.taken_by_anyone(names)
    assert a.held() == ["node:3"]  # reading took nothing
    b.release("node:17", "retention")
    assert a.taken_by_anyone(names | {"retention"}) == {"node:3"}


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


def test_when_the_database_cannot_say_no_singleton_runs(tmp_path: Path) -> None:
    """A restart or a cut network: no singleton runs (another node may hold it); a caller to whom acting twice is
    safer than not acting (subjects: `Ownership.owned`) may count the unknown as held."""
    unreachable = Leases(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", connect_timeout_s=1)
    try:
        assert not unreachable.holds("retention") and unreachable.holding({"retention"}) == set()
        assert unreachable.holding({"subject:st1"}, unknown_held=True) == {"subject:st1"}
        assert unreachable.taken_by_anyone({"node:0"}) is None
        assert unreachable.held() == []
    finally:
        unreachable.close()


def test_a_url_listing_two_database_hosts_reaches_the_writable_one(postgres_server: PostgresProcess) -> None:
    """The three-node example's URL lists both PostgreSQL hosts (`target_session_attrs=read-write`): a host that does
    not answer (the old primary, down) is passed over for the one that takes writes."""
    url = new_schema_url(postgres_server.url)
    scheme, rest = url.split("://", 1)
    user, address = rest.split("@", 1)
    host, tail = address.split("/", 1)
    both = f"{scheme}://{user}@127.0.0.1:{free_port()},{host}/{tail}&target_session_attrs=read-write"
    node = Leases(both, connect_timeout_s=2)
    try:
        assert node.holds("retention")
        assert node.taken_by_anyone({"retention"}) == {"retention"}
    finally:
        node.close()
