"""Cost of the flood detector per reading, as a ratio to committing the same reading to SQLite (WAL) in the same run.

Run: .venv/bin/python bench/flood_detector_cost.py [N]

The detector runs twice: with the default settings (each station's own model and the robust trend) and with the
forecast learnt across rivers (`forecast_learnt`: the shipped model file, features computed at every reading). Exit 1
when either costs more per reading than a FULL-sync commit, or when fewer readings were measured than asked (the data
folder is shorter than N).

The readings are the first N (default 20,000) 10-minute Han River levels from ../shared/data when that folder is
present, else a synthetic tide with flood waves. SQLite: a temp file in WAL mode, one INSERT + commit per reading,
measured with synchronous=FULL (SQLite's default: the commit waits for the disk) and with synchronous=NORMAL.
Each figure is the best of a few interleaved rounds.
"""
from __future__ import annotations

import math
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from tichwatch.config.flood import FloodSettings
from tichwatch.config.schema import AlarmLevels, StationConfig
from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.detector import FloodDetector
from tichwatch.tools.flood_evaluation import load_dataset

HAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "waterlevel-hanriver-seoul-2012-2022"
ROUNDS = 3  # each figure is the best of this many runs, interleaved, so a busy machine distorts the ratio less


def _readings(n: int) -> tuple[StationConfig, list[Reading], str]:
    """Real Han River readings when available, else a synthetic tide with a flood wave every few days."""
    if (HAN / "meta.json").is_file():
        series = load_dataset(HAN).stations[0]
        cfg = series.config
        rows = list(zip(series.ts[:n].tolist(), series.levels[:n].tolist()))
        return cfg, [Reading(cfg.id, t, y, received_ts=t + 2.0) for t, y in rows], f"Han River ({HAN})"
    cfg = StationConfig(id="bench", name="bench", lat=21.0, lon=105.6,
                        alarm=AlarmLevels(bd1_m=3.0, bd2_m=4.0, bd3_m=5.0), expected_interval_s=600,
                        min_level_m=-5.0, max_level_m=15.0)
    out = []
    for i in range(n):
        t = 1_700_000_000.0 + 600.0 * i
        tide = 0.6 * math.sin(2 * math.pi * i / 74.5)
        wave = 3.0 * math.exp(-(((i % 1000) - 500) / 60.0) ** 2)
        out.append(Reading(cfg.id, t, 1.5 + tide + wave, received_ts=t + 2.0))
    return cfg, out, "synthetic tide with flood waves"


def _time_detector(cfg: StationConfig, readings: list[Reading], learnt: bool) -> float:
    det = FloodDetector([cfg], FloodSettings(forecast_learnt=learnt))
    start = time.perf_counter()
    for r in readings:
        det.update(r)
    return time.perf_counter() - start


def _time_sqlite(readings: list[Reading], synchronous: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "bench.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("CREATE TABLE readings (station_id TEXT, ts REAL, level_m REAL, battery_v REAL, "
                   "PRIMARY KEY (station_id, ts))")
        start = time.perf_counter()
        for r in readings:
            db.execute("BEGIN")
            db.execute("INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?)",
                       (r.station_id, r.ts, r.level_m, r.battery_v))
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        db.close()
    return elapsed


def main() -> int:
    """Measure and print the cost per reading and the ratios; 1 when the detector is dearer than a FULL commit or
    fewer readings than asked were measured."""
    asked = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    cfg, readings, source = _readings(asked)
    n = len(readings)
    if n < asked:
        print(f"measured only {n} readings of the {asked} asked ({source}): not a valid run")
        return 1
    default_s = learnt_s = full_s = normal_s = math.inf
    for _ in range(ROUNDS):
        default_s = min(default_s, _time_detector(cfg, readings, learnt=False))
        learnt_s = min(learnt_s, _time_detector(cfg, readings, learnt=True))
        full_s = min(full_s, _time_sqlite(readings, "FULL"))
        normal_s = min(normal_s, _time_sqlite(readings, "NORMAL"))
    us = 1e6 / n
    print(f"readings: {n} ({source})")
    print(f"SQLite WAL INSERT+commit, FULL:   {full_s * us:8.1f} us/reading")
    print(f"SQLite WAL INSERT+commit, NORMAL: {normal_s * us:8.1f} us/reading")
    ok = True
    for name, detector_s in (("default forecast", default_s), ("learnt forecast", learnt_s)):
        print(f"FloodDetector.update, {name}: {detector_s * us:8.1f} us/reading, ratio to a commit: "
              f"FULL {detector_s / full_s:.2f}, NORMAL {detector_s / normal_s:.2f}")
        ok = ok and detector_s < full_s
    print(f"{'ok ' if ok else 'FAIL'} detector per reading below a FULL-sync commit, with either forecast")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
