"""Simulated construction-site cameras for the demo: a synthetic scene in which dust plumes come and go."""
from __future__ import annotations

import zlib

from tichwatch.config.schema import CameraConfig
from tichwatch.tools.dust_synthetic import SequenceSpec, SyntheticFrame, generate

CYCLE_FRAMES = 60
"""Frames in one cycle of a camera's scene: clear, a plume rises and drifts, clear again."""


class SyntheticCameras:
    """The JPEG a camera sends at a given time (a FrameSource for the simulator); scenes are rendered once, lazily."""

    def __init__(self, size_px: tuple[int, int] = (960, 540)):
        self.size_px = size_px
        self._frames: dict[str, list[SyntheticFrame]] = {}

    def _scene(self, camera: CameraConfig) -> list[SyntheticFrame]:
        if camera.id not in self._frames:
            spec = SequenceSpec(seed=zlib.crc32(camera.id.encode()), n_frames=CYCLE_FRAMES, size_px=self.size_px,
                                interval_s=camera.expected_interval_s, plume=True, plume_start=20, plume_end=38,
                                plume_opacity=0.7, sky_clouds=True, vehicles=2, lighting_drift=0.1)
            self._frames[camera.id] = list(generate(spec))
        return self._frames[camera.id]

    def __call__(self, camera: CameraConfig, t: float) -> bytes:
        frames = self._scene(camera)
        return frames[int(t // camera.expected_interval_s) % len(frames)].jpeg
