"""Which node detects on which station and camera, when several nodes share one database (PostgreSQL).

Every node stores every reading and keeps every subject's detectors current; a subject's detections count only on
its owner, the node holding its `subject:<id>` lease (see `Pipeline.owned`). Subjects are spread over the nodes by
rendezvous hashing: each node that is caught up with the broker holds a *member* lease (`node:<k>`, the lowest free
k, see `join`); a subject belongs to the member with the highest hash of (k, subject). A node takes the subjects
that belong to it and gives back those that no longer do (a member joined), so each of n nodes owns about 1/n of
them. When a member goes — it dies, and its database session ends with every lease it held; or it loses the broker
and leaves — its subjects belong to the others as soon as they next read the members (at most `MEMBERS_TTL_S` old),
and each is taken at its next reading. Only the moved subjects move: rendezvous hashing keeps every other one where
it was.

A node that is not a member (not connected to the broker, or not caught up yet) owns nothing while there are
members. When there is none (a node alone, cut from the broker), it owns whatever is free, so that a lone node still
says its stations went silent.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence

from tichwatch.store.leases import Leases

log = logging.getLogger(__name__)

SUBJECT = "subject:"
"""The prefix of a station's or camera's lease: its owner runs its detectors (see `Pipeline.owned`)."""
MEMBER = "node:"
"""The prefix of a member's lease: `node:<k>`, k in 0 .. MAX_MEMBERS - 1."""
MAX_MEMBERS = 64
MEMBERS_TTL_S = 1.0
"""How long one reading of the members is used: a member that went is noticed by the others at most this late."""
SESSION_VOUCHED_S = 1.0
"""How long a round trip that found the leases' session alive vouches for this node's subjects: within it, a batch
whose subjects are all held makes none (batches come every few milliseconds under load). A node whose session ended
learns it at most this much later, and may detect on a subject another node just took: the open alert's unique index
keeps them from opening it twice. Singletons (`Leases.holds`) are checked at every step."""


def is_singleton(lease: str) -> bool:
    """Is this lease a singleton's (retention, a dispatcher, …), not a subject's or a member's?"""
    return not lease.startswith((SUBJECT, MEMBER))


def belongs_to(members: Sequence[int], subject: str) -> int:
    """The member a subject belongs to: the highest hash of (member, subject) (rendezvous hashing: when a member
    joins or goes, only the subjects that belong to it, or did, move)."""
    return max(members, key=lambda k: (_weight(k, subject), k))


def _weight(member: int, subject: str) -> int:
    digest = hashlib.blake2b(f"{member}:{subject}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class Ownership:
    """This node's share of the stations and cameras (see the module's docstring)."""

    def __init__(self, leases: Leases, clock: Callable[[], float] = time.monotonic):
        self.leases = leases
        self._clock = clock
        self._lock = threading.Lock()  # member number and members' cache
        self._member: int | None = None
        self._last_member: int | None = None  # taken again first when joining anew (its subjects stay put)
        self._epoch = 0  # changes at each join and leave: an `owned` that overlapped one gives back what it took
        self._members: tuple[int, ...] = ()
        self._members_at = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def member(self) -> int | None:
        """This node's member number while it is a member, else None."""
        k = self._member
        return k if k is not None and self.leases.is_held(MEMBER + str(k)) else None

    def known_members(self) -> tuple[int, ...]:
        """The members' numbers as last read. Never waits."""
        return self._members

    def members(self) -> tuple[int, ...]:
        """The members' numbers, read at most `MEMBERS_TTL_S` ago (the last known when the database cannot say)."""
        with self._lock:
            now = self._clock()
            if now - self._members_at < MEMBERS_TTL_S:
                return self._members
            live = self.leases.taken_by_anyone({MEMBER + str(k) for k in range(MAX_MEMBERS)})
            self._members_at = now
            if live is not None:
                members = tuple(sorted(int(name[len(MEMBER):]) for name in live))
                if members != self._members:
                    log.info("members now %s (this node: %s)", list(members), self._member)
                self._members = members
            return self._members

    def join(self) -> bool:
        """Become a member, taking the lowest free member lease (or keep being one); True when this node is one."""
        if not self.leases.shared:
            return True
        if self.member is not None:
            return True
        live = self.leases.taken_by_anyone({MEMBER + str(k) for k in range(MAX_MEMBERS)})
        if live is None:
            return False
        first = [] if self._last_member is None else [self._last_member]
        for k in first + [k for k in range(MAX_MEMBERS) if k != self._last_member]:
            name = MEMBER + str(k)
            if name not in live and self.leases.holds(name):
                with self._lock:
                    self._member = self._last_member = k
                    self._members_at = float("-inf")  # read them again: this node is one now
                    self._epoch += 1
                log.info("joined as member %d", k)
                return True
        log.error("cannot join: all %d member leases are held", MAX_MEMBERS)
        return False

    def leave(self) -> None:
        """Stop being a member and give every subject back (the other members take them at their next reading)."""
        with self._lock:
            was, self._member, self._members_at = self._member, None, float("-inf")
            self._epoch += 1
        names = [n for n in self.leases.held() if n.startswith((SUBJECT, MEMBER))]
        if names:
            self.leases.release(*names)
        if was is not None:
            log.warning("left the members (was %d): this node's %d subjects go to the others", was,
                        sum(n.startswith(SUBJECT) for n in names))

    def owned(self, subjects: set[str]) -> set[str]:
        """Which of these stations and cameras this node owns now: those that belong to it, taken when free (held by
        nobody); those that no longer belong to it are given back. Not a member: none while there are members, else
        (alone) whatever is free. When the database cannot say, those that belong to it by the last members known
        (all, alone): a crossing must not go undetected because a lease could not be checked; the open alert's unique
        index keeps two nodes from opening it twice."""
        epoch = self._epoch
        members = self.members()
        me = self._member  # as this node took it: while the database cannot say, it may have lost it unknowingly
        if me is not None and me in members:
            mine = {s for s in subjects if belongs_to(members, s) == me}
        elif members:
            mine = set()
        else:
            mine = set(subjects)
        handed = [SUBJECT + s for s in subjects - mine if self.leases.is_held(SUBJECT + s)]
        if handed:
            self.leases.release(*handed)
        names = self.leases.holding({SUBJECT + s for s in mine}, unknown_held=True, vouched_s=SESSION_VOUCHED_S)
        if self._epoch != epoch:  # joined or left meanwhile: what was taken may no longer be this node's
            self.leases.release(*names)
            return set()
        return {name[len(SUBJECT):] for name in names}

    def start(self, ready: Callable[[], bool], interval_s: float = 1.0) -> None:
        """Keep this node a member while `ready()` (caught up with the broker) and not one otherwise, checked every
        `interval_s` in a thread of its own."""
        if not self.leases.shared:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(ready, interval_s), name="ownership", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the membership thread and leave."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        if self.leases.shared:
            self.leave()

    def subjects_held(self) -> int:
        """How many stations and cameras this node holds the lease of now (as last taken; no round trip)."""
        return sum(n.startswith(SUBJECT) for n in self.leases.held())

    def _run(self, ready: Callable[[], bool], interval_s: float) -> None:
        while True:
            try:
                if ready():
                    self.join()
                elif self._member is not None or (self.members() and self.subjects_held()):
                    self.leave()  # also gives back subjects a batch took while this node was leaving
                self.members()
            except Exception:
                log.exception("membership check failed; trying again")
            if self._stop.wait(interval_s):
                return
