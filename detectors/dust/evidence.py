"""Evidence for a dust detection: an annotated JPEG snapshot with the dust cells outlined and a caption."""
from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tichwatch.detectors.dust.jpeg import decode_reduced

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
"""A font with Vietnamese diacritics; without it captions fall back to ASCII (OpenCV's Hershey fonts)."""
LOCAL_TZ_NAME = "Asia/Ho_Chi_Minh"
"""Times shown to people; Vietnam keeps UTC+07:00 all year, the fallback when the tz database is absent."""


def local_tz() -> tzinfo:
    """Asia/Ho_Chi_Minh from the tz database, or a fixed UTC+07:00."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(LOCAL_TZ_NAME)
    except Exception:  # zoneinfo raises several types when tzdata is missing; the fixed offset is always right
        return timezone(timedelta(hours=7), "ICT")


def local_time(ts: float) -> str:
    """ISO 8601 local time with its offset, e.g. 2024-06-01T07:15:00+07:00."""
    return datetime.fromtimestamp(ts, local_tz()).isoformat(timespec="seconds")


def ascii_fold(text: str) -> str:
    """Vietnamese text without diacritics (Kiều Phú → Kieu Phu), for fonts that lack them."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).encode(
        "ascii", "replace").decode()


def snapshot(jpeg: bytes, cell_index: np.ndarray, flagged: np.ndarray, caption: list[str], width_px: int,
             quality: int) -> bytes:
    """Annotate a frame: flagged cells (rows, cols) outlined and tinted by their index, a caption bar on top."""
    image, _ = decode_reduced(jpeg, width_px)
    h = max(1, round(image.shape[0] * width_px / image.shape[1]))
    image = cv2.resize(image, (width_px, h), interpolation=cv2.INTER_AREA)
    rows, cols = flagged.shape
    ys = np.linspace(0, h, rows + 1).round().astype(int)
    xs = np.linspace(0, width_px, cols + 1).round().astype(int)
    tint = image.copy()
    for r, c in zip(*np.nonzero(flagged)):
        cv2.rectangle(tint, (xs[c], ys[r]), (xs[c + 1] - 1, ys[r + 1] - 1), (0, 140, 255), -1)
    alpha = 0.25
    image = cv2.addWeighted(tint, alpha, image, 1 - alpha, 0)
    for r, c in zip(*np.nonzero(flagged)):
        cv2.rectangle(image, (xs[c], ys[r]), (xs[c + 1] - 1, ys[r + 1] - 1), (0, 80, 255), 2)
        cv2.putText(image, f"{cell_index[r, c]:.2f}", (xs[c] + 3, ys[r + 1] - 4), cv2.FONT_HERSHEY_PLAIN,
                    0.8, (255, 255, 255), 1, cv2.LINE_AA)
    image = _caption(image, caption)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding of the snapshot failed")
    return buf.tobytes()


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | None:
    try:
        return ImageFont.truetype(str(FONT_PATH), size)
    except OSError:
        return None


def _caption(image: np.ndarray, lines: list[str]) -> np.ndarray:
    """Draw caption lines on a dark bar at the top: PIL with DejaVu when present (diacritics), else ASCII via OpenCV."""
    size = max(12, image.shape[1] // 40)
    line_h = int(size * 1.35)
    bar = line_h * len(lines) + 6
    image[:bar] = (image[:bar] * 0.35).astype(np.uint8)
    font = _font(size)
    if font is None:
        for i, line in enumerate(lines):
            cv2.putText(image, ascii_fold(line), (6, 4 + line_h * (i + 1) - size // 4), cv2.FONT_HERSHEY_SIMPLEX,
                        size / 30, (255, 255, 255), 1, cv2.LINE_AA)
        return image
    pil = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(pil)
    for i, line in enumerate(lines):
        draw.text((6, 3 + line_h * i), line, font=font, fill=(255, 255, 255))
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
