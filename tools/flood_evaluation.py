"""Replay recorded water levels through the flood detector and score it against the crossings in the data.

Formats read (the only I/O of the flood package):
* VNDMS style: `meta.json` with `other_stations` (each: station_id, station, lat, lon, thresholds_m {BD1, BD2, BD3},
  historical_flood_m, historical_flood_year, file) and one `time_utc,level_m` CSV per station.
* Single-station style: `meta.json` with `thresholds_m` and `levels.csv` (`time_utc,level_m`, empty level = gap).
  Thresholds named BD1/BD2/BD3 are used as they are. Korean HRFCO thresholds are mapped: flood advisory (홍수주의보)
  -> BD2, flood warning (홍수경보) -> BD3, and BD1 (HRFCO has none) is synthesised half the advisory-to-warning gap
  below the advisory: BD1 = advisory - (warning - advisory) / 2 (Hangang Bridge: 9.57 / 10.57 / 12.57 m EL).
  A historical flood level above BD3 becomes the RECORD level. The station's possible range is set generously around
  the data, its expected interval is the median step.

Definitions (fixed before tuning, independent of the detector's settings):
* A crossing of a level is a reading at or above it whose previous reading was below it, when the water had been
  below it for at least `episode_gap_s` or since the record began (a shorter dip is the same flood event); a series
  that starts above a level has no crossing of it there, and the detector's first reading is not counted as an alert.
* Alerted on time: the detector is at that level (or higher) after the crossing reading; delay = time from the
  crossing reading to the first reading where it is.
* Alerts per crossing: upward moves of the detector through a level / crossings of it.
* Lead time of a BD2/BD3/RECORD crossing: how long `flood.forecast` had been warning of that level at the reading
  before the crossing (0 = no early warning).
* False early warning: a warning of a level (its start) after which the water did not reach the level within the
  horizon plus `false_margin_s` (warnings too close to the end of the data to tell are left out).
* Station-months: time covered by readings (steps longer than two days are outages, not coverage) / 30.44 days.
* Quiet seasons: calendar years of a station with no crossing of any level.

Each station is replayed through its own fresh `FloodDetector` (no warm-up), with `tick(ts)` before every reading.
The trade-off sweep re-runs the detector's own early-warning decision (`warning.step_warning`) over the forecasts the
detector made at each clean reading (read from `status()`), once per value of `forecast_min_confidence`.
"""
from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tichwatch.config.flood import FloodSettings
from tichwatch.config.schema import AlarmLevels, StationConfig
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.detector import FORECAST, FloodDetector
from tichwatch.detectors.flood.forecast import Forecast
from tichwatch.detectors.flood.levels import LEVEL_NAMES
from tichwatch.detectors.flood.status import StationStatus
from tichwatch.detectors.flood.warning import WarningState, step_warning

EPISODE_GAP_S = 3 * 3600.0
"""A dip below a level shorter than this does not end the flood event at that level (no new crossing)."""
FALSE_MARGIN_S = 3 * 3600.0
"""Grace after the horizon before an early warning that did not come true counts as false."""
HOURLY_STEP_S = 3600.0
"""Stations whose median step is at most this are "hourly" for the lead-time target."""
LEAD_TARGET_S = 2 * 3600.0
"""The early-warning lead the target asks for before BD2/BD3 crossings at hourly stations."""
SWEEP_CONFIDENCES: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
"""Values of `forecast_min_confidence` (the main early-warning setting) in the trade-off sweep."""
_MONTH_S = 30.44 * 86400
_OUTAGE_S = 2 * 86400
_RANK = {name: i + 1 for i, name in enumerate(LEVEL_NAMES)}


@dataclass(frozen=True)
class StationSeries:
    """A station's synthesised configuration and its recorded levels (gaps dropped)."""

    config: StationConfig
    ts: np.ndarray
    levels: np.ndarray


