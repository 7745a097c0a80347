"""Leave-one-basin-out scoring of the forecast learnt across rivers: every basin of a data folder is scored with a
model fitted without it (the stations of one river basin are left out together; a single-station folder such as the
Han River is one basin, so its model never saw any of its seasons: stricter than leave-one-season-out).

The training rows come from every water-level folder next to the scored one (../shared/data/waterlevel-*), computed
once per station (`flood_train.FeatureCache`); each fit then only selects rows. The replay feeds the station, its
upstream stations and its rain gauges (through the detector's own RainHistory) in time order.

Variants: the data as recorded, thinned to one reading per 3 hours, and resampled irregularly (seeded gaps of 1-6 h);
the upstream stations are thinned the same way. Forecast error at 1/2/3/6 h (mean absolute error of the level, in
metres, at readings where the record tells) is compared with persistence (no change) and with the trend
extrapolation (the 3-hour rate carried on), as a skill score 1 - MAE/MAE_reference, over every reading and over the
readings near or in flood (at most one alarm spacing below BD1 or above, rising).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tichwatch.config.flood import FloodSettings
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.detector import FORECAST, FloodDetector
from tichwatch.detectors.flood.features import FEATURE_NAMES, HORIZONS_S, spacing_m
from tichwatch.detectors.flood.learnt import LearntModel
from tichwatch.tools.flood_corpus import (
    CorpusStation,
    configs_for,
    gauges_for,
    irregular,
    load_corpus,
    station_samples,
    thin,
    with_series,
)
from tichwatch.tools.flood_evaluation import _RANK, Replay, StationSeries, _forecast_of
from tichwatch.tools.flood_train import FeatureCache, default_folders

VARIANTS: tuple[str, ...] = ("recorded", "thinned_3h", "irregular")
"""The sampling variants every figure is reported for."""
IRREGULAR_SEED = 7
"""Seed of the irregular resampling."""
RELIABILITY_BINS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
"""Bins of the forecast probability in the reliability table."""
_RATE3 = FEATURE_NAMES.index("rate_3h")
_POS = FEATURE_NAMES.index("pos_bd1")


def variant_series(series: StationSeries, variant: str) -> StationSeries:
    """The series as recorded, thinned to 3-hourly, or resampled irregularly."""
    if variant == "thinned_3h":
        return thin(series, 3 * 3600.0)
    if variant == "irregular":
        return irregular(series, IRREGULAR_SEED)
    return series


@dataclass
class Crossval:
    """The stations of a folder, the training cache of every folder and one model per left-out basin."""

    stations: list[CorpusStation]
    cache: FeatureCache
    skipped: list[str] = field(default_factory=list)
    models: dict[str, LearntModel] = field(default_factory=dict)

    @classmethod
    def build(cls, folder: Path, train_folders: Sequence[Path] | None = None) -> Crossval:
        """Load the folder and the training folders (default: the water-level folders beside it)."""
        folder = Path(folder).resolve()
        folders = [Path(f).resolve() for f in (train_folders if train_folders is not None else
                                                default_folders(folder.parent))]
        if folder not in folders:
            folders.append(folder)
        all_stations: list[CorpusStation] = []
        scored: list[CorpusStation] = []
        skipped: list[str] = []
        for f in folders:
            sts = load_corpus(f, skipped if f == folder else None)
            all_stations += sts
            if f == folder:
                scored = sts
        return cls(scored, FeatureCache(all_stations), skipped)

    def model_for(self, st: CorpusStation) -> LearntModel:
        """The model that never saw the station's basin (fitted once per basin)."""
        if st.basin not in self.models:
            self.models[st.basin] = self.cache.fit_without([st.basin])
        return self.models[st.basin]

    @property
    def by_id(self) -> dict[str, CorpusStation]:
        """Every station of the training cache by id (upstream look-ups)."""
        return self.cache.originals


