"""A camera's one decided state after a frame, from the dust detector's status: the only place that decides it.

The store's dust index rows, the live stream and the historian all take it from the `FrameJudged` event built here,
so they cannot disagree (they once did: two copies of this rule had drifted apart).
"""
from __future__ import annotations

from tichwatch.core.events import FrameJudged
from tichwatch.core.samples import Frame
from tichwatch.detectors.dust.detector import CameraStatus, DustDetector


def camera_state(status: CameraStatus) -> str:
    """'dust' while a plume is detected, else the first raised health fault (by name, e.g. 'camera.dark'), else why
    judging is suspended (e.g. 'warming up'), else 'clear'."""
    if status.dust_active:
        return "dust"
    faults = sorted(kind for kind, raised in status.health.items() if raised)
    if faults:
        return faults[0]
    return status.suspended or "clear"


def judge_frame(detector: DustDetector, frame: Frame) -> FrameJudged | None:
    """The judgement of a frame the detector has just taken (None for a camera it does not know)."""
    status = detector.status(frame.camera_id)
    if status is None:
        return None
    return FrameJudged(frame.camera_id, frame.ts, status.dust_index, camera_state(status))
