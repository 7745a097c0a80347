"""Dust detector throughput on one core: frames per second at 1280×720 including JPEG decoding, against bare decoding.

    python bench/dust_fps.py [--frames 40] [--repeat 3]

Both figures come from the same frames in the same run, so the ratio holds across machines: ratio = detector fps /
cv2.imdecode fps. Target: at least 0.5 (judging a frame costs no more than decoding it at full size once more); the
reduced-resolution decode is what makes that possible.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from tichwatch.config.dust import DustSettings
from tichwatch.config.schema import CameraConfig
from tichwatch.core.samples import Frame
from tichwatch.detectors.dust.detector import DustDetector
from tichwatch.ingest.jpeg import read_jpeg_header
from tichwatch.tools.dust_synthetic import generate, random_spec


def frames_1280x720(n: int) -> list[bytes]:
    """A synthetic construction scene at 1280×720 with a plume and vehicles, as JPEG bytes (quality 85)."""
    spec = replace(random_spec(7), n_frames=n, size_px=(1280, 720), plume=True, plume_start=n // 3, vehicles=2,
                   jpeg_quality=85)
    return [f.jpeg for f in generate(spec)]


def best_seconds(run, repeat: int) -> float:
    """Fastest of `repeat` timed runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    """Measure and print decode fps, detector fps and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    jpegs = frames_1280x720(args.frames)
    arrays = [np.frombuffer(j, np.uint8) for j in jpegs]
    camera = CameraConfig(id="bench", site="bench", lat=21.0, lon=105.6, expected_interval_s=60)
    settings = DustSettings()

    def decode_all() -> None:
        for a in arrays:
            cv2.imdecode(a, cv2.IMREAD_COLOR)

    detectors = [DustDetector([camera], settings) for _ in range(args.repeat + 1)]  # fresh state for every pass
    frames = [Frame("bench", 1_717_200_000.0 + 60 * i, j, *read_jpeg_header(j)) for i, j in enumerate(jpegs)]

    def detect_all() -> None:
        detector = detectors.pop()
        for frame in frames:
            detector.update(frame)

    with threadpool_limits(1):  # one core: OpenMP and BLAS pools too
        decode_all()
        detect_all()  # warm caches, load the model once outside the timing of the first pass
        t_decode = best_seconds(decode_all, args.repeat)
        t_detect = best_seconds(detect_all, args.repeat)
    n = len(jpegs)
    print(f"frames: {n} at 1280x720, JPEG {sum(map(len, jpegs)) // n // 1024} KiB average, one core")
    print(f"cv2.imdecode (full size):        {n / t_decode:7.1f} fps  {1000 * t_decode / n:6.2f} ms/frame")
    print(f"DustDetector.update (+ decode):  {n / t_detect:7.1f} fps  {1000 * t_detect / n:6.2f} ms/frame")
    print(f"ratio detector/decode:           {t_decode / t_detect:7.2f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
