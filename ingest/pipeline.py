"""The pipeline: MQTT messages → decode/validate → detectors → store (one transaction per batch) → ack → bus.

Readings travel through a bounded FIFO queue to one worker thread, which commits a batch and only then acknowledges it.
Frames go to a latest-wins slot per camera (a newer frame replaces a waiting one and is counted as dropped) and are
processed by a small worker pool, off the MQTT network thread and off the HTTP event loop.

What a commit changed is published on the event bus only after the commit: the stored readings, the detections, the
alert changes the sinks made inside the same transaction, and each judged frame. Nothing else is told directly.
"""
from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Protocol, TypeVar, runtime_checkable

from tichwatch.config.schema import Settings
from tichwatch.core.bus import EventBus
from tichwatch.core.detection import Detection, FrameDetector, ReadingDetector
from tichwatch.core.events import DetectionsRaised, Event, FrameJudged, ReadingsStored
from tichwatch.core.metrics import Metrics
from tichwatch.core.samples import Frame, RainReading, Reading
from tichwatch.ingest.contract import Rejection, Topics, decode_frame, decode_rain, decode_readings
from tichwatch.ingest.gateway_auth import GatewayVerifier
from tichwatch.ingest.jpeg import JpegError
from tichwatch.ingest.mqtt import InboundMessage
from tichwatch.store.database import Connection
from tichwatch.store.faults import describe, is_store_fault
from tichwatch.store.rain import insert_rain_readings, recent_rain_readings
from tichwatch.store.store import EvidenceFiles, Store

log = logging.getLogger(__name__)

DEADLETTER_PREVIEW_BYTES = 512
"""Payloads up to this size are echoed (as text) on the dead-letter topic; larger ones only by size."""
RETRY_FIRST_S = 0.5
"""First wait before retrying a write the store refused (disk full, locked); doubles up to RETRY_MAX_S."""
RETRY_MAX_S = 10.0
"""Longest wait between retries: the pipeline resumes at most this long after the store recovers."""

UNCLAIMED_PER_KIND = 8
"""Detections kept per kind and subject another node owns, to claim on taking it over (a takeover comes within
seconds: more than a few changes of one kind in between would be a flapping sensor)."""

T = TypeVar("T")


def _statement(active: bool, level: str | None, severity: int) -> tuple[object, ...]:
    """What a detection says, for comparing two: raised at a level and severity, or cleared (any clear is a clear)."""
    return (True, level, severity) if active else (False,)
T_co = TypeVar("T_co", covariant=True)


class _Outcome(Protocol[T_co]):
    """What a decoder yields for one message (water or rain readings): the accepted items and the rejected ones."""

    @property
    def readings(self) -> Sequence[T_co]: ...

    @property
    def rejections(self) -> Sequence[Rejection]: ...
ReadingCheckpoint = tuple[dict[str, float | None], list[tuple[ReadingDetector, object]]]
"""What `_checkpoint` keeps: each station's last fed time and each reading detector's checkpoint."""
EvidenceFileMap = dict[int, EvidenceFiles]
"""Evidence files written for a list of detections, by the detection's index in that list."""


Queued = tuple[str, InboundMessage, bool]
"""A reading message waiting for the worker: (station or rain-gauge id, message, signature already verified)."""
RainItem = tuple[InboundMessage, list[RainReading]]
"""A rain-gauge message and its accepted readings."""


@runtime_checkable
class RainObserver(Protocol):
    """A reading detector that also takes rain-gauge readings (the flood detector, for its forecast)."""

    def observe_rain(self, reading: RainReading) -> None:
        """Take one stored rain reading (in time order per gauge)."""


def newest_times(readings: Sequence[Reading]) -> dict[str, float]:
    """Each station's newest reading time among `readings`."""
    newest: dict[str, float] = {}
    for r in readings:
        newest[r.station_id] = max(r.ts, newest.get(r.station_id, r.ts))
    return newest


class StoreUnavailable(Exception):
    """The store was still refusing writes when the pipeline was told to stop; the work stays unacknowledged."""


class DetectionSink(Protocol):
    """Something that acts on detections inside the pipeline's transaction (the alert engine)."""

    def apply(self, conn: Connection, detections: Sequence[Detection], now: float,
              observed: Mapping[str, float]) -> Sequence[Event]:
        """Act on committed-together detections and return the events of what changed (published once the
        transaction commits, never if it rolls back); raise to roll the whole batch back. `observed` gives each
        subject of the batch its newest reading (or frame) time, detected on or not: the alert lifecycle runs on the
        readings' time, so a condition that cleared inside a backlog resolves inside it. Called for every batch of
        readings, with or without detections; ticks pass it empty."""


