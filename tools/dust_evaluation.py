"""Evaluation of the dust detector on labelled frame folders and on synthetic scenes never used in training.

A labelled folder holds frames.csv (path, label, sequence, camera, epoch_s, ...) and optionally labels.csv
(path, label); label `smoke` (or `dust`) marks frames with a plume. Each sequence runs through a fresh DustDetector
exactly as in operation; the report gives the delay from the labelled onset to the first dust detection, false
detections before it, per-frame precision/recall/F1 of the frame decision (dust index ≥ on_threshold) and of the alarm
state (detection active, i.e. after persistence and hysteresis), and frames per second including JPEG decoding.
"""
from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tichwatch.config.dust import DustSettings
from tichwatch.config.schema import CameraConfig
from tichwatch.core.samples import Frame
from tichwatch.detectors.dust.detector import DUST_KIND, DustDetector
from tichwatch.ingest.jpeg import read_jpeg_header
from tichwatch.tools.dust_synthetic import cell_labels, generate, random_spec
from tichwatch.tools.dust_train import read_folder

EVAL_SEEDS = range(100_000, 100_040)
"""Synthetic evaluation seeds; training uses tichwatch.tools.dust_train.TRAIN_SEEDS, far below these."""


@dataclass(frozen=True)
class Scores:
    """Per-frame precision, recall and F1 of one decision."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        """Share of flagged frames that show dust."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        """Share of dust frames that were flagged."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """Counts and rates, rounded."""
        return {**asdict(self), "precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "f1": round(self.f1, 3)}


@dataclass(frozen=True)
class SequenceResult:
    """How the detector did on one labelled sequence."""

    sequence: str
    frames: int
    dust_frames: int
    onset_ts: float | None
    first_detection_ts: float | None
    delay_s: float | None  # first dust detection at or after the onset, minus the onset
    false_detections_before_onset: int
    frame: Scores  # decision per frame: dust index at or above on_threshold
    alarm: Scores  # decision per frame: dust detection active
    fps: float
    indices: list[float | None]


@dataclass(frozen=True)
class DustReport:
    """Results of every sequence of an evaluation."""

    name: str
    sequences: list[SequenceResult]

    def pooled(self) -> tuple[Scores, Scores]:
        """Frame and alarm scores summed over all sequences."""
        return (_sum(r.frame for r in self.sequences), _sum(r.alarm for r in self.sequences))

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        frame, alarm = self.pooled()
        return {"name": self.name, "frame": frame.as_dict(), "alarm": alarm.as_dict(),
                "sequences": [{**asdict(r), "frame": r.frame.as_dict(), "alarm": r.alarm.as_dict()}
                              for r in self.sequences]}


def run_sequence(name: str, frames: Iterable[tuple[bytes, float, bool | None]], settings: DustSettings,
                 model_path: Path | None = None, interval_s: int = 60) -> SequenceResult:
    """Feed (jpeg, ts, label) frames to a fresh detector; label None = ambiguous, left out of the per-frame scores."""
    camera = CameraConfig(id="eval", site=name, lat=0.0, lon=0.0, expected_interval_s=interval_s)
    detector = DustDetector([camera], settings, model_path)
    counts = {"frame": [0, 0, 0, 0], "alarm": [0, 0, 0, 0]}  # tp, fp, fn, tn
    onset = first = None
    false_before = n = dust_frames = 0
    active = False
    spent = 0.0
    indices: list[float | None] = []
    for jpeg, ts, label in frames:
        width, height = read_jpeg_header(jpeg)
        start = time.perf_counter()
        detections = detector.update(Frame("eval", ts, jpeg, width, height))
        spent += time.perf_counter() - start
        n += 1
        if label and onset is None:
            onset = ts
        dust_frames += bool(label)
        for d in detections:
            if d.kind != DUST_KIND:
                continue
            active = d.active
            if d.active and onset is None:
                false_before += 1
            elif d.active and first is None:
                first = ts
        status = detector.status("eval")
        index = status.dust_index if status else None
        indices.append(None if index is None else round(index, 3))
        if label is not None:
            _count(counts["frame"], label, index is not None and index >= detector.settings.on_threshold)
            _count(counts["alarm"], label, active)
    return SequenceResult(name, n, dust_frames, onset, first, None if first is None or onset is None else first - onset,
                          false_before, Scores(*counts["frame"]), Scores(*counts["alarm"]),
                          n / spent if spent else 0.0, indices)


def evaluate_dust(folder: Path, settings: DustSettings | None = None, model_path: Path | None = None) -> DustReport:
    """Run every sequence of a labelled frame folder through the detector."""
    settings = settings or DustSettings()
    results = []
    for name, frames in read_folder(folder).items():
        gaps = sorted(b.ts - a.ts for a, b in itertools.pairwise(frames)) or [60.0]
        interval = max(1, round(gaps[len(gaps) // 2]))
        results.append(run_sequence(name, ((f.path.read_bytes(), f.ts, f.dust) for f in frames), settings,
                                    model_path, interval))
    return DustReport(folder.name, results)


def evaluate_synthetic(seeds: Iterable[int] = EVAL_SEEDS, settings: DustSettings | None = None,
                       model_path: Path | None = None) -> DustReport:
    """Run synthetic sequences (seeds never used in training) through the detector; faint-plume frames are left out."""
    settings = settings or DustSettings()
    results = []
    for seed in seeds:
        frames = []
        for f in generate(random_spec(seed)):
            labels = cell_labels(f.plume_change, settings.grid_rows, settings.grid_cols)
            label = True if (labels == 1).any() else False if (labels == 0).all() else None
            frames.append((f.jpeg, f.ts, label))
        results.append(run_sequence(f"seed {seed}", frames, settings, model_path))
    return DustReport("synthetic", results)


def format_table(report: DustReport) -> str:
    """A plain-text table: one line per sequence and a pooled line."""
    head = (f"{'sequence':<34} {'frames':>6} {'dust':>5} {'delay':>8} {'false':>5} {'P':>5} {'R':>5} {'F1':>5} "
            f"{'alarmF1':>7} {'fps':>6}")
    lines = [f"dust evaluation: {report.name}", head, "-" * len(head)]
    for r in report.sequences:
        delay = "-" if r.delay_s is None else f"{r.delay_s / 60:.1f}min"
        lines.append(f"{r.sequence[:34]:<34} {r.frames:>6} {r.dust_frames:>5} {delay:>8} "
                     f"{r.false_detections_before_onset:>5} {r.frame.precision:>5.2f} {r.frame.recall:>5.2f} "
                     f"{r.frame.f1:>5.2f} {r.alarm.f1:>7.2f} {r.fps:>6.1f}")
    frame, alarm = report.pooled()
    lines.append("-" * len(head))
    lines.append(f"{'all':<34} {sum(r.frames for r in report.sequences):>6} "
                 f"{sum(r.dust_frames for r in report.sequences):>5} {'':>8} "
                 f"{sum(r.false_detections_before_onset for r in report.sequences):>5} {frame.precision:>5.2f} "
                 f"{frame.recall:>5.2f} {frame.f1:>5.2f} {alarm.f1:>7.2f}")
    return "\n".join(lines)


def main_eval(folder: Path, json_out: bool, model_path: Path | None = None, loco: bool = False) -> int:
    """`tichwatch eval dust DIR [--model PATH] [--loco]`: evaluate a labelled folder, print a table (or JSON).

    `model_path` is a model file written by `python -m tichwatch.tools.dust_train` (default: the packaged one). With
    `loco`, DIR is the shared data folder and the backbone head is evaluated leave-one-camera-out over its real
    fixed-camera folders, k-fold over its web photos (tools/dust_loco.py). Returns 2 when the folder or the model file
    is unusable.
    """
    if loco:
        from tichwatch.tools.dust_loco import evaluate_folder, format_report

        try:
            result = evaluate_folder(folder)
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(json.dumps(result, indent=2) if json_out else format_report(result))
        return 0
    if not (folder / "frames.csv").is_file():
        print(f"{folder}: no frames.csv (expected a labelled frame folder)", file=sys.stderr)
        return 2
    if model_path is not None and not model_path.is_file():
        print(f"{model_path}: no such model file", file=sys.stderr)
        return 2
    report = evaluate_dust(folder, model_path=model_path)
    print(json.dumps(report.as_dict(), indent=2) if json_out else format_table(report))
    return 0


def _count(c: list[int], label: bool, flagged: bool) -> None:
    c[0 if label and flagged else 1 if flagged else 2 if label else 3] += 1


def _sum(scores: Iterable[Scores]) -> Scores:
    tp = fp = fn = tn = 0
    for s in scores:
        tp, fp, fn, tn = tp + s.tp, fp + s.fp, fn + s.fn, tn + s.tn
    return Scores(tp, fp, fn, tn)


def main(argv: Sequence[str] | None = None) -> int:
    """python -m tichwatch.tools.dust_evaluation DIR [--json] | --synthetic: the evaluation from the command line."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tichwatch.tools.dust_evaluation")
    parser.add_argument("folder", type=Path, nargs="?", help="labelled frame folder")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--synthetic", action="store_true", help="evaluate synthetic scenes (unseen seeds) instead")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: the packaged one)")
    parser.add_argument("--loco", action="store_true", help="folder is the shared data folder: leave-one-camera-out "
                        "evaluation of the backbone head")
    args = parser.parse_args(argv)
    if args.synthetic:
        report = evaluate_synthetic(model_path=args.model)
    elif args.folder is None:
        parser.error("a folder or --synthetic is required")
    else:
        return main_eval(args.folder, args.json, args.model, args.loco)
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