@dataclass
class LevelScore:
    """Crossings of one level at one station (or in total) and how the detector did."""

    level: str
    crossings: int = 0
    alerted_on_time: int = 0
    delays_s: list[float] = field(default_factory=list)
    alerts: int = 0
    leads_s: list[float] = field(default_factory=list)  # BD2 and up only

    @property
    def alerts_per_crossing(self) -> float | None:
        """Upward alerts through this level per crossing (flapping > 1)."""
        return self.alerts / self.crossings if self.crossings else None


@dataclass
class WarningScore:
    """Early warnings: lead times of BD2+ crossings and false warnings."""

    leads_s: list[float] = field(default_factory=list)
    warnings: int = 0
    false: int = 0
    false_in_quiet_years: int = 0
    months: float = 0.0

    @property
    def false_per_month(self) -> float | None:
        """False early warnings per station-month."""
        return self.false / self.months if self.months else None


@dataclass
class StationReport:
    """One station's replay."""

    station_id: str
    name: str
    step_s: float
    readings: int
    months: float
    quiet_years: list[int]
    levels: list[LevelScore]
    warnings: WarningScore
    detections: dict[str, int]  # raised detections per kind


@dataclass
class SweepPoint:
    """Early-warning performance for one value of `forecast_min_confidence`."""

    min_confidence: float
    lead_median_s: float | None
    lead_worst_s: float | None
    share_lead_2h_hourly: float | None
    false_warnings: int
    false_per_month: float | None
    false_in_quiet_years: int


@dataclass
class EvalReport:
    """Per-station and total scores of a data folder, the targets and the trade-off sweep."""

    dataset: str
    settings: dict[str, Any]
    stations: list[StationReport]
    skipped: list[str]  # stations that could not be evaluated, with the reason
    total_levels: list[LevelScore]
    total_warnings: WarningScore
    lead_hourly_s: list[float]
    targets: dict[str, dict[str, Any]]
    sweep: list[SweepPoint]
    variant: str = "recorded"
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # per scored basin: what its model was fitted on

    def to_json(self) -> str:
        """The report as JSON."""
        return json.dumps(_jsonable(asdict(self)), ensure_ascii=False, indent=1)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# --- loading ----------------------------------------------------------------------------------------------------


def _epoch_s(text: str) -> float:
    t = datetime.fromisoformat(text.strip())
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).timestamp()


def _read_levels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Times and levels in time order; empty or non-finite levels are gaps, a repeated time keeps its last value."""
    by_ts: dict[float, float] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            v = (row.get("level_m") or "").strip()
            level = float(v) if v else math.nan
            if math.isfinite(level):
                by_ts[_epoch_s(row["time_utc"])] = level
    ts = np.array(sorted(by_ts), dtype=float)
    return ts, np.array([by_ts[t] for t in ts.tolist()], dtype=float)


def _subject_id(raw: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", raw)[:64] or "station"


def _alarm(thresholds: dict[str, float], record_m: float | None, record_year: int | None) -> AlarmLevels:
    if {"BD1", "BD2", "BD3"} <= thresholds.keys():
        bd1, bd2, bd3 = thresholds["BD1"], thresholds["BD2"], thresholds["BD3"]
    else:
        adv = next(v for k, v in thresholds.items() if "advisory" in k.lower())
        warn = next(v for k, v in thresholds.items() if "warning" in k.lower())
        bd1, bd2, bd3 = adv - (warn - adv) / 2, adv, warn
    if record_m is None or record_m <= bd3:
        record_m, record_year = None, None
    return AlarmLevels(bd1_m=bd1, bd2_m=bd2, bd3_m=bd3, record_m=record_m, record_year=record_year)


def _station(
    sid: str, name: str, meta: dict[str, Any], alarm: AlarmLevels, ts: np.ndarray, lv: np.ndarray
) -> StationSeries:
    step = float(np.median(np.diff(ts))) if len(ts) > 1 else 3600.0
    top = alarm.record_m if alarm.record_m is not None else alarm.bd3_m
    lo = min(float(lv.min()) if len(lv) else alarm.bd1_m, alarm.bd1_m)
    hi = max(float(lv.max()) if len(lv) else top, top)
    cfg = StationConfig(
        id=_subject_id(sid), name=name or sid, lat=float(meta.get("lat") or 0.0), lon=float(meta.get("lon") or 0.0),
        alarm=alarm, expected_interval_s=max(1, round(step)),
        # Generous: the ingest layer already rejected the impossible; the evaluation scores floods, not range faults.
        min_level_m=lo - 50.0, max_level_m=hi + 50.0,
    )
    return StationSeries(cfg, ts, lv)


@dataclass
class Dataset:
    """The stations of a data folder that can be evaluated, and why the others cannot."""

    stations: list[StationSeries]
    skipped: list[str]


def load_dataset(folder: Path) -> Dataset:
    """The stations of a data folder with synthesised configurations."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    entries = [(m, folder / m["file"]) for m in meta.get("other_stations") or []] or [(meta, folder / "levels.csv")]
    data = Dataset([], [])
    for m, path in entries:
        sid = str(m.get("station_id") or m.get("station_id_hrfco") or folder.name)
        try:
            alarm = _alarm(m["thresholds_m"], m.get("historical_flood_m"), m.get("historical_flood_year"))
            ts, lv = _read_levels(path)
            data.stations.append(_station(sid, m.get("station", ""), m, alarm, ts, lv))
        except (OSError, KeyError, TypeError, ValueError, StopIteration) as e:
            # One station without usable thresholds or data must not sink the others' evaluation.
            data.skipped.append(f"{sid}: {type(e).__name__}: {e}")
    return data


