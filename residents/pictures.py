"""Pictures for social posts, drawn on the server with Pillow: a station's level chart (1200×630) with the BĐ1–BĐ3
bands and the forecast, and a square summary card (1080×1080) for Zalo and Facebook.

Pure drawing: the data and every word come in (already in the reader's language), PNG bytes go out. Text is set in
DejaVu Sans (Debian package fonts-dejavu-core), which has every Vietnamese letter.
"""
from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

CHART_SIZE = (1200, 630)
"""Chart size: the 1.91:1 link-preview size of Facebook and Zalo."""
CARD_SIZE = (1080, 1080)
"""Card size: square posts."""
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
"""Where Debian's fonts-dejavu-core puts DejaVu Sans."""

BAND_COLOURS: dict[str, tuple[int, int, int]] = {"BD1": (255, 232, 140), "BD2": (255, 190, 120), "BD3": (245, 140, 140)}
"""Fill of the band from each alarm level up to the next."""
RANK_COLOURS: tuple[tuple[int, int, int], ...] = ((25, 110, 90), (190, 140, 0), (215, 100, 20), (185, 30, 30),
                                                  (120, 0, 60))
"""Card header colour by alarm rank: below BĐ1, BĐ1, BĐ2, BĐ3, record."""
LINE_COLOUR = (20, 70, 160)
"""The measured level."""
FORECAST_COLOUR = (20, 70, 160)
"""The forecast line (dashed)."""
FORECAST_BAND_COLOUR = (185, 205, 240)
"""The spread of the forecast (earliest to latest time of reaching the next level)."""
_INK, _GREY, _GRID, _WHITE = (30, 30, 30), (110, 110, 110), (225, 225, 225), (255, 255, 255)
_WORDS = {"vi": {"now": "Hiện tại", "forecast": "Dự báo"}, "en": {"now": "Now", "forecast": "Forecast"}}


class FontMissing(RuntimeError):
    """The DejaVu fonts are not installed."""


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (bold) at a pixel size; FontMissing naming the Debian package when it is not installed."""
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if not path.exists():
        raise FontMissing(f"{path} not found: install the Debian package fonts-dejavu-core")
    return ImageFont.truetype(str(path), size)


@dataclass(frozen=True)
class Projection:
    """The forecast drawn from the last reading: to `to_level_m` at `to_ts`, reached between `low_ts` and `high_ts`."""

    from_ts: float
    from_level_m: float
    to_ts: float
    to_level_m: float
    low_ts: float | None = None
    high_ts: float | None = None


@dataclass(frozen=True)
class ChartData:
    """What a level chart shows; `levels` are (name, metres) lowest first, `level_labels` their captions."""

    title: str
    subtitle: str
    footer: str
    points: Sequence[tuple[float, float]]
    levels: Sequence[tuple[str, float]]
    level_labels: Sequence[str]
    start_ts: float
    now_ts: float
    end_ts: float
    timezone: str
    lang: str = "vi"
    max_gap_s: float = 1800.0
    projection: Projection | None = None


@dataclass(frozen=True)
class CardData:
    """What a summary card shows: a header, the main station's figure with its lines, other rows and a footer."""

    title: str
    subtitle: str
    rank: int
    station: str
    value: str
    lines: Sequence[str]
    rows: Sequence[str]
    footer: str
    sparkline: ChartData | None = None
    notes: Sequence[str] = field(default_factory=tuple)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _fmt(value: float, digits: int, lang: str) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "vi" else text


def png_bytes(img: Image.Image) -> bytes:
    """A picture as optimised PNG bytes."""
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill: tuple[int, int, int] = _INK,
          bold: bool = False, anchor: str = "la") -> None:
    draw.text(xy, _nfc(text), font=font(size, bold), fill=fill, anchor=anchor)


def _wrap(text: str, size: int, width: float, bold: bool = False) -> list[str]:
    """Break text into lines no wider than `width` pixels."""
    f, lines, line = font(size, bold), [], ""
    for word in _nfc(text).split():
        candidate = f"{line} {word}".strip()
        if line and f.getlength(candidate) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + ([line] if line else [])


