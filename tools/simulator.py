"""Simulated gateways and cameras: publish the scenario's readings and synthetic camera frames over MQTT.

Simulated time starts `catch_up_s` in the past and runs `speed` times faster than the wall clock until it reaches the
present, then runs in real time; timestamps are therefore never in the future and rates of rise stay realistic.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from tichwatch.config.schema import CameraConfig, Settings
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.tools.publisher import GatewayPublisher
from tichwatch.tools.scenario import Scenario, station_leads

log = logging.getLogger(__name__)

FrameSource = Callable[[CameraConfig, float], bytes]
"""Makes the JPEG a camera would send at a given time."""


class SimClock:
    """Simulated time: `speed`× the wall clock from `start`, never ahead of the wall clock."""

    def __init__(self, start: float, speed: float, wall: Callable[[], float] = time.time):
        self._wall = wall
        self._real0 = wall()
        self._start = start
        self._speed = speed

    def now(self) -> float:
        """Current simulated time."""
        real = self._wall()
        return min(real, self._start + (real - self._real0) * self._speed)

    def caught_up(self) -> bool:
        """True once simulated time has reached the wall clock."""
        return self.now() >= self._wall() - 1e-6


class Simulator:
    """Publishes readings for every configured station and frames for every camera."""

    def __init__(self, settings: Settings, publisher: GatewayPublisher, speed: float = 600.0,
                 catch_up_s: float = 72 * 3600, frame_source: FrameSource | None = None,
                 scenario: Scenario | None = None, wall: Callable[[], float] = time.time):
        self.settings = settings
        self.publisher = publisher
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.scenario = scenario or Scenario()
        self.frame_source = frame_source
        self.speed = max(1.0, speed)
        self.clock = SimClock(wall() - catch_up_s, self.speed, wall)
        self._leads = station_leads(list(settings.stations))
        start = self.clock.now()
        self._next_reading = {s.id: start - start % s.expected_interval_s for s in settings.stations}
        self._next_frame = {c.id: start for c in settings.cameras}
        self._seq = {s.id: 0 for s in settings.stations}
        self.published_readings = 0
        self.published_frames = 0

    def step(self) -> None:
        """Publish everything due up to the current simulated time (a backlog goes as one JSON array)."""
        now = self.clock.now()
        for index, station in enumerate(self.settings.stations):
            due: list[bytes] = []
            while self._next_reading[station.id] <= now:
                t = self._next_reading[station.id]
                self._next_reading[station.id] = t + station.expected_interval_s
                level = self.scenario.reading(station, index, t, self._leads[station.id])
                if level is None:
                    continue
                self._seq[station.id] += 1
                due.append(encode_reading(t, level, self._seq[station.id], battery_v=12.6))
            if due:
                payload = due[0] if len(due) == 1 else b"[" + b",".join(due) + b"]"
                self.publisher.publish(self.topics.reading(station.id), payload)
                self.published_readings += len(due)
        if self.frame_source is None:
            return
        for camera in self.settings.cameras:
            if self._next_frame[camera.id] <= now:
                # While catching up, at most one frame per camera per wall second (frames are latest-wins anyway).
                self._next_frame[camera.id] = now + max(camera.expected_interval_s, self.speed)
                jpeg = self.frame_source(camera, now)
                self.publisher.publish(self.topics.frame(camera.id), jpeg, user_properties={"ts": f"{now:.3f}"})
                self.published_frames += 1

    def run(self, stop: threading.Event, tick_s: float = 0.25) -> None:
        """Publish until `stop` is set."""
        log.info("simulator: %d stations, %d cameras, speed %gx, catching up from %s", len(self.settings.stations),
                 len(self.settings.cameras), self.speed, time.strftime("%Y-%m-%d %H:%M", time.gmtime(self.clock.now())))
        while not stop.is_set():
            self.step()
            stop.wait(tick_s)
