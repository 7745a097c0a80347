"""A station's one latest level, the same in every answer: the newest reading the flood detector ACCEPTED.

"Latest" is what the detector's status holds (its last clean reading: the alarm level, the distance to the next level
and the trend are computed from it), so `latest.level_m` and `status.level_m` are one value at one time in
/stations, /stations/{id} and /status alike. A reading the detector rejected (a spike, out of range, a stuck sensor)
is never the latest: the newest one of the last day is reported on its own as `latest_rejected`, with its reason,
and the readings endpoint lists rejected readings apart from the line (see `rejected_between`). Which stored
readings were rejected is read back from the detector's recorded faults (tichwatch.detectors.flood.rejections).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tichwatch.core.samples import Reading
from tichwatch.detectors.flood.rejections import REJECTING_KINDS, FaultMark, RejectedSpan, classify, rejected_spans
from tichwatch.detectors.flood.status import StationStatus

if TYPE_CHECKING:  # the composition root, for annotations only: api never imports app at run time
    from tichwatch.app.service import Service

RECENT_REJECTED_S = 86400.0
"""How far back `latest_rejected` looks: the span of the dashboard's default chart (each marker on it explained)."""
LOOKAROUND_S = 30 * 86400.0
"""How far before and after a range the recorded faults are read to know which were open over it (a fault raised
longer ago than this and never cleared is not seen: its readings count as accepted)."""
MAX_REJECTED = 20_000
"""Most rejected readings one answer lists or leaves out (the newest; a sensor stuck for a month has more)."""


@dataclass(frozen=True)
class Rejected:
    """A stored reading the detector rejected, and why (the fault kind, e.g. `sensor.spike`)."""

    reading: Reading
    reason: str


@dataclass(frozen=True)
class Current:
    """A station now: its status with the latest accepted level and time, that reading, and the newest rejected one
    of the last day (None when there is none)."""

    status: StationStatus
    latest: Reading | None
    latest_rejected: Rejected | None


def spans_over(service: Service, station_id: str, t0: float, t1: float, held: Collection[str]) -> list[RejectedSpan]:
    """The spans of rejected readings of a station that reach into [t0, t1); `held`: the faults its status holds."""
    marks = service.store.detection_marks(station_id, REJECTING_KINDS, t0 - LOOKAROUND_S, t1 + LOOKAROUND_S)
    return rejected_spans((FaultMark(*m) for m in marks), held)


def rejected_between(service: Service, station_id: str, t0: float, t1: float,
                     spans: Sequence[RejectedSpan]) -> list[Rejected]:
    """The rejected readings with t0 <= ts < t1, oldest first (at most MAX_REJECTED: the newest)."""
    found: dict[float, Reading] = {}
    for span in reversed(spans):  # newest first, so the cap keeps the newest
        start, end = max(span.start_ts, t0), min(span.end_ts, t1)
        if start < end and len(found) < MAX_REJECTED:
            found.update((r.ts, r) for r in service.store.readings(station_id, start, end, MAX_REJECTED - len(found)))
    readings = sorted(found.values(), key=lambda r: r.ts)
    reasons = classify([r.ts for r in readings], spans)
    return [Rejected(r, why) for r, why in zip(readings, reasons, strict=True) if why is not None]


def _newest_rejected(service: Service, station_id: str, t0: float, t1: float,
                     spans: Sequence[RejectedSpan]) -> Rejected | None:
    inside = [s for s in spans if s.start_ts < t1 and s.end_ts > t0]
    for span in sorted(inside, key=lambda s: min(s.end_ts, t1), reverse=True):
        r = service.store.newest_reading(station_id, max(span.start_ts, t0), min(span.end_ts, t1))
        if r is not None:
            why = classify([r.ts], spans)[0]
            return Rejected(r, why) if why is not None else None
    return None


def current(service: Service, station_id: str, status: StationStatus) -> Current:
    """The station now, from a status the caller took once (so one answer about several stations agrees with
    itself). When the detector holds no clean reading (not started yet, or the station silent longer than its warm-up
    history) the newest stored reading stands in, unless it was rejected."""
    now = service.clock()
    t0, t1 = now - RECENT_REJECTED_S, now + RECENT_REJECTED_S  # a gateway's clock may run a little ahead
    spans = spans_over(service, station_id, t0, t1, status.faults)
    latest: Reading | None = None
    if status.ts is not None and status.level_m is not None:
        # Stored in the same step it was judged; for the moment in between, the detector's own figures.
        latest = service.store.reading_at(station_id, status.ts) or Reading(station_id, status.ts, status.level_m)
    else:
        newest = service.store.newest_reading(station_id, -math.inf, math.inf)
        if newest is not None and classify([newest.ts], spans_over(service, station_id, newest.ts, newest.ts + 1,
                                                                   status.faults))[0] is None:
            latest = newest
            status = dataclasses.replace(status, level_m=newest.level_m, ts=newest.ts)
    return Current(status, latest, _newest_rejected(service, station_id, t0, t1, spans))
