"""Each subject's clock: the time of its newest reading (or frame), running on with the wall clock while it is silent.

Holds before resolving run on this clock, so a condition that cleared inside a backlog (a gateway's stored readings,
the demo's catch-up, readings queued over a restart) resolves after the hold *in the readings' time*, however fast
the backlog is processed; and a subject that stops reporting still resolves after the hold in wall time, because its
clock goes on from its last reading at the wall clock's pace. A subject never seen since the start (after a restart,
or one whose detections come from the wall clock, like a delivery receiver) runs on the wall clock.

Kept in memory (the store has each station's newest reading to seed it at start); thread-safe, since the pipeline
notes readings while the alert ticker reads.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping

MAX_SUBJECTS = 10_000
"""Subjects remembered at most (stations, cameras): beyond it the longest-silent are forgotten (they fall back to
the wall clock)."""


class SubjectClocks:
    """The newest reading time of each subject and the wall time it was noted."""

    def __init__(self, max_subjects: int = MAX_SUBJECTS):
        self._seen: dict[str, tuple[float, float]] = {}  # subject → (newest reading time, wall time noted)
        self._max = max_subjects
        self._lock = threading.Lock()

    def note(self, readings: Mapping[str, float], wall_ts: float) -> None:
        """Readings of these subjects (their newest time each) arrived at `wall_ts`; older ones change nothing."""
        with self._lock:
            for subject, ts in readings.items():
                seen = self._seen.get(subject)
                if seen is None or ts > seen[0]:
                    self._seen[subject] = (ts, wall_ts)
            if len(self._seen) > self._max:
                for subject, _ in sorted(self._seen.items(), key=lambda kv: kv[1][1])[: len(self._seen) - self._max]:
                    del self._seen[subject]

    def latest(self, subject: str) -> float | None:
        """The subject's newest reading time, None when none was noted."""
        with self._lock:
            seen = self._seen.get(subject)
        return None if seen is None else seen[0]

    def at(self, subject: str, now: float) -> float:
        """The subject's time at wall time `now`: its newest reading's time plus the wall time it has been silent
        since; the wall time itself for a subject never noted."""
        with self._lock:
            seen = self._seen.get(subject)
        if seen is None:
            return now
        ts, noted = seen
        return ts + max(0.0, now - noted)
