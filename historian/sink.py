"""The historian: copies readings, dust indices, detections and alert events to InfluxDB, never blocking the pipeline.

It is only a listener of the event bus (`subscribe`): what it records is what was committed, as the bus reports it.

`record_*` only append to the on-disk spool (local and fast). One drain thread sends the spool's oldest points in
batches and removes them once the server answered 204. While InfluxDB is unreachable the points wait in the spool,
in order and across restarts; a point refused for good (400/413/422) is isolated by halving the batch and dropped
alone, so it cannot hold back the rest.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge

from tichwatch.config.loader import secret
from tichwatch.config.schema import Settings
from tichwatch.core.bus import EventBus, Unsubscribe
from tichwatch.core.detection import Detection
from tichwatch.core.events import AlertChanged, DetectionsRaised, FrameJudged, ReadingsStored
from tichwatch.core.samples import Reading
from tichwatch.historian.influx import InfluxWriter, PointWriter, WriteFailed
from tichwatch.historian.points import alert_event_line, detection_line, dust_line, reading_line
from tichwatch.historian.spool import SPOOL_FILE, Spool
from tichwatch.store import database

log = logging.getLogger(__name__)


class HistorianMetrics:
    """The historian's Prometheus metrics, on the registry it is given."""

    def __init__(self, registry: CollectorRegistry):
        self.spool_points = Gauge("tichwatch_historian_spool_points", "Points waiting in the spool for InfluxDB",
                                  registry=registry)
        self.points_written = Counter("tichwatch_historian_points_written", "Points InfluxDB accepted",
                                      registry=registry)
        self.write_failures = Counter("tichwatch_historian_write_failures", "Write requests InfluxDB did not accept",
                                      ["reason"], registry=registry)
        self.points_dropped = Counter("tichwatch_historian_points_dropped", "Points given up (spool full, refused "
                                      "for good by the server, spool not writable)", ["reason"], registry=registry)


