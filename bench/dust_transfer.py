"""Dust detector transfer to real footage it never saw: train leave-out models, evaluate them on the real sequence.

    python bench/dust_transfer.py --data ../shared/data/smoke-figlib-hpwren-sequences [--variants none clear] \
        [--jobs 2] [--keep DIR]

For each variant the seeded training script (`python -m tichwatch.tools.dust_train --real VARIANT`) writes a model to a
temporary folder (or DIR), never over the packaged model; the model is then run through the real labelled sequence
(`tichwatch eval dust DATA --model PATH`) and through the unseen synthetic seeds (`evaluate_synthetic`). `none`
(synthetic scenes only) is the unseen-real figure; `clear` composites synthetic plumes onto the sequence's own clear
frames, so it has seen the scene (not the plume) and is reported apart. One variant trains in about 11 min on 2 cores.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tichwatch.tools.dust_evaluation import DustReport, evaluate_dust, evaluate_synthetic
from tichwatch.tools.dust_train import train


def summary(report: DustReport) -> str:
    """One line: delay to first detection (or misses), false detections before onset, pooled per-frame P/R/F1."""
    frame, _ = report.pooled()
    delays = [r.delay_s / 60 for r in report.sequences if r.delay_s is not None]
    missed = sum(1 for r in report.sequences if r.dust_frames and r.first_detection_ts is None)
    false = sum(r.false_detections_before_onset for r in report.sequences)
    delay = f"{min(delays):.1f}–{max(delays):.1f} min" if delays else "never"
    return (f"delay {delay}, missed {missed}, false before onset {false} | "
            f"P {frame.precision:.2f} R {frame.recall:.2f} F1 {frame.f1:.2f}")


def main() -> None:
    """Train each variant and print its real-sequence and synthetic figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="labelled real frame folder (frames.csv)")
    parser.add_argument("--variants", nargs="+", choices=("none", "clear", "all"), default=["none", "clear"])
    parser.add_argument("--jobs", type=int, default=None, help="training worker processes (default: all cores)")
    parser.add_argument("--keep", type=Path, default=None, help="write the models here instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        for variant in args.variants:
            path = folder / f"dust-{variant}.joblib"
            train(args.data, path, variant, jobs=args.jobs)
            print(f"--real {variant:<5} real sequence:   {summary(evaluate_dust(args.data, model_path=path))}")
            print(f"--real {variant:<5} synthetic seeds: {summary(evaluate_synthetic(model_path=path))}", flush=True)


if __name__ == "__main__":
    main()
