"""A station's recent clean readings as two growing numpy arrays, trimmed by age."""
from __future__ import annotations

import numpy as np


class LevelHistory:
    """Clean (non-faulty) readings of one station, oldest first, kept for `keep_s` seconds of data time."""

    def __init__(self, keep_s: float, capacity: int = 256) -> None:
        self.keep_s = keep_s
        self._ts = np.empty(capacity)
        self._lv = np.empty(capacity)
        self._start = 0
        self._end = 0

    def copy(self) -> LevelHistory:
        """An independent copy: the same buffers' contents and layout (so it trims at the same readings)."""
        new = LevelHistory.__new__(LevelHistory)
        new.keep_s, new._start, new._end = self.keep_s, self._start, self._end
        new._ts, new._lv = self._ts.copy(), self._lv.copy()
        return new

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def ts(self) -> np.ndarray:
        """Timestamps, UTC epoch seconds (a view: do not keep it across appends)."""
        return self._ts[self._start : self._end]

    @property
    def levels(self) -> np.ndarray:
        """Levels, metres (a view: do not keep it across appends)."""
        return self._lv[self._start : self._end]

    def last(self) -> tuple[float, float] | None:
        """The newest (ts, level), or None when empty."""
        if self._end == self._start:
            return None
        return float(self._ts[self._end - 1]), float(self._lv[self._end - 1])

    def append(self, ts: float, level_m: float) -> None:
        """Add a reading newer than the last one."""
        if self._end == len(self._ts):
            self._compact(ts)
        self._ts[self._end] = ts
        self._lv[self._end] = level_m
        self._end += 1

    def since(self, t0: float) -> tuple[np.ndarray, np.ndarray]:
        """Readings with ts >= t0."""
        ts = self.ts
        i = int(np.searchsorted(ts, t0, side="left"))
        return ts[i:], self.levels[i:]

    def tail(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The newest `n` readings (fewer when the history is shorter)."""
        i = max(self._start, self._end - n)
        return self._ts[i : self._end], self._lv[i : self._end]

    def _compact(self, now: float) -> None:
        # Drop what is too old, then move the rest to the front; grow only when the kept part fills half the buffer,
        # so appends stay amortised O(1).
        ts = self.ts
        keep_from = self._start + int(np.searchsorted(ts, now - self.keep_s, side="left"))
        n = self._end - keep_from
        size = len(self._ts) * 2 if n > len(self._ts) // 2 else len(self._ts)
        new_ts, new_lv = np.empty(size), np.empty(size)
        new_ts[:n] = self._ts[keep_from : self._end]
        new_lv[:n] = self._lv[keep_from : self._end]
        self._ts, self._lv, self._start, self._end = new_ts, new_lv, 0, n