def replay_station(st: CorpusStation, by_id: dict[str, CorpusStation], settings: FloodSettings,
                   model: LearntModel, variant: str = "recorded") -> tuple[StationSeries, Replay]:
    """Replay one station (and its upstream stations and rain) through a fresh detector with `model`."""
    series = variant_series(st.series, variant)
    ups = {u: variant_series(by_id[u].series, variant) for u in st.upstream if u in by_id}
    local = {**by_id, st.id: with_series(st, series)}
    for u, s in ups.items():
        local[u] = with_series(by_id[u], s)
    cfgs = configs_for(local[st.id], local)
    det = FloodDetector(cfgs, settings, gauges_for(st, by_id), model=model)
    events: list[tuple[float, int, str, float, Any]] = [(t, 1, st.id, y, None) for t, y in
                                                        zip(series.ts.tolist(), series.levels.tolist())]
    for u, s in ups.items():
        events += [(t, 1, u, y, None) for t, y in zip(s.ts.tolist(), s.levels.tolist())]
    for src in [st] + [by_id[u] for u in st.upstream if u in by_id]:
        events += [(r.ts, 0, r.gauge_id, r.rain_mm, r) for r in src.rain]
    events.sort(key=lambda e: (e[0], e[1]))
    n = len(series.ts)
    alarm = np.zeros(n, dtype=int)
    warn_level = np.zeros(n, dtype=int)
    warn_since = np.full(n, np.nan)
    forecasts: list[tuple[int, Any]] = []
    counts: dict[str, int] = {}
    wl, ws, i = 0, math.nan, 0
    for t, kind, sid, y, reading in events:
        if kind == 0:
            det.observe_rain(reading)
            continue
        dets = det.tick(t) + det.update(Reading(sid, t, y))
        if sid != st.id:
            continue
        for d in dets:
            if d.subject != st.id:
                continue
            if d.active:
                counts[d.kind] = counts.get(d.kind, 0) + 1
            if d.kind == FORECAST:
                wl, ws = (_RANK[d.level], d.evidence["warning_since_ts"]) if d.active and d.level else (0, math.nan)
        status = det.status(st.id)
        alarm[i] = _RANK.get(status.alarm_level or "", 0)
        warn_level[i], warn_since[i] = wl, ws
        if status.ts == t:
            forecasts.append((i, _forecast_of(status, t)))
        i += 1
    return series, Replay(alarm, warn_level, warn_since, forecasts, counts)


@dataclass
class Skill:
    """Forecast error of the level at one horizon (metres) against persistence and the trend extrapolation."""

    horizon_s: float
    n: int
    mae_model_m: float | None
    mae_persistence_m: float | None
    mae_trend_m: float | None

    @property
    def skill_vs_persistence(self) -> float | None:
        """1 - MAE / MAE of persistence (> 0: better than assuming no change)."""
        return _skill(self.mae_model_m, self.mae_persistence_m)

    @property
    def skill_vs_trend(self) -> float | None:
        """1 - MAE / MAE of the trend extrapolation."""
        return _skill(self.mae_model_m, self.mae_trend_m)


def _skill(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else 1.0 - a / b


@dataclass
class ReliabilityBin:
    """Forecasts whose probability (of reaching the next level within the horizon) fell in [lo, hi)."""

    horizon_s: float
    lo: float
    hi: float
    n: int
    mean_p: float | None
    observed: float | None


@dataclass
class SampleScores:
    """Level-forecast skill (all readings and near flood) and reliability of the probabilities, one variant."""

    skill_all: list[Skill]
    skill_flood: list[Skill]
    reliability: list[ReliabilityBin]


def sample_scores(cv: Crossval, variant: str) -> SampleScores:
    """Score the left-out models' level forecasts and probabilities at the scored stations' readings."""
    p_all, y_all, errs = [], [], []
    for st in cv.stations:
        v = with_series(st, variant_series(st.series, variant))
        smp = station_samples(v, cv.by_id)
        if not len(smp.x):
            continue
        p, change = cv.model_for(st).predict_many(smp.x)
        a = st.series.config.alarm
        sp = spacing_m((a.bd1_m, a.bd2_m, a.bd3_m))
        flood = (smp.x[:, _POS] >= -1.0) & (smp.x[:, _RATE3] > 0)
        trend = smp.x[:, _RATE3][:, None] * (np.array(HORIZONS_S) / 3600.0)[None, :]
        errs.append((np.abs(change - smp.change) * sp, np.abs(smp.change) * sp, np.abs(trend - smp.change) * sp,
                     flood))
        p_all.append(p)
        y_all.append(smp.reach)
    return SampleScores(_skills(errs, False), _skills(errs, True), _reliability(p_all, y_all))


def _skills(errs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], flood_only: bool) -> list[Skill]:
    out = []
    for k, h in enumerate(HORIZONS_S):
        m, pe, tr = [], [], []
        for em, ep, et, fl in errs:
            ok = np.isfinite(em[:, k]) & (fl if flood_only else True)
            m.append(em[ok, k])
            pe.append(ep[ok, k])
            tr.append(et[ok, k])
        mm, pp, tt = (np.concatenate(x) if x else np.array([]) for x in (m, pe, tr))
        mean: Callable[[np.ndarray], float | None] = lambda a: float(a.mean()) if len(a) else None  # noqa: E731
        out.append(Skill(h, len(mm), mean(mm), mean(pp), mean(tt)))
    return out


