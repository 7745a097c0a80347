"""Replay recorded levels (a `time_utc,level_m` CSV, the format of the shared data) through MQTT as a gateway would."""
from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tichwatch.ingest.contract import Topics, encode_reading, parse_time
from tichwatch.tools.publisher import GatewayPublisher


def read_levels_csv(path: Path) -> Iterator[tuple[float, float]]:
    """(epoch seconds, level m) rows of a levels CSV, skipping empty levels (gauge gaps)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"time_utc", "level_m"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected the columns time_utc,level_m")
        for row in reader:
            if row["level_m"].strip():
                yield parse_time(row["time_utc"]), float(row["level_m"])


def replay(path: Path, station_id: str, publisher: GatewayPublisher, topics: Topics, speed: float,
           shift_to_now: bool = True, stop: threading.Event | None = None,
           wall: Callable[[], float] = time.time) -> int:
    """Publish the file's readings, paced `speed`× faster than recorded; return how many were published.

    With `shift_to_now` the series is moved so its last reading lands at the present (the service refuses readings
    older than its age limit, and detectors watch the present).
    """
    rows = list(read_levels_csv(path))
    if not rows:
        return 0
    offset = wall() - rows[-1][0] - 1 if shift_to_now else 0.0
    start_real, start_rec = wall(), rows[0][0]
    stop = stop or threading.Event()
    count = 0
    for ts, level in rows:
        delay = (ts - start_rec) / speed - (wall() - start_real)
        if delay > 0 and stop.wait(delay):
            break
        publisher.publish(topics.reading(station_id), encode_reading(ts + offset, level))
        count += 1
    return count