def _dashed(draw: ImageDraw.ImageDraw, a: tuple[float, float], b: tuple[float, float], colour: tuple[int, int, int],
            width: int, dash: float = 12.0) -> None:
    length = math.dist(a, b)
    steps = max(1, int(length // dash))
    for i in range(0, steps, 2):
        t0, t1 = i / steps, min(1.0, (i + 1) / steps)
        draw.line([(a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0),
                   (a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1)], fill=colour, width=width)


def nice_step(span: float, most: int, least: float = 0.0) -> float:
    """A round axis step (0.05 … 100) of at least `least` that cuts `span` into at most `most` parts."""
    for step in (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0):
        if step >= least and span / step <= most:
            return step
    return 200.0


def _y_range(data: ChartData) -> tuple[float, float]:
    values = [v for _, v in data.points] + [m for _, m in data.levels]
    if data.projection is not None:
        values.append(data.projection.to_level_m)
    lo, hi = min(values), max(values)
    pad = max(0.1, (hi - lo) * 0.08)
    return lo - pad, hi + pad


def _time_ticks(data: ChartData) -> list[tuple[float, str]]:
    """Local-time ticks: every 3 hours over a day or two, every midnight over longer spans."""
    tz = ZoneInfo(data.timezone)
    span_h = (data.end_ts - data.start_ts) / 3600
    every_h = 3 if span_h <= 48 else 24
    t = datetime.fromtimestamp(data.start_ts, tz).replace(minute=0, second=0, microsecond=0)
    t += timedelta(hours=(-t.hour) % every_h)
    ticks = []
    while t.timestamp() <= data.end_ts:
        ticks.append((t.timestamp(), t.strftime("%d/%m") if t.hour == 0 else t.strftime("%H:%M")))
        t += timedelta(hours=every_h)
    return ticks


def _draw_plot(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], data: ChartData, small: bool) -> None:
    """The bands, thresholds, ticks, level line, forecast and the 'now' line inside `box` (left, top, right, bottom)."""
    left, top, right, bottom = box
    lo, hi = _y_range(data)

    def x(ts: float) -> float:
        return left + (ts - data.start_ts) / (data.end_ts - data.start_ts) * (right - left)

    def y(level: float) -> float:
        return bottom - (level - lo) / (hi - lo) * (bottom - top)

    draw.rectangle(box, fill=_WHITE)
    bands = [(name, m) for name, m in data.levels if name in BAND_COLOURS]
    for i, (name, m) in enumerate(bands):
        upper = bands[i + 1][1] if i + 1 < len(bands) else hi
        draw.rectangle((left, max(top, y(upper)), right, min(bottom, y(m))), fill=BAND_COLOURS[name])
    tick = 14 if small else 18
    if not small:
        step = nice_step(hi - lo, 8)
        v = math.ceil(lo / step) * step
        while v <= hi:
            draw.line([(left, y(v)), (right, y(v))], fill=_GRID, width=1)
            _text(draw, (left - 8, y(v)), _fmt(v, 2 if step < 0.1 else 1, data.lang), tick, _GREY, anchor="rm")
            v += step
    for ts, label in _time_ticks(data):
        draw.line([(x(ts), bottom), (x(ts), bottom + 6)], fill=_GREY, width=1)
        if not small:
            _text(draw, (x(ts), bottom + 10), label, tick, _GREY, anchor="ma")
    for (name, m), label in zip(data.levels, data.level_labels):
        if lo <= m <= hi:
            _dashed(draw, (left, y(m)), (right, y(m)), _INK, 2 if name != "RECORD" else 1, dash=8)
            _text(draw, (right - 6, y(m) - 4), label, tick, _INK, bold=True, anchor="rb")
    p = data.projection
    if p is not None:
        if p.low_ts is not None and p.high_ts is not None:
            draw.polygon([(x(p.from_ts), y(p.from_level_m)), (x(min(p.low_ts, data.end_ts)), y(p.to_level_m)),
                          (x(min(p.high_ts, data.end_ts)), y(p.to_level_m))], fill=FORECAST_BAND_COLOUR)
        end = min(p.to_ts, data.end_ts)  # past the right edge: stop there, on the line to the forecast point
        share = (end - p.from_ts) / (p.to_ts - p.from_ts) if p.to_ts > p.from_ts else 1.0
        _dashed(draw, (x(p.from_ts), y(p.from_level_m)),
                (x(end), y(p.from_level_m + (p.to_level_m - p.from_level_m) * share)), FORECAST_COLOUR, 3)
    segment: list[tuple[float, float]] = []
    last_ts: float | None = None
    for ts, level in data.points:
        if last_ts is not None and ts - last_ts > data.max_gap_s:
            _polyline(draw, segment, small)
            segment = []
        segment.append((x(ts), y(level)))
        last_ts = ts
    _polyline(draw, segment, small)
    _dashed(draw, (x(data.now_ts), top), (x(data.now_ts), bottom), _GREY, 1, dash=6)
    if not small:
        _text(draw, (x(data.now_ts) + 6, top + 4), _WORDS[data.lang]["now"], tick, _GREY)
        if p is not None:
            _text(draw, (min(x(p.to_ts), right - 120) + 4, y(p.to_level_m) + 6), _WORDS[data.lang]["forecast"], tick,
                  FORECAST_COLOUR)
    draw.rectangle(box, outline=_GREY, width=1)


def _polyline(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], small: bool) -> None:
    width = 4 if small else 5
    if len(points) == 1:
        px, py = points[0]
        draw.ellipse((px - width, py - width, px + width, py + width), fill=LINE_COLOUR)
    elif points:
        draw.line(points, fill=LINE_COLOUR, width=width, joint="curve")


