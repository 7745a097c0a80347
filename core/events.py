"""The events of the service's bus: what changed, published once the change is committed.

Each event is a frozen value. A producer (the pipeline, the alert engine's callers, the station registry) publishes
one after its transaction commits; consumers (the live stream, the historian, alert delivery) only listen, so a new
consumer never needs a change to a producer.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tichwatch.core.detection import Detection
from tichwatch.core.samples import Reading


@dataclass(frozen=True)
class ReadingsStored:
    """Readings a commit stored for the first time (redelivered copies are not repeated here)."""

    readings: tuple[Reading, ...]


@dataclass(frozen=True)
class DetectionsRaised:
    """Detections a commit recorded, in the order the detectors emitted them."""

    detections: tuple[Detection, ...]


@dataclass(frozen=True)
class AlertChanged:
    """One committed change of an alert: opened, raised, cleared, acknowledged, resolved, …

    `state_before` is None for a new alert; `action` is the audit log's word for the change and `actor` who made it
    (an officer's user name, `link:<receiver>`, or `detector`/`system`); `ts` is the service's time of the change."""

    alert_id: str
    kind: str
    subject: str
    state_before: str | None
    state: str
    severity: int
    action: str
    actor: str
    ts: float


@dataclass(frozen=True)
class FrameJudged:
    """A camera frame was judged: its dust index (None while not judged) and the camera's one decided state
    ('dust', a health fault such as 'camera.dark', why judging is suspended, or 'clear')."""

    camera_id: str
    ts: float
    dust_index: float | None
    state: str


@dataclass(frozen=True)
class StationChanged:
    """A station's alarm levels were changed at run time (committed and audited)."""

    station_id: str
    alarm_levels_m: Mapping[str, float | int | None]
    actor: str
    ts: float


@dataclass(frozen=True)
class DeliveryRecorded:
    """The outcome of one delivery attempt from the outbox was recorded: `state` sent, pending (to be retried) or
    failed (given up); about an alert (`alert_id`) or a bulletin (`bulletin_id`)."""

    notification_id: int
    receiver: str
    state: str
    alert_id: str | None
    bulletin_id: str | None
    ts: float


@dataclass(frozen=True)
class BulletinChanged:
    """One committed step of a bulletin (`action`: created, edited, approved, published, retry_requested …), its
    state after it, who took it and when."""

    bulletin_id: str
    action: str
    state: str
    actor: str
    ts: float


Event = (ReadingsStored | DetectionsRaised | AlertChanged | FrameJudged | StationChanged | DeliveryRecorded
         | BulletinChanged)
"""Every event the bus carries."""
