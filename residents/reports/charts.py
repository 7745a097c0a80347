"""The report's charts as PNG (Pillow, DejaVu Sans like the bulletins' pictures), one picture for both the PDF and
the DOCX: each station's highest level per day against its alarm levels, and alerts opened per day by group.

Pure drawing: figures and every word come in (already in the report's language), PNG bytes go out.
"""
from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw

from tichwatch.residents.pictures import BAND_COLOURS, LINE_COLOUR, font, nice_step, png_bytes

SIZE = (1600, 640)
"""Chart size in pixels (printed 16 cm wide: about 250 dpi)."""
GROUP_COLOURS: dict[str, tuple[int, int, int]] = {"flood": (20, 70, 160), "dust": (150, 110, 60),
                                                  "sensor": (120, 120, 120), "camera": (60, 150, 130),
                                                  "other": (190, 190, 190)}
"""Bar colour of each alert group."""
_INK, _GREY, _GRID, _WHITE = (30, 30, 30), (110, 110, 110), (225, 225, 225), (255, 255, 255)
_BOX = (110, 80, SIZE[0] - 40, SIZE[1] - 90)


def _axes(draw: ImageDraw.ImageDraw, title: str, lo: float, hi: float, digits: int, decimal_comma: bool) -> None:
    left, top, right, bottom = _BOX
    draw.text((left - 70, 20), title, font=font(30, True), fill=_INK)
    step = nice_step(hi - lo, 8, 1.0 if digits == 0 else 0.0)
    v = (lo // step) * step
    while v <= hi + 1e-9:
        if v >= lo - 1e-9:
            y = bottom - (v - lo) / (hi - lo) * (bottom - top)
            draw.line([(left, y), (right, y)], fill=_GRID, width=1)
            label = f"{v:.{digits}f}"
            draw.text((left - 10, y), label.replace(".", ",") if decimal_comma else label, font=font(20),
                      fill=_GREY, anchor="rm")
        v += step


def _day_ticks(draw: ImageDraw.ImageDraw, labels: Sequence[str]) -> None:
    left, _, right, bottom = _BOX
    n = len(labels)
    every = max(1, -(-n // 16))
    width = (right - left) / max(1, n)
    for i in range(0, n, every):
        draw.text((left + (i + 0.5) * width, bottom + 10), labels[i], font=font(19), fill=_GREY, anchor="ma")


def daily_levels_png(title: str, day_labels: Sequence[str], daily_max_m: Sequence[float | None],
                     levels: Sequence[tuple[str, float]], level_labels: Sequence[str], no_data: str,
                     decimal_comma: bool = True) -> bytes:
    """A station's highest level of each day as bars, over the bands of its alarm levels (dashed lines, labelled)."""
    img = Image.new("RGB", SIZE, _WHITE)
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = _BOX
    values = [v for v in daily_max_m if v is not None] + [m for _, m in levels]
    lo, hi = min(values), max(values)
    pad = max(0.2, (hi - lo) * 0.1)
    lo, hi = lo - pad, hi + pad

    def y(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)
    for i, (name, m) in enumerate(levels):
        upper = levels[i + 1][1] if i + 1 < len(levels) else hi
        draw.rectangle((left, y(upper), right, y(m)), fill=BAND_COLOURS.get(name, _GRID))
    _axes(draw, title, lo, hi, 1, decimal_comma)
    width = (right - left) / max(1, len(daily_max_m))
    for i, v in enumerate(daily_max_m):
        x0 = left + i * width + width * 0.15
        if v is None:
            draw.text((x0 + width * 0.35, bottom - 8), "×", font=font(18), fill=_GREY, anchor="mb")
            continue
        draw.rectangle((x0, y(v), x0 + max(1.0, width * 0.7), bottom), fill=LINE_COLOUR)
    for (_, m), label in zip(levels, level_labels):
        for x in range(left, right, 16):
            draw.line([(x, y(m)), (min(x + 8, right), y(m))], fill=_INK, width=2)
        draw.text((right - 6, y(m) - 4), label, font=font(20, True), fill=_INK, anchor="rb")
    draw.rectangle(_BOX, outline=_GREY, width=1)
    _day_ticks(draw, day_labels)
    if not any(v is not None for v in daily_max_m):
        draw.text(((left + right) / 2, (top + bottom) / 2), no_data, font=font(28), fill=_GREY, anchor="mm")
    return png_bytes(img)


def alerts_per_day_png(title: str, day_labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
                       group_labels: dict[str, str], no_data: str) -> bytes:
    """Alerts opened per day as stacked bars by group (flood, dust, sensor, camera, other), with a legend."""
    img = Image.new("RGB", SIZE, _WHITE)
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = _BOX
    n = len(day_labels)
    totals = [sum(counts[i] for _, counts in series) for i in range(n)]
    hi = max([*totals, 1]) * 1.15
    _axes(draw, title, 0.0, max(hi, 4.0), 0, False)
    width = (right - left) / max(1, n)
    for i in range(n):
        base = 0
        for group, counts in series:
            if counts[i]:
                y0 = bottom - (base + counts[i]) / max(hi, 4.0) * (bottom - top)
                y1 = bottom - base / max(hi, 4.0) * (bottom - top)
                draw.rectangle((left + i * width + width * 0.15, y0, left + i * width + width * 0.85, y1),
                               fill=GROUP_COLOURS.get(group, GROUP_COLOURS["other"]))
                base += counts[i]
    draw.rectangle(_BOX, outline=_GREY, width=1)
    _day_ticks(draw, day_labels)
    x = left
    for group, _ in series:
        draw.rectangle((x, SIZE[1] - 38, x + 22, SIZE[1] - 16), fill=GROUP_COLOURS.get(group, GROUP_COLOURS["other"]))
        label = group_labels.get(group, group)
        draw.text((x + 30, SIZE[1] - 27), label, font=font(20), fill=_INK, anchor="lm")
        x += 60 + int(draw.textlength(label, font=font(20)))
    if not series:
        draw.text(((left + right) / 2, (top + bottom) / 2), no_data, font=font(28), fill=_GREY, anchor="mm")
    return png_bytes(img)
