"""Permalinks: URLs that return exactly one cited figure."""
from __future__ import annotations

from tichwatch.core.samples import Reading
from tichwatch.core.timefmt import iso_utc


def reading_permalink(public_url: str, reading: Reading) -> str:
    """The URL that returns exactly this reading, with its time and station."""
    return f"{public_url.rstrip('/')}/api/v1/stations/{reading.station_id}/readings/{iso_utc(reading.ts)}"
