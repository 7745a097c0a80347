"""Alarm-level crossings (báo động I/II/III and the record) as a pure state machine with hysteresis and dwell.

Upward crossings take effect on the reading that crosses (no delay: a flood warning must never wait). Downward moves
need the water below (level - hysteresis) for `dwell_s`, so a level wobbling around a threshold does not flap.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from tichwatch.config.schema import AlarmLevels
from tichwatch.core.detection import Severity

LEVEL_NAMES: tuple[str, ...] = ("BD1", "BD2", "BD3", "RECORD")
"""Names of the alarm levels, lowest first; index 0 of a state means "below BD1"."""

_SEVERITY = {1: Severity.WARNING, 2: Severity.CRITICAL, 3: Severity.EMERGENCY, 4: Severity.EMERGENCY}
_WARNING_SEVERITY = {1: Severity.WARNING, 2: Severity.WARNING, 3: Severity.CRITICAL, 4: Severity.CRITICAL}


@dataclass(frozen=True, slots=True)
class Ladder:
    """A station's alarm levels, lowest first (BD1, BD2, BD3 and, where configured, RECORD)."""

    names: tuple[str, ...]
    thresholds_m: tuple[float, ...]

    @classmethod
    def from_alarm(cls, alarm: AlarmLevels) -> Ladder:
        """The ladder of a station's configured alarm levels."""
        th = [alarm.bd1_m, alarm.bd2_m, alarm.bd3_m] + ([alarm.record_m] if alarm.record_m is not None else [])
        return cls(LEVEL_NAMES[: len(th)], tuple(th))

    def index_of(self, level_m: float) -> int:
        """0 below BD1, k when at or above the k-th level (1 = BD1)."""
        return bisect_right(self.thresholds_m, level_m)

    def name(self, index: int) -> str | None:
        """Name of level `index` (1-based), None for 0."""
        return self.names[index - 1] if index > 0 else None

    def threshold(self, index: int) -> float | None:
        """Threshold of level `index` (1-based), None for 0 or beyond the top."""
        return self.thresholds_m[index - 1] if 0 < index <= len(self.thresholds_m) else None

    @property
    def top(self) -> int:
        """Index of the highest level."""
        return len(self.thresholds_m)


def severity_of(index: int) -> Severity:
    """Severity of being at alarm level `index`: BD1 warning, BD2 critical, BD3 and record emergency."""
    return _SEVERITY.get(index, Severity.INFO)


def warning_severity(index: int) -> Severity:
    """Severity of an early warning of level `index`: one notch below being there, at least a warning."""
    return _WARNING_SEVERITY.get(index, Severity.WARNING)


@dataclass(frozen=True, slots=True)
class LevelState:
    """Where a station stands on its ladder, and since when the water has been below each level it is at or above."""

    index: int = 0
    below_since: tuple[float | None, ...] = ()  # per level 1..index: first ts of the run below (threshold - hysteresis)


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A move on the ladder and why."""

    old: int
    new: int
    reason: str


def step_level(
    state: LevelState, ts: float, level_m: float, ladder: Ladder, hysteresis_m: float, dwell_s: float
) -> tuple[LevelState, LevelChange | None]:
    """Advance the state by one clean reading; return the new state and the change, if any."""
    raw = ladder.index_of(level_m)
    if state.index == 0:
        # Below every level there is nothing to lower: the common case, kept cheap.
        return (state, None) if raw == 0 else (LevelState(raw, (None,) * raw), _change(0, raw, ladder))
    below = tuple(
        None if level_m >= th - hysteresis_m else (since if since is not None else ts)
        for th, since in zip(ladder.thresholds_m, state.below_since)
    )
    held = state.index
    # Lower one level at a time while the water has been below that level (minus hysteresis) for the whole dwell.
    while held > 0 and (since := below[held - 1]) is not None and ts - since >= dwell_s:
        held -= 1
    new = max(held, raw)
    return LevelState(new, below[:new] + (None,) * (new - len(below))), _change(state.index, new, ladder)


def _change(old: int, new: int, ladder: Ladder) -> LevelChange | None:
    if new == old:
        return None
    if new > old:
        return LevelChange(old, new, f"crossed {ladder.name(new)} upward")
    if new == 0:
        return LevelChange(old, new, "fell below BD1")
    return LevelChange(old, new, f"fell below {ladder.name(old)} to {ladder.name(new)}")