# --- replay -----------------------------------------------------------------------------------------------------


@dataclass
class Replay:
    """What the detector did at each reading of one station."""

    alarm: np.ndarray  # alarm index after each reading
    warn_level: np.ndarray  # index of the level warned of after each reading (0 = none)
    warn_since: np.ndarray  # since when (nan = none)
    forecasts: list[tuple[int, Forecast | None]]  # (reading index, forecast) where the detector stepped its warning
    detections: dict[str, int]


def replay(series: StationSeries, settings: FloodSettings) -> Replay:
    """Feed a station's readings (ticking the dead-man before each) through a fresh detector."""
    cfg = series.config
    det = FloodDetector([cfg], settings)
    n = len(series.ts)
    alarm = np.zeros(n, dtype=int)
    warn_level = np.zeros(n, dtype=int)
    warn_since = np.full(n, np.nan)
    forecasts: list[tuple[int, Forecast | None]] = []
    counts: dict[str, int] = {}
    wl, ws = 0, math.nan
    for i, (t, y) in enumerate(zip(series.ts.tolist(), series.levels.tolist())):
        dets = det.tick(t) + det.update(Reading(cfg.id, t, y))
        for d in dets:
            if d.active:
                counts[d.kind] = counts.get(d.kind, 0) + 1
            if d.kind == FORECAST:
                wl, ws = (_RANK[d.level], d.evidence["warning_since_ts"]) if d.active and d.level else (0, math.nan)
        st = det.status(cfg.id)
        alarm[i] = _RANK.get(st.alarm_level or "", 0)
        warn_level[i], warn_since[i] = wl, ws
        if st.ts == t:
            forecasts.append((i, _forecast_of(st, t)))
    return Replay(alarm, warn_level, warn_since, forecasts, counts)


def _forecast_of(st: StationStatus, ts: float) -> Forecast | None:
    if st.confidence is None or st.level_m is None:
        return None
    # A status with a confidence has a next level and its threshold; StationStatus does not say so in its types.
    return Forecast(ts, st.level_m, st.next_level, st.next_threshold_m, st.rate_m_per_h or 0.0, st.confidence,  # type: ignore[arg-type]
                    st.eta_s, st.eta_low_s, st.eta_high_s, st.forecast_method or "")


