"""The chart and card PNGs: the right size, real content (bands, the level line, the forecast), text in DejaVu."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.residents.conftest import NOW, World
from tichwatch.api.routes_stations import permalink
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.residents import pictures
from tichwatch.residents.bulletins.compose import compose_bulletin
from tichwatch.residents.bulletins.gather import gather_snapshot
from tichwatch.residents.pictures import (
    BAND_COLOURS,
    CARD_SIZE,
    CHART_SIZE,
    FORECAST_BAND_COLOUR,
    LINE_COLOUR,
    FontMissing,
    card_png,
    chart_png,
)


def _pixels(png: bytes, size: tuple[int, int]) -> np.ndarray:
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == size
    return np.asarray(img.convert("RGB")).reshape(-1, 3)


def _count(pixels: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int(np.all(pixels == np.array(colour), axis=1).sum())


def test_chart_and_card_have_size_bands_line_and_forecast(world: World) -> None:
    service = world.service
    snap = gather_snapshot(service.settings, BulletinSettings(), service.store, NOW, lambda r: permalink(service, r),
                           world.flood, stations=service.stations.stations())
    for lang in ("vi", "en"):
        b = compose_bulletin(snap, lang)
        assert b.chart is not None
        chart = _pixels(chart_png(b.chart), CHART_SIZE)
        assert chart.std() > 20  # not a blank canvas
        for name, colour in BAND_COLOURS.items():
            assert _count(chart, colour) > 2000, f"band {name} missing"
        assert _count(chart, LINE_COLOUR) > 1000  # the level line (and the dashed forecast)
        assert _count(chart, FORECAST_BAND_COLOUR) > 50  # the spread of the forecast time
        card = _pixels(card_png(b.card), CARD_SIZE)
        assert card.std() > 20
        assert _count(card, pictures.RANK_COLOURS[2]) > 20_000  # báo động II header
        assert _count(card, LINE_COLOUR) > 200  # the sparkline
        assert _count(card, BAND_COLOURS["BD2"]) > 1000


def test_vietnamese_text_is_drawn_with_dejavu() -> None:
    img = Image.new("L", (400, 80), 255)
    from PIL import ImageDraw
    ImageDraw.Draw(img).text((5, 10), "Mực nước lũ – Kiều Phú", font=pictures.font(40), fill=0)
    assert np.asarray(img).min() == 0
    plain, marked = (pictures.font(40).getbbox(t) for t in ("a", "ặ"))
    assert marked[1] < plain[1] and marked[3] > plain[3]  # the marks above and below are real glyph parts


def test_missing_font_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pictures, "FONT_DIR", tmp_path)
    pictures.font.cache_clear()
    try:
        with pytest.raises(FontMissing, match="fonts-dejavu-core"):
            pictures.font(12)
    finally:
        monkeypatch.undo()
        pictures.font.cache_clear()
