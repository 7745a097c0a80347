"""The embeddable widget for the commune portal (the `widget:` block)."""
from __future__ import annotations

from pydantic import Field

from tichwatch.config.base import StrictModel


class WidgetSettings(StrictModel):
    """Live levels, status and the latest bulletin in an iframe on another site."""

    enabled: bool = Field(True, description="Serve the widget page and its loader script.")
