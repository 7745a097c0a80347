"""Sign-in throttling: failed attempts counted per (account, address), per address and per account, in the store.

Each attempt reserves its place before the password is checked: the count and the reservation happen in one write
transaction, so however many attempts arrive at once, at most the limit of them reach the (costly) password hash and
the rest are refused without hashing. A reservation stays as the failure record when the password is wrong and is
removed when it is right (or when the attempt never got to hashing). A crash between the two leaves it counted as a
failure: the safe side.

Why three bounds:
- per (account, address), small (5): one address guessing one account; it never locks the officer out elsewhere;
- per address, across accounts (20): password spraying (one common password tried on every account);
- per account, across addresses (100, or off): guessing from many addresses. Reaching it refuses that account from
  every address until the window passes, so an attacker with enough addresses (100 / 5 = 20) can keep an officer out;
  in exchange guessing one account is capped at 100 tries per window from the whole internet.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tichwatch.store.database import Connection
from tichwatch.store.store import Store


class LoginThrottled(Exception):
    """Too many failed sign-ins for this account or client; try again after `retry_after_s`."""

    def __init__(self, retry_after_s: int):
        self.retry_after_s = retry_after_s
        super().__init__(f"too many failed sign-ins; try again in {retry_after_s} s")


@dataclass(frozen=True)
class ThrottleLimits:
    """How many failed sign-ins are allowed within `window_s` in each scope (0 for per_account: no bound)."""

    per_account_address: int = 5
    per_address: int = 20
    per_account: int = 100
    window_s: float = 900.0


@dataclass(frozen=True)
class Scope:
    """Failures (and attempts under way) counted in one scope within the window, and the oldest one's time."""

    count: int
    oldest_ts: float | None


@dataclass(frozen=True)
class Failures:
    """Failures within the window for the pair, the address and the account of one attempt."""

    pair: Scope
    address: Scope
    account: Scope


def retry_after_s(failures: Failures, limits: ThrottleLimits, now: float) -> int | None:
    """Seconds until an attempt may be tried, None when it may be tried now (every bound must have room)."""
    waits = [scope.oldest_ts + limits.window_s - now
             for scope, limit in ((failures.pair, limits.per_account_address), (failures.address, limits.per_address),
                                  (failures.account, limits.per_account))
             if limit and scope.count >= limit and scope.oldest_ts is not None]
    return max(1, math.ceil(max(waits))) if waits else None


_COUNTS = """
SELECT COUNT(CASE WHEN username = ?1 AND client = ?2 THEN 1 END),
       MIN(CASE WHEN username = ?1 AND client = ?2 THEN ts END),
       COUNT(CASE WHEN client = ?2 THEN 1 END), MIN(CASE WHEN client = ?2 THEN ts END),
       COUNT(CASE WHEN username = ?1 THEN 1 END), MIN(CASE WHEN username = ?1 THEN ts END)
FROM login_failures WHERE (username = ?1 OR client = ?2) AND ts >= ?3
"""

FetchOne = Callable[[str, tuple[object, ...]], Any]
"""Runs one query and returns its first row (the store's read connection, or the open write transaction)."""


def _failures(fetch_one: FetchOne, username: str, client: str, since: float) -> Failures:
    row = fetch_one(_COUNTS, (username, client, since))
    return Failures(Scope(row[0], row[1]), Scope(row[2], row[3]), Scope(row[4], row[5]))


class LoginThrottle:
    """Reserves a place for each sign-in attempt in the store, or refuses it (LoginThrottled)."""

    def __init__(self, store: Store, limits: ThrottleLimits):
        self.store = store
        self.limits = limits

    def _refuse_if_full(self, fetch_one: FetchOne, username: str, client: str, now: float) -> None:
        wait = retry_after_s(_failures(fetch_one, username, client, now - self.limits.window_s), self.limits, now)
        if wait is not None:
            raise LoginThrottled(wait)

    def reserve(self, username: str, client: str, now: float) -> int:
        """Reserve a place for one attempt (its id); LoginThrottled when a bound is reached.

        A refusal is first decided on a read connection, so a flood of refused attempts never waits for the store's
        writer (which the ingest pipeline needs); the decision is repeated inside the write transaction that records
        the reservation, which is what makes it atomic."""
        self._refuse_if_full(self.store.query_one, username, client, now)
        with self.store.transaction() as conn:
            self._refuse_if_full(lambda sql, params: conn.execute(sql, params).fetchone(), username, client, now)
            conn.execute("DELETE FROM login_failures WHERE ts < ?", (now - self.limits.window_s,))
            cur = conn.execute("INSERT INTO login_failures (username, client, ts) VALUES (?, ?, ?) RETURNING rowid",
                               (username, client, now))
            return int(cur.fetchone()[0])

    def release(self, attempt: int) -> None:
        """Drop a reservation whose attempt never checked a password (it is no failure)."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE rowid = ?", (attempt,))

    @staticmethod
    def forget(conn: Connection, username: str, client: str) -> None:
        """After a successful sign-in: this address's failures for this account no longer count."""
        conn.execute("DELETE FROM login_failures WHERE username = ? AND client = ?", (username, client))
