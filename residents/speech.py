"""Spoken Vietnamese for the commune loudspeaker: numbers, measures, times and dates as they are read aloud, and
synthesis of the script with espeak-ng's Vietnamese voice (converted with sox to a small file for the radio operator).

Reading conventions (Northern, as on Hà Nội radio):
* integers: "hai mươi mốt", "mười lăm", "một trăm linh năm", "hai nghìn không trăm hai mươi sáu", "một triệu";
* a water level in metres is read as metres and centimetres: "7,42 m" → "bảy mét bốn mươi hai", "7,05 m" → "bảy mét
  linh năm"; below one metre as centimetres: "0,12 m" → "mười hai xăng-ti-mét";
* other decimals with "phẩy": "0,71" → "không phẩy bảy mươi mốt" ("0,05" → "không phẩy không năm");
* times "07:10" → "bảy giờ mười phút", "07:00" → "bảy giờ"; dates "20/09/2026" → "hai mươi tháng chín năm hai nghìn
  không trăm hai mươi sáu", days 1–10 with "mồng", April as "tháng tư".
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_GROUPS = ("", "nghìn", "triệu")
_BILLION = 1_000_000_000


def _tens_units(n: int, after_hundreds: bool) -> list[str]:
    """Words of 0..99 inside a number; `after_hundreds` says a hundreds digit was read before (so 5 → "linh năm")."""
    tens, units = divmod(n, 10)
    if tens == 0:
        if units == 0:
            return []
        return (["linh"] if after_hundreds else []) + [_DIGITS[units]]
    words = ["mười"] if tens == 1 else [_DIGITS[tens], "mươi"]
    if units == 1 and tens > 1:
        words.append("mốt")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(_DIGITS[units])
    return words


def _triple(n: int, full: bool) -> list[str]:
    """Words of 0..999; `full` reads a zero hundreds digit ("không trăm") as inside a longer number."""
    hundreds, rest = divmod(n, 100)
    if hundreds == 0 and not full:
        return _tens_units(rest, after_hundreds=False)
    return [_DIGITS[hundreds], "trăm", *_tens_units(rest, after_hundreds=True)]


def number_words(n: int) -> str:
    """An integer in Vietnamese words: 21 → "hai mươi mốt", 105 → "một trăm linh năm", 1_000_000 → "một triệu"."""
    if n < 0:
        return "âm " + number_words(-n)
    if n == 0:
        return _DIGITS[0]
    if n >= _BILLION:
        high, low = divmod(n, _BILLION)
        tail = _below_billion(low, full=True) if low else []
        return " ".join([number_words(high), "tỷ", *tail])
    return " ".join(_below_billion(n, full=False))


def _below_billion(n: int, full: bool) -> list[str]:
    """Words of 1..999,999,999 in groups of three; zero groups are skipped, later groups are read in full."""
    groups = [(n // 1000 ** i) % 1000 for i in range(len(_GROUPS))]
    words: list[str] = []
    for i in reversed(range(len(_GROUPS))):
        if groups[i] == 0:
            continue
        words += _triple(groups[i], full=full or bool(words))
        if _GROUPS[i]:
            words.append(_GROUPS[i])
    return words


def decimal_words(integer: str, fraction: str) -> str:
    """A decimal read with "phẩy": the fraction as a number ("71" → "bảy mươi mốt"), digit by digit after a 0."""
    head = number_words(int(integer or "0"))
    if not fraction:
        return head
    tail = (" ".join(_DIGITS[int(d)] for d in fraction) if fraction.startswith("0")
            else number_words(int(fraction)))
    return f"{head} phẩy {tail}"


def metres_words(integer: str, fraction: str) -> str:
    """A length in metres as metres and centimetres: 7,42 → "bảy mét bốn mươi hai"; 0,12 → "mười hai xăng-ti-mét"."""
    centimetres = round(float(f"{integer or '0'}.{fraction or '0'}") * 100)
    metres, cm = divmod(centimetres, 100)
    if metres == 0:
        return f"{number_words(cm)} xăng-ti-mét"
    if cm == 0:
        return f"{number_words(metres)} mét"
    return f"{number_words(metres)} mét {' '.join(_tens_units(cm, after_hundreds=True))}"


def time_words(hour: int, minute: int) -> str:
    """A time of day: 07:10 → "bảy giờ mười phút", 07:00 → "bảy giờ"."""
    text = f"{number_words(hour)} giờ"
    return f"{text} {number_words(minute)} phút" if minute else text


def day_words(day: int) -> str:
    """A day of the month: days 1–10 take "mồng" (mồng năm), later days are plain numbers (hai mươi)."""
    return f"mồng {number_words(day)}" if day <= 10 else number_words(day)


def month_words(month: int) -> str:
    """A month: "tháng chín"; April is "tháng tư"."""
    return "tháng tư" if month == 4 else f"tháng {number_words(month)}"


def date_words(day: int, month: int, year: int | None = None) -> str:
    """A date without the word "ngày": "hai mươi tháng chín năm hai nghìn không trăm hai mươi sáu"."""
    text = f"{day_words(day)} {month_words(month)}"
    return f"{text} năm {number_words(year)}" if year is not None else text


_ROMAN = {"I": "một", "II": "hai", "III": "ba"}
_NUMBER = r"(\d+)(?:,(\d+))?"
_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # emergency numbers (112 rescue, 113 police, 114 fire, 115 ambulance) digit by digit, never "một trăm mười hai"
    (re.compile(r"\b(11[2345])\b"), lambda m: " ".join(_DIGITS[int(d)] for d in m[1])),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}))?\b"),
     lambda m: date_words(int(m[1]), int(m[2]), int(m[3]) if m[3] else None)
     if 1 <= int(m[1]) <= 31 and 1 <= int(m[2]) <= 12 else m[0]),
    (re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b"), lambda m: time_words(int(m[1]), int(m[2]))),
    (re.compile(r"\b(báo động|Báo động) (III|II|I)\b"), lambda m: f"{m[1]} {_ROMAN[m[2]]}"),
    (re.compile(rf"\b{_NUMBER} ?m/(?:giờ|h)\b"), lambda m: f"{metres_words(m[1], m[2])} mỗi giờ"),
    (re.compile(rf"\b{_NUMBER} ?cm/(?:giờ|h)\b"), lambda m: f"{decimal_words(m[1], m[2])} xăng-ti-mét mỗi giờ"),
    (re.compile(rf"\b{_NUMBER} ?cm\b"), lambda m: f"{decimal_words(m[1], m[2])} xăng-ti-mét"),
    (re.compile(rf"\b{_NUMBER} ?m\b"), lambda m: metres_words(m[1], m[2])),
    (re.compile(rf"\b{_NUMBER} ?%"), lambda m: f"{decimal_words(m[1], m[2])} phần trăm"),
    (re.compile(rf"\b{_NUMBER}\b"), lambda m: decimal_words(m[1], m[2])),
)


def spoken(text: str) -> str:
    """Rewrite dates, times, alarm levels, measures and numbers of Vietnamese text as they are read aloud."""
    for pattern, replace in _RULES:
        text = pattern.sub(replace, text)
    return text


class SpeechUnavailable(RuntimeError):
    """espeak-ng or sox is not installed or failed."""


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SpeechUnavailable(f"{name} is not installed: install the Debian package {package}")
    return path


def _run(args: list[str], timeout_s: float) -> None:
    done = subprocess.run(args, capture_output=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise SpeechUnavailable(f"{Path(args[0]).name} failed: {done.stderr.decode(errors='replace')[:300]}")


def synthesize(script: str, audio_format: str = "ogg", rate_wpm: int = 140, timeout_s: float = 120.0) -> bytes:
    """Speak a Vietnamese script with espeak-ng (voice vi) and return 16 kHz mono audio: "wav" or "ogg" (Vorbis)."""
    espeak, sox = _tool("espeak-ng", "espeak-ng"), _tool("sox", "sox (and libsox-fmt-base for OGG)")
    with tempfile.TemporaryDirectory(prefix="tichwatch-speech-") as tmp:
        text, raw, out = Path(tmp) / "script.txt", Path(tmp) / "raw.wav", Path(tmp) / f"radio.{audio_format}"
        text.write_text(script, encoding="utf-8")
        _run([espeak, "-v", "vi", "-s", str(rate_wpm), "-f", str(text), "-w", str(raw)], timeout_s)
        quality = ["-C", "0"] if audio_format == "ogg" else []  # Vorbis q0: clear speech at ~20 kbit/s
        _run([sox, str(raw), "-r", "16000", "-c", "1", *quality, str(out), "norm", "-1"], timeout_s)
        return out.read_bytes()
