"""The learning period of a new camera: dust is judged but not raised until it has seen enough clear frames.

Derivable after a restart: the clear frames are the camera's stored dust index rows below its threshold, and the end
of the period is recorded once (`camera_learning`), so a camera never goes back to learning.
"""
from __future__ import annotations

from dataclasses import dataclass

from tichwatch.store.database import Connection
from tichwatch.store.rows import Query


@dataclass
class Period:
    """Where one camera stands in its learning period."""

    camera_id: str
    needed_frames: int
    needed_s: float
    clear_frames: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    completed_ts: float | None = None

    @property
    def learning(self) -> bool:
        """True while the camera raises no dust alerts."""
        return self.completed_ts is None

    def due(self) -> bool:
        """True when the period may end now."""
        if self.completed_ts is not None:
            return False
        span = 0.0 if self.first_ts is None or self.last_ts is None else self.last_ts - self.first_ts
        return self.clear_frames >= self.needed_frames and span >= self.needed_s

    def observe(self, ts: float, dust_index: float | None, threshold: float) -> None:
        """Count a judged frame."""
        if dust_index is None or dust_index >= threshold:
            return
        self.clear_frames += 1
        self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
        self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)

    def as_dict(self) -> dict[str, object]:
        """JSON form (times as epoch seconds; the API formats them)."""
        return {"learning": self.learning, "clear_frames": self.clear_frames, "needed_frames": self.needed_frames,
                "needed_hours": round(self.needed_s / 3600, 2), "first_ts": self.first_ts,
                "completed_ts": self.completed_ts}


def load(query: Query, camera_id: str, needed_frames: int, needed_s: float, threshold: float) -> Period:
    """The camera's period from the store: its recorded end, else its stored clear frames."""
    p = Period(camera_id, needed_frames, needed_s)
    done = query("SELECT completed_ts, frames FROM camera_learning WHERE camera_id = ?", (camera_id,))
    if done:
        p.completed_ts, p.clear_frames = float(done[0][0]), int(done[0][1])
        return p
    row = query("SELECT COUNT(*), MIN(ts), MAX(ts) FROM dust_index WHERE camera_id = ? AND dust_index IS NOT NULL "
                "AND dust_index < ?", (camera_id, threshold))[0]
    p.clear_frames, p.first_ts, p.last_ts = int(row[0]), row[1], row[2]
    if needed_frames == 0:
        p.completed_ts = 0.0  # no learning period configured
    return p


def complete(conn: Connection, p: Period, now: float) -> None:
    """Record the end of the camera's learning period."""
    conn.execute("INSERT INTO camera_learning (camera_id, completed_ts, frames) VALUES (?, ?, ?) "
                 "ON CONFLICT DO NOTHING",
                 (p.camera_id, now, p.clear_frames))
    p.completed_ts = now
