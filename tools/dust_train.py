"""Train the per-cell plume classifier, reproducibly.

    python -m tichwatch.tools.dust_train --data /work/shared/data/smoke-figlib-hpwren-sequences \
        --out detectors/dust/model.joblib

Training rows come from three sources, all run through the detector's own scene model so features are computed exactly
as in operation: synthetic construction scenes (seeds TRAIN_SEEDS; plumes plus clouds, cloud shadows, vehicles, rain,
lighting changes as negatives); plumes composited onto the real clear frames of a labelled folder; and the real smoke
frames of that folder, whose frame labels are turned into cell labels by comparing each cell's change with the largest
change the same cell showed during the clear frames. Without a data folder the model is trained on synthetic scenes
only. Leave-out variants: --real clear (real frames only as backdrops for composited plumes), --real none; neither
detects the real sequence's plume (see bench/dust_transfer.py and the README). A run takes about 11 min on 2 cores
(480 synthetic sequences at about 2.5 s each, then two fits).

    python -m tichwatch.tools.dust_train --head ../shared/data/smoke-figlib-hpwren-sequences \
        ../shared/data/smoke-hpwren-extra ../shared/data/smoke-web-photos

trains the pretrained backbone's cell head instead (tools/dust_loco.py: real camera frames, web photos and synthetic
seeds SYNTHETIC_SEEDS; seeded) and writes detectors/dust/backbone_head.npz.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import sklearn

from tichwatch.config.dust import DustSettings
from tichwatch.detectors.dust.backbone import HEAD_PATH
from tichwatch.detectors.dust.background import SceneModel
from tichwatch.detectors.dust.classifier import MODEL_PATH, DustModel, fit_model
from tichwatch.detectors.dust.jpeg import analysis_image, decode_reduced
from tichwatch.tools.dust_synthetic import SyntheticFrame, cell_labels, generate, random_spec

TRAIN_SEEDS = range(0, 480)
"""Seeds of the synthetic training sequences; evaluation uses seeds from 100,000 up, never these."""
COMPOSITE_SEEDS = range(1000, 1024)
"""Seeds of the plumes composited onto real clear frames."""
REAL_WEIGHT = 30.0
"""Weight of a real-sequence row against a synthetic one: few real rows, but they are the real thing."""
COMPOSITE_WEIGHT = 2.0
"""Weight of a row from a plume composited onto a real frame against a synthetic one."""
REAL_MARGIN_LEVELS = 4.0
"""A real smoke-frame cell is dust when its peak change exceeds the most it changed in the clear frames by this much."""
REAL_MIN_LEVELS = 6.0
"""... and by at least this much in absolute terms (0..255): below, a change is too faint to call."""
_NEGATIVE_KEEP = 0.15  # share of unchanged negative cells kept: they are plentiful and easy
_HARD_PEAK = 0.02  # negative cells whose peak change exceeds this (vehicles, shadows, clouds) are all kept


@dataclass
class TrainingRows:
    """Feature rows, labels and weights gathered from sequences."""

    x: list[np.ndarray] = field(default_factory=list)
    y: list[np.ndarray] = field(default_factory=list)
    w: list[np.ndarray] = field(default_factory=list)
    counts: dict[str, list[int]] = field(default_factory=dict)

    def add(self, source: str, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> None:
        """Append rows from one source."""
        self.x.append(x)
        self.y.append(y)
        self.w.append(w)
        pos_neg = self.counts.setdefault(source, [0, 0])
        pos_neg[0] += int(y.sum())
        pos_neg[1] += int((y == 0).sum())

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All rows as (x, y, w) arrays."""
        return np.concatenate(self.x), np.concatenate(self.y), np.concatenate(self.w)


@dataclass(frozen=True)
class Task:
    """One sequence to turn into rows: a synthetic seed, a composite seed over a real folder, or a real sequence."""

    source: str  # "synthetic", "composite" or "real"
    seed: int
    folder: Path | None = None
    sequence: str | None = None


def synthetic_labels(frame: SyntheticFrame, settings: DustSettings) -> np.ndarray:
    """Cell labels of a synthetic frame: 1 dust, 0 clear, -1 too faint to say."""
    return cell_labels(frame.plume_change, settings.grid_rows, settings.grid_cols)


