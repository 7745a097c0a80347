"""The bound on password hashing: never more than `concurrency` argon2 hashes at once (so memory for hashing stays
under memory_cost × concurrency), a short queue, refusals with Retry-After, and never on the event loop."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher, extract_parameters

from tests.accounts_support import NOW, RecordingHasher, cheap_service, post_all, serve
from tests.support import secret, wait_for
from tichwatch.api.accounts import Role
from tichwatch.api.passwords import DUMMY_HASH, HashingBusy, PasswordWork

PASSWORD = secret("officer-password-hashing-1")


class HeldHasher:
    """A hasher whose every call waits until the test lets it go (so the gate is seen with work in it)."""

    memory_cost = 65536

    def __init__(self) -> None:
        self.go = threading.Event()
        self.started = 0
        self.lock = threading.Lock()

    def _hold(self) -> None:
        with self.lock:
            self.started += 1
        assert self.go.wait(30)

    def hash(self, password: str) -> str:
        """Wait, then a fake hash."""
        self._hold()
        return "h:" + password

    def verify(self, password_hash: str, password: str) -> bool:
        """Wait, then compare."""
        self._hold()
        return password_hash == "h:" + password


@pytest.fixture
def held() -> Iterator[HeldHasher]:
    hasher = HeldHasher()
    yield hasher
    hasher.go.set()  # never leave a thread waiting


def _in_threads(work: PasswordWork, n: int) -> tuple[list[threading.Thread], list[object]]:
    results: list[object] = []

    def verify() -> None:
        try:
            results.append(work.verify("h:x", "x"))
        except HashingBusy as exc:
            results.append(exc)

    threads = [threading.Thread(target=verify) for _ in range(n)]
    for t in threads:
        t.start()
    return threads, results


def test_the_gate_runs_at_most_concurrency_hashes_and_refuses_beyond_the_queue(held: HeldHasher) -> None:
    work = PasswordWork(concurrency=2, queue=3, wait_s=30, hasher=held)
    threads, results = _in_threads(work, 5)
    wait_for(lambda: work.inside == 5 and held.started == 2)  # two hashing, three waiting
    with pytest.raises(HashingBusy) as refused:  # the sixth finds the queue full: refused at once, no hashing
        work.verify("h:x", "x")
    assert refused.value.retry_after_s > 0
    assert held.started == 2
    held.go.set()
    for t in threads:
        t.join(10)
    assert results == [True] * 5 and held.started == 5 and work.inside == 0


def test_a_wait_that_runs_out_is_refused(held: HeldHasher) -> None:
    work = PasswordWork(concurrency=1, queue=5, wait_s=0.01, hasher=held)
    threads, _ = _in_threads(work, 1)
    wait_for(lambda: held.started == 1)
    with pytest.raises(HashingBusy):
        work.hash("y")
    held.go.set()
    threads[0].join(10)
    assert work.inside == 0  # the refused caller left no trace in the gate


def test_the_memory_bound_is_memory_cost_times_concurrency() -> None:
    work = PasswordWork(concurrency=2)
    assert work.hasher.memory_cost == 65536  # argon2-cffi's default, KiB (64 MiB)
    assert work.memory_bound_kib == 2 * 65536  # 128 MiB whatever the crowd


def test_a_crowd_of_sign_ins_never_hashes_more_than_the_bound_nor_on_the_event_loop(tmp_path: Path) -> None:
    """60 sign-ins at once through uvicorn, each from its own address (so the throttle admits them all) with the
    real argon2 parameters: the instrumented hasher never sees more than 2 at once; those that find the gate full are
    refused with 503 and Retry-After, and that refusal is no failure of theirs."""
    svc = cheap_service(tmp_path / "data")
    hasher = RecordingHasher(PasswordHasher())  # the real cost: 64 MiB
    svc.accounts.passwords.hasher = hasher
    svc.accounts.add_user("truc.ban", PASSWORD, Role.OFFICER, NOW)
    calls_before = hasher.calls
    try:
        with serve(svc) as served:
            answers = post_all(f"{served.url}/api/v1/auth/login", [{"username": "truc.ban", "password": PASSWORD}] * 60,
                               [{"X-Forwarded-For": f"10.1.0.{i}"} for i in range(60)])
        statuses = [r.status_code for r in answers]
        assert set(statuses) <= {200, 503}, statuses
        assert hasher.peak <= svc.settings.accounts.password_hash_concurrency == 2
        assert hasher.calls - calls_before == statuses.count(200) >= 2
        busy = [r for r in answers if r.status_code == 503]
        assert all(int(r.headers["retry-after"]) > 0 and r.json()["title"] == "Busy" for r in busy)
        assert served.loop_thread not in hasher.threads  # hashing ran in worker threads, never on the event loop
        row = svc.store.query_one("SELECT COUNT(*) FROM login_failures")
        assert row is not None and row[0] == 0  # refused-while-busy attempts left no failure behind
    finally:
        svc.store.close()


def test_unknown_users_cost_the_same_work_as_real_ones() -> None:
    """The written-out hash checked for unknown users has the parameters every real hash gets (no timing oracle)."""
    assert extract_parameters(DUMMY_HASH) == extract_parameters(PasswordHasher().hash("any-password-1"))
