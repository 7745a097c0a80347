"""A tiny recorded-data folder (VNDMS style, hourly, flood waves) for the learnt-forecast tests."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

T0 = 1_760_000_000.0


def wave_levels(n: int, seed: int, peak: float) -> np.ndarray:
    """A calm river with two flood waves of about `peak` metres above its base, and a little noise."""
    rng = np.random.default_rng(seed)
    i = np.arange(n, dtype=float)
    base = 1.0 + 0.05 * np.sin(2 * math.pi * i / 24)
    waves = sum(peak * np.exp(-(((i - c) / 10.0) ** 2)) for c in (n * 0.3, n * 0.75))
    return np.round(base + waves + rng.normal(0, 0.01, n), 3)


def write_folder(folder: Path, n: int = 300) -> Path:
    """Four stations in two basins (A: a1, a2; B: b1, b2), thresholds 2/3/4 m, in `folder`."""
    (folder / "stations").mkdir(parents=True)
    stations = []
    for k, (sid, basin, peak) in enumerate((("a1", "A", 3.6), ("a2", "A", 2.4), ("b1", "B", 3.2), ("b2", "B", 2.8))):
        lv = wave_levels(n, k, peak)
        rows = ["time_utc,level_m"] + [
            f"{np.datetime64(int(T0 + 3600 * i), 's')}Z,{v}" for i, v in enumerate(lv.tolist())]
        (folder / "stations" / f"{sid}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        stations.append({"station_id": sid, "station": f"S {sid}", "river_basin": basin, "lat": 16.0, "lon": 108.0,
                         "file": f"stations/{sid}.csv", "thresholds_m": {"BD1": 2.0, "BD2": 3.0, "BD3": 4.0}})
    (folder / "meta.json").write_text(json.dumps({"other_stations": stations}), encoding="utf-8")
    return folder
