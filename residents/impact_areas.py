"""Hamlet areas: the GeoJSON FeatureCollection named by `impact.areas_geojson`, read and checked, and the shapes
made from it (a CAP <polygon>, a map's GeoJSON with the level affecting each hamlet).

The file follows RFC 7946 (GeoJSON): a FeatureCollection whose features are Polygons, positions [longitude,
latitude] in WGS84, each linear ring closed (first position = last) with at least four positions, the exterior ring
first; each feature's `properties.id` is a configured hamlet id (impact.hamlets), at most one feature per hamlet.
CAP 1.2 (OASIS, section 3.3.2.1 <polygon>) writes a polygon the other way round: "lat,lon" pairs separated by
spaces, at least four, the first equal to the last; `cap_polygon` turns an exterior ring into that.

A relative path is read from the installed config folder (`tichwatch.config`, where the Kiều Phú example ships).
Loading is cached by the file's path, size and modification time, so messages can ask for the areas every time.
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tichwatch.config
from tichwatch.config.impact import ImpactSettings
from tichwatch.residents.impact import impact_at

log = logging.getLogger(__name__)

CONFIG_DIR = Path(tichwatch.config.__file__).parent
"""The installed config folder: where a relative `areas_geojson` is read from."""
MAX_AREAS_BYTES = 2 * 1024 * 1024
"""Largest hamlet-areas file read (a commune's hamlets fit in far less; a bigger file is a mistake)."""
MAX_FEATURES = 500
"""Most features in the file."""
MAX_RINGS = 20
"""Most rings of one polygon (the exterior and its holes)."""
MAX_RING_POSITIONS = 5000
"""Most positions of one ring (a CAP polygon repeats them in every message)."""

Ring = tuple[tuple[float, float], ...]
"""A closed linear ring of (longitude, latitude) positions, first = last."""


class AreasError(ValueError):
    """A hamlet-areas file that cannot be used; the message names the file and the feature."""


@dataclass(frozen=True)
class HamletArea:
    """One hamlet's area: its id, the name the file gives it, and its polygon's rings (exterior first)."""

    id: str
    name: str
    rings: tuple[Ring, ...]

    @property
    def exterior(self) -> Ring:
        """The outer ring."""
        return self.rings[0]


def areas_path(settings: ImpactSettings) -> Path | None:
    """Where the areas file is (a relative path under the installed config folder), None when none is configured."""
    if not settings.areas_geojson:
        return None
    path = Path(settings.areas_geojson)
    return path if path.is_absolute() else CONFIG_DIR / path


def _position(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list) or not 2 <= len(value) <= 3 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        raise AreasError(f"{where}: a position is [longitude, latitude] (numbers)")
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise AreasError(f"{where}: [{lon}, {lat}] is not a WGS84 [longitude, latitude] position")
    return lon, lat


def _ring(value: Any, where: str) -> Ring:
    if not isinstance(value, list) or len(value) > MAX_RING_POSITIONS:
        raise AreasError(f"{where}: a ring is a list of at most {MAX_RING_POSITIONS} positions")
    ring = tuple(_position(p, f"{where}[{i}]") for i, p in enumerate(value))
    if len(ring) < 4 or ring[0] != ring[-1]:
        raise AreasError(f"{where}: a ring needs at least 4 positions, the first equal to the last (closed)")
    if len(set(ring)) < 3:
        raise AreasError(f"{where}: a ring needs at least 3 distinct positions")
    return ring


def _feature(f: Any, where: str, hamlet_ids: Collection[str]) -> HamletArea:
    if not isinstance(f, dict) or f.get("type") != "Feature":
        raise AreasError(f"{where}: not a GeoJSON Feature")
    props, geometry = f.get("properties"), f.get("geometry")
    hamlet = props.get("id") if isinstance(props, dict) else None
    if not isinstance(hamlet, str) or hamlet not in hamlet_ids:
        raise AreasError(f"{where}: properties.id {hamlet!r} is not a hamlet of impact.hamlets")
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
        raise AreasError(f"{where} ({hamlet}): the geometry must be a Polygon")
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not 1 <= len(rings) <= MAX_RINGS:
        raise AreasError(f"{where} ({hamlet}): a Polygon has 1 to {MAX_RINGS} rings")
    name = props.get("name") if isinstance(props, dict) else None
    return HamletArea(hamlet, name if isinstance(name, str) and name.strip() else hamlet,
                      tuple(_ring(r, f"{where} ({hamlet}).coordinates[{i}]") for i, r in enumerate(rings)))


def parse_areas(data: bytes, hamlet_ids: Collection[str], source: str = "hamlet areas") -> dict[str, HamletArea]:
    """The areas of a GeoJSON document by hamlet id; AreasError naming `source` and the feature when it is too big,
    not a FeatureCollection of valid Polygons, or names a hamlet that is not configured or one twice."""
    if len(data) > MAX_AREAS_BYTES:
        raise AreasError(f"{source}: {len(data)} bytes, more than {MAX_AREAS_BYTES}")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AreasError(f"{source}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"),
                                                                                              list):
        raise AreasError(f"{source}: not a GeoJSON FeatureCollection")
    if len(doc["features"]) > MAX_FEATURES:
        raise AreasError(f"{source}: more than {MAX_FEATURES} features")
    out: dict[str, HamletArea] = {}
    for i, f in enumerate(doc["features"]):
        area = _feature(f, f"{source}: features[{i}]", hamlet_ids)
        if area.id in out:
            raise AreasError(f"{source}: features[{i}]: hamlet {area.id!r} has two areas")
        out[area.id] = area
    return out


