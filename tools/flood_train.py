"""Train the cross-river flood forecast (seeded, reproducible) and write the model file shipped in the package.

    .venv/bin/python -m tichwatch.tools.flood_train [DATA_FOLDER ...] [--out FILE] [--seed N]

Without folders it reads every `waterlevel-*` folder of ../shared/data. Every station of every folder is used (with
3-hourly thinned copies of the hourly ones); the leave-one-basin-out evaluation (`tichwatch eval flood`) fits its own
models without the basin it scores, through `fit_without`.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from tichwatch.detectors.flood.learnt import SHIPPED_MODEL, LearntModel, fit
from tichwatch.tools.flood_corpus import CorpusStation, Samples, augmented, load_corpus, station_samples

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""Where the shared recorded data lives (next to the repository)."""
SEED = 19
"""Seed of the shipped model's training."""


class FeatureCache:
    """Training rows per (station, sampling) computed once, when a fit first needs them, so the leave-one-out fits
    only select rows (and a basin that is only ever left out is never computed)."""

    def __init__(self, stations: Sequence[CorpusStation]) -> None:
        self.originals = {s.id: s for s in stations}
        self.stations = augmented(list(stations))
        self._samples: dict[int, Samples] = {}

    def samples(self, k: int) -> Samples:
        """The rows of the k-th (station, sampling)."""
        if k not in self._samples:
            self._samples[k] = station_samples(self.stations[k], self.originals)
        return self._samples[k]

    @property
    def entries(self) -> list[tuple[CorpusStation, Samples]]:
        """Every (station, its rows), computing what is missing."""
        return [(st, self.samples(k)) for k, st in enumerate(self.stations)]

    def rows(self, exclude_basins: Iterable[str] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Stacked rows of every station outside `exclude_basins`, and row weights giving every station (each
        sampling of it) the same total weight."""
        skip = set(exclude_basins)
        parts = [p for k, st in enumerate(self.stations) if st.basin not in skip and len((p := self.samples(k)).x)]
        if not parts:
            raise ValueError(f"no recorded series outside {sorted(skip)} to learn from")
        weight = np.concatenate([np.full(len(p.x), 1.0 / len(p.x)) for p in parts])
        return (np.vstack([p.x for p in parts]), np.vstack([p.reach for p in parts]),
                np.vstack([p.change for p in parts]), weight * len(weight) / weight.sum())

    def basins(self) -> list[str]:
        """The basins in the cache, sorted."""
        return sorted({st.basin for st in self.stations})

    def fit_without(self, exclude_basins: Iterable[str] = (), seed: int = SEED) -> LearntModel:
        """A model that never saw `exclude_basins` (its training stations are recorded in `info`)."""
        skip = set(exclude_basins)
        x, reach, change, weight = self.rows(skip)
        used = sorted({st.id for st in self.stations if st.basin not in skip})
        return fit(x, reach, change, weight=weight, seed=seed, info={"stations": used, "excluded_basins": sorted(skip)})


def corpus(folders: Sequence[Path]) -> list[CorpusStation]:
    """Every station of the folders (ids made unique by dataset when two folders share one)."""
    out: list[CorpusStation] = []
    for f in folders:
        out += load_corpus(f)
    return out


def default_folders(root: Path = DEFAULT_DATA) -> list[Path]:
    """The water-level folders of the shared data."""
    return sorted(p for p in root.glob("waterlevel-*") if (p / "meta.json").is_file())


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: train and write the model file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, default=SHIPPED_MODEL)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--exclude-basin", action="append", default=[], metavar="BASIN",
                    help="leave a river basin out of training (e.g. lk-nilwalaganga); repeatable")
    args = ap.parse_args(argv)
    folders = args.folders or default_folders()
    if not folders:
        print("no data folders", file=sys.stderr)
        return 2
    cache = FeatureCache(corpus(folders))
    model = cache.fit_without(args.exclude_basin, seed=args.seed)
    model.info["datasets"] = sorted({Path(f).name for f in folders})
    args.out.write_text(model.to_json(), encoding="utf-8")
    print(f"wrote {args.out}: {model.info['rows']} rows, positives per horizon {model.info['positives']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
