"""Password hashing (argon2id) behind a gate that bounds how many hashes run at once, and so the memory they take.

Each argon2id hash or verification holds `memory_cost` KiB (argon2-cffi's default: 64 MiB) for its whole run; a crowd
of sign-ins hashing at once grew the service from 0.25 to nearly 3 GB. The gate admits `concurrency` hashes at a time
(memory for hashing ≤ memory_cost × concurrency), lets at most `queue` more wait up to `wait_s` for a slot, and refuses
the rest at once with `HashingBusy` (answered 503 with Retry-After): nothing piles up, whatever the crowd.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

BUSY_RETRY_AFTER_S = 2
"""Seconds a refused sign-in is asked to wait: the queue of a few hashes clears well within this."""


class Hasher(Protocol):
    """What the gate needs of a password hasher (argon2's PasswordHasher)."""

    @property
    def memory_cost(self) -> int:
        """KiB of memory each hash or verification holds."""

    def hash(self, password: str) -> str:
        """A new salted hash of the password."""

    def verify(self, hash: str, password: str) -> bool:
        """True when the password matches; raises VerificationError when it does not."""


class HashingBusy(Exception):
    """Every hashing slot is taken and the queue is full (or the wait ran out): try again after `retry_after_s`."""

    def __init__(self, retry_after_s: int = BUSY_RETRY_AFTER_S):
        self.retry_after_s = retry_after_s
        super().__init__(f"the server is busy checking other sign-ins; try again in {retry_after_s} s")


class PasswordWork:
    """Argon2id hashing and verification, at most `concurrency` at once, `queue` more waiting at most `wait_s`."""

    def __init__(self, concurrency: int = 2, queue: int = 8, wait_s: float = 5.0, hasher: Hasher | None = None):
        self.concurrency = concurrency
        self.queue = queue
        self.wait_s = wait_s
        self.hasher: Hasher = hasher or PasswordHasher()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._inside = 0  # hashing now or waiting for a slot

    @property
    def memory_bound_kib(self) -> int:
        """The most memory hashing can hold at once: argon2's memory cost times the concurrency."""
        return self.hasher.memory_cost * self.concurrency

    @property
    def inside(self) -> int:
        """Callers hashing now or waiting for a slot."""
        with self._lock:
            return self._inside

    @contextmanager
    def _slot(self) -> Iterator[None]:
        """Hold one hashing slot; HashingBusy when the queue is full or no slot frees within `wait_s`."""
        with self._lock:
            if self._inside >= self.concurrency + self.queue:
                raise HashingBusy()
            self._inside += 1
        try:
            if not self._slots.acquire(timeout=self.wait_s):
                raise HashingBusy()
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._inside -= 1

    def hash(self, password: str) -> str:
        """A new argon2id hash of the password."""
        with self._slot():
            return self.hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True when the password matches the hash; the full work is done either way (no timing oracle)."""
        with self._slot():
            try:
                return self.hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False


DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$JTm5vN4md+AjRLaWAh3tGQ$sSQt2OOcNVHdqp1MFVMkj+NrZTxxWpwP3IQJKdkkE4I"
"""Verified against for unknown users, so answering them costs the same as answering a real one: a hash of a public
string with argon2-cffi's default parameters (a test keeps them equal), written out so importing costs no hashing."""
