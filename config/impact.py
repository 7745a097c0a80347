"""Impact by hamlet (the `impact:` block): the commune's hamlets (thôn), their areas, and per station what each
alarm level floods (hamlets, roads, schools, households) and what people must do there ("4 tại chỗ")."""
from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, field_validator, model_validator

from tichwatch.config.base import StrictModel

HAMLET_ID = r"^[A-Za-z0-9_-]{1,64}$"
"""Hamlet ids: kept in subscriptions and messages, so plain and stable."""

LEVELS = ("bd1", "bd2", "bd3")
"""Alarm levels an impact can be given for, lowest first."""


class HamletConfig(StrictModel):
    """A hamlet (thôn) of the commune."""

    id: str = Field(pattern=HAMLET_ID, description="Hamlet id (stable: subscriptions refer to it).")
    name: str = Field(min_length=1, max_length=80, description="Name people know the hamlet by (\"thôn Phú Mỹ\").")
    households: int = Field(0, ge=0, le=100_000, description="Households in the hamlet (0: unknown).")


class LevelImpact(StrictModel):
    """What one alarm level at a station floods, and what to do."""

    hamlets: list[str] = Field(default_factory=list, description="Ids of the hamlets that must act at this level.")
    roads: list[str] = Field(default_factory=list, description="Roads under water or cut at this level.")
    schools: list[str] = Field(default_factory=list, description="Schools and public buildings affected.")
    households: int = Field(0, ge=0, le=100_000, description="Households under water at this level (0: unknown).")
    action_vi: str = Field("", max_length=300, description="What the affected hamlets must do, Vietnamese "
                           "(\"chuẩn bị di dời người già, trẻ em\").")
    action_en: str = Field("", max_length=300, description="The same in English.")

    @field_validator("hamlets", "roads", "schools")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("an entry is listed twice")
        if any(not s.strip() or len(s) > 120 for s in v):
            raise ValueError("entries must be 1-120 characters")
        return v


class StationImpact(StrictModel):
    """What each alarm level at one station floods."""

    station_id: str = Field(description="Id of a configured station.")
    bd1: LevelImpact = Field(default_factory=LevelImpact, description="At báo động I.")
    bd2: LevelImpact = Field(default_factory=LevelImpact, description="At báo động II.")
    bd3: LevelImpact = Field(default_factory=LevelImpact, description="At báo động III.")


class ImpactSettings(StrictModel):
    """Hamlets and what each station's alarm levels mean for them."""

    hamlets: list[HamletConfig] = Field(default_factory=list, description="The commune's hamlets.")
    areas_geojson: str | None = Field(None, min_length=1, max_length=500, description="GeoJSON FeatureCollection "
                                      "of hamlet areas (RFC 7946: one Polygon per hamlet, [longitude, latitude] in "
                                      "WGS84, closed rings; each feature's `properties.id` a hamlet id; at most "
                                      "2 MiB); a relative path is read from the installed config folder, where the "
                                      "Kiều Phú example ships. Drawn on the dashboard's hamlet map and sent as CAP "
                                      "<polygon>s; `tichwatch check-config` checks it.")
    stations: list[StationImpact] = Field(default_factory=list, description="Per station, what each level floods.")

    @model_validator(mode="after")
    def _known_hamlets(self) -> ImpactSettings:
        ids = [h.id for h in self.hamlets]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate hamlet ids: {sorted(dup)}")
        seen: set[str] = set()
        for s in self.stations:
            if s.station_id in seen:
                raise ValueError(f"station {s.station_id!r} has two impact entries")
            seen.add(s.station_id)
            for level in LEVELS:
                unknown = [h for h in getattr(s, level).hamlets if h not in ids]
                if unknown:
                    raise ValueError(f"impact of {s.station_id!r} at {level}: unknown hamlets {unknown}")
        return self

    def check_stations(self, station_ids: Sequence[str]) -> None:
        """Raise ValueError when an impact entry names a station that is not configured."""
        for s in self.stations:
            if s.station_id not in station_ids:
                raise ValueError(f"impact: {s.station_id!r} is not a configured station")

    def hamlet(self, hamlet_id: str) -> HamletConfig | None:
        """The hamlet with this id, or None."""
        return next((h for h in self.hamlets if h.id == hamlet_id), None)

    def of_station(self, station_id: str) -> StationImpact | None:
        """The impact entry of a station, or None."""
        return next((s for s in self.stations if s.station_id == station_id), None)
