"""Recent rainfall per rain gauge and the rainfall forecast per station, for the flood forecast.

Pure and bounded: each gauge keeps at most `max_readings` readings and nothing older than `keep_s` of data time; each
station keeps one forecast of at most MAX_FORECAST_HOURS hours. A reading's rain fell during the `interval_s` seconds
ending at its `ts`; a window that cuts a reading's interval takes the cut share of it (rain spread evenly over the
interval). Running sums make a window's total cost two binary searches, whatever its length. Nothing here reads the
clock: times come in with the readings and the questions.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence

from tichwatch.config.rain import RainGaugeConfig, gauges_by_station
from tichwatch.core.samples import RainReading

COVERAGE_MIN = 0.8
"""Share of a window a gauge's readings must cover for its total to count (a gauge silent for more of the window
says nothing about it: the total would read as dry)."""
DEFAULT_KEEP_S = 3 * 86400.0
"""Data time kept per gauge by default: the longest antecedent-rain window a forecast looks at, with margin."""
DEFAULT_MAX_READINGS = 5000
"""Readings kept per gauge by default (3 days of 1-minute tipping-bucket reports)."""
MAX_FORECAST_HOURS = 16 * 24
"""Hours of one station's forecast kept (Open-Meteo gives at most 16 days)."""
_COMPACT_MIN = 64  # dropped spans tolerated at the front of a series before its lists are compacted


class _Series:
    """Disjoint spans of rain, oldest first, with running sums of rain and covered seconds.

    A span (start, end] holds `mm` spread evenly over it. Old spans are dropped from the front (by age or count) and
    the lists compacted now and then, so memory stays bounded and appends amortised O(1)."""

    __slots__ = ("_cov", "_cum", "_ends", "_first", "_mm", "_starts")

    def __init__(self) -> None:
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._mm: list[float] = []
        self._cum: list[float] = [0.0]  # rain of the spans before index k
        self._cov: list[float] = [0.0]  # seconds of the spans before index k
        self._first = 0

    def __len__(self) -> int:
        return len(self._ends) - self._first

    @property
    def last_end(self) -> float | None:
        """End of the newest span, None when empty."""
        return self._ends[-1] if len(self) else None

    def append(self, start: float, end: float, mm: float) -> None:
        """Add a span starting at or after the newest one's end."""
        self._starts.append(start)
        self._ends.append(end)
        self._mm.append(mm)
        self._cum.append(self._cum[-1] + mm)
        self._cov.append(self._cov[-1] + (end - start))

    def trim(self, before: float, most: int) -> None:
        """Drop the spans that end before `before`, and the oldest beyond `most`."""
        self._first = max(bisect.bisect_left(self._ends, before, self._first), len(self._ends) - most)
        if self._first > _COMPACT_MIN and self._first * 2 > len(self._ends):
            k, self._first = self._first, 0
            self._starts, self._ends, self._mm = self._starts[k:], self._ends[k:], self._mm[k:]
            self._cum, self._cov = self._cum[k:], self._cov[k:]

    def window(self, start: float, end: float) -> tuple[float, float]:
        """(rain in mm, seconds covered) within (start, end]; a span cut by the window counts its share."""
        i = bisect.bisect_right(self._ends, start, self._first)  # the first span ending after the window starts
        j = bisect.bisect_left(self._starts, end, i)  # the first span starting at or after the window's end
        if i >= j:
            return 0.0, 0.0
        mm, covered = self._cum[j] - self._cum[i], self._cov[j] - self._cov[i]
        for k, cut in ((i, start - self._starts[i]), (j - 1, self._ends[j - 1] - end)):
            if cut > 0:  # the part of a boundary span outside the window
                mm -= self._mm[k] * cut / (self._ends[k] - self._starts[k])
                covered -= cut
        return max(mm, 0.0), max(covered, 0.0)