class Historian:
    """Spools history points on disk and drains them to InfluxDB from a background thread."""

    def __init__(self, settings: Settings, writer: PointWriter, registry: CollectorRegistry):
        self._settings = settings.historian
        self._rivers = {s.id: s.river for s in settings.stations}
        self._sites = {c.id: c.site for c in settings.cameras}
        self._spool = Spool(settings.store.data_dir / SPOOL_FILE, self._settings.spool_max_points)
        self._writer = writer
        self.metrics = HistorianMetrics(registry)
        self.metrics.spool_points.set_function(lambda: len(self._spool))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._batch_limit = self._settings.batch_points
        self._retry_s = 0.0  # current backoff; 0 while writes succeed
        self._full = False

    @property
    def spool_depth(self) -> int:
        """Points waiting to be written."""
        return len(self._spool)

    # -- recording (any thread; local disk only) ----------------------------------------------------------------------
    def record_readings(self, readings: Sequence[Reading]) -> None:
        """Spool water-level readings."""
        self._append(self._reading_lines(readings))

    def record_detections(self, detections: Sequence[Detection]) -> None:
        """Spool detections."""
        self._append([detection_line(d) for d in detections])

    def record_dust_index(self, camera_id: str, ts: float, index: float | None, status: str) -> None:
        """Spool a camera's dust index (None while not judged) and status at frame time `ts`."""
        self._append([dust_line(camera_id, self._sites.get(camera_id, ""), ts, index, status)])

    def record_alert_event(self, alert_id: str, kind: str, subject: str, state: str, severity: int, ts: float,
                           actor: str | None, action: str | None = None) -> None:
        """Spool one change of an alert's state; `actor` is the officer, None for the system; `action` the change."""
        self._append([alert_event_line(alert_id, kind, subject, state, severity, ts, actor, action)])

    def subscribe(self, bus: EventBus) -> Unsubscribe:
        """Record what the bus reports as committed: readings, detections, judged frames, alert changes; returns the
        function that stops it. Each listener only appends to the local spool."""
        stops = [bus.subscribe(ReadingsStored, lambda e: self.record_readings(e.readings)),
                 bus.subscribe(DetectionsRaised, lambda e: self.record_detections(e.detections)),
                 bus.subscribe(FrameJudged, self._on_frame_judged),
                 bus.subscribe(AlertChanged, self._on_alert_changed)]

        def unsubscribe() -> None:
            for stop in stops:
                stop()
        return unsubscribe

    def _on_frame_judged(self, e: FrameJudged) -> None:
        self.record_dust_index(e.camera_id, e.ts, e.dust_index, e.state)

    def _on_alert_changed(self, e: AlertChanged) -> None:
        self.record_alert_event(e.alert_id, e.kind, e.subject, e.state, e.severity, e.ts, e.actor, e.action)

    def _reading_lines(self, readings: Sequence[Reading]) -> list[str]:
        return [reading_line(r, self._rivers.get(r.station_id, "")) for r in readings]

    def _append(self, lines: list[str]) -> None:
        """Add points to the spool; a full or broken spool costs points (counted and logged), never an exception."""
        try:
            dropped = self._spool.append(lines)
        except database.Error:
            self.metrics.points_dropped.labels("spool_error").inc(len(lines))
            log.exception("historian spool not writable; %d points lost", len(lines))
            return
        if dropped:
            self.metrics.points_dropped.labels("spool_full").inc(dropped)
            if not self._full:
                log.error("historian spool full (%d points): dropping the oldest until InfluxDB accepts writes again",
                          self._spool.max_points)
        self._full = bool(dropped)

    # -- draining (one background thread) ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the drain thread (points spooled before a restart are sent first)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="historian", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Try a last drain within `timeout_s`, then stop; what is left stays in the spool for the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("historian still writing after %.0f s; leaving it (the spool keeps unsent points)",
                            timeout_s)
                return
        self._writer.close()
        self._spool.close()

    def _run(self) -> None:
        delay = self._settings.flush_interval_s
        while True:
            stopping = self._stop.wait(delay)
            try:
                delay = self._drain()
            except Exception:  # a bug must not end history for good: log, back off, go on
                log.exception("historian drain failed")
                delay = self._backoff()
            if stopping:
                return

    def _drain(self) -> float:
        """Send the oldest points until the spool is empty or a write fails; return the delay before the next pass."""
        while len(self._spool) and not (self._stop.is_set() and self._retry_s):
            batch = self._spool.peek(self._batch_limit)
            if not batch:
                break
            try:
                self._writer.write([line for _, line in batch])
            except WriteFailed as exc:
                self.metrics.write_failures.labels(exc.reason).inc()
                if exc.retryable:
                    return self._failed(exc)
                self._refused(batch, exc)
                continue
            self._spool.remove_through(batch[-1][0])
            self.metrics.points_written.inc(len(batch))
            self._batch_limit = min(self._settings.batch_points, self._batch_limit * 2)
            if self._retry_s:
                log.info("InfluxDB accepts writes again; %d points still spooled", len(self._spool))
                self._retry_s = 0.0
        return self._settings.flush_interval_s

    def _failed(self, exc: WriteFailed) -> float:
        """A retryable failure: log the first of a series, keep the points, back off."""
        if not self._retry_s:
            log.warning("InfluxDB write failed (%s); spooling %d points and retrying with backoff", exc,
                        len(self._spool))
        return self._backoff()

    def _backoff(self) -> float:
        s = self._settings
        self._retry_s = min(s.retry_max_s, self._retry_s * 2) if self._retry_s else s.retry_min_s
        return self._retry_s

    def _refused(self, batch: list[tuple[int, str]], exc: WriteFailed) -> None:
        """Points refused for good: halve the batch until the bad point is alone, then drop it (logged)."""
        if len(batch) > 1:
            self._batch_limit = max(1, len(batch) // 2)
            return
        point_id, line = batch[0]
        self._spool.remove_through(point_id)
        self.metrics.points_dropped.labels("refused").inc()
        log.error("InfluxDB refused a point for good (%s); dropped: %s", exc, line[:500])


def build_historian(settings: Settings, registry: CollectorRegistry,
                    env: Mapping[str, str] | None = None) -> Historian | None:
    """The configured historian (not started), None when disabled; ValueError when the token variable is unset."""
    h = settings.historian
    if not h.enabled:
        return None
    token = secret(h.token_env, env)
    if token is None:
        raise ValueError(f"historian.enabled is true but the environment variable {h.token_env} "
                         "(the InfluxDB API token) is not set")
    return Historian(settings, InfluxWriter(h, token), registry)
