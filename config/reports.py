"""Reports to the People's Committee (the `reports:` block): weekly and monthly, scheduled and on demand."""
from __future__ import annotations

from pydantic import Field

from tichwatch.config.base import StrictModel


class ReportSettings(StrictModel):
    """Weekly and monthly reports to the commune People's Committee."""

    enabled: bool = Field(True, description="Make the scheduled reports.")
