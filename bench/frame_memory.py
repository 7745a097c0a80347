"""Peak memory of a frame worker: the worst JPEG frames the default limits let through, each checked, decoded and
judged by the dust detector in a fresh process, against an ordinary 1280×720 camera frame in the same run.

    python bench/frame_memory.py

For each frame the child process feeds a few ordinary frames first (the model, OpenCV and numpy settle), resets the
kernel's peak-RSS mark (/proc/self/clear_refs), handles the frame as the pipeline does (size limit, header checks, then
DustDetector.update) and reports how far the peak rose above its RSS before the frame. The worst frames are the
largest progressive, CMYK, grayscale and restart-marker images at 4096 × 4096, the most elongated shapes accepted,
headers that lie about the size of their data, and the strips (1 × 4096 …) that used to blow the analysis up.
tests/detectors/dust/test_frame_memory.py asserts every figure stays under BOUND_MIB.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

BOUND_MIB = 160
"""Stated bound: a frame worker's memory peaks less than this many MiB above its idle size for any frame within the
default limits (4096 × 4096 pixels, 8 MiB). libjpeg keeps every DCT coefficient of a progressive or multi-scan JPEG
until its last scan, 2 bytes × pixels × components whatever the output scale: 128 MiB for a 4096 × 4096 CMYK frame."""
LIMIT_SIDE_PX = 4096  # LimitsSettings' default max_frame_width_px / max_frame_height_px
_WARMUP_FRAMES = 4


def texture_bgr(width: int, height: int, seed: int = 1, grain: bool = True) -> np.ndarray:
    """A BGR picture that compresses like a camera view: smooth gradients, with pixel grain unless `grain` is False
    (a smooth picture encodes fast and small; the decoder's memory depends on the size, not on the content)."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(rng.integers(0, 255, (height // 32 + 2, width // 32 + 2, 3), dtype=np.uint8), (width, height))
    if not grain:
        return coarse
    noise = rng.integers(-12, 13, (height, width, 1), dtype=np.int16)
    return np.clip(coarse.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def cv2_jpeg(image: np.ndarray, quality: int = 85, progressive: bool = False, sampling: int | None = None,
             restart_interval: int = 0) -> bytes:
    """Encode with OpenCV (libjpeg-turbo): baseline or progressive, a chroma sampling, restart markers."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive),
              cv2.IMWRITE_JPEG_RST_INTERVAL, restart_interval]
    if sampling is not None:
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sampling]
    ok, buf = cv2.imencode(".jpg", image, params)
    if not ok:
        raise RuntimeError("OpenCV could not encode the test frame")
    return buf.tobytes()


def pil_jpeg(image: np.ndarray, mode: str, quality: int = 85, progressive: bool = False) -> bytes:
    """Encode with Pillow in a colour mode OpenCV does not write: "CMYK" (Adobe marker) or "L" (grayscale)."""
    buf = io.BytesIO()
    Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).convert(mode).save(
        buf, "JPEG", quality=quality, progressive=progressive)
    return buf.getvalue()


def announce(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header (SOF) announcing another size: a header that lies about its data."""
    sof = min(i for i in (data.find(b"\xff\xc0"), data.find(b"\xff\xc2")) if i >= 0)
    return data[:sof + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[sof + 9:]


def cut_in_half(data: bytes) -> bytes:
    """The first half of a JPEG with an end-of-image marker put back: a cut frame that passes the header checks."""
    return data[:len(data) // 2] + b"\xff\xd9"


def worst_frames() -> dict[str, Callable[[], bytes]]:
    """Name → maker of each worst-case frame (made lazily: the big ones take a while to encode)."""
    side = LIMIT_SIDE_PX
    big = lambda: texture_bgr(side, side, grain=False)  # noqa: E731 - built when its frame is made
    return {
        "progressive 4096x4096 4:4:4": lambda: cv2_jpeg(big(), progressive=True,
                                                         sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444),
        "progressive 4096x4096 CMYK": lambda: pil_jpeg(big(), "CMYK", progressive=True),
        "progressive 4096x4096 gray": lambda: pil_jpeg(big(), "L", progressive=True),
        "baseline 4096x4096 4:2:0 restart markers": lambda: cv2_jpeg(big(), restart_interval=8),
        "progressive 4096x1024 (4:1)": lambda: cv2_jpeg(texture_bgr(side, side // 4), progressive=True,
                                                        sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444),
        "baseline 1024x4096 (1:4)": lambda: cv2_jpeg(texture_bgr(side // 4, side)),
        "header says 4096x4096, data 640x480 (progressive CMYK)": lambda: announce(
            pil_jpeg(texture_bgr(640, 480), "CMYK", progressive=True), side, side),
        "progressive 4096x4096 cut in half, end marker added": lambda: cut_in_half(cv2_jpeg(big(), progressive=True)),
        "strip 1x4096": lambda: cv2_jpeg(texture_bgr(1, side)),
        "strip 4x4096": lambda: cv2_jpeg(texture_bgr(4, side)),
        "strip 16x4096": lambda: cv2_jpeg(texture_bgr(16, side)),
        "strip 4096x1": lambda: cv2_jpeg(texture_bgr(side, 1)),
    }


def ordinary_frame() -> bytes:
    """The baseline: a 1280×720 baseline 4:2:0 frame, what a site camera sends."""
    return cv2_jpeg(texture_bgr(1280, 720, seed=2))


def measure(jpeg: bytes) -> dict[str, object]:
    """Run the frame through a fresh process; its peak above idle in MiB and the outcome (`ok` or a rejection
    reason)."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        f.write(jpeg)
        f.flush()
        run = subprocess.run([sys.executable, __file__, "--child", f.name], capture_output=True, text=True,
                             timeout=120, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"frame memory child failed: {run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _status_kb(field: str) -> int:
    """A `VmRSS`/`VmHWM` figure of this process, kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _child(path: str) -> None:
    """Handle one frame as a frame worker does and print its peak memory above idle as JSON."""
    from tichwatch.config.dust import DustSettings
    from tichwatch.config.schema import CameraConfig, LimitsSettings
    from tichwatch.core.samples import Frame
    from tichwatch.detectors.dust.detector import DustDetector
    from tichwatch.ingest.jpeg import JpegError, check_jpeg

    limits = LimitsSettings()
    camera = CameraConfig(id="bench", site="bench", lat=21.0, lon=105.6, expected_interval_s=60)
    detector = DustDetector([camera], DustSettings())
    ordinary = ordinary_frame()
    for i in range(_WARMUP_FRAMES):
        detector.update(Frame("bench", 1_717_200_000.0 + 60 * i, ordinary, 1280, 720))
    jpeg = Path(path).read_bytes()
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    idle_kb = _status_kb("VmRSS")
    outcome = "ok"
    try:
        if len(jpeg) > limits.max_frame_bytes:
            raise JpegError("too_large", "over max_frame_bytes")
        width, height = check_jpeg(jpeg, limits.max_frame_width_px, limits.max_frame_height_px)
        detector.update(Frame("bench", 1_717_200_000.0 + 60 * _WARMUP_FRAMES, jpeg, width, height))
    except JpegError as exc:
        outcome = exc.reason
    peak_mib = (_status_kb("VmHWM") - idle_kb) / 1024
    print(json.dumps({"peak_mib": round(peak_mib, 1), "outcome": outcome, "bytes": len(jpeg)}))


def main() -> int:
    """Measure the ordinary frame and every worst-case frame; print each peak and its share of BOUND_MIB; 1 when a
    frame went over the bound or a frame could not be measured."""
    print(f"{'frame':58s} {'bytes':>10s} {'outcome':>24s} {'peak MiB':>8s} {'of bound':>8s}")
    worst = 0.0
    for name, make in {"ordinary 1280x720 4:2:0": ordinary_frame, **worst_frames()}.items():
        r = measure(make())
        peak = float(r["peak_mib"])  # type: ignore[arg-type]
        worst = max(worst, peak)
        print(f"{name:58s} {r['bytes']:>10} {r['outcome']:>24s} {peak:8.1f} {peak / BOUND_MIB:8.0%}")
    print(f"worst peak {worst:.1f} MiB above idle; stated bound {BOUND_MIB} MiB")
    if worst > BOUND_MIB:
        print(f"FAIL: a frame worker peaked at {worst:.1f} MiB, over the stated {BOUND_MIB} MiB")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        raise SystemExit(main())