def run_task(task: Task, settings: DustSettings) -> TrainingRows:
    """The rows of one task; its sampling is seeded by the task alone, so tasks can run in any order or process."""
    rows = TrainingRows()
    rng = np.random.default_rng([task.seed, ("synthetic", "composite", "real").index(task.source)])
    if task.source == "synthetic":
        frames = ((f.jpeg, f.ts, synthetic_labels(f, settings)) for f in generate(random_spec(task.seed)))
        learn_sequence(frames, settings, rows, "synthetic", 1.0, rng)
        return rows
    assert task.folder is not None and task.sequence is not None
    sequence = read_folder(task.folder)[task.sequence]
    if task.source == "real":
        real_rows(sequence, settings, rows, REAL_WEIGHT, rng)
        return rows
    clear = [decode_reduced(f.path.read_bytes(), 640)[0] for f in sequence if not f.dust]
    h, w = clear[0].shape[:2]
    spec = replace(random_spec(task.seed, n_frames=len(clear), size_px=(w, h)), plume=True, sky_clouds=False,
                   overlay=False, noise_sigma=1.0, jpeg_quality=88)
    frames = ((f.jpeg, f.ts, synthetic_labels(f, settings)) for f in generate(spec, base_frames=clear))
    learn_sequence(frames, settings, rows, "composite", COMPOSITE_WEIGHT, rng)
    return rows


def learn_sequence(frames: Iterable[tuple[bytes, float, np.ndarray | None]], settings: DustSettings,
                   rows: TrainingRows, source: str, weight: float, rng: np.random.Generator) -> None:
    """Run one sequence through a fresh scene model; frames with labels None are learned but give no rows."""
    scene = SceneModel(settings, np.ones((settings.grid_rows, settings.grid_cols), bool))
    last_ts: float | None = None
    for jpeg, ts, labels in frames:
        img, _ = analysis_image(jpeg, settings.analysis_width_px)
        comparison = scene.compare(img)
        if comparison.features is not None and labels is not None:
            _add_frame(rows, source, comparison.features.matrix, comparison.features.peak, labels, weight, rng)
        scene.learn(comparison, 0.0 if last_ts is None else ts - last_ts)
        scene.advance(comparison)
        last_ts = ts


def _add_frame(rows: TrainingRows, source: str, matrix: np.ndarray, peak: np.ndarray, labels: np.ndarray,
               weight: float, rng: np.random.Generator) -> None:
    lab = labels.ravel()
    hard = peak.ravel() > _HARD_PEAK
    keep_p = np.where(lab == 1, 1.0, np.where(hard, 1.0, _NEGATIVE_KEEP))
    keep = (lab >= 0) & (rng.random(lab.size) < keep_p)
    rows.add(source, matrix[keep], lab[keep].astype(np.int8), (weight / keep_p[keep]).astype(np.float32))


DUST_LABELS = ("smoke", "dust")
"""Frame labels of a labelled folder that mean a plume is in view; anything else is clear."""


@dataclass(frozen=True)
class LabelledFrame:
    """One frame of a labelled folder (frames.csv / labels.csv)."""

    path: Path
    sequence: str
    camera: str
    ts: float
    dust: bool


def read_folder(folder: Path) -> dict[str, list[LabelledFrame]]:
    """The frames of a labelled folder by sequence, in time order; labels.csv overrides frames.csv's labels."""
    with open(folder / "frames.csv", newline="") as fh:
        listed = list(csv.DictReader(fh))
    labels: dict[str, str] = {}
    if (folder / "labels.csv").exists():
        with open(folder / "labels.csv", newline="") as fh:
            labels = {r["path"]: r["label"] for r in csv.DictReader(fh)}
    by_seq: dict[str, list[LabelledFrame]] = {}
    for r in listed:
        label = labels.get(r["path"], r.get("label", ""))
        frame = LabelledFrame(folder / r["path"], r.get("sequence") or "default", r.get("camera") or r.get("sequence")
                              or "camera", float(r["epoch_s"]), label in DUST_LABELS)
        by_seq.setdefault(frame.sequence, []).append(frame)
    return {k: sorted(v, key=lambda f: f.ts) for k, v in sorted(by_seq.items())}


def real_rows(frames: Sequence[LabelledFrame], settings: DustSettings, rows: TrainingRows, weight: float,
              rng: np.random.Generator) -> None:
    """Rows from a real labelled sequence: clear frames are all-clear cells, smoke frames get derived cell labels."""
    shape = (settings.grid_rows, settings.grid_cols)
    scene = SceneModel(settings, np.ones(shape, bool))
    clear_max = np.zeros(shape, np.float32)
    last_ts: float | None = None
    for f in frames:
        img, _ = analysis_image(f.path.read_bytes(), settings.analysis_width_px)
        comparison = scene.compare(img)
        labels = np.zeros(shape, np.int8)
        if comparison.features is not None:
            peak = comparison.features.peak * 255.0
            if f.dust:
                floor = np.maximum(clear_max + REAL_MARGIN_LEVELS, REAL_MIN_LEVELS)
                labels = np.where(peak >= floor, 1, np.where(peak <= clear_max, 0, -1)).astype(np.int8)
            else:
                np.maximum(clear_max, peak, out=clear_max)
            _add_frame(rows, "real", comparison.features.matrix, comparison.features.peak, labels, weight, rng)
        scene.learn(comparison, 0.0 if last_ts is None else f.ts - last_ts)
        scene.advance(comparison)
        last_ts = f.ts


