"""The pipeline: MQTT messages → decode/validate → store (one transaction per batch) → detectors → sinks → ack.

Readings travel through a bounded FIFO queue to one worker thread, which commits a batch and only then acknowledges it.
Frames go to a latest-wins slot per camera (a newer frame replaces a waiting one and is counted as dropped) and are
processed by a small worker pool, off the MQTT network thread and off the HTTP event loop.
"""
from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Protocol, Sequence

from config.schema import Settings
from detectors.detection import Detection, FrameDetector, ReadingDetector
from ingest.contract import Rejection, Topics, decode_frame, decode_readings
from ingest.gateway_auth import GatewayVerifier
from ingest.jpeg import JpegError
from ingest.metrics import Metrics
from ingest.mqtt import InboundMessage
from ingest.samples import Frame, Reading
from ingest.store import Store

log = logging.getLogger(__name__)

DEADLETTER_PREVIEW_BYTES = 512
"""Payloads up to this size are echoed (as text) on the dead-letter topic; larger ones only by size."""


class DetectionSink(Protocol):
    """Something that acts on detections inside the pipeline's transaction (the alert engine)."""

    def apply(self, conn: sqlite3.Connection, detections: Sequence[Detection], now: float) -> None:
        """Act on committed-together detections; raise to roll the whole batch back."""