def chart_png(data: ChartData) -> bytes:
    """A station's level chart, 1200×630 PNG."""
    img = Image.new("RGB", CHART_SIZE, _WHITE)
    draw = ImageDraw.Draw(img)
    _text(draw, (40, 26), data.title, 34, bold=True)
    _text(draw, (40, 72), data.subtitle, 22, _GREY)
    _draw_plot(draw, (100, 112, CHART_SIZE[0] - 40, CHART_SIZE[1] - 84), data, small=False)
    _text(draw, (40, CHART_SIZE[1] - 30), data.footer, 18, _GREY, anchor="ls")
    return png_bytes(img)


def card_png(card: CardData) -> bytes:
    """A square summary card, 1080×1080 PNG."""
    w, h = CARD_SIZE
    img = Image.new("RGB", CARD_SIZE, _WHITE)
    draw = ImageDraw.Draw(img)
    colour = RANK_COLOURS[min(card.rank, len(RANK_COLOURS) - 1)]
    title = _wrap(card.title, 50, w - 100, bold=True)[:2]
    header = 36 + 62 * len(title) + 70
    draw.rectangle((0, 0, w, header), fill=colour)
    for i, line in enumerate(title):
        _text(draw, (50, 36 + 62 * i), line, 50, _WHITE, bold=True)
    _text(draw, (50, header - 62), card.subtitle, 28, _WHITE)
    y = header + 30
    _text(draw, (50, y), card.station, 40, bold=True)
    _text(draw, (50, y + 52), card.value, 120, colour, bold=True)
    y += 190
    for line in card.lines:
        for part in _wrap(line, 34, w - 100):
            _text(draw, (50, y), part, 34)
            y += 42
    if card.sparkline is not None:
        _draw_plot(draw, (50, y + 10, w - 50, y + 180), card.sparkline, small=True)
        y += 196
    for row in [*card.rows, *card.notes]:
        for part in _wrap(row, 30, w - 100):
            if y > h - 130:
                break
            _text(draw, (50, y), part, 30, _INK)
            y += 38
    draw.line([(50, h - 90), (w - 50, h - 90)], fill=_GRID, width=2)
    for i, part in enumerate(_wrap(card.footer, 22, w - 100)[:2]):
        _text(draw, (50, h - 74 + i * 30), part, 22, _GREY)
    return png_bytes(img)
