"""What a detector says at one moment, and the interfaces the pipeline calls.

A detector is pure: samples and time go in, detections come out; it never reads the clock, the store or the network.
That makes replay of recorded data (tests, evaluation, drills) behave exactly like live operation.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol

from tichwatch.core.samples import Frame, Reading


class Severity(IntEnum):
    """How bad a situation is; ordered so that a rise in severity can be compared."""

    INFO = 10
    WARNING = 20
    CRITICAL = 30
    EMERGENCY = 40


@dataclass(frozen=True)
class Detection:
    """A detector's statement about one (kind, subject) at time `ts`.

    `active=True` raises or updates the situation; `active=False` clears it. The alert engine keys alerts by
    (kind, subject), so a detector must reuse one kind for one situation (e.g. BD1 → BD2 is the same `flood.level`
    kind with a higher severity and `level`).
    """

    kind: str  # e.g. "flood.level", "flood.rapid_rise", "flood.forecast", "sensor.offline", "dust.plume"
    subject: str  # station id or camera id
    ts: float  # UTC epoch seconds of the sample (or tick) that caused it
    active: bool
    severity: Severity = Severity.INFO
    value: float | None = None  # the figure the detection is about (level, rate, hours, dust index)
    unit: str = ""  # unit of `value`: "m", "m/h", "h", "index"
    level: str | None = None  # alarm level for flood detections: "BD1", "BD2", "BD3", "RECORD"
    reason: str = ""  # short machine-readable reason, e.g. "crossed BD2 upward"
    evidence: dict[str, Any] = field(default_factory=dict)  # facts for messages; JSON-serialisable values only
    snapshot_jpeg: bytes | None = None  # annotated evidence image (dust); the pipeline stores it and links it
    context_jpegs: tuple[bytes, ...] = ()  # frames around the onset (dust); stored next to the snapshot


TAKEN_OVER_BY = "taken_over_by"
"""Evidence key of a clearing detection: the kind of the situation that takes this one over (a forecast whose level
was reached: `flood.level`). Its alert ends at once, without the hold a plain clear waits for."""


class ReadingDetector(Protocol):
    """A detector over water-level readings. One instance serves all stations; state is kept per station."""

    def warm(self, history: Sequence[Reading]) -> None:
        """Load recent history (oldest first) at start-up without emitting detections."""

    def update(self, reading: Reading) -> list[Detection]:
        """Take one accepted reading (in time order per station) and return what changed."""

    def checkpoint(self, station_ids: Iterable[str] | None = None) -> object:
        """A copy of these stations' state (all when None), to `restore` when what it detected could not be
        committed."""

    def restore(self, checkpoint: object) -> None:
        """Put back the state of a `checkpoint` (stations keep their current configuration)."""

    def tick(self, now: float) -> list[Detection]:
        """Time passes without samples (dead-man checks, expiry); called periodically with the current time."""

    def holds(self, kind: str, subject: str, now: float) -> bool | None:
        """Does the detector hold the condition (kind, subject) now? None when it cannot tell (not its kind or
        subject): a restart puts open alerts to it, a takeover claims a silence only while it still holds."""


class FrameDetector(Protocol):
    """A detector over camera frames. One instance serves all cameras; state is kept per camera."""

    def update(self, frame: Frame) -> list[Detection]:
        """Take one frame (JPEG bytes, header already checked) and return what changed."""

    def checkpoint(self, camera_ids: Iterable[str] | None = None) -> object:
        """A copy of these cameras' state (all when None), to `restore` when what it detected could not be committed."""

    def restore(self, checkpoint: object) -> None:
        """Put back the state of a `checkpoint`."""

    def tick(self, now: float) -> list[Detection]:
        """Time passes without frames (offline checks); called periodically with the current time."""

    def holds(self, kind: str, subject: str, now: float) -> bool | None:
        """Does the detector hold the condition (kind, subject) now? None when it cannot tell (not its kind or
        subject): a restart puts open alerts to it, a takeover claims a silence only while it still holds."""