class RainHistory:
    """Recent rain per gauge and the latest rainfall forecast per station."""

    def __init__(self, gauges: Mapping[str, Sequence[str]] | None = None, keep_s: float = DEFAULT_KEEP_S,
                 max_readings: int = DEFAULT_MAX_READINGS, lags: Mapping[str, float] | None = None) -> None:
        """`gauges`: each station id → the ids of the gauges that feed it; `lags`: a gauge's configured travel time
        to its stations, seconds, where known."""
        self.keep_s = keep_s
        self.max_readings = max_readings
        self._by_station = {sid: tuple(ids) for sid, ids in (gauges or {}).items()}
        self._lags = dict(lags or {})
        self._series: dict[str, _Series] = {}
        self._forecasts: dict[str, tuple[float, _Series]] = {}

    @classmethod
    def from_config(cls, gauges: Sequence[RainGaugeConfig], keep_s: float = DEFAULT_KEEP_S) -> RainHistory:
        """A history knowing which configured gauges feed which station."""
        return cls(gauges_by_station(gauges), keep_s, lags={g.id: float(g.lag_s) for g in gauges
                                                             if g.lag_s is not None})

    def gauges_for(self, station_id: str) -> tuple[str, ...]:
        """Ids of the rain gauges that feed this station (empty when none does)."""
        return self._by_station.get(station_id, ())

    def lag_s(self, gauge_id: str) -> float | None:
        """The configured time from rain at the gauge to the rise at its stations, seconds (None: not configured)."""
        return self._lags.get(gauge_id)

    # -- observed rain -------------------------------------------------------------------------------------------
    def add(self, reading: RainReading) -> bool:
        """Take a reading newer than the gauge's last one; False (ignored) for a late or repeated one. Its interval
        is cut at the previous reading's time, so two readings never count the same seconds."""
        series = self._series.get(reading.gauge_id)
        if series is None:
            series = self._series[reading.gauge_id] = _Series()
        prev_end = series.last_end
        if prev_end is not None and reading.ts <= prev_end:
            return False
        start = reading.ts - max(reading.interval_s, 1e-3)
        if prev_end is not None:
            start = max(start, prev_end)
        series.append(start, reading.ts, reading.rain_mm)
        series.trim(reading.ts - self.keep_s, self.max_readings)
        return True

    def latest_ts(self, gauge_id: str) -> float | None:
        """Time of the gauge's newest reading, None when it has none."""
        series = self._series.get(gauge_id)
        return series.last_end if series is not None else None

    def kept(self, gauge_id: str) -> int:
        """How many readings of the gauge are kept."""
        series = self._series.get(gauge_id)
        return len(series) if series is not None else 0

    def gauge_total_mm(self, gauge_id: str, end_ts: float, window_s: float) -> float | None:
        """Rain at one gauge in (end_ts - window_s, end_ts]; None when its readings cover less than COVERAGE_MIN
        of the window."""
        series = self._series.get(gauge_id)
        if series is None or window_s <= 0:
            return None
        mm, covered = series.window(end_ts - window_s, end_ts)
        return mm if covered >= COVERAGE_MIN * window_s else None

    def total_mm(self, gauge_ids: Iterable[str], end_ts: float, window_s: float) -> float | None:
        """Mean rain over the given gauges in (end_ts - window_s, end_ts], millimetres (the basin's areal rain, as
        the mean of the gauges whose readings cover the window); None when no gauge covers it."""
        totals = [t for g in gauge_ids if (t := self.gauge_total_mm(g, end_ts, window_s)) is not None]
        return sum(totals) / len(totals) if totals else None

    def station_total_mm(self, station_id: str, end_ts: float, window_s: float) -> float | None:
        """`total_mm` over the gauges that feed a station."""
        return self.total_mm(self.gauges_for(station_id), end_ts, window_s)

    # -- forecast rain -------------------------------------------------------------------------------------------
    def set_forecast(self, station_id: str, issued_ts: float, hourly: Sequence[tuple[float, float]]) -> None:
        """Replace a station's rainfall forecast: `hourly` holds (ts, mm) pairs, each the rain of the hour ending at
        ts (Open-Meteo's `precipitation`); taken in time order, a repeated hour once, at most MAX_FORECAST_HOURS."""
        series = _Series()
        for ts, mm in sorted(hourly):
            last = series.last_end
            if last is None or ts >= last + 3600.0:
                series.append(ts - 3600.0, ts, mm)
            if len(series) >= MAX_FORECAST_HOURS:
                break
        self._forecasts[station_id] = (issued_ts, series)

    def clear_forecast(self, station_id: str) -> None:
        """Forget a station's forecast (gone stale)."""
        self._forecasts.pop(station_id, None)

    def forecast_issued_ts(self, station_id: str) -> float | None:
        """When the station's current forecast was fetched, None when it has none."""
        fc = self._forecasts.get(station_id)
        return fc[0] if fc else None

    def forecast_mm(self, station_id: str, start: float, end: float) -> float | None:
        """Forecast rain at a station in (start, end], millimetres; None without a forecast covering COVERAGE_MIN
        of that window."""
        fc = self._forecasts.get(station_id)
        if fc is None or end <= start:
            return None
        mm, covered = fc[1].window(start, end)
        return mm if covered >= COVERAGE_MIN * (end - start) else None
