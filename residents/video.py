"""The video bulletin: the card and the chart of a bulletin shown while its radio audio plays, as an MP4 that YouTube
takes as it is (H.264 High, yuv420p, AAC-LC 48 kHz stereo, the `moov` atom first: `-movflags +faststart`).

The video lasts as long as the spoken bulletin (ffprobe reads the audio's duration): the card for the first part,
then the chart (the card alone when the bulletin has no chart), each scaled into the frame on white. ffmpeg runs with
a time limit and an output size limit (`-fs`, checked again afterwards: a video cut at the limit is refused, never
uploaded). It is made once per bulletin and language, `video-<lang>.mp4` in the bulletin's folder, and made again only
when the card, chart or audio is newer than it; one ffmpeg at a time per process, at a lower priority (nice 10) than
the service, so the alert pipeline keeps its cores.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tichwatch.residents.bulletins.files import BulletinFiles

VIDEO_TYPE = "video/mp4"
"""Media type of the video file."""

CARD_SHARE = 0.5
"""Part of the duration the card is shown before the chart (when the bulletin has one)."""

LONGEST_AUDIO_S = 15 * 60.0
"""Longest spoken bulletin made into a video, seconds (the radio script's limit is about seven minutes of speech)."""


class VideoUnavailable(RuntimeError):
    """The video cannot be made: a missing input or tool, ffmpeg failed, ran out of time or passed the size limit.
    `lasting` is False for what may pass by itself (ffmpeg out of time on a busy machine)."""

    def __init__(self, message: str, lasting: bool = True):
        super().__init__(message)
        self.lasting = lasting


@dataclass(frozen=True)
class VideoSpec:
    """How the video is made: frame size, frame rate, quality and the limits on ffmpeg."""

    width: int = 1280
    height: int = 720
    fps: int = 10  # a still picture: few frames, little work; YouTube takes any rate
    crf: int = 28
    audio_kbps: int = 96
    max_bytes: int = 64 * 1024 * 1024
    timeout_s: float = 300.0
    threads: int = 2


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says of a media file: its duration and its streams' codecs and (video) dimensions."""

    duration_s: float
    codecs: tuple[str, ...]
    width: int | None = None
    height: int | None = None
    pix_fmt: str | None = None


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise VideoUnavailable(f"{name} is not installed: install the Debian package ffmpeg")
    return path


def probe(path: Path, timeout_s: float = 30.0) -> MediaInfo:
    """Duration and streams of a media file (ffprobe); VideoUnavailable when it is not one."""
    try:
        done = subprocess.run([_tool("ffprobe"), "-v", "error", "-print_format", "json", "-show_format",
                               "-show_streams", str(path)], capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise VideoUnavailable(f"ffprobe took more than {timeout_s:g} s", lasting=False) from exc
    if done.returncode != 0:
        raise VideoUnavailable(f"ffprobe cannot read {path.name}: {done.stderr.decode(errors='replace')[:200]}")
    data = json.loads(done.stdout)
    streams = data.get("streams") or []
    video: dict[str, Any] = next((s for s in streams if s.get("codec_type") == "video"), {})
    return MediaInfo(float((data.get("format") or {}).get("duration") or 0.0),
                     tuple(str(s.get("codec_name")) for s in streams), video.get("width"), video.get("height"),
                     video.get("pix_fmt"))


def segments(duration_s: float, has_chart: bool) -> list[tuple[str, float]]:
    """What is shown for how long: ("card", s) then ("chart", s), together exactly the audio's duration."""
    if not has_chart:
        return [("card", duration_s)]
    card_s = round(duration_s * CARD_SHARE, 3)
    return [("card", card_s), ("chart", duration_s - card_s)]


def ffmpeg_args(pictures: list[tuple[Path, float]], audio: Path, out: Path, duration_s: float,
                spec: VideoSpec) -> list[str]:
    """The ffmpeg command: each picture looped for its time, scaled into the frame on white, joined, with the audio
    as AAC; H.264 yuv420p, faststart, at most `spec.max_bytes`."""
    w, h = spec.width, spec.height
    inputs: list[str] = []
    chains: list[str] = []
    for i, (picture, seconds) in enumerate(pictures):
        inputs += ["-i", str(picture)]  # one frame, scaled once, then repeated (tpad clones: no work per frame)
        chains.append(f"[{i}:v]scale={w}:{h}:force_original_aspect_ratio=decrease,"
                      f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=white,setsar=1,format=yuv420p,"
                      f"tpad=stop_mode=clone:stop_duration={seconds:.3f},fps={spec.fps},"
                      f"trim=duration={seconds:.3f},setpts=PTS-STARTPTS[v{i}]")
    joined = "".join(f"[v{i}]" for i in range(len(pictures)))
    graph = ";".join([*chains, f"{joined}concat=n={len(pictures)}:v=1:a=0[v]"])
    return [_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *inputs, "-i", str(audio),
            "-filter_complex", graph, "-map", "[v]", "-map", f"{len(pictures)}:a:0",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-crf", str(spec.crf),
            "-profile:v", "high", "-pix_fmt", "yuv420p", "-r", str(spec.fps), "-g", str(spec.fps * 10),
            "-c:a", "aac", "-b:a", f"{spec.audio_kbps}k", "-ar", "48000", "-ac", "2",
            "-t", f"{duration_s:.3f}", "-movflags", "+faststart", "-fs", str(spec.max_bytes),
            "-threads", str(spec.threads), "-f", "mp4", str(out)]


def make_video(card: Path, chart: Path | None, audio: Path, out: Path, spec: VideoSpec = VideoSpec()) -> Path:
    """Make the video of a card, an optional chart and the spoken audio into `out` (written whole or not at all)."""
    for needed in (card, audio):
        if not needed.is_file():
            raise VideoUnavailable(f"{needed.name} is missing")
    duration_s = probe(audio).duration_s
    if not 0.5 <= duration_s <= LONGEST_AUDIO_S:
        raise VideoUnavailable(f"the audio lasts {duration_s:.1f} s; a video needs 0.5 s to {LONGEST_AUDIO_S:g} s")
    has_chart = chart is not None and chart.is_file()
    shown = {"card": card, "chart": chart or card}
    pictures = [(shown[name], seconds) for name, seconds in segments(duration_s, has_chart)]
    tmp = out.with_name(out.name + ".tmp")
    try:
        nice = shutil.which("nice")  # below the alert pipeline: a video may wait, a flood alert may not
        args = ([nice, "-n", "10"] if nice else []) + ffmpeg_args(pictures, audio, tmp, duration_s, spec)
        done = subprocess.run(args, capture_output=True, timeout=spec.timeout_s, check=False)
        if done.returncode != 0:
            raise VideoUnavailable(f"ffmpeg failed: {done.stderr.decode(errors='replace')[-300:]}")
        if tmp.stat().st_size >= spec.max_bytes:
            raise VideoUnavailable(f"the video reached the size limit of {spec.max_bytes} bytes")
        os.replace(tmp, out)
    except subprocess.TimeoutExpired as exc:
        raise VideoUnavailable(f"ffmpeg took more than {spec.timeout_s:g} s", lasting=False) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return out


class BulletinVideos:
    """Video bulletins in the bulletins' folders, made on first use and kept."""

    def __init__(self, files: BulletinFiles, spec: VideoSpec = VideoSpec()):
        self.files = files
        self.spec = spec
        self._making = threading.Lock()  # one ffmpeg at a time

    def video(self, bulletin_id: str, lang: str) -> Path:
        """The bulletin's video in a language (its card and chart, the Vietnamese radio audio): the kept one, or made
        now when missing or older than its inputs. VideoUnavailable when it cannot be made."""
        card = self.files.path(bulletin_id, f"card-{lang}.png")
        chart = self.files.path(bulletin_id, f"chart-{lang}.png")
        audio = self.files.audio(bulletin_id)
        if audio is None:
            raise VideoUnavailable("the bulletin has no radio audio (bulletins.audio off, or the synthesis failed)")
        out = self.files.path(bulletin_id, f"video-{lang}.mp4")
        with self._making:
            inputs = [p for p in (card, chart, audio) if p.is_file()]
            if out.is_file() and all(p.stat().st_mtime <= out.stat().st_mtime for p in inputs):
                return out
            return make_video(card, chart if chart.is_file() else None, audio, out, self.spec)
