"""Every recorded flood series the forecast can learn from or be scored on, with river basins, rain and upstream links,
and the transferable features of each station computed once (cached for the leave-one-basin-out fits).

Folders read (besides what `flood_evaluation.load_dataset` reads):
* Sri Lanka irrigation style: `all_stations_long.csv` with `station, river_basin, water_level_m, alert_level_m,
  minor_flood_level_m, major_flood_level_m, rainfall_mm, rain_window_h` -> one station per (canonical) name, alert /
  minor / major flood = BD1/BD2/BD3 (the most frequent valid triple), each row's rainfall a rain reading of the
  station's own gauge over its window. Names spelt two ways are merged; "N' Street" rows are feet labelled metres
  and converted. The Kelani Ganga chain Kithulgala -> Glencourse -> Hanwella -> Nagalagam Street is linked upstream
  with an assumed lag of UPSTREAM_LAG_S (not learnt), and each station's rain is the mean of its own and its
  upstream gauges.
* VNDMS style: the basin is `river_basin` of meta.json; single-station folders are one basin named after the folder.
"""
from __future__ import annotations

import csv
import itertools
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tichwatch.config.rain import RainGaugeConfig
from tichwatch.config.schema import StationConfig, UpstreamLink
from tichwatch.core.samples import RainReading
from tichwatch.detectors.flood.features import Upstream, change_targets, feature_matrix, reach_targets, spacing_m
from tichwatch.detectors.flood.rain import RainHistory
from tichwatch.tools.flood_evaluation import StationSeries, _alarm, _epoch_s, _station, _subject_id, load_dataset

UPSTREAM_LAG_S = 6 * 3600.0
"""Assumed travel time between neighbouring gauges of the Kelani chain (an assumption, not learnt)."""
TRAIN_STEP_S = 1800.0
"""Training positions are taken at most every this many seconds (10-minute series would otherwise dominate)."""
CALM_STEP_S = 6 * 3600.0
"""...and at most every this many seconds while the water is more than 3 alarm spacings below BD1 (calm water, where
the probability model does not apply: it only feeds the level regression; keeps the 11 Han River seasons cheap)."""
_FT = 0.3048
_ALIASES = {"kitulgala": "kithulgala", "n'street": "nagalagamstreet", "thaldena": "taldena",
            "taldena(hmis)": "taldena", "thanamalwila": "tanamalwila", "millakanda": "kalawellawa(millakanda)",
            "horowpothana": "horowpatana"}
_KELANI_CHAIN = ("kithulgala", "glencourse", "hanwella", "nagalagamstreet")


@dataclass
class CorpusStation:
    """A station of the corpus: its series, basin, rain readings and upstream stations (ids in the same corpus)."""

    series: StationSeries
    basin: str
    dataset: str
    rain: list[RainReading] = field(default_factory=list)
    upstream: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        """Station id (unique within the corpus)."""
        return self.series.config.id

    def gauges(self) -> list[RainGaugeConfig]:
        """This station's own rain gauge (when it has readings) as a config feeding it and its downstream."""
        if not self.rain:
            return []
        cfg = self.series.config
        return [RainGaugeConfig(id=f"rain-{cfg.id}"[:64], name=cfg.name, lat=cfg.lat, lon=cfg.lon,
                                expected_interval_s=3 * 3600)]


def _key(name: str) -> str:
    k = name.replace(" ", "").lower()
    return _ALIASES.get(k, k)