def rewarn(series: StationSeries, rep: Replay, settings: FloodSettings) -> tuple[np.ndarray, np.ndarray]:
    """Re-run the early-warning decision over the recorded forecasts with other settings (for the sweep)."""
    n = len(series.ts)
    level, since = np.zeros(n, dtype=int), np.full(n, np.nan)
    state = WarningState()
    nxt = 0
    for i, fc in rep.forecasts:
        level[nxt:i] = _RANK.get(state.level or "", 0)
        since[nxt:i] = state.since_ts if state.since_ts is not None else np.nan
        state = step_warning(state, fc, float(series.ts[i]), settings).state
        nxt = i
    level[nxt:] = _RANK.get(state.level or "", 0)
    since[nxt:] = state.since_ts if state.since_ts is not None else np.nan
    return level, since


# --- scoring ----------------------------------------------------------------------------------------------------


def crossings(ts: np.ndarray, levels: np.ndarray, threshold: float, gap_s: float = EPISODE_GAP_S) -> list[int]:
    """Indices of the readings that cross `threshold` upward (see the module's definition)."""
    out: list[int] = []
    below_since: float | None = None
    for i in range(len(ts)):
        if levels[i] < threshold:
            if below_since is None:
                # Below since the start of the record counts as long enough: the water was below before it too.
                below_since = -math.inf if i == 0 else float(ts[i])
        else:
            if i > 0 and below_since is not None and ts[i] - below_since >= gap_s:
                out.append(i)
            below_since = None
    return out


def _months(ts: np.ndarray) -> float:
    steps = np.diff(ts)
    return float(steps[steps <= _OUTAGE_S].sum()) / _MONTH_S


def _years(ts: np.ndarray) -> np.ndarray:
    return ts.astype("datetime64[s]").astype("datetime64[Y]").astype(int) + 1970


def _warning_score(series: StationSeries, level: np.ndarray, since: np.ndarray, quiet: set[int],
                   settings: FloodSettings, false_margin_s: float) -> WarningScore:
    ts, lv, cfg = series.ts, series.levels, series.config
    thresholds = [cfg.alarm.bd1_m, cfg.alarm.bd2_m, cfg.alarm.bd3_m, cfg.alarm.record_m]
    score = WarningScore(months=_months(ts))
    years = _years(ts)
    window = settings.forecast_horizon_s + false_margin_s
    starts = np.nonzero((level > 0) & (ts == since))[0]
    for i in starts:
        thr = thresholds[level[i] - 1]
        j = np.searchsorted(ts, ts[i] + window, side="right")
        if thr is None or (j == len(ts) and float(lv[i:].max()) < thr):
            continue  # the data end before the warning could come true or be proven false
        score.warnings += 1
        if float(lv[i:j].max()) < thr:
            score.false += 1
            score.false_in_quiet_years += int(years[i] in quiet)
    return score


def _lead(i: int, k: int, level: np.ndarray, since: np.ndarray, ts: np.ndarray) -> float:
    if i == 0 or level[i - 1] < k or math.isnan(since[i - 1]):
        return 0.0
    return float(ts[i] - since[i - 1])


def score_station(series: StationSeries, rep: Replay, level: np.ndarray, since: np.ndarray,
                  settings: FloodSettings, false_margin_s: float, gap_s: float) -> StationReport:
    """Score one station's replay (with the warning states `level`/`since`, the detector's or a sweep's)."""
    ts, lv, cfg = series.ts, series.levels, series.config
    thresholds = [cfg.alarm.bd1_m, cfg.alarm.bd2_m, cfg.alarm.bd3_m, cfg.alarm.record_m]
    scores: list[LevelScore] = []
    crossed_years: set[int] = set()
    years = _years(ts)
    for k, thr in enumerate(thresholds, start=1):
        if thr is None:
            continue
        sc = LevelScore(LEVEL_NAMES[k - 1])
        for i in crossings(ts, lv, thr, gap_s):
            sc.crossings += 1
            crossed_years.add(int(years[i]))
            later = np.nonzero(rep.alarm[i:] >= k)[0]
            delay = float(ts[i + later[0]] - ts[i]) if len(later) else math.inf
            sc.delays_s.append(delay)
            sc.alerted_on_time += int(delay <= 0)
            if k >= 2:
                sc.leads_s.append(_lead(i, k, level, since, ts))
        sc.alerts = int(np.sum((rep.alarm[:-1] < k) & (rep.alarm[1:] >= k)))
        scores.append(sc)
    quiet = sorted({int(y) for y in years} - crossed_years)
    warn = _warning_score(series, level, since, set(quiet), settings, false_margin_s)
    warn.leads_s = [x for sc in scores for x in sc.leads_s if sc.level in ("BD2", "BD3")]
    step = float(np.median(np.diff(ts))) if len(ts) > 1 else 0.0
    return StationReport(cfg.id, cfg.name, step, len(ts), warn.months, quiet, scores, warn, rep.detections)


