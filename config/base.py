"""The one base model every settings block derives from."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Settings base: unknown keys are errors, values are checked on assignment, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
