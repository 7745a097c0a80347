"""Shared fixtures of the dust detector tests: the real labelled sequence, cameras, and feeding frames."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from tichwatch.config.dust import DustSettings
from tichwatch.config.schema import CameraConfig
from tichwatch.core.detection import Detection
from tichwatch.core.samples import Frame
from tichwatch.detectors.dust.detector import DustDetector
from tichwatch.ingest.jpeg import read_jpeg_header
from tichwatch.tools.dust_synthetic import SyntheticFrame

SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
"""Data shared next to the repository (never copied into it)."""
REAL_SEQUENCE = SHARED_DATA / "smoke-figlib-hpwren-sequences"


@pytest.fixture
def real_folder() -> Path:
    """The real labelled sequence (FIgLib/HPWREN smoke onset), or skip when this machine does not have it."""
    if not (REAL_SEQUENCE / "frames.csv").is_file():
        pytest.skip(f"real sequence absent: {REAL_SEQUENCE} (shared data is not part of the repository)")
    return REAL_SEQUENCE


def camera(camera_id: str = "cam1", **kw: object) -> CameraConfig:
    """A camera of a Kiều Phú construction site with test defaults."""
    return CameraConfig(id=camera_id, site=str(kw.pop("site", "Công trường Kiều Phú")), lat=21.0, lon=105.6, **kw)


@pytest.fixture
def detector() -> Callable[..., DustDetector]:
    """Factory: a DustDetector over the given cameras (default: one camera 'cam1') with default or given settings."""

    def make(cameras: Iterable[CameraConfig] | None = None, **settings: object) -> DustDetector:
        return DustDetector(list(cameras or [camera()]), DustSettings(**settings))

    return make


def frame_of(f: SyntheticFrame, camera_id: str = "cam1") -> Frame:
    """The Frame the pipeline would hand over for a synthetic frame (header read before decoding)."""
    width, height = read_jpeg_header(f.jpeg)
    return Frame(camera_id, f.ts, f.jpeg, width, height)


def feed(det: DustDetector, frames: Iterable[SyntheticFrame], camera_id: str = "cam1") -> list[tuple[int, Detection]]:
    """Feed synthetic frames in order; every detection with the index of the frame that caused it."""
    return [(f.index, d) for f in frames for d in det.update(frame_of(f, camera_id))]