def _total(reports: Sequence[StationReport]) -> tuple[list[LevelScore], WarningScore, list[float]]:
    levels: dict[str, LevelScore] = {}
    for r in reports:
        for sc in r.levels:
            t = levels.setdefault(sc.level, LevelScore(sc.level))
            t.crossings += sc.crossings
            t.alerted_on_time += sc.alerted_on_time
            t.delays_s += sc.delays_s
            t.alerts += sc.alerts
            t.leads_s += sc.leads_s
    w = WarningScore()
    hourly: list[float] = []
    for r in reports:
        w.leads_s += r.warnings.leads_s
        w.warnings += r.warnings.warnings
        w.false += r.warnings.false
        w.false_in_quiet_years += r.warnings.false_in_quiet_years
        w.months += r.warnings.months
        if r.step_s <= HOURLY_STEP_S:
            hourly += r.warnings.leads_s
    return [levels[n] for n in LEVEL_NAMES if n in levels], w, hourly


def _share(xs: Sequence[float], at_least: float) -> float | None:
    return sum(x >= at_least for x in xs) / len(xs) if xs else None


def _targets(levels: Sequence[LevelScore], w: WarningScore, hourly: Sequence[float],
             reports: Sequence[StationReport]) -> dict[str, dict[str, Any]]:
    n_cross = sum(sc.crossings for sc in levels)
    on_time = sum(sc.alerted_on_time for sc in levels)
    alerts = sum(sc.alerts for sc in levels)
    apc = alerts / n_cross if n_cross else None
    share = _share(hourly, LEAD_TARGET_S)
    far = w.false / w.warnings if w.warnings else None
    out: dict[str, dict[str, Any]] = {
        "alerted_on_time": {"value": f"{on_time}/{n_cross}", "target": "all", "ok": on_time == n_cross},
        "alerts_per_crossing": {"value": apc, "target": "<= 1.2", "ok": apc is None or apc <= 1.2},
        "lead_2h_share_hourly": {"value": share, "n": len(hourly), "target": ">= 0.7",
                                 "ok": share is None or share >= 0.7},
        "false_warnings_per_station_month": {"value": w.false_per_month, "target": "<= 1",
                                             "ok": w.false_per_month is None or w.false_per_month <= 1},
        "false_warning_share": {"value": far, "n": w.warnings, "target": "< 0.2", "ok": far is None or far < 0.2},
    }
    leads = [x for sc in levels if sc.level in ("BD2", "BD3") for x in sc.leads_s]
    for h in (1, 2, 3):
        out[f"lead_{h}h_share_bd2_bd3"] = {"value": _share(leads, h * 3600.0), "n": len(leads), "target": "report",
                                           "ok": True}
    out["pod_bd2_bd3"] = {"value": _share(leads, 1e-9), "n": len(leads), "target": "report", "ok": True}
    quiet_years = sum(len(r.quiet_years) for r in reports)
    if quiet_years >= 2:
        out["false_warnings_quiet_seasons"] = {"value": w.false_in_quiet_years, "seasons": quiet_years,
                                               "target": "<= 2", "ok": w.false_in_quiet_years <= 2}
    return out


def _median(xs: Sequence[float]) -> float | None:
    return float(np.median(xs)) if xs else None


