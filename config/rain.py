"""Rain gauges (the `rain_gauges:` list) and the optional rainfall-forecast provider (the `rain_forecast:` block)."""
from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, field_validator

from tichwatch.config.base import StrictModel

GAUGE_ID = r"^[A-Za-z0-9_-]{1,64}$"
"""Rain-gauge ids: an MQTT topic level, like station ids."""


class RainGaugeConfig(StrictModel):
    """A rain gauge (tipping bucket or weighing) whose rainfall feeds the forecast of the stations it drains to."""

    id: str = Field(pattern=GAUGE_ID, description="Gauge id; the topic level in tich/v1/rain/<id>/reading.")
    name: str = Field(min_length=1, description="Name people know the gauge by.")
    lat: float = Field(ge=-90, le=90, description="Latitude, degrees WGS84.")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees WGS84.")
    expected_interval_s: int = Field(600, ge=1, le=86400, description="How often the gateway reports, seconds; "
                                     "also the interval of a reading that does not give its own interval_s.")
    max_rain_mm: float = Field(500.0, gt=0, le=2000, description="Most rain one reading may report, millimetres "
                               "(above is a sensor fault and refused as out_of_range).")
    stations: list[str] = Field(default_factory=list, description="Ids of the water-level stations whose forecast "
                                "this gauge's rainfall feeds (the river it drains to).")
    lag_s: int | None = Field(None, ge=0, description="Typical time from rain at this gauge to the rise at those "
                              "stations, seconds (recorded for the operators; no forecast reads it yet: the learnt "
                              "forecast takes the rain at the station's gauges over the last 3 and 24 h).")

    @field_validator("stations")
    @classmethod
    def _stations_unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a station is listed twice")
        return v


class RainForecastSettings(StrictModel):
    """Optional rainfall forecast from the Open-Meteo forecast API, polled per station location (off by default:
    the service works without it)."""

    enabled: bool = Field(False, description="Poll the rainfall forecast.")
    url: str = Field("https://api.open-meteo.com/v1/forecast", description="Forecast endpoint (Open-Meteo's "
                     "documented /v1/forecast, or a self-hosted Open-Meteo).")
    poll_interval_s: int = Field(3600, ge=60, le=86400, description="How often each station's forecast is "
                                 "fetched, seconds (Open-Meteo models update hourly at most).")
    timeout_s: float = Field(10.0, gt=0, le=120, description="Longest wait for one response, seconds.")
    max_response_bytes: int = Field(256 * 1024, ge=1024, le=16 * 1024 * 1024, description="Largest response body "
                                    "read, bytes (a longer one is refused as garbage).")
    forecast_days: int = Field(3, ge=1, le=16, description="Days of hourly forecast asked for.")
    stale_after_s: int = Field(6 * 3600, ge=600, description="A forecast older than this (no successful poll since) "
                               "is no longer used, seconds.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v


def gauges_by_station(gauges: Sequence[RainGaugeConfig]) -> dict[str, tuple[str, ...]]:
    """Each station id → the ids of the rain gauges that feed it, in configuration order."""
    out: dict[str, list[str]] = {}
    for g in gauges:
        for sid in g.stations:
            out.setdefault(sid, []).append(g.id)
    return {sid: tuple(ids) for sid, ids in out.items()}


def check_rain_gauges(gauges: Sequence[RainGaugeConfig], station_ids: Sequence[str]) -> None:
    """Raise ValueError for duplicate gauge ids or a gauge feeding a station that is not configured."""
    ids = [g.id for g in gauges]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate rain gauge ids: {sorted(dup)}")
    for g in gauges:
        unknown = [s for s in g.stations if s not in station_ids]
        if unknown:
            raise ValueError(f"rain gauge {g.id!r}: stations {unknown} are not configured")

