"""Simulated construction-site cameras for the demo: a synthetic scene in which dust plumes come and go."""
from __future__ import annotations

import zlib
from collections.abc import Sequence

from tichwatch.config.schema import CameraConfig
from tichwatch.tools.dust_synthetic import SequenceSpec, SyntheticFrame, generate

CYCLE_FRAMES = 60
"""Frames in one cycle of a camera's scene: clear, a plume rises and drifts, clear again."""
PLUME_FRAMES = (20, 38)
"""The frames of a cycle during which the plume is emitted (start, end)."""
FIRST_FRAME = 12
"""Where in its cycle the first camera starts: enough clear frames to learn the scene before the plume."""


class SyntheticCameras:
    """The JPEG a camera sends at a given time (a FrameSource for the simulator); scenes are rendered once, lazily.

    Each camera plays its cycle from `start_s` on, one frame per expected interval. The first camera in `order` starts
    FIRST_FRAME into its cycle, so its plume starts PLUME_FRAMES[0] - FIRST_FRAME intervals after the start; each next
    camera is 1/(n + 1) of a cycle later, so the plumes take turns (with two cameras the second starts in clear air,
    not in the first one's drifting dust)."""

    def __init__(self, size_px: tuple[int, int] = (960, 540), start_s: float = 0.0, order: Sequence[str] = ()):
        self.size_px = size_px
        self.start_s = start_s
        self._phase = {camera_id: (FIRST_FRAME - i * CYCLE_FRAMES // (len(order) + 1)) % CYCLE_FRAMES
                       for i, camera_id in enumerate(order)}
        self._frames: dict[str, list[SyntheticFrame]] = {}

    def cycle_index(self, camera: CameraConfig, t: float) -> int:
        """Which frame of its cycle the camera shows at `t`."""
        step = int((t - self.start_s) // camera.expected_interval_s)
        return (self._phase.get(camera.id, 0) + step) % CYCLE_FRAMES

    def plume(self, camera: CameraConfig, t: float) -> bool:
        """Whether the camera's scene emits dust at `t`."""
        return PLUME_FRAMES[0] <= self.cycle_index(camera, t) < PLUME_FRAMES[1]

    def _scene(self, camera: CameraConfig) -> list[SyntheticFrame]:
        if camera.id not in self._frames:
            spec = SequenceSpec(seed=zlib.crc32(camera.id.encode()), n_frames=CYCLE_FRAMES, size_px=self.size_px,
                                interval_s=camera.expected_interval_s, plume=True, plume_start=PLUME_FRAMES[0],
                                plume_end=PLUME_FRAMES[1], plume_opacity=0.7, sky_clouds=True, vehicles=2,
                                lighting_drift=0.1)
            self._frames[camera.id] = list(generate(spec))
        return self._frames[camera.id]

    def __call__(self, camera: CameraConfig, t: float) -> bytes:
        return self._scene(camera)[self.cycle_index(camera, t)].jpeg
