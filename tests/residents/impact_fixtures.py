"""Impact settings for tests: three hamlets, what st1's levels flood (cumulative), and an areas file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

IMPACT: dict[str, Any] = {
    "hamlets": [{"id": "thon-1", "name": "Thôn 1", "households": 320},
                {"id": "thon-2", "name": "Thôn 2", "households": 280},
                {"id": "thon-3", "name": "Thôn 3"}],
    "stations": [{"station_id": "st1",
                  "bd1": {"hamlets": ["thon-1"], "roads": ["Đường ven sông"], "households": 15,
                          "action_vi": "kê cao đồ đạc", "action_en": "raise belongings"},
                  "bd2": {"hamlets": ["thon-1", "thon-2"], "roads": ["Đường liên thôn 1 – 2"],
                          "schools": ["Trường mầm non thôn 2"], "households": 120,
                          "action_vi": "chuẩn bị di dời người già, trẻ em",
                          "action_en": "get ready to move the elderly and children"},
                  "bd3": {"hamlets": ["thon-3"], "households": 450,
                          "action_vi": "di dời ngay người già, trẻ em",
                          "action_en": "move the elderly and children now"}}],
}
"""st1: BĐ I floods thôn 1, BĐ II thôn 1 and 2 (a road, a school), BĐ III thôn 3 too."""

SQUARES = {"thon-1": (105.630, 20.985), "thon-2": (105.636, 20.985), "thon-3": (105.630, 20.991)}
"""South-west corners of the test hamlets' square areas (0.005° a side), near Vĩnh Phúc (st1 of tests/residents)."""


def square(lon: float, lat: float, side: float = 0.005) -> list[list[float]]:
    """A closed ring around a square, [lon, lat] positions."""
    return [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]


def areas_document(**rings: list[list[float]]) -> dict[str, Any]:
    """A FeatureCollection with one Polygon per hamlet (SQUARES unless given)."""
    shapes = {h: square(*corner) for h, corner in SQUARES.items()} | rings
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": h, "name": h.replace("-", " ").title()},
         "geometry": {"type": "Polygon", "coordinates": [ring]}} for h, ring in shapes.items()]}


def impact_with_areas(folder: Path) -> dict[str, Any]:
    """IMPACT with its areas written to `folder`/hamlets.geojson (an absolute path)."""
    path = folder / "hamlets.geojson"
    path.write_text(json.dumps(areas_document()), encoding="utf-8")
    return {**IMPACT, "areas_geojson": str(path)}