def _load_srilanka(folder: Path) -> list[CorpusStation]:
    rows: dict[str, list[dict[str, str]]] = {}
    names: dict[str, str] = {}
    for r in csv.DictReader((folder / "all_stations_long.csv").open(encoding="utf-8", newline="")):
        k = _key(r["station"])
        rows.setdefault(k, []).append(r)
        names.setdefault(k, r["station"].strip())
    out: dict[str, CorpusStation] = {}
    for k, rs in rows.items():
        feet = k == "nagalagamstreet"
        triples: Counter[tuple[float, float, float]] = Counter()
        levels: dict[float, float] = {}
        rain: dict[float, tuple[float, float]] = {}
        for r in rs:
            try:
                f = _FT if feet and r["station"].strip().startswith("N'") else 1.0
                tri = tuple(float(r[c]) * f for c in ("alert_level_m", "minor_flood_level_m", "major_flood_level_m"))
                t = _epoch_s(r["time_utc"])
                lv = float(r["water_level_m"]) * f
            except ValueError:
                continue
            if 0 < tri[0] < tri[1] < tri[2]:
                triples[(tri[0], tri[1], tri[2])] += 1
            if math.isfinite(lv) and lv != 0.0:
                levels[t] = lv
            try:
                mm, win = float(r["rainfall_mm"]), float(r["rain_window_h"])
                if math.isfinite(mm) and 0 <= mm <= 1000 and 0 < win <= 48:
                    rain[t] = (mm, win * 3600.0)
            except ValueError:
                pass
        if not triples or len(levels) < 10:
            continue
        bd1, bd2, bd3 = triples.most_common(1)[0][0]
        times = np.array(sorted(levels), dtype=float)
        values = np.array([levels[t] for t in times.tolist()])
        alarm = _alarm({"BD1": bd1, "BD2": bd2, "BD3": bd3}, None, None)
        series = _station(f"lk-{k}", names[k], {}, alarm, times, values)
        gauge = f"rain-{series.config.id}"[:64]
        readings = [RainReading(gauge, t, mm, win) for t, (mm, win) in sorted(rain.items())]
        out[k] = CorpusStation(series, "lk-" + _key(rs[0]["river_basin"]), folder.name, readings)
    for up, down in itertools.pairwise(_KELANI_CHAIN):
        if up in out and down in out:
            out[down].upstream.append(out[up].id)
    return list(out.values())


def load_corpus(folder: Path, skipped: list[str] | None = None) -> list[CorpusStation]:
    """The stations of one data folder (see the module docstring); why others could not be read is appended to
    `skipped`."""
    folder = Path(folder)
    if (folder / "all_stations_long.csv").is_file() and _has_column(folder / "all_stations_long.csv", "river_basin") \
            and _has_column(folder / "all_stations_long.csv", "minor_flood_level_m"):
        return _load_srilanka(folder)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    basins = {_subject_id(str(m.get("station_id"))): str(m.get("river_basin") or m.get("station_id"))
              for m in meta.get("other_stations") or []}
    data = load_dataset(folder)
    if skipped is not None:
        skipped += data.skipped
    return [CorpusStation(s, basins.get(s.config.id, folder.name), folder.name) for s in data.stations]


def _has_column(path: Path, name: str) -> bool:
    with path.open(encoding="utf-8", newline="") as f:
        return name in (f.readline().strip().split(","))


def thin(series: StationSeries, step_s: float) -> StationSeries:
    """The series with readings at least `step_s` apart (the first, then each first one `step_s` after the last
    kept): a gauge sampled more sparsely."""
    keep = np.zeros(len(series.ts), dtype=bool)
    last = -math.inf
    for i, t in enumerate(series.ts.tolist()):
        if t - last >= step_s - 1.0:
            keep[i], last = True, t
    return StationSeries(series.config.model_copy(update={"expected_interval_s": max(series.config.expected_interval_s,
                                                                                    round(step_s))}),
                         series.ts[keep], series.levels[keep])


def irregular(series: StationSeries, seed: int) -> StationSeries:
    """The series resampled irregularly (seeded): gaps drawn between 1 and 6 hours, as from a gateway on a weak
    link or readings reported by hand."""
    rng = np.random.default_rng(seed)
    ts = series.ts
    keep = np.zeros(len(ts), dtype=bool)
    i = 0
    while i < len(ts):
        keep[i] = True
        i = int(np.searchsorted(ts, ts[i] + rng.uniform(3600.0, 6 * 3600.0), side="left"))
    step = float(np.median(np.diff(ts[keep]))) if keep.sum() > 1 else 3600.0
    return StationSeries(series.config.model_copy(update={"expected_interval_s": max(1, round(step))}),
                         ts[keep], series.levels[keep])


def with_series(st: CorpusStation, series: StationSeries) -> CorpusStation:
    """The station with another (thinned) series, the same basin, rain and upstream."""
    return CorpusStation(series, st.basin, st.dataset, st.rain, st.upstream)


