"""A deterministic river scenario for the simulator: quiet days, a storm upstream, a flood wave through BD1–BD3 and
back, noise and faults.

Pure functions of (station, time): the same time always gives the same level, so a restarted simulator continues
seamlessly and tests can assert on the scenario. `origin_s` places the periods in time: the demo anchors them so a
crest falls a few hours before it starts (`anchored`), the bulletin sample keeps the epoch.
"""
from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, replace

from tichwatch.config.rain import RainGaugeConfig
from tichwatch.config.schema import StationConfig


@dataclass(frozen=True)
class Scenario:
    """A periodic flood scenario; one wave per period, upstream stations ahead of their downstream neighbours."""

    period_s: float = 72 * 3600
    wave_start_frac: float = 0.25  # quiet for the first quarter of each period
    time_to_peak_s: float = 14 * 3600
    shape_k: float = 3.0  # gamma-shaped hydrograph: steep rise, slow recession
    noise_m: float = 0.005
    spike_prob: float = 0.004
    spike_m: float = 1.6
    stuck_frac: tuple[float, float] = (0.86, 0.89)  # second station reports one value through this part of the period
    silent_frac: tuple[float, float] = (0.92, 0.95)  # third station goes silent through this part of the period
    origin_s: float = 0.0  # epoch time at which a period starts
    storm_before_crest_s: float = 12 * 3600  # the storm's heaviest rain, before a station without lead crests
    storm_peak_mm_per_h: float = 22.0
    storm_sigma_s: float = 2.5 * 3600  # Gaussian storm: about 140 mm in all at a gauge of factor 1
    shower_prob: float = 0.02  # a light shower in any other interval

    @property
    def crest_offset_s(self) -> float:
        """Where in a period a station without lead crests, seconds after the period's start."""
        return self.wave_start_frac * self.period_s + self.time_to_peak_s

    def anchored(self, crest_at: float) -> Scenario:
        """The same scenario moved in time so that a crest of a station without lead falls at `crest_at` (epoch s)."""
        return replace(self, origin_s=crest_at - self.crest_offset_s)

    def _since_origin(self, t: float) -> float:
        return t - self.origin_s

    def _rng(self, station: StationConfig, t: float) -> random.Random:
        """A generator seeded by station and whole second since the origin, so an anchored scenario has the same
        spikes relative to its crest (hash() of str is salted per process; crc32 is not)."""
        return random.Random(zlib.crc32(f"{station.id}:{int(self._since_origin(t))}".encode()))

    def base_m(self, station: StationConfig) -> float:
        """The quiet-weather level of a station."""
        return max(station.min_level_m + 0.2, station.alarm.bd1_m - 1.5)

    def peak_m(self, station: StationConfig) -> float:
        """The peak of the wave: just above BD3 (below the record, where configured)."""
        top = station.alarm.bd3_m + 0.25
        if station.alarm.record_m is not None:
            top = min(top, (station.alarm.bd3_m + station.alarm.record_m) / 2)
        return top

    def clean_level(self, station: StationConfig, t: float, lead_s: float = 0.0) -> float:
        """The true river level at `t` (no noise, no faults); `lead_s` shifts the wave earlier (upstream)."""
        phase_s = self._since_origin(t + lead_s) % self.period_s - self.wave_start_frac * self.period_s
        base, peak = self.base_m(station), self.peak_m(station)
        if phase_s <= 0:
            return base
        x = phase_s / self.time_to_peak_s
        return base + (peak - base) * float(x ** self.shape_k) * math.exp(self.shape_k * (1 - x))

    def reading(self, station: StationConfig, index: int, t: float, lead_s: float = 0.0) -> float | None:
        """What the station's gateway reports at `t`: noisy level, spikes, a stuck spell, a silent spell (None)."""
        in_period = self._since_origin(t) % self.period_s
        frac = in_period / self.period_s
        if index == 2 and self.silent_frac[0] <= frac < self.silent_frac[1]:
            return None
        if index == 1 and self.stuck_frac[0] <= frac < self.stuck_frac[1]:
            t = t - in_period + self.stuck_frac[0] * self.period_s
        rng = self._rng(station, t)
        level = self.clean_level(station, t, lead_s) + rng.gauss(0, self.noise_m)
        if rng.random() < self.spike_prob:
            level += self.spike_m
        return round(min(max(level, station.min_level_m), station.max_level_m), 3)


    def rain_mm(self, gauge: RainGaugeConfig, t: float, interval_s: float) -> float:
        """The rain a gauge measures in (t - interval_s, t]: the period's storm (the exact integral of its Gaussian
        intensity, scaled per gauge), or now and then a light shower."""
        storm_at = self.crest_offset_s - self.storm_before_crest_s
        period_start = t - self._since_origin(t) % self.period_s
        factor = 0.8 + 0.4 * (zlib.crc32(gauge.id.encode()) % 1000) / 1000
        width = self.storm_sigma_s * math.sqrt(2)
        total = 0.0
        for centre in (period_start - self.period_s + storm_at, period_start + storm_at):
            total += (math.erf((t - centre) / width) - math.erf((t - interval_s - centre) / width)) / 2
        mm = factor * self.storm_peak_mm_per_h * self.storm_sigma_s / 3600 * math.sqrt(2 * math.pi) * total
        rng = random.Random(zlib.crc32(f"rain:{gauge.id}:{int(self._since_origin(t))}".encode()))
        if mm < 0.05 and rng.random() < self.shower_prob:
            mm = rng.uniform(0.2, 1.5)
        return round(mm, 1)


def station_leads(stations: list[StationConfig]) -> dict[str, float]:
    """How far ahead (seconds) each station's wave runs: an upstream station leads by its link's lag."""
    leads = {s.id: 0.0 for s in stations}
    for s in stations:
        for up in s.upstream:
            leads[up.station_id] = max(leads[up.station_id], float(up.lag_s))
    return leads
