"""A package's MP3: the spoken script synthesised by residents.speech (espeak-ng, voice vi, through sox) and encoded
with ffmpeg's libmp3lame (mono, 44.1 or 22.05 kHz, constant bit rate, ~64 kbit/s: what IP loudspeaker receivers and
source systems play everywhere), made once per package and kept in `<data_dir>/loudspeaker/` so every retry sends the
same bytes."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tichwatch.config.loudspeaker import LoudspeakerSettings
from tichwatch.residents.loudspeaker.package import AudioInfo
from tichwatch.residents.speech import SpeechUnavailable, synthesize

PRUNE_EVERY_S = 3600.0
"""How often the cache looks for expired files (at a send)."""


def wav_duration_s(wav: bytes) -> float:
    """The duration of a WAV file, seconds."""
    with wave.open(io.BytesIO(wav)) as w:
        frames, rate = int(w.getnframes()), int(w.getframerate())
    return frames / float(rate)


def encode_mp3(wav: bytes, sample_rate_hz: int, bitrate_kbps: int, timeout_s: float) -> bytes:
    """WAV to a mono constant-bit-rate MP3 with ffmpeg (SpeechUnavailable when ffmpeg is missing or fails). Written
    to a file, not a pipe, so the stream starts with its Xing/LAME header (players and ffprobe read the exact
    duration from it)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SpeechUnavailable("ffmpeg is not installed: install the Debian package ffmpeg")
    with tempfile.TemporaryDirectory(prefix="tichwatch-mp3-") as tmp:
        src, out = Path(tmp) / "in.wav", Path(tmp) / "out.mp3"
        src.write_bytes(wav)
        done = subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(src),
                               "-map_metadata", "-1", "-ac", "1", "-ar", str(sample_rate_hz), "-c:a", "libmp3lame",
                               "-b:a", f"{bitrate_kbps}k", "-f", "mp3", str(out)],
                              capture_output=True, timeout=timeout_s, check=False)
        if done.returncode != 0 or not out.exists():
            raise SpeechUnavailable(f"ffmpeg failed: {done.stderr.decode(errors='replace')[:300]}")
        return out.read_bytes()


@dataclass(frozen=True)
class PackageAudio:
    """A package's MP3 in the cache, with what the document says of it."""

    path: Path
    info: AudioInfo

    def read(self) -> bytes:
        """The MP3's bytes."""
        return self.path.read_bytes()


def _digest(spoken: str, s: LoudspeakerSettings) -> str:
    """What the audio is made from: a changed script or audio setting makes it anew."""
    return hashlib.sha256(f"{s.sample_rate_hz}:{s.bitrate_kbps}:{s.speech_rate_wpm}:{spoken}".encode()).hexdigest()


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # never half a file under the final name


class AudioCache:
    """MP3s of packages under `<data_dir>/loudspeaker/<package id>.mp3` (+ `.json` with duration, hash and what it
    was made from); one synthesis at a time (espeak-ng, sox and ffmpeg take a core each); files older than
    `audio_keep_days` are removed."""

    def __init__(self, data_dir: Path, settings: LoudspeakerSettings, clock: Callable[[], float] = time.time):
        self.root = Path(data_dir) / "loudspeaker"
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._pruned_ts = 0.0

    def audio(self, package_id: str, spoken: str, timeout_s: float) -> PackageAudio:
        """The package's MP3, made now when the cache does not hold it for this script (SpeechUnavailable when
        espeak-ng, sox or ffmpeg is missing or fails; TimeoutExpired past `timeout_s` for a step)."""
        s = self.settings
        digest = _digest(spoken, s)
        with self._lock:
            mp3, meta = self.root / f"{package_id}.mp3", self.root / f"{package_id}.json"
            known = self._known(mp3, meta, digest)
            if known is not None:
                return known
            wav = synthesize(spoken, "wav", s.speech_rate_wpm, timeout_s)
            data = encode_mp3(wav, s.sample_rate_hz, s.bitrate_kbps, timeout_s)
            info = AudioInfo(wav_duration_s(wav), hashlib.sha256(data).hexdigest(), len(data), s.sample_rate_hz,
                             s.bitrate_kbps)
            self.root.mkdir(parents=True, exist_ok=True)
            _write(mp3, data)
            _write(meta, json.dumps({"made_from": digest, "duration_s": info.duration_s, "sha256": info.sha256,
                                     "bytes": info.size_bytes, "sample_rate_hz": info.sample_rate_hz,
                                     "bitrate_kbps": info.bitrate_kbps}).encode())
            self._prune()
            return PackageAudio(mp3, info)

    def _known(self, mp3: Path, meta: Path, digest: str) -> PackageAudio | None:
        """The cached MP3 when it was made from this script and is whole (its hash matches)."""
        try:
            m = json.loads(meta.read_text(encoding="utf-8"))
            if m.get("made_from") != digest or hashlib.sha256(mp3.read_bytes()).hexdigest() != m["sha256"]:
                return None
            return PackageAudio(mp3, AudioInfo(float(m["duration_s"]), m["sha256"], int(m["bytes"]),
                                               int(m["sample_rate_hz"]), int(m["bitrate_kbps"])))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _prune(self) -> None:
        """Remove files older than the retention (at most once per PRUNE_EVERY_S)."""
        now = self._clock()
        if now - self._pruned_ts < PRUNE_EVERY_S:
            return
        self._pruned_ts = now
        horizon = now - self.settings.audio_keep_days * 86400
        for path in self.root.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < horizon:
                    path.unlink()
            except OSError:
                continue