def configs_for(st: CorpusStation, by_id: dict[str, CorpusStation]) -> list[StationConfig]:
    """The station's configuration with its upstream links, and those of its upstream stations."""
    ups = [by_id[u] for u in st.upstream if u in by_id]
    cfg = st.series.config.model_copy(update={"upstream": [UpstreamLink(station_id=u.id, lag_s=int(UPSTREAM_LAG_S))
                                                           for u in ups]})
    return [cfg] + [u.series.config for u in ups]


def gauges_for(st: CorpusStation, by_id: dict[str, CorpusStation]) -> list[RainGaugeConfig]:
    """Rain gauges feeding the station: its own and its upstream stations' (each configured to feed it)."""
    out: list[RainGaugeConfig] = []
    for s in [st] + [by_id[u] for u in st.upstream if u in by_id]:
        out += [g.model_copy(update={"stations": [st.id]}) for g in s.gauges()]
    return out


def rain_pairs(st: CorpusStation, by_id: dict[str, CorpusStation], at: np.ndarray) -> list[tuple[float | None,
                                                                                                 float | None]] | None:
    """(rain in 3 h, in 24 h) at each time of `at` (ascending), through the same RainHistory the detector uses; None
    when no gauge feeds the station."""
    gauges = gauges_for(st, by_id)
    if not gauges:
        return None
    hist = RainHistory.from_config(gauges)
    readings = sorted((r for s in [st] + [by_id[u] for u in st.upstream if u in by_id] for r in s.rain),
                      key=lambda r: r.ts)
    out: list[tuple[float | None, float | None]] = []
    j = 0
    for t in at.tolist():
        while j < len(readings) and readings[j].ts <= t:
            hist.add(readings[j])
            j += 1
        out.append((hist.station_total_mm(st.id, t, 3 * 3600.0), hist.station_total_mm(st.id, t, 24 * 3600.0)))
    return out


def upstream_inputs(st: CorpusStation, by_id: dict[str, CorpusStation]) -> list[Upstream]:
    """The upstream stations' series as forecast inputs."""
    out = []
    for u in st.upstream:
        if u in by_id:
            s = by_id[u].series
            a = s.config.alarm
            out.append(Upstream(s.ts, s.levels, (a.bd1_m, a.bd2_m, a.bd3_m), UPSTREAM_LAG_S,
                                max(3.0 * s.config.expected_interval_s, 6 * 3600.0)))
    return out


@dataclass
class Samples:
    """Training rows of one station: features, reach labels, level changes."""

    x: np.ndarray
    reach: np.ndarray
    change: np.ndarray


def station_samples(st: CorpusStation, by_id: dict[str, CorpusStation]) -> Samples:
    """Features and targets at the station's readings, at most one per TRAIN_STEP_S, below its top alarm level."""
    s = st.series
    ts, lv = s.ts, s.levels
    a = s.config.alarm
    thresholds = (a.bd1_m, a.bd2_m, a.bd3_m) + ((a.record_m,) if a.record_m is not None else ())
    calm = lv < thresholds[0] - 3 * spacing_m(thresholds)
    slot = np.where(calm, np.floor(ts / CALM_STEP_S) * 2, np.floor(ts / TRAIN_STEP_S) * 2 + 1)
    pick = np.concatenate([[True], slot[1:] != slot[:-1]]) & (lv < thresholds[-1])
    pick[:2] = False  # a rate needs a reading before
    idx = np.nonzero(pick)[0]
    step = float(s.config.expected_interval_s)
    max_gap = max(2.5 * step, 4 * 3600.0)
    x = feature_matrix(ts, lv, idx, thresholds, step, upstream_inputs(st, by_id), rain_pairs(st, by_id, ts[idx]))
    return Samples(x, reach_targets(ts, lv, idx, thresholds, max_gap), change_targets(ts, lv, idx, thresholds, max_gap))


def augmented(stations: list[CorpusStation]) -> list[CorpusStation]:
    """The stations and, for those sampled hourly or faster, a 3-hourly thinned copy (teaches the model sparse
    sampling; same basin, so a basin left out leaves out its copies too)."""
    out = list(stations)
    for st in stations:
        if st.series.config.expected_interval_s <= 3600:
            out.append(with_series(st, thin(st.series, 3 * 3600.0)))
    return out