def _reliability(ps: list[np.ndarray], ys: list[np.ndarray]) -> list[ReliabilityBin]:
    if not ps:
        return []
    p, y = np.vstack(ps), np.vstack(ys)
    out = []
    for k, h in enumerate(HORIZONS_S):
        ok = y[:, k] >= 0
        pk, yk = p[ok, k], y[ok, k]
        for lo, hi in zip(RELIABILITY_BINS, RELIABILITY_BINS[1:]):  # noqa: RUF007 (bins, not a sequence walk)
            sel = (pk >= lo) & ((pk < hi) if hi < 1.0 else (pk <= hi))
            n = int(sel.sum())
            out.append(ReliabilityBin(h, lo, hi, n, float(pk[sel].mean()) if n else None,
                                      float(yk[sel].mean()) if n else None))
    return out


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def format_scores(variant: str, sc: SampleScores) -> str:
    """Skill and reliability tables of one variant."""
    lines = [f"Level forecast error ({variant}; MAE in metres; skill = 1 - MAE/MAE_reference):",
             f"  {'rows':<12}{'horizon':>8}{'n':>8}{'model':>8}{'persist':>8}{'trend':>8}{'skill/p':>8}{'skill/t':>8}"]
    for label, rows in (("all", sc.skill_all), ("near flood", sc.skill_flood)):
        for s in rows:
            lines.append(f"  {label:<12}{s.horizon_s / 3600:>7.0f}h{s.n:>8}{_fmt(s.mae_model_m, 3):>8}"
                         f"{_fmt(s.mae_persistence_m, 3):>8}{_fmt(s.mae_trend_m, 3):>8}"
                         f"{_fmt(s.skill_vs_persistence):>8}{_fmt(s.skill_vs_trend):>8}")
    lines += ["", f"Reliability ({variant}): probability of reaching the next level within the horizon, forecast vs "
                  "observed share", f"  {'horizon':>8}{'p bin':>12}{'n':>9}{'mean p':>8}{'observed':>9}"]
    for b in sc.reliability:
        if b.n:
            lines.append(f"  {b.horizon_s / 3600:>7.0f}h{f'{b.lo:.2f}-{b.hi:.2f}':>12}{b.n:>9}{_fmt(b.mean_p):>8}"
                         f"{_fmt(b.observed):>9}")
    return "\n".join(lines)


def _summary(report: Any) -> list[str]:
    lines = [f"Targets ({report.variant}):"]
    for name, t in report.targets.items():
        v = t["value"]
        shown = f"{v:.2f}" if isinstance(v, float) else str(v)
        n = f" n={t['n']}" if "n" in t else ""
        lines.append(f"  {'ok ' if t['ok'] else 'FAIL'} {name}: {shown}{n} (target {t['target']})")
    return lines


def main_crossval(folder: Path, settings: FloodSettings, json_out: bool) -> int:
    """Leave-one-basin-out evaluation in every sampling variant; exit 0 only when every target holds."""
    import json
    from dataclasses import asdict

    from tichwatch.tools.flood_evaluation import _jsonable, evaluate_flood, format_table

    cv = Crossval.build(folder)
    ok = True
    doc: dict[str, Any] = {"dataset": Path(folder).name, "method": "leave-one-basin-out", "variants": {}}
    text: list[str] = []
    for variant in VARIANTS:
        report = evaluate_flood(folder, settings, variant=variant, crossval=cv)
        sc = sample_scores(cv, variant)
        skills = [s for s in sc.skill_all + sc.skill_flood if s.n]
        skill_ok = all((s.skill_vs_persistence or 0) > 0 and (s.skill_vs_trend or 0) > 0 for s in skills)
        ok = ok and skill_ok and all(t["ok"] for t in report.targets.values())
        doc["variants"][variant] = {"report": asdict(report), "scores": asdict(sc), "skill_ok": skill_ok}
        if variant == "recorded":
            text += [f"== {variant} (leave-one-basin-out) ==", format_table(report), ""]
        else:
            text += [f"== {variant} (leave-one-basin-out) ==", *_summary(report), ""]
        text += [format_scores(variant, sc), f"  {'ok ' if skill_ok else 'FAIL'} skill > 0 vs persistence and trend "
                                             "at every horizon", ""]
    print(json.dumps(_jsonable(doc), ensure_ascii=False, indent=1) if json_out else "\n".join(text))
    return 0 if ok else 1