class Broker(Protocol):
    """What the pipeline needs of the MQTT connection."""

    def ack(self, msg: InboundMessage) -> bool:
        """Acknowledge a committed message."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> object:
        """Publish a message."""


Listener = Callable[[Sequence[Reading], Sequence[Detection]], None]
"""Called after each commit with the new readings and the detections (live updates, historian)."""


class Pipeline:
    """Turns inbound MQTT messages into committed readings, frames and detections."""

    def __init__(self, settings: Settings, store: Store, metrics: Metrics,
                 reading_detectors: Sequence[ReadingDetector] = (), frame_detectors: Sequence[FrameDetector] = (),
                 clock: Callable[[], float] = time.time, tick_interval_s: float = 5.0, frame_workers: int = 2):
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.reading_detectors = list(reading_detectors)
        self.frame_detectors = list(frame_detectors)
        self.sinks: list[DetectionSink] = []
        self.listeners: list[Listener] = []
        self.frame_listeners: list[Callable[[Frame], None]] = []
        self.broker: Broker | None = None
        self.verifier: GatewayVerifier | None = None  # per-message gateway HMAC, when configured
        self._clock = clock
        self._tick_interval_s = tick_interval_s
        self._queue: queue.Queue[tuple[str, InboundMessage]] = queue.Queue(maxsize=settings.store.queue_max)
        self._count_in = {k: metrics.messages_in.labels(k) for k in ("water", "camera", "unknown")}
        self._accepting = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._last_fed: dict[str, float] = {}
        self._frame_slots: dict[str, Frame] = {}
        self._frame_busy: set[str] = set()
        self._frame_lock = threading.Lock()
        self._frame_pool = ThreadPoolExecutor(max_workers=frame_workers, thread_name_prefix="frames")
        self.detect_lock = threading.Lock()  # reading detectors keep state: one caller at a time (API reads too)
        metrics.queue_depth.labels("readings").set_function(self._queue.qsize)
        metrics.queue_depth.labels("frames").set_function(lambda: len(self._frame_slots))

    # -- lifecycle --------------------------------------------------------------------------------------------------
    def start(self, warm_s: float = 7 * 86400) -> None:
        """Warm the detectors from the store's recent history and start the worker."""
        now = self._clock()
        history = self.store.recent_readings(now - warm_s)
        for det in self.reading_detectors:
            det.warm(history)
        for r in history:
            self._last_fed[r.station_id] = max(r.ts, self._last_fed.get(r.station_id, r.ts))
        self._stop.clear()
        self._accepting.set()
        self._worker = threading.Thread(target=self._run, name="pipeline", daemon=True)
        self._worker.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking messages, commit and acknowledge what is queued, then stop the worker and frame pool."""
        self._accepting.clear()
        deadline = time.monotonic() + timeout_s
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stop.set()
        if self._worker:
            self._worker.join(timeout=max(0.1, deadline - time.monotonic()))
        self._frame_pool.shutdown(wait=True, cancel_futures=True)

    @property
    def backlog(self) -> int:
        """Messages waiting for the worker."""
        return self._queue.qsize()

    # -- intake (MQTT network thread) -------------------------------------------------------------------------------
    def submit(self, msg: InboundMessage) -> None:
        """Take one inbound message; blocks while the reading queue is full (back-pressure to the broker)."""
        if not self._accepting.is_set():
            return  # not acknowledged: the broker redelivers it after the restart
        kind = self.topics.classify(msg.topic)
        self._count_in[kind[0] if kind else "unknown"].inc()
        refused = self.verifier.verify(msg.topic, msg.payload, msg.user_properties, msg.received_ts,
                                       msg.redelivered) if self.verifier and kind else None
        if kind is None:
            self._reject(msg.topic, msg.payload, msg.received_ts, [Rejection("bad_topic", "topic is not part of the "
                                                                                  "contract")])
            self._ack(msg)
        elif refused is not None:
            self._reject(msg.topic, msg.payload, msg.received_ts, [refused])
            self._ack(msg)
        elif kind[0] == "camera":
            self._take_frame(kind[1], msg)
        else:
            while self._accepting.is_set():
                try:
                    self._queue.put((kind[1], msg), timeout=0.5)
                    return
                except queue.Full:
                    continue

    def _take_frame(self, camera_id: str, msg: InboundMessage) -> None:
        """Validate a frame's header and put it in its camera's latest-wins slot; frames are acked on receipt."""
        result = decode_frame(camera_id, msg.payload, msg.user_properties.get("ts"), self.settings, msg.received_ts)
        if isinstance(result, Rejection):
            self._reject(msg.topic, msg.payload, msg.received_ts, [result])
        else:
            self.offer_frame(result)
        self._ack(msg)

    def offer_frame(self, frame: Frame) -> None:
        """Queue a validated frame for its camera, replacing (and counting as dropped) one still waiting."""
        with self._frame_lock:
            if frame.camera_id in self._frame_slots:
                self.metrics.frames_dropped.labels(frame.camera_id).inc()
            self._frame_slots[frame.camera_id] = frame
            if frame.camera_id in self._frame_busy:
                return
            self._frame_busy.add(frame.camera_id)
        try:
            self._frame_pool.submit(self._drain_camera, frame.camera_id)
        except RuntimeError:  # shutting down: the frame is dropped, frames are latest-wins anyway
            self._frame_busy.discard(frame.camera_id)

    # -- reading worker ---------------------------------------------------------------------------------------------
    def _run(self) -> None:
        next_tick = time.monotonic() + self._tick_interval_s
        while not self._stop.is_set() or not self._queue.empty():
            batch = self._collect(timeout=min(0.2, max(0.0, next_tick - time.monotonic())))
            try:
                if batch:
                    self._process(batch)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self._tick_interval_s
                    self.tick(self._clock())
            except Exception:
                # The batch is not acknowledged: the broker redelivers it. Log and keep the worker alive.
                self.metrics.errors.labels("pipeline").inc()
                log.exception("pipeline batch of %d messages failed; left unacknowledged for redelivery", len(batch))
                time.sleep(0.5)

    def _collect(self, timeout: float) -> list[tuple[str, InboundMessage]]:
        """Up to batch_max messages: wait for the first, then take what arrives within batch_wait_s."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.settings.store.batch_wait_s
        while len(batch) < self.settings.store.batch_max:
            try:
                batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _process(self, batch: list[tuple[str, InboundMessage]]) -> None:
        """Decode, commit readings and detections in one transaction, then acknowledge and notify listeners."""
        now = self._clock()
        readings: list[Reading] = []
        for station_id, msg in batch:
            decoded = decode_readings(station_id, msg.payload, self.settings, msg.received_ts)
            readings.extend(decoded.readings)
            if decoded.rejections:
                self._reject(msg.topic, msg.payload, msg.received_ts, decoded.rejections)
        started = time.perf_counter()
        with self.store.transaction() as conn:
            new = Store.insert_readings(conn, readings)
            detections = self._detect_readings(new)
            self._commit_detections(conn, detections, now)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.readings_stored.inc(len(new))
        self.metrics.readings_duplicate.inc(len(readings) - len(new))
        for _, msg in batch:
            self._ack(msg)
        self._notify(new, detections)

    def _detect_readings(self, new: Sequence[Reading]) -> list[Detection]:
        """Feed new readings in time order to the detectors; late ones (older than what was fed) are stored only."""
        out: list[Detection] = []
        with self.detect_lock:
            for r in sorted(new, key=lambda r: r.ts):
                if r.ts <= self._last_fed.get(r.station_id, float("-inf")):
                    continue
                self._last_fed[r.station_id] = r.ts
                for det in self.reading_detectors:
                    started = time.perf_counter()
                    out.extend(det.update(r))
                    self.metrics.detector_seconds.labels(type(det).__name__).observe(time.perf_counter() - started)
        return out

    def tick(self, now: float) -> None:
        """Let time-based checks (silence, offline cameras) run and commit what they detect."""
        detections: list[Detection] = []
        with self.detect_lock:
            for det in [*self.reading_detectors, *self.frame_detectors]:
                detections.extend(det.tick(now))
        if detections:
            with self.store.transaction() as conn:
                self._commit_detections(conn, detections, now)
            self._notify([], detections)

    def _commit_detections(self, conn: sqlite3.Connection, detections: Sequence[Detection], now: float) -> None:
        """Store detections (and their evidence files) and hand them to the sinks, inside the caller's transaction."""
        for d in detections:
            evidence_id = self.store.save_evidence(conn, d, now)
            if evidence_id is not None:
                d.evidence["evidence_id"] = evidence_id
            self.store.insert_detection(conn, d, evidence_id)
            self.metrics.detections.labels(d.kind).inc()
        if detections:
            for sink in self.sinks:
                sink.apply(conn, detections, now)

    # -- frame workers ----------------------------------------------------------------------------------------------
    def _drain_camera(self, camera_id: str) -> None:
        """Process the newest waiting frame of a camera until none waits (one job per camera at a time)."""
        while True:
            with self._frame_lock:
                frame = self._frame_slots.pop(camera_id, None)
                if frame is None:
                    self._frame_busy.discard(camera_id)
                    return
            try:
                self._process_frame(frame)
            except Exception:
                self.metrics.errors.labels("frames").inc()
                log.exception("frame from %s failed", camera_id)

    def _process_frame(self, frame: Frame) -> None:
        """Run the frame detectors, keep the frame as the camera's latest, commit what they detect.

        A frame whose header passed but whose image data cannot be decoded is dead-lettered, not kept.
        """
        detections: list[Detection] = []
        for det in self.frame_detectors:
            started = time.perf_counter()
            try:
                detections.extend(det.update(frame))
            except JpegError as exc:
                self._reject(self.topics.frame(frame.camera_id), frame.jpeg, frame.received_ts,
                             [Rejection(exc.reason, str(exc))])
                return
            self.metrics.detector_seconds.labels(type(det).__name__).observe(time.perf_counter() - started)
        self.store.save_latest_frame(frame)
        self.metrics.frames_processed.labels(frame.camera_id).inc()
        for cb in self.frame_listeners:
            cb(frame)
        if detections:
            with self.store.transaction() as conn:
                self._commit_detections(conn, detections, self._clock())
            self._notify([], detections)

    # -- edges ------------------------------------------------------------------------------------------------------
    def _ack(self, msg: InboundMessage) -> None:
        if self.broker is not None:
            self.broker.ack(msg)

    def _reject(self, topic: str, payload: bytes, received_ts: float | None, rejections: Sequence[Rejection]) -> None:
        """Count each rejection and report it on the dead-letter topic, with the reason and the payload's size."""
        for rej in rejections:
            self.metrics.rejections.labels(rej.reason).inc()
            body: dict[str, object] = {"topic": topic, "reason": rej.reason, "detail": rej.detail,
                                       "size": len(payload), "received_ts": received_ts}
            if rej.item is not None:
                body["item"] = rej.item
            if len(payload) <= DEADLETTER_PREVIEW_BYTES:
                body["payload"] = payload.decode("utf-8", errors="replace")
            log.info("rejected %s: %s (%s)", topic[:200], rej.reason, rej.detail)
            if self.broker is not None:
                self.broker.publish(self.topics.deadletter(topic), json.dumps(body).encode(), qos=1)

    def _notify(self, readings: Sequence[Reading], detections: Sequence[Detection]) -> None:
        for cb in self.listeners:
            try:
                cb(readings, detections)
            except Exception:
                self.metrics.errors.labels("listener").inc()
                log.exception("listener failed")
