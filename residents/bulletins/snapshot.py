"""The data a bulletin is composed from: plain frozen values gathered at one moment (see `gather`), so composing is
a pure function that tests can feed directly."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tichwatch.config.impact import ImpactSettings
from tichwatch.config.schema import CameraConfig, StationConfig
from tichwatch.core.links import bulletin_url, figure_url
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.status import StationStatus

BulletinKind = Literal["routine", "emergency"]
"""Routine (daily or on demand) or emergency (while a flood alert at the hourly level or above is open)."""


@dataclass(frozen=True)
class StationData:
    """A station at the snapshot: the reading cited (the detector's last clean one, else the newest), its series."""

    config: StationConfig
    reading: Reading | None
    permalink: str | None  # the URL that returns exactly `reading`
    last_seen_ts: float | None  # newest stored reading of any quality (for availability)
    status: StationStatus | None  # the flood detector's view (trend, forecast, faults), None without a detector
    series: tuple[tuple[float, float], ...] = ()  # (ts, level) over the chart span, oldest first


@dataclass(frozen=True)
class DustIncident:
    """One dust-plume onset at a camera."""

    ts: float
    dust_index: float | None
    evidence_url: str | None


@dataclass(frozen=True)
class CameraData:
    """A camera at the snapshot: its last frame, status and the dust incidents of the window."""

    config: CameraConfig
    last_frame_ts: float | None
    status: str | None
    incidents: tuple[DustIncident, ...]


@dataclass(frozen=True)
class AlertData:
    """An open public alert (flood or dust) as a bulletin lists it."""

    id: str
    kind: str
    subject: str
    subject_name: str
    level: str | None
    severity: str
    value: float | None
    unit: str
    state: str
    started_ts: float
    url: str


@dataclass(frozen=True)
class Snapshot:
    """Everything a bulletin says, as of `now` (UTC epoch seconds)."""

    id: str
    kind: BulletinKind
    now: float
    commune: str
    timezone: str
    public_url: str
    source_name: str
    stations: tuple[StationData, ...]
    cameras: tuple[CameraData, ...]
    alerts: tuple[AlertData, ...]
    station_offline_factor: float
    camera_offline_factor: float
    quote_station: str | None = None  # the station the quotable sentence is about, when it has data
    window_s: float = 86400.0  # the dust-incident window
    impact: ImpactSettings = field(default_factory=ImpactSettings)  # the hamlets each station's levels affect

    def figure_url(self, key: str) -> str:
        """Permalink of a figure of this bulletin that is not a reading (the API returns exactly that figure)."""
        return figure_url(self.public_url, self.id, key)

    def url(self) -> str:
        """The bulletin's public JSON document."""
        return bulletin_url(self.public_url, self.id)