class Broker(Protocol):
    """What the pipeline needs of the MQTT connection."""

    def ack(self, msg: InboundMessage) -> bool:
        """Acknowledge a committed message."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> object:
        """Publish a message."""


JudgeFrame = Callable[[Frame], FrameJudged | None]
"""After the frame detectors took a frame: the camera's decided state for it (None: nothing to record)."""


class Pipeline:
    """Turns inbound MQTT messages into committed readings, frames and detections."""

    def __init__(self, settings: Settings, store: Store, metrics: Metrics,
                 reading_detectors: Sequence[ReadingDetector] = (), frame_detectors: Sequence[FrameDetector] = (),
                 clock: Callable[[], float] = time.time, tick_interval_s: float = 5.0, frame_workers: int = 2,
                 bus: EventBus | None = None, judge_frame: JudgeFrame | None = None,
                 sinks: Sequence[DetectionSink] = (), broker: Broker | None = None,
                 verifier: GatewayVerifier | None = None):
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.reading_detectors = list(reading_detectors)
        self.rain_observers = [d for d in self.reading_detectors if isinstance(d, RainObserver)]
        """The reading detectors that take rain readings too: each newly stored one, in time order."""
        self.frame_detectors = list(frame_detectors)
        self.sinks: list[DetectionSink] = list(sinks)  # act on detections inside the transaction (the alert engine)
        self.bus = bus if bus is not None else EventBus(on_failure=metrics.errors.labels("listener").inc)
        """Where committed changes are published (ReadingsStored, DetectionsRaised, the sinks' events, FrameJudged)."""
        self._judge_frame = judge_frame
        self.broker = broker  # acknowledges committed messages and carries dead letters
        self.verifier = verifier  # per-message gateway HMAC, when configured
        self.owned: Callable[[set[str]], set[str]] = lambda subjects: subjects
        """Which of these stations and cameras this node detects on (several nodes on one database: those whose
        subject lease it holds, see `Service.start_leases`; alone: all). Every node stores every reading and keeps
        its reading detectors warm on every station; only the owner's detections count."""
        self._clock = clock
        self._tick_interval_s = tick_interval_s
        self._queue: queue.Queue[Queued] = queue.Queue(maxsize=settings.store.queue_max)
        self._count_in = {k: metrics.messages_in.labels(k) for k in ("water", "rain", "camera", "unknown")}
        self._accepting = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._last_fed: dict[str, float] = {}
        self._unclaimed: dict[str, dict[str, deque[tuple[int, Detection]]]] = {}
        """Per subject another node owns, per kind, the last detections this node made on it (at most
        `UNCLAIMED_PER_KIND`, pictures on the newest only): what to claim when this node takes the subject over (see
        `_claims`). Bounded by the configuration's subjects."""
        self._unclaimed_lock = threading.Lock()  # the pipeline's worker and the frame workers note and claim
        self._noted = itertools.count()  # the order detections were made in (several at one time: kept in order)
        self._from_tick: set[int] = set()  # the noted detections a tick made (silences): claimed only if still true
        self._frame_slots: dict[str, Frame] = {}
        self._frame_busy: set[str] = set()
        self._frame_lock = threading.Lock()
        self._frame_pool = ThreadPoolExecutor(max_workers=frame_workers, thread_name_prefix="frames")
        self.detect_lock = threading.Lock()  # reading detectors keep state: one caller at a time (API reads too)
        # Lock order: `detect_lock` and the store's writer lock are never held together by the pipeline (detection
        # runs before the transaction), so no other order of taking them can deadlock with it.
        self._warm_s = 7 * 86400.0
        self._fault_lock = threading.Lock()
        self.store_fault: str | None = None
        """Why the store refused the last write, while it keeps refusing (None when writes go through)."""
        self.store_fault_since: float | None = None
        metrics.queue_depth.labels("readings").set_function(self._queue.qsize)
        metrics.queue_depth.labels("frames").set_function(lambda: len(self._frame_slots))

    # -- lifecycle --------------------------------------------------------------------------------------------------
    def start(self, warm_s: float = 7 * 86400) -> None:
        """Warm the detectors from the store's recent history and start the worker."""
        self._warm_s = warm_s
        history = self.store.recent_readings(self._clock() - warm_s)
        for det in self.reading_detectors:
            self._warm_each(det, history)
        self._observe_rain(recent_rain_readings(self.store, self._clock() - warm_s))
        # Every stored reading is at most its station's `_last_fed`: this is what keeps redeliveries from the detectors.
        self._last_fed = {sid: r.ts for sid, r in self.store.latest_readings().items()}
        self._stop.clear()
        self._accepting.set()
        self._worker = threading.Thread(target=self._run, name="pipeline", daemon=True)
        self._worker.start()

    def queued(self) -> int:
        """Messages waiting for the worker."""
        return self._queue.qsize()

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
        if kind is None:
            self._reject(msg.topic, msg.payload, msg.received_ts, [Rejection("bad_topic", "topic is not part of the "
                                                                                  "contract")])
            self._ack(msg)
            return
        try:
            refused = self._verify(msg)
        except Exception as exc:
            if not is_store_fault(exc):
                raise
            # The nonce could not be recorded (disk full): a reading waits for the worker, which verifies it again
            # once the store recovers (and reports the fault meanwhile); a frame is dropped (frames are latest-wins,
            # the next one will do). Readiness is the main store's and the monitor's to say, not this one file's.
            self.metrics.store_write_failures.inc()
            log.warning("cannot record a signed message's nonce (%s)", describe(exc))
            if kind[0] == "camera":
                self.metrics.frames_dropped.labels(kind[1]).inc()
                self._ack(msg)
            else:
                self._enqueue(kind[1], msg, verified=False)
            return
        if refused is not None:
            self._reject(msg.topic, msg.payload, msg.received_ts, [refused])
            self._ack(msg)
        elif kind[0] == "camera":
            self._take_frame(kind[1], msg)
        else:
            self._enqueue(kind[1], msg, verified=True)

    def _verify(self, msg: InboundMessage) -> Rejection | None:
        """The gateway signature check (when configured): None when the message may pass, else why not.

        Raises what `is_store_fault` recognises when the nonce cannot be recorded; any other error is the message's
        (a bug in the check): it is refused, never left unacknowledged."""
        if self.verifier is None:
            return None
        try:
            return self.verifier.verify(msg.topic, msg.payload, msg.user_properties, msg.received_ts,
                                        msg.redelivered)
        except Exception as exc:
            if is_store_fault(exc):
                raise
            self.metrics.errors.labels("verify").inc()
            log.exception("gateway verification failed on %s", msg.topic[:200])
            return Rejection("undecodable", describe(exc))

    def _enqueue(self, station_id: str, msg: InboundMessage, verified: bool) -> None:
        """Queue a reading message for the worker, waiting while the queue is full (back-pressure)."""
        while self._accepting.is_set():
            try:
                self._queue.put((station_id, msg, verified), timeout=0.5)
                return
            except queue.Full:
                continue

    def _take_frame(self, camera_id: str, msg: InboundMessage) -> None:
        """Validate a frame's header and put it in its camera's latest-wins slot; frames are acked on receipt."""
        try:
            result = decode_frame(camera_id, msg.payload, msg.user_properties.get("ts"), self.settings,
                                  msg.received_ts)
        except Exception as exc:  # the decoder is total; should it fail anyway, only this frame is refused
            self.metrics.errors.labels("decode").inc()
            log.exception("frame decoder failed on a frame from %s", camera_id[:64])
            result = Rejection("undecodable", describe(exc))
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
        while not self._stop.is_set():  # `stop` sets it once the queue is drained or its time is up
            batch = self._collect(timeout=min(0.2, max(0.0, next_tick - time.monotonic())))
            try:
                if batch:
                    self._process(batch)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self._tick_interval_s
                    self.tick(self._clock())
            except StoreUnavailable:
                continue  # stopping while the store is down: what is left stays unacknowledged for redelivery
            except Exception:
                # Not expected (batches isolate their failures; a failed tick is put back and tried again at the
                # next one). Keep the worker alive; an unacknowledged message comes back at the next connection.
                self.metrics.errors.labels("pipeline").inc()
                log.exception("pipeline worker step failed (%d messages in hand, unacknowledged)", len(batch))
                time.sleep(0.5)

    def _collect(self, timeout: float) -> list[Queued]:
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

    def _process(self, batch: list[Queued]) -> None:
        """Decode every message, then commit the batch (or, when it fails on its content, each good part of it)."""
        items = []
        rain: list[RainItem] = []
        for station_id, msg, verified in batch:
            refused = None if verified else self._with_store_retry(lambda msg=msg: self._verify(msg))  # type: ignore[misc]
            if refused is not None:
                self._reject(msg.topic, msg.payload, msg.received_ts, [refused])
                self._ack(msg)
                continue
            if msg.topic.startswith(self._rain_prefix):
                rain.append((msg, self._decode_rain(station_id, msg)))
            else:
                items.append((msg, self._decode(station_id, msg)))
        if rain:  # first: the water readings of the same batch are forecast with this rain known
            self._commit_rain(rain)
        if items:
            self._commit_items(items)

    def _decode(self, station_id: str, msg: InboundMessage) -> list[Reading]:
        """The accepted readings of one message; its rejected items go to the dead-letter topic."""
        return self._accepted(decode_readings, station_id, msg)

    def _accepted(self, decode: Callable[[str, bytes, Settings, float], _Outcome[T]], subject_id: str,
                  msg: InboundMessage) -> list[T]:
        """What `decode` accepted of one message (water or rain); its rejected items go to the dead-letter topic."""
        try:
            decoded = decode(subject_id, msg.payload, self.settings, msg.received_ts)
        except Exception as exc:  # the decoder is total; should it fail anyway, only this message is refused
            self.metrics.errors.labels("decode").inc()
            log.exception("decoder failed on a message for %s", subject_id[:64])
            self._reject(msg.topic, msg.payload, msg.received_ts, [Rejection("undecodable", describe(exc))])
            return []
        if decoded.rejections:
            self._reject(msg.topic, msg.payload, msg.received_ts, decoded.rejections)
        return list(decoded.readings)

    # -- rain readings: stored, then told to the rain observers; no detections of their own -------------------------
    @property
    def _rain_prefix(self) -> str:
        """Topics under this prefix carry rain-gauge readings."""
        return f"{self.topics.prefix}/rain/"

    def _decode_rain(self, gauge_id: str, msg: InboundMessage) -> list[RainReading]:
        """The accepted rain readings of one message; its rejected items go to the dead-letter topic."""
        return self._accepted(decode_rain, gauge_id, msg)

    def _commit_rain(self, items: Sequence[RainItem]) -> None:
        """Store rain readings in one transaction (retried while the store is at fault), then tell the rain observers
        the new ones and acknowledge. A failure on the content is retried message by message; a message that fails
        alone is dead-lettered as unprocessable."""
        readings = [r for _, rs in items for r in rs]
        try:
            new = self._persist([], lambda conn, _files: insert_rain_readings(conn, readings))
        except StoreUnavailable:
            return  # stopping while the store is down: nothing acknowledged, the broker redelivers it later
        except Exception as exc:
            if len(items) > 1:
                for item in items:
                    self._commit_rain([item])
                return
            msg = items[0][0]
            self.metrics.errors.labels("pipeline").inc()
            log.error("a rain message on %s cannot be stored (%s); dead-lettered", msg.topic[:200], describe(exc))
            self._reject(msg.topic, msg.payload, msg.received_ts, [Rejection("unprocessable", describe(exc))])
            self._ack(msg)
            return
        self.metrics.rain_readings_stored.inc(len(new))
        self.metrics.readings_duplicate.inc(len(readings) - len(new))
        self._observe_rain(sorted(new, key=lambda r: r.ts))  # a backlog may come after newer readings
        for msg, _ in items:
            self._ack(msg)

    def _observe_rain(self, readings: Sequence[RainReading]) -> None:
        """Hand stored rain readings, in order, to the rain observers (one failing reading costs only itself)."""
        if not readings or not self.rain_observers:
            return
        with self.detect_lock:
            for r in readings:
                for obs in self.rain_observers:
                    try:
                        obs.observe_rain(r)
                    except Exception as exc:
                        self.metrics.errors.labels("detectors").inc()
                        log.error("%s failed on a rain reading of %s at %s (%s)", type(obs).__name__, r.gauge_id,
                                  r.ts, describe(exc))

    def _commit_items(self, items: Sequence[tuple[InboundMessage, list[Reading]]]) -> None:
        """Commit messages' readings with their detections; on a failure caused by the content, split and retry.

        Store faults (disk full, database locked) are retried inside `_persist` and never reach here. Any other
        failure is about what the batch holds: the detectors were put back as they were before it, and the batch is
        halved until the message that fails on its own is found (see `_commit_alone`)."""
        try:
            self._commit_readings(items, detect=True)
        except StoreUnavailable:
            return  # stopping while the store is down: nothing acknowledged, the broker redelivers it later
        except Exception as exc:
            if len(items) == 1:
                self._commit_alone(items[0], exc)
                return
            mid = len(items) // 2
            self._commit_items(items[:mid])
            self._commit_items(items[mid:])

    def _commit_alone(self, item: tuple[InboundMessage, list[Reading]], exc: Exception) -> None:
        """One message failed on its own: keep its readings without the detectors, else dead-letter it."""
        msg, readings = item
        self.metrics.errors.labels("pipeline").inc()
        log.error("a message on %s failed in the pipeline (%s); storing its readings without running the detectors",
                  msg.topic[:200], describe(exc), exc_info=exc)
        try:
            self._commit_readings([item], detect=False)
        except StoreUnavailable:
            return
        except Exception as again:
            log.error("a message on %s cannot be stored (%s); dead-lettered", msg.topic[:200], describe(again))
            self._reject(msg.topic, msg.payload, msg.received_ts, [Rejection("unprocessable", describe(again))])
            self._ack(msg)
            return
        with self.detect_lock:  # stored without the detectors: keep every stored reading at most `_last_fed`
            for r in readings:
                self._last_fed[r.station_id] = max(r.ts, self._last_fed.get(r.station_id, r.ts))

    def _commit_readings(self, items: Sequence[tuple[InboundMessage, list[Reading]]], detect: bool) -> None:
        """Detect, then store readings and detections in one transaction; acknowledge and notify after the commit."""
        readings = [r for _, rs in items for r in rs]
        stations = {r.station_id for r in readings}
        saved = self._checkpoint(stations) if detect else None
        owned = self.owned(stations) if detect else set()
        observed = {sid: ts for sid, ts in newest_times(readings).items() if sid in owned}
        claims = self._claims(owned)
        unclaimed: list[Detection] = []
        try:
            detections = claims + self._detect_readings(readings, owned, unclaimed) if detect else []
            started = time.perf_counter()
            new, events = self._persist(detections, lambda conn, files: self._store_batch(
                conn, readings, detections, files, observed))
        except StoreUnavailable:
            raise  # stopping: nothing was committed and nothing will be, the state no longer matters
        except Exception:
            if saved is not None:
                self._restore(saved)  # what the detectors saw was not committed: as if they never had
            raise  # claims included: one that fails on its content is not tried again (no poison for every batch)
        self._note_unclaimed(unclaimed)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.metrics.ingest_lag.set(max(0.0, self._clock() - min(msg.received_ts for msg, _ in items)))
        self.metrics.readings_stored.inc(len(new))
        self.metrics.readings_duplicate.inc(len(readings) - len(new))
        self._publish(new, detections, events)  # before the acks: listeners hear changes in commit order
        for msg, _ in items:
            self._ack(msg)

    def _store_batch(self, conn: Connection, readings: Sequence[Reading], detections: Sequence[Detection],
                     files: EvidenceFileMap, observed: Mapping[str, float]) -> tuple[list[Reading], list[Event]]:
        """Inside one transaction: the readings, the detections and the sinks' changes; returns the new readings and
        the sinks' events."""
        new = Store.insert_readings(conn, readings)
        return new, self._commit_detections(conn, detections, files, self._clock(), observed)

    def _persist(self, detections: Sequence[Detection],
                 work: Callable[[Connection, EvidenceFileMap], T]) -> T:
        """Write the detections' evidence files, then run `work` in one write transaction; both again, with backoff,
        while the store is at fault. The files come first so no file I/O happens under the writer lock; written again
        at each attempt, so a long fault cannot leave the row pointing at a file retention has since removed (a file
        without a row, after a crash in between, is an orphan retention removes)."""
        def attempt() -> T:
            files = {i: self.store.write_evidence_files(d) for i, d in enumerate(detections)
                     if d.snapshot_jpeg is not None}
            with self.store.transaction() as conn:
                return work(conn, files)
        return self._with_store_retry(attempt)

    def _with_store_retry(self, write: Callable[[], T]) -> T:
        """Run a write, retrying it with backoff for as long as the store is at fault (disk full, locked, I/O).

        Raises StoreUnavailable when the pipeline is told to stop before the store recovers, and whatever `write`
        raised when the failure is not the store's."""
        delay_s = RETRY_FIRST_S
        while True:
            try:
                result = write()
            except Exception as exc:
                if not is_store_fault(exc):
                    raise
                self._store_failed(exc)
                if self._stop.wait(delay_s):
                    raise StoreUnavailable(describe(exc)) from exc
                delay_s = min(RETRY_MAX_S, delay_s * 2)
                continue
            self._store_recovered()
            return result

    def _store_failed(self, exc: Exception) -> None:
        """Remember (for readiness and metrics) that the store refused a write."""
        with self._fault_lock:
            first = self.store_fault is None
            self.store_fault = describe(exc)
            if first:
                self.store_fault_since = self._clock()
        self.metrics.store_write_failures.inc()
        self.metrics.store_fault.set(1)
        if first:
            log.error("the store refused a write (%s); keeping the work unacknowledged and retrying with backoff",
                      describe(exc))

    def _store_recovered(self) -> None:
        """A write went through: the store is usable again."""
        if self.store_fault is None:
            return
        with self._fault_lock:
            since, self.store_fault, self.store_fault_since = self.store_fault_since, None, None
        self.metrics.store_fault.set(0)
        log.warning("the store takes writes again after %.0f s", self._clock() - (since or self._clock()))

    def _checkpoint(self, station_ids: set[str]) -> ReadingCheckpoint:
        """The reading detectors' state for these stations (and what was fed to them), before a batch."""
        with self.detect_lock:
            fed = {sid: self._last_fed.get(sid) for sid in station_ids}
            return fed, [(det, det.checkpoint(station_ids)) for det in self.reading_detectors]

    def _restore(self, saved: ReadingCheckpoint) -> None:
        """Put the reading detectors back as a `_checkpoint` found them."""
        fed, states = saved
        with self.detect_lock:
            for det, state in states:
                det.restore(state)
            for sid, ts in fed.items():
                if ts is None:
                    self._last_fed.pop(sid, None)
                else:
                    self._last_fed[sid] = ts

    def _warm_each(self, det: ReadingDetector, history: Sequence[Reading]) -> None:
        """Warm a detector reading by reading, so that one reading it fails on does not stop the others."""
        for r in history:
            try:
                det.warm([r])
            except Exception as exc:
                self.metrics.errors.labels("detectors").inc()
                log.error("%s failed warming on a reading of %s at %s (%s)", type(det).__name__, r.station_id,
                          r.ts, describe(exc))

    def _detect_readings(self, readings: Sequence[Reading], owned: set[str],
                         unclaimed: list[Detection]) -> list[Detection]:
        """Feed readings newer than each station's last one, in time order, to the detectors; return what they
        detect on the stations this node owns, and add to `unclaimed` what they detect on the others (kept, not
        committed: another node's to record, this node's to claim if it takes the station over).

        Late readings (not newer than what was fed) and redelivered ones are stored only: every committed reading
        is at most `_last_fed` of its station, so this also keeps duplicates away from the detectors."""
        out: list[Detection] = []
        with self.detect_lock:
            for r in sorted(readings, key=lambda r: r.ts):
                if r.ts <= self._last_fed.get(r.station_id, float("-inf")):
                    continue
                self._last_fed[r.station_id] = r.ts
                into = out if r.station_id in owned else unclaimed
                for det in self.reading_detectors:
                    started = time.perf_counter()
                    into.extend(det.update(r))
                    self.metrics.detector_seconds.labels(type(det).__name__).observe(time.perf_counter() - started)
        return out

    def _note_unclaimed(self, detections: Sequence[Detection], from_tick: bool = False) -> None:
        """Keep detections made on subjects another node owns (the last `UNCLAIMED_PER_KIND` of each kind and
        subject, in the order made; the pictures of the newest only). `from_tick`: silences, which this node's own
        view makes (cut from the broker, every station is silent): claimed only if the detector still holds them."""
        if not detections:
            return
        with self._unclaimed_lock:
            for d in detections:
                kept = self._unclaimed.setdefault(d.subject, {}).setdefault(d.kind, deque(maxlen=UNCLAIMED_PER_KIND))
                if len(kept) == kept.maxlen:
                    self._from_tick.discard(kept[0][0])
                if kept and (kept[-1][1].snapshot_jpeg is not None or kept[-1][1].context_jpegs):
                    kept[-1] = (kept[-1][0], replace(kept[-1][1], snapshot_jpeg=None, context_jpegs=()))
                n = next(self._noted)
                kept.append((n, d))
                if from_tick:
                    self._from_tick.add(n)

    def _claims(self, subjects: Iterable[str]) -> list[Detection]:
        """The detections this node made on these subjects, now its own, while another node owned them, that the
        store does not say: what a node that died, or a handover, left unrecorded (a crossing on the reading the old
        owner never committed, the end of a condition while nobody owned the subject). Each is claimed once. What
        the store says, or says later, is left alone: taking a subject over re-alerts nothing."""
        with self._unclaimed_lock:
            if not self._unclaimed:
                return []
            pending = [list(kept) for s in subjects for kept in self._unclaimed.pop(s, {}).values()]
            from_tick = {n for kept in pending for n, _ in kept if n in self._from_tick}
            self._from_tick -= from_tick
        claimed: list[tuple[int, Detection]] = []
        for kept in pending:
            try:
                claimed += self._unsaid(kept, from_tick)
            except Exception as exc:  # the store cannot say now: keep them for the next look, claim nothing blind
                log.warning("cannot read what the store last said of %s %s (%s); claiming it later", kept[0][1].kind,
                            kept[0][1].subject, describe(exc))
                self._note_unclaimed([d for n, d in kept if n not in from_tick])
                self._note_unclaimed([d for n, d in kept if n in from_tick], from_tick=True)
        return [d for _, d in sorted(claimed, key=lambda x: (x[1].ts, x[0]))]

    def _unsaid(self, kept: list[tuple[int, Detection]], from_tick: set[int]) -> list[tuple[int, Detection]]:
        """Of one (kind, subject)'s detections, oldest first, those after the store's last one that change what was
        last said (active or not, level, severity); a silence (`from_tick`) only while a detector still holds it."""
        d = kept[0][1]
        last = self.store.latest_detection(d.kind, d.subject)
        said_ts = float("-inf") if last is None else float(last["ts"])
        said = _statement(False, None, 0) if last is None else _statement(bool(last["active"]), last["level"],
                                                                          int(last["severity"]))
        out = []
        for n, d in sorted(kept, key=lambda x: (x[1].ts, x[0])):
            state = _statement(d.active, d.level, int(d.severity))
            if d.ts > said_ts and state != said and (n not in from_tick or self._still_holds(d)):
                out.append((n, d))
                said = state
        return out

    def _still_holds(self, d: Detection) -> bool:
        """Whether one of the detectors holds d's condition now (a silence this node saw while another node owned
        the subject: not claimed if it has ended, or if no detector can tell)."""
        now = self._clock()
        with self.detect_lock:
            detectors: list[ReadingDetector | FrameDetector] = [*self.reading_detectors, *self.frame_detectors]
            for det in detectors:
                verdict = det.holds(d.kind, d.subject, now)
                if verdict is not None:
                    return bool(verdict)
        return False

    def tick(self, now: float) -> None:
        """Let time-based checks (silence, offline cameras) run and commit what they detect on the subjects this node
        owns, with the claims of subjects it now owns (a node that died: its subjects' detections are recorded here
        even when no further message of theirs comes); when that commit fails on its content, the detectors are put
        back, so the next tick detects the same again."""
        detections: list[Detection] = []
        detectors: list[ReadingDetector | FrameDetector] = [*self.reading_detectors, *self.frame_detectors]
        with self.detect_lock:
            saved = [(det, det.checkpoint()) for det in detectors]
            for det in detectors:
                detections.extend(det.tick(now))
        with self._unclaimed_lock:
            waiting = set(self._unclaimed)
        with self._frame_lock:
            waiting -= self._frame_busy  # a camera being judged claims on its frame worker, in order
        claims: list[Detection] = []
        unclaimed: list[Detection] = []
        if detections or waiting:
            owned = self.owned({d.subject for d in detections} | waiting)
            claims = self._claims(owned)
            unclaimed = [d for d in detections if d.subject not in owned]
            detections = claims + [d for d in detections if d.subject in owned]
        if detections:
            try:
                events = self._persist(detections,
                                       lambda conn, files: self._commit_detections(conn, detections, files, now))
            except StoreUnavailable:
                raise
            except Exception:
                with self.detect_lock:
                    for det, state in saved:
                        det.restore(state)
                raise
            self._publish([], detections, events)
        self._note_unclaimed(unclaimed, from_tick=True)

    def _commit_detections(self, conn: Connection, detections: Sequence[Detection], files: EvidenceFileMap,
                           now: float, observed: Mapping[str, float] | None = None) -> list[Event]:
        """Index detections (and their evidence files) and hand them, with the subjects' newest reading times
        (`observed`), to the sinks, inside the caller's transaction; returns the sinks' events, to publish after the
        commit."""
        for i, d in enumerate(detections):
            evidence_id = self.store.insert_evidence(conn, d, files[i], now) if i in files else None
            if evidence_id is not None:
                d.evidence["evidence_id"] = evidence_id
            self.store.insert_detection(conn, d, evidence_id)
        events: list[Event] = []
        if detections or observed:
            for sink in self.sinks:
                events.extend(sink.apply(conn, detections, now, observed or {}))
        return events

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
            except StoreUnavailable:
                continue  # stopping while the store is down: frames are latest-wins, the next one will do
            except Exception:
                self.metrics.errors.labels("frames").inc()
                log.exception("frame from %s failed", camera_id)

    def _process_frame(self, frame: Frame) -> None:
        """Run the frame detectors, keep the frame as the camera's latest, commit what they detect.

        A frame whose header passed but whose image data cannot be decoded is dead-lettered, not kept. On a camera
        another node owns, the detectors run (their scene model stays current, to take over from) but what they
        detect, and the dust index, are that node's to record; the frame is kept as the latest here too.
        """
        owner = frame.camera_id in self.owned({frame.camera_id})
        detections: list[Detection] = []
        saved = [(det, det.checkpoint([frame.camera_id])) for det in self.frame_detectors]
        for det in self.frame_detectors:
            started = time.perf_counter()
            try:
                detections.extend(det.update(frame))
            except JpegError as exc:
                self._reject(self.topics.frame(frame.camera_id), frame.jpeg, frame.received_ts,
                             [Rejection(exc.reason, str(exc))])
                return
            self.metrics.detector_seconds.labels(type(det).__name__).observe(time.perf_counter() - started)
        if not owner:
            self._note_unclaimed(detections)
            detections = []
        claims = self._claims([frame.camera_id]) if owner else []
        detections = claims + detections
        if detections:  # first what officers act on; the latest frame and the judgement may fail on their own
            try:
                events = self._persist(detections, lambda conn, files: self._commit_detections(
                    conn, detections, files, self._clock(), {frame.camera_id: frame.ts}))
            except StoreUnavailable:
                raise
            except Exception:
                for det, state in saved:  # not committed: the next frame detects the same again
                    det.restore(state)
                raise
            self._publish([], detections, events)
        try:
            self.store.save_latest_frame(frame)
        except Exception as exc:
            self.metrics.errors.labels("frames").inc()
            log.error("cannot keep the latest frame of %s (%s)", frame.camera_id, describe(exc))
        self.metrics.frames_processed.labels(frame.camera_id).inc()
        if owner:
            self._record_judgement(frame)

    def _record_judgement(self, frame: Frame) -> None:
        """Store the camera's dust index and state for the frame just taken, then publish it (a failure to store
        costs this one row, counted and logged; the event is then not published, so no listener sees a row that
        the store does not have)."""
        judged = self._judge_frame(frame) if self._judge_frame is not None else None
        if judged is None:
            return
        try:
            self.store.record_dust_index(judged.camera_id, judged.ts, judged.dust_index, judged.state)
        except Exception as exc:
            self.metrics.errors.labels("frames").inc()
            log.error("cannot record the dust index of %s (%s)", frame.camera_id, describe(exc))
            return
        self.bus.publish(judged)

    # -- edges ------------------------------------------------------------------------------------------------------
    def _ack(self, msg: InboundMessage) -> None:
        if self.broker is not None:
            self.broker.ack(msg)

    def _reject(self, topic: str, payload: bytes, received_ts: float | None, rejections: Sequence[Rejection]) -> None:
        """Count each rejection and report it on the dead-letter topic, with the reason and the payload's size.

        One log line per message (not per item: a 5,000-item backlog of bad items must not flood the log)."""
        if not rejections:
            return
        first = rejections[0]
        more = f" and {len(rejections) - 1} more" if len(rejections) > 1 else ""
        log.info("rejected %s: %s (%s)%s", topic[:200], first.reason, first.detail[:300], more)
        preview = payload.decode("utf-8", errors="replace") if len(payload) <= DEADLETTER_PREVIEW_BYTES else None
        for rej in rejections:
            self.metrics.rejections.labels(rej.reason).inc()
            body: dict[str, object] = {"topic": topic, "reason": rej.reason, "detail": rej.detail,
                                       "size": len(payload), "received_ts": received_ts}
            if rej.item is not None:
                body["item"] = rej.item
            if preview is not None:
                body["payload"] = preview
            if self.broker is None:
                continue
            try:
                self.broker.publish(self.topics.deadletter(topic), json.dumps(body).encode(), qos=1)
            except Exception as exc:  # the report is best effort; the rejection is counted either way
                self.metrics.errors.labels("deadletter").inc()
                log.warning("cannot publish a dead letter for %s (%s)", topic[:200], describe(exc))

    def _publish(self, readings: Sequence[Reading], detections: Sequence[Detection], events: Sequence[Event]) -> None:
        """After a commit: count its detections and publish what it changed (the bus contains listeners' failures)."""
        for d in detections:
            self.metrics.detections.labels(d.kind).inc()
        if readings:
            self.bus.publish(ReadingsStored(tuple(readings)))
        if detections:
            self.bus.publish(DetectionsRaised(tuple(detections)))
        self.bus.publish_all(events)
