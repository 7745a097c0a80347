"""Which stored readings the flood detector rejected, read back from the sensor-health detections it recorded.

The detector never feeds an out-of-range, stuck or spike reading to the flood logic (`FloodDetector._screen`), and it
records each such fault as a `sensor.*` detection at the time of the reading that raised it and of the reading that
cleared it. So a fault of a rejecting kind covers the readings from its raise up to, not including, its clear: those
are the rejected readings, and every other stored reading is an accepted one. Two exceptions, both read from the
recorded detections too: a spike cleared as a confirmed level shift was a real jump (its readings were accepted after
all), and a fault raised again without a clear in between lost its clear to a restart (only its raising reading is
known to be rejected). A fault still open is rejecting now only when the detector still holds it.

This is what the dashboard's headline, the charts' line and their markers agree on: "latest" is the newest accepted
reading; a rejected one is shown as such, never as the level.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from tichwatch.detectors.flood.health import RANGE, SPIKE, STUCK

REJECTING_KINDS: tuple[str, ...] = (RANGE, STUCK, SPIKE)
"""Fault kinds whose readings the flood logic never sees, in the order the detector checks them."""
SHIFT_CONFIRMED = "level shift confirmed"
"""The reason the detector gives when outliers that agree turn out to be a real jump of the level (the detector's
`_screen`; a test keeps the two the same)."""


@dataclass(frozen=True, slots=True)
class FaultMark:
    """One recorded sensor-health detection: a fault raised (active) or cleared at a reading's time."""

    kind: str
    ts: float
    active: bool
    reason: str


@dataclass(frozen=True, slots=True)
class RejectedSpan:
    """Readings with start_ts <= ts < end_ts were rejected for `kind` (end_ts is infinite while still rejecting)."""

    kind: str
    start_ts: float
    end_ts: float


def _only(ts: float) -> float:
    """The end of a span that holds the reading at `ts` and nothing after it."""
    return math.nextafter(ts, math.inf)


def rejected_spans(marks: Iterable[FaultMark], held: Collection[str]) -> list[RejectedSpan]:
    """The spans of rejected readings that recorded detections (oldest first; other kinds are ignored) describe;
    `held`: the fault kinds the detector holds now (its status), which keep a span without a clear open."""
    opened: dict[str, FaultMark] = {}
    spans: list[RejectedSpan] = []
    for mark in marks:
        if mark.kind not in REJECTING_KINDS:
            continue
        raised = opened.pop(mark.kind, None)
        if mark.active:
            if raised is not None:  # raised twice: the first one's clear was lost, only its own reading is known
                spans.append(RejectedSpan(mark.kind, raised.ts, _only(raised.ts)))
            opened[mark.kind] = mark
        elif raised is not None and not (mark.kind == SPIKE and mark.reason == SHIFT_CONFIRMED):
            spans.append(RejectedSpan(mark.kind, raised.ts, mark.ts))
    for kind, raised in opened.items():
        spans.append(RejectedSpan(kind, raised.ts, math.inf if kind in held else _only(raised.ts)))
    return sorted(spans, key=lambda s: (s.start_ts, REJECTING_KINDS.index(s.kind)))


def classify(times: Sequence[float], spans: Sequence[RejectedSpan]) -> list[str | None]:
    """Why each reading (its time; oldest first) was rejected, the first fault the detector checks, or None when it
    was accepted. `spans` sorted as `rejected_spans` returns them. One sweep over both."""
    out: list[str | None] = []
    live: list[RejectedSpan] = []
    nxt = 0
    for ts in times:
        while nxt < len(spans) and spans[nxt].start_ts <= ts:
            live.append(spans[nxt])
            nxt += 1
        live = [s for s in live if s.end_ts > ts]
        out.append(min((s.kind for s in live), key=REJECTING_KINDS.index) if live else None)
    return out
