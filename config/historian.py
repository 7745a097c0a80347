"""Historian settings (the `historian:` block of the deployment file)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from tichwatch.config.base import StrictModel


class HistorianSettings(StrictModel):
    """Where readings, dust indices, detections and alert events are copied for long-term history (InfluxDB)."""

    enabled: bool = Field(False, description="Copy history to InfluxDB (points are spooled on disk until it accepts "
                          "them).")
    url: str = Field("http://127.0.0.1:8086", pattern=r"^https?://", description="Base URL of the InfluxDB 2.x/3.x "
                     "server (or anything speaking its /api/v2/write API, e.g. VictoriaMetrics).")
    org: str = Field("kieuphu", min_length=1, description="InfluxDB organisation.")
    bucket: str = Field("tichwatch", min_length=1, description="InfluxDB bucket (InfluxDB 3: database).")
    token_env: str = Field("TICHWATCH_INFLUX_TOKEN", min_length=1, description="Name of the environment variable "
                           "that holds the InfluxDB API token (write permission on the bucket).")
    tls_ca_file: Path | None = Field(None, description="CA certificate file for an https URL; system CAs when empty.")
    batch_points: int = Field(5000, ge=1, le=100_000, description="Most points in one write request (InfluxDB "
                              "recommends 5,000 lines).")
    flush_interval_s: float = Field(1.0, gt=0, le=300, description="How long points gather in the spool before a "
                                    "write, seconds (the historian's delay behind live data).")
    timeout_s: float = Field(10.0, gt=0, le=300, description="HTTP timeout of one write request, seconds.")
    retry_min_s: float = Field(1.0, gt=0, description="First delay after a failed write, seconds (doubles up to the "
                               "max).")
    retry_max_s: float = Field(60.0, gt=0, description="Longest delay between write attempts, seconds.")
    spool_max_points: int = Field(5_000_000, ge=1000, description="Most points kept on disk while InfluxDB is "
                                  "unreachable (about 150 bytes each); beyond it the oldest are dropped and counted.")

    @model_validator(mode="after")
    def _retry_ordered(self) -> HistorianSettings:
        if self.retry_max_s < self.retry_min_s:
            raise ValueError("retry_max_s must be at least retry_min_s")
        return self
