"""Historian settings (the `historian:` block of the deployment file)."""
from __future__ import annotations

from config.base import StrictModel


class HistorianSettings(StrictModel):
    """Where readings, dust indices, detections and alert events are copied for long-term history (InfluxDB)."""