_cache: dict[tuple[str, int, int, tuple[str, ...]], dict[str, HamletArea]] = {}


def load_areas(settings: ImpactSettings) -> dict[str, HamletArea]:
    """The configured hamlet areas by id ({} when no file is configured); AreasError when the file is missing or
    bad. Cached until the file changes."""
    path = areas_path(settings)
    if path is None:
        return {}
    try:
        stat = path.stat()
    except OSError as exc:
        raise AreasError(f"cannot read {path} ({exc.strerror})") from None
    if stat.st_size > MAX_AREAS_BYTES:
        raise AreasError(f"{path}: {stat.st_size} bytes, more than {MAX_AREAS_BYTES}")
    ids = tuple(h.id for h in settings.hamlets)
    key = (str(path), stat.st_size, stat.st_mtime_ns, ids)
    areas = _cache.get(key)
    if areas is None:  # two threads may both read it: the same result, the last one kept
        with path.open("rb") as f:
            areas = parse_areas(f.read(MAX_AREAS_BYTES + 1), ids, str(path))
        _cache.clear()  # one file per deployment: keep only the newest
        _cache[key] = areas
    return areas


def areas_or_none(settings: ImpactSettings) -> dict[str, HamletArea]:
    """`load_areas` for a message or a page: a bad file is logged and means no areas (the message still goes out;
    `tichwatch check-config` names the problem)."""
    try:
        return load_areas(settings)
    except AreasError as exc:
        log.warning("hamlet areas left out: %s", exc)
        return {}


def cap_polygon(area: HamletArea) -> str:
    """A CAP 1.2 <polygon> of the area's exterior ring: "lat,lon lat,lon …", first pair = last pair."""
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in area.exterior)


def areas_geojson(settings: ImpactSettings, areas: Mapping[str, HamletArea],
                  levels: Mapping[str, int]) -> dict[str, Any]:
    """A FeatureCollection of the hamlet areas for a map: each hamlet's configured name, households, and the
    highest alarm level affecting it now (`level` BD1..BD3 or None, `stations` the stations that bring it)."""
    hit: dict[str, tuple[int, list[str]]] = {}
    for station_id, level in levels.items():
        for hamlet_id in impact_at(settings, station_id, level).hamlet_ids:
            rank, stations = hit.get(hamlet_id, (0, []))
            hit[hamlet_id] = (max(rank, level), [*stations, station_id])
    features = []
    for h in settings.hamlets:
        area = areas.get(h.id)
        if area is None:
            continue
        rank, stations = hit.get(h.id, (0, []))
        features.append({"type": "Feature", "id": h.id,
                         "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in r] for r in area.rings]},
                         "properties": {"id": h.id, "name": h.name, "households": h.households,
                                        "level": f"BD{min(rank, 3)}" if rank else None, "stations": stations}})
    return {"type": "FeatureCollection", "features": features}
