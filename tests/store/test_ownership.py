"""Stations and cameras spread over the nodes sharing one PostgreSQL database (`store.ownership`): rendezvous hashing
over the members, handover when one joins or goes, nothing owned by a node cut from the broker while others run."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import new_schema_url, wait_for
from tichwatch.store.leases import Leases
from tichwatch.store.ownership import Ownership, belongs_to
from tichwatch.tools.broker import free_port
from tichwatch.tools.postgres import PostgresProcess

SUBJECTS = {f"st{i}" for i in range(200)} | {f"cam{i}" for i in range(40)}


class Clock:
    """A monotonic clock the test moves (the members are read again once `MEMBERS_TTL_S` has passed)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def tick(self) -> None:
        self.t += 5.0


@pytest.fixture
def url(postgres_server: PostgresProcess) -> str:
    return new_schema_url(postgres_server.url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def nodes(url: str, clock: Clock) -> Iterator[list[Ownership]]:
    made = [Ownership(Leases(url), clock) for _ in range(3)]
    yield made
    for o in made:
        o.leases.close()


def _shares(nodes: list[Ownership], clock: Clock, subjects: set[str] = SUBJECTS) -> list[set[str]]:
    clock.tick()
    for o in nodes:
        o.owned(subjects)  # a node gives back what no longer belongs to it
    return [o.owned(subjects) for o in nodes]  # ... and the one it belongs to takes it at its next batch


def test_members_share_the_subjects_each_owned_once(nodes: list[Ownership], clock: Clock) -> None:
    assert [o.join() for o in nodes] == [True, True, True]
    assert [o.member for o in nodes] == [0, 1, 2]
    shares = _shares(nodes, clock)
    assert set().union(*shares) == SUBJECTS and sum(map(len, shares)) == len(SUBJECTS)  # each once, none left out
    assert all(len(s) > len(SUBJECTS) / 6 for s in shares), [len(s) for s in shares]  # spread (1/3 each, ± hash)
    assert [o.known_members() for o in nodes] == [(0, 1, 2)] * 3


def test_a_member_that_leaves_hands_over_only_its_own(nodes: list[Ownership], clock: Clock) -> None:
    for o in nodes:
        o.join()
    before = _shares(nodes, clock)
    nodes[1].leave()
    after = _shares(nodes, clock)
    assert after[1] == set()
    assert after[0] >= before[0] and after[2] >= before[2]  # rendezvous: nothing else moves
    assert after[0] | after[2] == SUBJECTS and not after[0] & after[2]
    nodes[1].join()  # back (caught up with the broker again): it gets the same share
    assert _shares(nodes, clock) == before


def test_a_new_member_takes_its_share_from_the_one_that_had_everything(nodes: list[Ownership], clock: Clock) -> None:
    a, b, _ = nodes
    a.join()
    assert _shares([a], clock) == [SUBJECTS]
    b.join()
    clock.tick()
    kept = a.owned(SUBJECTS)  # a sees b and gives back b's share ...
    assert kept == {s for s in SUBJECTS if belongs_to((0, 1), s) == 0}
    assert b.owned(SUBJECTS) == SUBJECTS - kept  # ... which b takes
    assert b.leases.is_held("subject:" + next(iter(SUBJECTS - kept)))


def test_a_node_not_caught_up_owns_nothing_while_members_run(nodes: list[Ownership], clock: Clock) -> None:
    """Cut from the broker (not a member): its readings stop, its ticks would call every station silent; the
    members detect. Alone, with no member anywhere, it owns what is free: a lone node still reports silence."""
    a, b, _ = nodes
    a.join()
    clock.tick()
    assert b.owned({"st1", "st2"}) == set() and a.owned({"st1", "st2"}) == {"st1", "st2"}
    a.leave()
    clock.tick()
    assert b.owned({"st1", "st2"}) == {"st1", "st2"}


def test_a_killed_member_is_gone_within_a_second(url: str, clock: Clock) -> None:
    """SIGKILL: the server ends the member's session; the others read the members again within MEMBERS_TTL_S and
    take its subjects at their next batch."""
    member = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom tichwatch.store.leases import Leases\n"
         "from tichwatch.store.ownership import Ownership\n"
         "o = Ownership(Leases(sys.argv[1]))\nassert o.join()\n"
         "print(len(o.owned({f'st{i}' for i in range(200)})), flush=True)\ntime.sleep(600)\n", url],
        stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])
    other = Ownership(Leases(url))  # the real clock
    try:
        assert member.stdout is not None and int(member.stdout.readline()) == 200
        assert other.join() and other.member == 1
        stations = {f"st{i}" for i in range(200)}
        assert other.owned(stations) == set()  # its share is still held: the member gives it back at its next batch
        member.send_signal(signal.SIGKILL)
        member.wait(10)
        killed = time.monotonic()
        wait_for(lambda: other.owned(stations) == stations, timeout_s=10, interval_s=0.05)
        assert time.monotonic() - killed < 2.5
    finally:
        member.kill()
        member.wait()
        other.leases.close()


def test_when_the_database_cannot_say_a_lone_node_owns_everything(clock: Clock) -> None:
    """A restart or a cut network, no member known: everything (a member: its share by the last members known) — a
    crossing must not go undetected because its lease could not be checked."""
    unreachable = Ownership(Leases(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", connect_timeout_s=1),
                            clock)
    try:
        assert not unreachable.join()
        assert unreachable.owned({"st1", "cam1"}) == {"st1", "cam1"}
    finally:
        unreachable.leases.close()


def test_on_sqlite_one_node_owns_everything(tmp_path: Path) -> None:
    alone = Ownership(Leases(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    assert alone.join() and alone.owned({"st1", "cam1"}) == {"st1", "cam1"}
    assert alone.leases.held() == ["subject:cam1", "subject:st1"]  # what /readyz counts


def test_a_node_that_is_not_a_member_gives_back_subjects_it_still_holds(nodes: list[Ownership], clock: Clock) -> None:
    """A batch that took subjects while its node was leaving (cut from the broker) must not keep them from the
    members: the membership loop gives them back."""
    a, b, _ = nodes
    b.join()
    clock.tick()
    assert a.leases.holding({"subject:st1"}) == {"subject:st1"}  # as a batch racing `leave` would have
    a.start(ready=lambda: False, interval_s=0.05)
    try:
        wait_for(lambda: not a.leases.is_held("subject:st1"), timeout_s=5)
        clock.tick()
        assert b.owned({"st1"}) == {"st1"}
    finally:
        a.stop()


def test_a_node_that_joins_again_takes_its_former_number(nodes: list[Ownership], clock: Clock) -> None:
    """A restart of the database ends every session: each node joins again with the number it had, so its
    subjects stay where they were (rendezvous hashing over renumbered members would move most of them)."""
    for o in nodes:
        o.join()
    nodes[0].leave()
    nodes[2].leave()
    nodes[2].join()  # 2 is back first: it takes 2 again, not the free 0
    nodes[0].join()
    assert [o.member for o in nodes] == [0, 1, 2]
