"""One receiver's delivery: its messages oldest first, one attempt at a time, each attempt with a deadline.

Every receiver has its own dispatcher (and, while the service runs, its own thread), so a receiver that hangs delays
nobody else. A send runs on a thread of its own: when it outlives its deadline (the channel's own time limit plus
`send_grace_s`) the attempt is recorded as unanswered — outcome unknown, retried after the backoff — but no new attempt
of this receiver starts while it still runs, and its answer, however late, is recorded when it comes (a late success
marks the message sent, so the retry never happens).
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from tichwatch.alerts import outbox
from tichwatch.alerts.channels.base import Channel, DeliveryResult, Notification
from tichwatch.store.store import Store

log = logging.getLogger(__name__)

BATCH = 200
"""Messages of one receiver read from the outbox at a time."""

Record = Callable[[str, Notification, DeliveryResult, float], str]
"""Records an attempt's result (channel type, notification, result, now) and returns the row's new state."""


class RateLimiter:
    """At most `limit` sends in any 60-second window."""

    def __init__(self, limit: int):
        self._limit = limit
        self._sent: deque[float] = deque()

    def allow(self, now: float) -> bool:
        """True (and counted) when a message may go now."""
        while self._sent and self._sent[0] <= now - 60:
            self._sent.popleft()
        if len(self._sent) >= self._limit:
            return False
        self._sent.append(now)
        return True


class Attempt:
    """One send on a daemon thread of its own, so the dispatcher can stop waiting (deadline, shutdown) while it runs."""

    def __init__(self, channel: Channel, n: Notification, on_answer: Callable[[], None]):
        self.n = n
        self.result: DeliveryResult | None = None
        self._settled = threading.Event()  # an answer came, or the waiting was interrupted
        self._on_answer = on_answer
        threading.Thread(target=self._run, args=(channel,), name=f"send-{n.receiver}", daemon=True).start()

    def wait(self, timeout_s: float) -> DeliveryResult | None:
        """The answer, or None when none came within `timeout_s` (or the wait was interrupted)."""
        self._settled.wait(timeout_s)
        return self.result

    def interrupt(self) -> None:
        """Stop waiting (the send itself runs on)."""
        self._settled.set()

    def _run(self, channel: Channel) -> None:
        try:
            result = channel.send(self.n)
        except Exception as exc:  # channels classify their errors; the exception's text may hold an address
            log.error("channel of %s raised %s", self.n.receiver, type(exc).__name__)
            result = DeliveryResult.retry(f"channel error: {type(exc).__name__}")
        self.result = result
        self._settled.set()
        self._on_answer()


class ReceiverDispatcher:
    """Delivers one receiver's notifications in order; `step(now)` does what is due and returns."""

    def __init__(self, receiver: str, channel: Channel | None, deadline_s: float, limit_per_min: int, store: Store,
                 record: Record):
        self.receiver = receiver
        self.deadline_s = deadline_s
        self.woken = threading.Event()  # set when a late answer arrives (the receiver's worker waits on it)
        self._channel = channel
        self._limiter = RateLimiter(limit_per_min)
        self._store = store
        self._record = record
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._waiting_on: Attempt | None = None
        self._in_flight: tuple[Attempt, str] | None = None  # an unanswered attempt still running, and its channel

    @property
    def in_flight(self) -> bool:
        """True while an attempt that outlived its deadline still runs."""
        return self._in_flight is not None

    def step(self, clock: Callable[[], float]) -> int:
        """Send the receiver's due messages in order until one must wait (backoff, rate limit, an attempt still
        running) or none is left; return how many attempts started. The clock is read for each message: a step may
        last as long as several sends, and each is recorded (sent time, next retry) at its own time."""
        with self._lock:
            if not self._collect_late_answer(clock()):
                return 0  # never a second attempt while one runs: that is how a hung receiver got 7 copies
            attempted = 0
            while not self._stopping.is_set():
                batch = outbox.queue_of(self._store.query_all, self.receiver, BATCH)
                held: set[bool] = set()  # kinds (alert False, bulletin True) whose queue waits behind a message
                for p in batch:
                    if p.bulletin in held:
                        continue  # keep the order within a kind; the other kind goes on
                    now = clock()
                    if p.next_attempt_ts > now:
                        held.add(p.bulletin)
                        continue
                    if not self._limiter.allow(now):
                        return attempted
                    attempted += 1
                    if self._attempt(p, clock) == "pending":
                        held.add(p.bulletin)  # it waits for its retry; later messages of its kind wait too
                    if self._stopping.is_set() or self.in_flight:
                        return attempted
                if held or len(batch) < BATCH:
                    return attempted
            return attempted

    def finish(self) -> None:
        """Stop between messages; an attempt under way still gets its answer (and is recorded) within its deadline."""
        self._stopping.set()

    def interrupt(self) -> None:
        """Stop between messages and stop waiting for an answer (the service stops; what is left is retried after
        the next start, with the same idempotency key)."""
        self._stopping.set()
        waiting = self._waiting_on
        if waiting is not None:
            waiting.interrupt()

    def resume(self) -> None:
        """Allow steps again after an interrupt."""
        self._stopping.clear()

    def _collect_late_answer(self, now: float) -> bool:
        """Record the late success of an attempt that outlived its deadline; False while it still runs. A late
        failure changes nothing: the attempt was already recorded as unanswered, with its retry (or failure) due."""
        if self._in_flight is None:
            return True
        attempt, channel_type = self._in_flight
        if attempt.result is None:
            return False
        self._in_flight = None
        if attempt.result.ok:
            self._record(channel_type, attempt.n, attempt.result, now)
        return True

    def _attempt(self, p: outbox.Pending, clock: Callable[[], float]) -> str:
        """One attempt at one message; returns the row's new state (recorded at the time the answer came)."""
        with self._store.transaction() as conn:
            n = outbox.begin_attempt(conn, p.id, clock())
        if self._channel is None:
            return self._record(p.channel, n, DeliveryResult.fail(f"receiver {n.receiver!r} is no longer configured"),
                                clock())
        attempt = Attempt(self._channel, n, self.woken.set)
        self._waiting_on = attempt
        if self._stopping.is_set():  # an interrupt that came just before the line above
            attempt.interrupt()
        try:
            result = attempt.wait(self.deadline_s)
        finally:
            self._waiting_on = None
        if result is None:
            self._in_flight = (attempt, p.channel)
            if self._stopping.is_set():
                return "pending"  # stopping, not timed out: the row stays due and goes again after the restart
            result = DeliveryResult.no_answer(f"no answer within {self.deadline_s:g} s; the send still runs "
                                              "(outcome unknown)")
        return self._record(p.channel, n, result, clock())
