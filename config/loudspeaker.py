"""The smart-loudspeaker handoff (the `loudspeaker:` block): packages for the provincial source system (Thông tư
39/2020/TT-BTTTT)."""
from __future__ import annotations

from pydantic import Field

from tichwatch.config.base import StrictModel


class LoudspeakerSettings(StrictModel):
    """Bulletins and emergency messages as packages for the commune's smart loudspeaker system."""

    enabled: bool = Field(False, description="Make loudspeaker packages.")