def train(data: Path | None, out: Path, real: str = "all", seed: int = 0, settings: DustSettings | None = None,
          synthetic_seeds: Iterable[int] = TRAIN_SEEDS, jobs: int | None = None) -> DustModel:
    """Build the training rows, fit the classifier and write it to `out`; `real` is 'all', 'clear' or 'none'."""
    settings = settings or DustSettings()
    synthetic_seeds = list(synthetic_seeds)
    tasks = [Task("synthetic", s) for s in synthetic_seeds]
    info: dict[str, object] = {"synthetic_seeds": [min(synthetic_seeds), max(synthetic_seeds) + 1], "real": "none",
                               "seed": seed, "sklearn": sklearn.__version__}
    if data is not None and real != "none":
        sequences = sorted(read_folder(data))
        for name in sequences:
            tasks += [Task("composite", s, data, name) for s in COMPOSITE_SEEDS]
            if real == "all":
                tasks.append(Task("real", 0, data, name))
        info.update(real=real, data=data.name, sequences=sequences,
                    composite_seeds=[COMPOSITE_SEEDS.start, COMPOSITE_SEEDS.stop])
    rows = TrainingRows()
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        for part in pool.map(partial(run_task, settings=settings), tasks, chunksize=4):  # results keep task order
            for source, count in part.counts.items():
                rows.counts.setdefault(source, [0, 0])
                rows.counts[source] = [a + b for a, b in zip(rows.counts[source], count)]
            rows.x += part.x
            rows.y += part.y
            rows.w += part.w
    x, y, w = rows.arrays()
    info["rows"] = {k: {"dust": v[0], "clear": v[1]} for k, v in rows.counts.items()}
    model = fit_model(x, y, w, seed, info)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    return model


def train_head(folders: Sequence[Path], out: Path, seed: int = 0) -> int:
    """Train the backbone's cell head on every image of these folders and write it (see tools/dust_loco.py)."""
    from tichwatch.detectors.dust.backbone import Backbone
    from tichwatch.tools.dust_loco import SYNTHETIC_SEEDS, embed, fit_head, read_images, synthetic_images

    cameras = [f for f in folders if _has_cameras(f)]
    photos = [f for f in folders if f not in cameras]
    images = read_images(cameras, photos[0] if photos else None)
    for extra in photos[1:]:
        images += read_images([], extra)
    images += synthetic_images(SYNTHETIC_SEEDS)
    embed(images, Backbone())
    model = fit_head(images, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.head.save(out)
    print(f"wrote {out} ({out.stat().st_size} bytes): trained on {sorted(model.trained_on)}, {len(images)} images")
    return 0


def _has_cameras(folder: Path) -> bool:
    with open(folder / "frames.csv", newline="") as fh:
        return any((r.get("camera") or "").strip() for r in csv.DictReader(fh))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: train and write the model file."""
    parser = argparse.ArgumentParser(prog="python -m tichwatch.tools.dust_train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="labelled frame folder (frames.csv, labels.csv)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help="model file to write")
    parser.add_argument("--real", choices=("all", "clear", "none"), default="all",
                        help="use the folder's smoke and clear frames (all), only its clear frames as backdrops for "
                             "composited plumes (clear), or synthetic scenes only (none)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the classifier's fitting")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--head", nargs="+", type=Path, default=None, metavar="FOLDER",
                        help="instead: train the backbone's cell head on these labelled folders (fixed-camera "
                             "sequences and web photos; a folder whose frames have no camera is taken as photos) and "
                             "synthetic scenes, and write it to --out (default detectors/dust/backbone_head.npz)")
    args = parser.parse_args(argv)
    if args.head is not None:
        return train_head(args.head, args.out if args.out != MODEL_PATH else HEAD_PATH, args.seed)
    data = args.data if args.data is not None and (args.data / "frames.csv").exists() else None
    if args.data is not None and data is None:
        print(f"{args.data}: no frames.csv; training on synthetic scenes only", file=sys.stderr)
    model = train(data, args.out, args.real, args.seed, jobs=args.jobs)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): {model.info}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
