"""Evidence for a dust detection: an annotated JPEG snapshot with the dust cells outlined and a caption."""
from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tichwatch.core.i18n import text
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


EVIDENCE_KINDS = ("hand_model", "backbone", "growth", "haze", "colour", "anchored")
"""The evidence a dust detection states, in this order (catalogue keys dust.evidence.<kind>)."""


def evidence_facts(rows: np.ndarray, flagged: np.ndarray, hand_p: np.ndarray, backbone_p: np.ndarray | None,
                   threshold: float, feature_names: tuple[str, ...]) -> dict[str, dict[str, float | bool]]:
    """What each kind of evidence measured over the flagged cells, and whether it fired.

    `rows` (cells, n) are the rows the model scored (hand-made features first, named by `feature_names`), `flagged`
    (rows, cols) the cells over the threshold, `hand_p`/`backbone_p` (cells,) the two models' probabilities. Values:
    the classifiers' highest probability; growth = the flagged cells' change now against the most their neighbourhood
    changed a frame earlier (> 1: spreading); haze = lift of the dark channel; colour = change of saturation (< 0:
    greyer); anchored = share of flagged cells whose cell below changed too (a plume rises from its source).
    """
    cells = flagged.ravel()
    if not cells.any():
        return {}
    col = {name: i for i, name in enumerate(feature_names)}

    def mean(name: str) -> float:
        return float(np.mean(rows[cells, col[name]]))

    growth = float(np.median(rows[cells, col["change_rel"]] / (rows[cells, col["prev_change_nb"]] + 1e-3)))
    facts: dict[str, tuple[float, bool]] = {
        "hand_model": (float(hand_p[cells].max()), float(hand_p[cells].max()) >= threshold),
        "growth": (growth, growth > 1.1),
        "haze": (mean("d_dark"), mean("d_dark") > 0.02),
        "colour": (mean("d_sat"), mean("d_sat") < -0.01),
        "anchored": (float(np.mean(rows[cells, col["change_below"]] > 0.05)),
                     float(np.mean(rows[cells, col["change_below"]] > 0.05)) >= 0.5),
    }
    if backbone_p is not None:
        facts["backbone"] = (float(backbone_p[cells].max()), float(backbone_p[cells].max()) >= threshold)
    return {k: {"value": round(facts[k][0], 3), "fired": bool(facts[k][1])} for k in EVIDENCE_KINDS if k in facts}


def evidence_line(facts: dict[str, dict[str, float | bool]], lang: str) -> str:
    """One caption line naming the evidence that fired with its value, in a catalogue language."""
    fired = [f"{text(lang, 'dust.evidence.' + k)} {float(v['value']):.2f}" for k, v in facts.items() if v["fired"]]
    return f"{text(lang, 'dust.evidence.title')}: {', '.join(fired) or '-'}"


def snapshot(jpeg: bytes, cell_index: np.ndarray, flagged: np.ndarray, caption: list[str], width_px: int,
             quality: int) -> bytes:
    """Annotate a frame: the outline (contours) of the flagged cells' region (rows, cols), the cells tinted and
    labelled with their index, a caption bar on top."""
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
    mask = np.zeros(image.shape[:2], np.uint8)
    for r, c in zip(*np.nonzero(flagged)):
        mask[ys[r]:ys[r + 1], xs[c]:xs[c + 1]] = 255
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(image, contours, -1, (0, 80, 255), 2, cv2.LINE_AA)  # the region, not each cell's box
    for r, c in zip(*np.nonzero(flagged)):
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