def evaluate_flood(dir: Path, settings: FloodSettings, *, false_margin_s: float = FALSE_MARGIN_S,
                   episode_gap_s: float = EPISODE_GAP_S, variant: str = "recorded",
                   crossval: Any = None) -> EvalReport:
    """Replay every station of a data folder through the flood detector and score it (see the module docstring).
    With the learnt forecast, each basin is replayed with a model fitted without it (`flood_crossval`), in the
    sampling `variant`; `crossval` reuses a `flood_crossval.Crossval` already built."""
    folder = Path(dir)
    models: dict[str, dict[str, Any]] = {}
    if settings.forecast_learnt:
        from tichwatch.tools.flood_crossval import Crossval, replay_station  # it builds on this module

        cv = crossval if crossval is not None else Crossval.build(folder)
        pairs = [replay_station(st, cv.by_id, settings, cv.model_for(st), variant) for st in cv.stations]
        dataset = Dataset([p[0] for p in pairs], list(cv.skipped))
        replays = [p[1] for p in pairs]
        for st in cv.stations:
            info = cv.model_for(st).info
            models[st.basin] = {"excluded_basins": info.get("excluded_basins"), "rows": info.get("rows"),
                                "trained_on_stations": len(info.get("stations") or [])}
    else:
        from tichwatch.tools.flood_corpus import load_corpus  # it builds on this module (and reads Sri Lanka's)
        from tichwatch.tools.flood_crossval import variant_series

        skipped: list[str] = []
        dataset = Dataset([variant_series(c.series, variant) for c in load_corpus(folder, skipped)], skipped)
        replays = [replay(s, settings) for s in dataset.stations]
    data = dataset.stations
    reports = [score_station(s, r, r.warn_level, r.warn_since, settings, false_margin_s, episode_gap_s)
               for s, r in zip(data, replays)]
    levels, warn, hourly = _total(reports)
    sweep: list[SweepPoint] = []
    ratio = settings.forecast_clear_confidence / settings.forecast_min_confidence
    for c in SWEEP_CONFIDENCES:
        swept = settings.model_copy(update={"forecast_min_confidence": c, "forecast_clear_confidence": c * ratio})
        rs = [score_station(s, r, *rewarn(s, r, swept), swept, false_margin_s, episode_gap_s)
              for s, r in zip(data, replays)]
        _, w, hl = _total(rs)
        sweep.append(SweepPoint(c, _median(w.leads_s), min(w.leads_s) if w.leads_s else None, _share(hl, LEAD_TARGET_S),
                                w.false, w.false_per_month, w.false_in_quiet_years))
    return EvalReport(folder.name, settings.model_dump(), reports, dataset.skipped, levels, warn, hourly,
                      _targets(levels, warn, hourly, reports), sweep, variant, models)


# --- presentation -----------------------------------------------------------------------------------------------


def _h(x: float | None) -> str:
    if x is None:
        return "-"
    if not math.isfinite(x):
        return "never"
    return f"{x / 3600:.1f}h"


