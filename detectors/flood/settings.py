"""Flood detector settings (the `flood:` block of the deployment file)."""
from __future__ import annotations

from config.base import StrictModel


class FloodSettings(StrictModel):
    """Tuning of the flood-risk detectors; the same for every station."""
