"""Fixtures for the flood detector tests, and where the shared real data lives."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.detectors.flood.flood_support import make_station
from tichwatch.config.flood import FloodSettings
from tichwatch.config.schema import StationConfig
from tichwatch.detectors.flood.detector import FloodDetector

DATA_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data"
"""The shared real data (/work/shared/data next to the repository); tests that need it skip when it is absent."""


@pytest.fixture(scope="session")
def data_folder() -> Callable[[str], Path]:
    """Factory: a folder of the shared real data, or skip the test with the reason."""
    def find(name: str) -> Path:
        folder = DATA_DIR / name
        if not (folder / "meta.json").is_file():
            pytest.skip(f"real data folder {folder} is absent (tests read it from ../shared/data, never from the repo)")
        return folder
    return find


@pytest.fixture
def settings() -> FloodSettings:
    """Default flood settings but with each station's own model and the trend (`forecast_learnt` off): the fallback
    path these tests pin down; the forecast learnt across rivers has its own tests (test_flood_learnt.py)."""
    return FloodSettings(forecast_learnt=False)


@pytest.fixture
def detector(settings: FloodSettings) -> Callable[..., FloodDetector]:
    """Factory: a detector over the given stations (default: one station `tich1`), settings overridable by keyword."""
    def build(*stations: StationConfig, **overrides: object) -> FloodDetector:
        s = FloodSettings(**{**settings.model_dump(), **overrides}) if overrides else settings
        return FloodDetector(list(stations) or [make_station()], s)
    return build