def _f(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def format_table(report: EvalReport) -> str:
    """The report as a plain-text table."""
    lines = [f"Flood detector evaluation: {report.dataset}", ""]
    head = f"{'station':<22}{'step':>6}{'months':>7}  {'level':<7}{'cross':>6}{'on time':>8}{'max delay':>10}" \
           f"{'alerts':>7}{'a/cross':>8}{'lead med':>9}{'lead min':>9}"
    lines += [head, "-" * len(head)]

    def level_rows(label: str, step: str, months: str, scores: Sequence[LevelScore]) -> None:
        first = True
        for sc in scores:
            if not sc.crossings and not sc.alerts:
                continue
            lead = sc.leads_s
            lines.append(
                f"{label if first else '':<22}{step if first else '':>6}{months if first else '':>7}  {sc.level:<7}"
                f"{sc.crossings:>6}{sc.alerted_on_time:>8}{_h(max(sc.delays_s) if sc.delays_s else None):>10}"
                f"{sc.alerts:>7}{_f(sc.alerts_per_crossing):>8}{_h(_median(lead)):>9}"
                f"{_h(min(lead) if lead else None):>9}"
            )
            first = False
        if first:
            lines.append(f"{label:<22}{step:>6}{months:>7}  (no crossings, no alerts)")

    for r in report.stations:
        level_rows(f"{r.station_id} {r.name}"[:21], _h(r.step_s), _f(r.months), r.levels)
    lines += [f"skipped {reason}" for reason in report.skipped]
    lines.append("-" * len(head))
    level_rows("TOTAL", "", _f(report.total_warnings.months), report.total_levels)
    lines += ["", f"{'station':<22}{'warnings':>9}{'false':>6}{'false/month':>12}{'quiet yrs':>10}{'false quiet':>12}"
              f"  detections raised"]
    for r in report.stations:
        w = r.warnings
        dets = ", ".join(f"{k}={v}" for k, v in sorted(r.detections.items()))
        lines.append(f"{(r.station_id + ' ' + r.name)[:21]:<22}{w.warnings:>9}{w.false:>6}{_f(w.false_per_month):>12}"
                     f"{len(r.quiet_years):>10}{w.false_in_quiet_years:>12}  {dets}")
    w = report.total_warnings
    lines.append(f"{'TOTAL':<22}{w.warnings:>9}{w.false:>6}{_f(w.false_per_month):>12}"
                 f"{sum(len(r.quiet_years) for r in report.stations):>10}{w.false_in_quiet_years:>12}")
    lines += ["", f"Early-warning lead before BD2/BD3 crossings at hourly stations: "
                  f"{', '.join(_h(x) for x in report.lead_hourly_s) or '-'}", "", "Targets:"]
    for name, t in report.targets.items():
        v = t["value"]
        lines.append(f"  {'ok ' if t['ok'] else 'FAIL'} {name}: {_f(v) if isinstance(v, float) else v} "
                     f"(target {t['target']})")
    lines += ["", "Trade-off (forecast_min_confidence sweep):",
              f"  {'min conf':>8}{'lead med':>9}{'lead min':>9}{'>=2h hourly':>12}{'false':>6}{'false/mo':>9}"
              f"{'false quiet':>12}"]
    for p in report.sweep:
        lines.append(f"  {p.min_confidence:>8.2f}{_h(p.lead_median_s):>9}{_h(p.lead_worst_s):>9}"
                     f"{_f(p.share_lead_2h_hourly):>12}{p.false_warnings:>6}{_f(p.false_per_month):>9}"
                     f"{p.false_in_quiet_years:>12}")
    return "\n".join(lines)


def main_eval(dir: Path, json_out: bool, learnt: bool = False) -> int:
    """CLI entry: evaluate a data folder with the default settings, as recorded, thinned to 3-hourly and irregular,
    print the table (or JSON); 0 when every target holds on the data as recorded, 1 when one fails, 2 when the folder
    cannot be read. With `learnt`, the forecast learnt across rivers,
    leave-one-basin-out, as recorded, thinned to 3-hourly and irregular, with the level-forecast skill and the
    reliability table."""
    settings = FloodSettings(forecast_learnt=learnt)
    try:
        if not settings.forecast_learnt:
            from tichwatch.tools.flood_crossval import VARIANTS, _summary

            reports = [evaluate_flood(Path(dir), settings, variant=v) for v in VARIANTS]
            if json_out:
                print(json.dumps({r.variant: json.loads(r.to_json()) for r in reports}, ensure_ascii=False,
                                 indent=1))
            else:
                print("\n\n".join([format_table(reports[0]), *("\n".join(_summary(r)) for r in reports[1:])]))
            return 0 if all(t["ok"] for t in reports[0].targets.values()) else 1  # the data as recorded
        from tichwatch.tools.flood_crossval import main_crossval

        return main_crossval(Path(dir), settings, json_out)
    except (OSError, ValueError, KeyError, StopIteration) as e:
        print(f"cannot evaluate {dir}: {e}")
        return 2
