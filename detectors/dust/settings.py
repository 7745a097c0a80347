"""Dust detector settings (the `dust:` block of the deployment file)."""
from __future__ import annotations

from config.base import StrictModel


class DustSettings(StrictModel):
    """Tuning of the dust-plume and camera-health detectors."""
