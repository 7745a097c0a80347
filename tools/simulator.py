"""Simulated gateways and cameras: publish the scenario's readings and synthetic camera frames over MQTT.

The gauges' simulated time starts `catch_up_s` in the past and runs `speed` times faster than the wall clock until it
reaches the present, then runs in real time; timestamps are therefore never in the future and rates of rise stay
realistic. The scenario is anchored so the flood crests `crest_ago_s` before the start: with the defaults the 24 h
charts show the quiet river, the rise through báo động I–III and the start of the recession once the catch-up ends
(after about 2.5 min at 600×), and the river keeps falling live.

Cameras have no backlog (a frame is a picture of now, latest-wins), so they send live from the start, at their
configured interval on the wall clock: a camera is never silent long enough to count as offline.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from tichwatch.config.schema import CameraConfig, Settings
from tichwatch.ingest.contract import Topics, encode_rain, encode_reading
from tichwatch.tools.publisher import GatewayPublisher
from tichwatch.tools.scenario import Scenario, station_leads

log = logging.getLogger(__name__)

FrameSource = Callable[[CameraConfig, float], bytes]
"""Makes the JPEG a camera would send at a given time."""
DEFAULT_CATCH_UP_S = 26 * 3600
"""How far back simulated time starts: a little more than the dashboard's 24 h charts."""
DEFAULT_CREST_AGO_S = 6 * 3600
"""How long before the start the flood crests at a station without lead (upstream stations crest earlier)."""


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(t))


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
                 catch_up_s: float = DEFAULT_CATCH_UP_S, frame_source: FrameSource | None = None,
                 scenario: Scenario | None = None, wall: Callable[[], float] = time.time,
                 crest_ago_s: float = DEFAULT_CREST_AGO_S):
        self.settings = settings
        self.publisher = publisher
        self.topics = Topics(settings.mqtt.topic_prefix)
        self._wall = wall
        started = wall()
        self.crest_at: float | None = None  # when the anchored flood crests (a station without lead)
        if scenario is None:
            # On a whole hour: every start places the same readings (spikes too) at the same distance from the crest.
            self.crest_at = (started - crest_ago_s) // 3600 * 3600
            scenario = Scenario().anchored(self.crest_at)
        self.scenario = scenario
        self.frame_source = frame_source
        self.speed = max(1.0, speed)
        self.clock = SimClock(started - catch_up_s, self.speed, wall)
        self._leads = station_leads(list(settings.stations))
        start = self.clock.now()
        self._next_reading = {s.id: start - start % s.expected_interval_s for s in settings.stations}
        self._next_frame = {c.id: started for c in settings.cameras}
        self._next_rain = {g.id: start - start % g.expected_interval_s for g in settings.rain_gauges}
        self._seq = {s.id: 0 for s in settings.stations}
        self.published_readings = 0
        self.published_frames = 0
        self.published_rain = 0

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
        self._send_rain(now)
        if self.frame_source is not None:
            self._send_frames(self.frame_source, self._wall())

    def _send_rain(self, now: float) -> None:
        """Each rain gauge's readings due up to `now` (simulated time; a backlog as one JSON array)."""
        for gauge in self.settings.rain_gauges:
            due: list[bytes] = []
            while self._next_rain[gauge.id] <= now:
                t = self._next_rain[gauge.id]
                self._next_rain[gauge.id] = t + gauge.expected_interval_s
                mm = self.scenario.rain_mm(gauge, t, gauge.expected_interval_s)
                due.append(encode_rain(t, mm, gauge.expected_interval_s))
            if due:
                payload = due[0] if len(due) == 1 else b"[" + b",".join(due) + b"]"
                self.publisher.publish(self.topics.rain(gauge.id), payload)
                self.published_rain += len(due)

    def _send_frames(self, source: FrameSource, now: float) -> None:
        """Each camera's frame when its interval (wall clock) is up; after a stall the schedule restarts from now
        rather than sending the missed frames in a burst."""
        for camera in self.settings.cameras:
            due = self._next_frame[camera.id]
            if due > now:
                continue
            interval = camera.expected_interval_s
            self._next_frame[camera.id] = due + interval if now - due < interval else now + interval
            self.publisher.publish(self.topics.frame(camera.id), source(camera, now),
                                   user_properties={"ts": f"{now:.3f}"})
            self.published_frames += 1

    def run(self, stop: threading.Event, tick_s: float = 0.25) -> None:
        """Publish until `stop` is set."""
        log.info("simulator: %d stations, %d cameras, speed %gx, catching up from %s UTC%s",
                 len(self.settings.stations), len(self.settings.cameras), self.speed, _utc(self.clock.now()),
                 "" if self.crest_at is None else f", the flood crests at {_utc(self.crest_at)} UTC")
        while not stop.is_set():
            self.step()
            stop.wait(tick_s)
