"""The learning loop of a deployment: labels, ignore regions, per-camera models trained in the background, rollback,
and the learning period of new cameras, applied to the dust detector at once.

Officers' actions run in one transaction each with their officer-audit entry; what they change in the detector is
applied after the commit. Training runs on one background thread (niced, one camera at a time) while the service
keeps judging frames with the model in service; a trained version goes into service only when it is no worse (see
`promotion_rule`).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tichwatch.alerts import false_alarms, storage
from tichwatch.alerts.actions import ActionError, alert_of, required_text, run_and_publish
from tichwatch.alerts.engine import alert_changed
from tichwatch.alerts.model import AuditEntry
from tichwatch.config.learning import LearningSettings
from tichwatch.config.schema import Settings
from tichwatch.core.bus import EventBus
from tichwatch.core.events import AlertChanged, FrameJudged
from tichwatch.detectors.dust.detector import DUST_KIND, DustDetector
from tichwatch.detectors.dust.judgement import Judgement
from tichwatch.learning import labels, period, versions
from tichwatch.learning.adaptation import (
    AdaptedModel,
    Correction,
    TrainingSet,
    camera_figures,
    cross_validated,
    f1,
    fit,
    frame_verdicts,
    logit,
    predict,
)
from tichwatch.learning.labels import Label, LabelledRows
from tichwatch.learning.versions import Version
from tichwatch.store.database import Connection
from tichwatch.store.store import Store

log = logging.getLogger(__name__)

AuditFn = Callable[[Connection, str, str, str, dict[str, Any], float], None]
"""Records an officer-audit entry inside a transaction: (conn, actor, action, target, detail, now)."""


@dataclass(frozen=True)
class ReferenceRows:
    """Rows the product computes itself (synthetic scenes through the detector) with cell labels, by sequence."""

    rows: np.ndarray  # (n, n_features)
    y: np.ndarray  # (n,) 0/1
    sequence: np.ndarray  # (n,) which synthetic sequence (even ones train, odd ones evaluate)


ReferenceSource = Callable[[], ReferenceRows]
"""Builds (or reads from its cache) the reference rows for the detector's feature set."""

LABELLED = "camera.label"
"""Officer audit action: a frame labelled dust or clear."""
IGNORED = "camera.ignore"
"""Officer audit action: the ignore region of a camera set."""
TRAINING_ASKED = "camera_model.train"
"""Officer audit action: an officer asked for a retraining."""
TRAINED = "camera_model.trained"
"""Officer audit action: a version was trained and judged (its state says the outcome)."""
ACTIVATED = "camera_model.activate"
"""Officer audit action: a version put in service by hand (a rollback, or back to the shipped model)."""
LEARNING_DONE = "camera.learning_done"
"""Officer audit action: a camera's learning period ended."""
CONFIRMED = "alert.confirmed"
"""Alert log action: an officer confirmed a dust alert."""
TRAINER = "learning"
"""The actor of what the learning loop does on its own."""


def promotion_rule(candidate_correct: int, current_correct: int, candidate_f1: float, shipped_f1: float,
                   tolerance: float) -> tuple[bool, str]:
    """A new version goes into service when, on the camera's labelled frames (each judged by a model trained without
    it), it gets at least as many right as the model in service, AND its cell F1 on the held-out reference set is at
    least the shipped model's minus `tolerance`."""
    if candidate_correct < current_correct:
        return False, f"worse on the camera's labelled frames ({candidate_correct} right, in service {current_correct})"
    if candidate_f1 < shipped_f1 - tolerance:
        return False, f"worse on the reference set (F1 {candidate_f1:.3f}, shipped {shipped_f1:.3f})"
    return True, (f"no worse: camera frames {candidate_correct} right (in service {current_correct}), reference F1 "
                  f"{candidate_f1:.3f} (shipped {shipped_f1:.3f})")


@dataclass
class _Training:
    """The trainer's state as pages show it."""

    queued: set[str] = field(default_factory=set)
    running: str | None = None
    last_error: dict[str, str] = field(default_factory=dict)
    labels_seen_ts: dict[str, float] = field(default_factory=dict)  # labels counted towards the automatic trigger


class CameraLearning:
    """Labels, ignore regions, model versions and learning periods of every camera, applied to the dust detector."""

    def __init__(self, settings: Settings, store: Store, detector: DustDetector, bus: EventBus, audit: AuditFn,
                 reference: ReferenceSource, clock: Callable[[], float]):
        self.settings = settings
        self.learning: LearningSettings = settings.learning
        self._store = store
        self._detector = detector
        self._bus = bus
        self._audit = audit
        self._reference_source = reference
        self._reference: tuple[TrainingSet, TrainingSet] | None = None
        self._clock = clock
        self.models_dir: Path = Path(settings.store.data_dir) / "models"
        self._lock = threading.Lock()  # periods and the trainer's state
        self._train_lock = threading.Lock()  # one training at a time
        self._training = _Training()
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._periods: dict[str, period.Period] = {}
        self.load()

    # -- start-up: what the store holds goes into the detector ----------------------------------------------------
    def load(self) -> None:
        """Apply every stored ignore region, model in service and learning period to the detector."""
        q = self._store.query_all
        for row in q("SELECT camera_id, cells FROM camera_ignore", ()):
            if self.settings.camera(row["camera_id"]) is not None:
                self._detector.set_ignore_cells(row["camera_id"], self._mask(json.loads(row["cells"])))
        for v in versions.all_active(q):
            if self.settings.camera(v.camera_id) is None:
                continue
            try:
                self._detector.set_camera_model(v.camera_id, self._model(v))
            except (OSError, ValueError) as exc:  # a file gone or made for other features: the shipped model serves
                log.error("camera %s: model version %d not used (%s)", v.camera_id, v.version, exc)
        s = self.learning
        for cam in self.settings.cameras:
            p = period.load(q, cam.id, s.period_frames, s.period_min_hours * 3600,
                            self._detector.on_threshold(cam.id))
            self._periods[cam.id] = p
            self._detector.set_learning(cam.id, p.learning)

    def subscribe(self, bus: EventBus) -> Callable[[], None]:
        """Listen for judged frames (learning periods) and false-alarm marks on dust alerts (clear labels)."""
        offs = [bus.subscribe(FrameJudged, self._on_frame), bus.subscribe(AlertChanged, self._on_alert)]

        def unsubscribe() -> None:
            for off in offs:
                off()
        return unsubscribe

    def start(self) -> None:
        """Start the background trainer."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tichwatch-learning", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the trainer after the training it runs (queued ones are dropped: ask again after a restart)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None

    # -- reads ----------------------------------------------------------------------------------------------------
    def recent(self, camera_id: str) -> list[Judgement]:
        """The camera's recently judged frames, oldest first."""
        return self._detector.recent_judgements(camera_id)

    def judgement(self, camera_id: str, frame_ts: float) -> Judgement | None:
        """The judged frame of this capture time (None when it left the ring)."""
        return next((j for j in self.recent(camera_id) if abs(j.ts - frame_ts) < 1e-3), None)

    def labels(self, camera_id: str, limit: int = 200) -> list[Label]:
        """The camera's labels, newest first."""
        return labels.listed(self._store.query_all, camera_id, limit)

    def ignore_cells(self, camera_id: str) -> dict[str, Any] | None:
        """The camera's ignore region (cells, when, by whom) or None."""
        rows = self._store.query_all("SELECT * FROM camera_ignore WHERE camera_id = ?", (camera_id,))
        if not rows:
            return None
        return {"cells": json.loads(rows[0]["cells"]), "updated_ts": rows[0]["updated_ts"],
                "updated_by": rows[0]["updated_by"]}

    def versions(self, camera_id: str) -> list[Version]:
        """The camera's model versions, newest first."""
        return versions.listed(self._store.query_all, camera_id)

    def period(self, camera_id: str) -> dict[str, object]:
        """The camera's learning-period state."""
        with self._lock:
            p = self._periods.get(camera_id)
            return {"learning": False} if p is None else p.as_dict()

    def training(self, camera_id: str) -> dict[str, Any]:
        """Whether a training of the camera is queued or running, and the last one's error."""
        with self._lock:
            t = self._training
            state = "running" if t.running == camera_id else "queued" if camera_id in t.queued else "idle"
            return {"state": state, "last_error": t.last_error.get(camera_id)}

    # -- officers' actions ----------------------------------------------------------------------------------------
    def label_frame(self, camera_id: str, frame_ts: float, label: str, cells: Sequence[Sequence[int]] | None,
                    actor: str, source: str = "officer", alert_id: str | None = None) -> int:
        """Label a recently judged frame dust (optionally which cells) or clear; audited. The label's id."""
        j = self.judgement(camera_id, frame_ts)
        if j is None:
            raise ActionError(404, f"camera {camera_id} has no judged frame at {frame_ts} any more: label a recent one")
        try:
            checked = None if not cells else labels.check_cells(cells, *j.grid)
        except ValueError as exc:
            raise ActionError(422, str(exc)) from None
        if label == "clear" and checked:
            raise ActionError(422, "a clear label names no cells: the whole frame is clear")
        s, now = self.learning, self._clock()
        with self._store.transaction() as conn:
            label_id = labels.save(conn, camera_id, j, label, checked, source, alert_id, actor, now,
                                   s.labels_per_camera, s.label_jpeg_max_bytes)
            self._audit(conn, actor, LABELLED, camera_id, {"frame_ts": frame_ts, "label": label, "cells": checked,
                                                           "source": source, "alert_id": alert_id}, now)
        self._maybe_retrain(camera_id)
        return label_id

    def set_ignore(self, camera_id: str, cells: Sequence[Sequence[int]], actor: str, reason: str) -> list[list[int]]:
        """Set the camera's ignore region (no cells: none), applied to the detector at once; audited."""
        d = self.settings.dust
        try:
            checked = labels.check_cells(cells, d.grid_rows, d.grid_cols)
        except ValueError as exc:
            raise ActionError(422, str(exc)) from None
        why = required_text(reason, "a reason")
        now = self._clock()
        before = self.ignore_cells(camera_id)
        with self._store.transaction() as conn:
            if checked:
                conn.execute("INSERT INTO camera_ignore (camera_id, cells, updated_ts, updated_by) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT (camera_id) DO UPDATE SET cells = excluded.cells, "
                             "updated_ts = excluded.updated_ts, updated_by = excluded.updated_by",
                             (camera_id, json.dumps([list(c) for c in checked]), now, actor))
            else:
                conn.execute("DELETE FROM camera_ignore WHERE camera_id = ?", (camera_id,))
            self._audit(conn, actor, IGNORED, camera_id, {"before": before["cells"] if before else [],
                                                          "after": [list(c) for c in checked], "reason": why}, now)
        self._detector.set_ignore_cells(camera_id, self._mask(checked) if checked else None)
        return [list(c) for c in checked]

    def answer_alert(self, alert_id: str, answer: str, note: str, actor: str) -> int:
        """An officer's answer to a dust alert: "confirmed" (dust labels of its frames, in the alert's log) or
        "false_alarm" (the false-alarm mark; its frames become clear labels). Labels made."""
        now = self._clock()
        if answer == "false_alarm":
            run_and_publish(self._store, self._bus, lambda conn: false_alarms.mark(conn, alert_id, actor, now, note))
            self._labels_of_alert(alert_id, "clear", actor)  # the bus listener has labelled them already
            return self._labels_made(alert_id)
        if answer != "confirmed":
            raise ActionError(422, f"an answer is 'confirmed' or 'false_alarm', not {answer!r}")
        text = note.strip() or "confirmed"

        def work(conn: Connection) -> tuple[None, list[AlertChanged]]:
            alert = alert_of(conn, alert_id)
            if alert.kind != DUST_KIND:
                raise ActionError(409, f"alert {alert_id} is not a dust alert")
            if false_alarms.marks_of(lambda sql, p: conn.execute(sql, p).fetchall(), [alert_id]):
                raise ActionError(409, f"alert {alert_id} is marked as a false alarm: withdraw the mark first")
            entry = AuditEntry(now, CONFIRMED, actor, text, alert_id=alert_id)
            storage.add_audit(conn, [entry])
            return None, [alert_changed(alert, alert, [entry], now)]
        run_and_publish(self._store, self._bus, work)
        self._labels_of_alert(alert_id, "dust", actor)
        return self._labels_made(alert_id)

    def _labels_made(self, alert_id: str) -> int:
        return int(self._store.query_all("SELECT COUNT(*) FROM dust_labels WHERE alert_id = ?", (alert_id,))[0][0])

    def request_training(self, camera_id: str, actor: str) -> bool:
        """Queue a training of the camera (an officer's "train now" is audited); False when one is queued already."""
        if actor != TRAINER:
            now = self._clock()
            with self._store.transaction() as conn:
                self._audit(conn, actor, TRAINING_ASKED, camera_id, {}, now)
        with self._lock:
            if camera_id in self._training.queued:
                return False
            self._training.queued.add(camera_id)
        self._queue.put((camera_id, actor))
        return True

    def activate(self, camera_id: str, version: int, actor: str, reason: str) -> None:
        """Put a version in service at once (0: the shipped model): a rollback; audited."""
        why = required_text(reason, "a reason")
        model = None
        if version != versions.SHIPPED:
            v = versions.get(self._store.query_all, camera_id, version)
            if v is None:
                raise ActionError(404, f"camera {camera_id} has no model version {version}")
            try:
                model = self._model(v)
            except (OSError, ValueError) as exc:
                raise ActionError(409, f"version {version} cannot be used: {exc}") from None
        now = self._clock()
        with self._train_lock, self._store.transaction() as conn:
            before = versions.put_in_service(conn, camera_id, version)
            self._audit(conn, actor, ACTIVATED, camera_id, {"version": version, "before": before, "reason": why}, now)
            self._detector.set_camera_model(camera_id, model)  # in the transaction: a failed commit raises first

    # -- training --------------------------------------------------------------------------------------------------
    def train(self, camera_id: str, actor: str) -> Version:
        """Train, judge and record a new version of the camera's model now (the trainer thread calls this)."""
        with self._train_lock:
            return self._train(camera_id, actor)

    def _train(self, camera_id: str, actor: str) -> Version:
        s, det = self.learning, self._detector
        judged = det.judged_cells(camera_id)
        fs = det.feature_set
        frames = labels.training_rows(self._store.query_all, camera_id, fs, judged)
        if len(frames) < s.min_labelled_frames:
            raise ActionError(409, f"camera {camera_id} has {len(frames)} labelled frames of the current features; "
                                   f"at least {s.min_labelled_frames} are needed")
        camera = self._camera_set(frames)
        ref_train, ref_eval = self._reference_sets()
        threshold = det.on_threshold(camera_id)
        correction = fit(TrainingSet.concat([camera, ref_train]), fs, s.l2)
        cv = cross_validated(camera, ref_train, fs, s.l2, threshold)
        cand = camera_figures(cv, f1(ref_eval.y, predict(correction, ref_eval.rows, ref_eval.base_logit), threshold))
        shipped_f1 = f1(ref_eval.y, _sigmoid(ref_eval.base_logit), threshold)
        in_service = versions.active(self._store.query_all, camera_id)
        current_probs = _sigmoid(camera.base_logit)
        if in_service is not None:
            try:
                current = Correction.from_bytes(versions.read_file(self.models_dir, in_service))
                current_probs = predict(current, camera.rows, camera.base_logit)
            except (OSError, ValueError):
                pass
        current_fig = camera_figures(frame_verdicts(camera, current_probs, threshold), None)
        ok, decision = promotion_rule(cand.camera_correct, current_fig.camera_correct, cand.reference_f1 or 0.0,
                                      shipped_f1, s.reference_tolerance)
        figures = {**cand.as_dict(), "in_service_version": in_service.version if in_service else 0,
                   "in_service_camera_correct": current_fig.camera_correct,
                   "shipped_reference_f1": round(shipped_f1, 3), "threshold": round(threshold, 3)}
        counts = {"labelled_frames": len(frames), "dust_frames": cand.camera_dust_frames,
                  "clear_frames": cand.camera_clear_frames, "camera_rows": int(camera.y.size),
                  "camera_dust_rows": int(camera.y.sum()), "reference_rows": int(ref_train.y.size)}
        now = self._clock()
        number = versions.next_version(self._store.query_all, camera_id)
        path, sha = versions.write_file(self.models_dir, camera_id, number, correction.to_bytes())
        v = Version(camera_id, number, now, actor, "active" if ok else "rejected", fs, path, sha, counts,
                             figures, decision)
        model = AdaptedModel(det.model, correction, number)
        with self._store.transaction() as conn:
            versions.insert(conn, replace(v, state="candidate") if ok else v)
            if ok:
                versions.put_in_service(conn, camera_id, number)
            self._audit(conn, actor, TRAINED, camera_id, {"version": number, "state": v.state, "decision": decision,
                                                          "counts": counts, "figures": figures}, now)
            if ok:
                det.set_camera_model(camera_id, model)
        log.info("camera %s: model version %d %s (%s)", camera_id, number, v.state, decision)
        return v

    def _camera_set(self, frames: list[LabelledRows]) -> TrainingSet:
        """The camera's rows: classes weigh the same in total (the frames' cells are mostly clear)."""
        rows = np.concatenate([f.rows[f.use] for f in frames])
        y = np.concatenate([f.y[f.use] for f in frames]).astype(np.int8)
        group = np.concatenate([np.full(int(f.use.sum()), i) for i, f in enumerate(frames)])
        pos, neg = int(y.sum()), int(y.size - y.sum())
        weight = np.where(y == 1, 0.5 / max(pos, 1), 0.5 / max(neg, 1)) if pos and neg else np.full(y.size, 1 / y.size)
        return TrainingSet(rows, y, logit(self._detector.model.predict(rows)), weight, group)

    def _reference_sets(self) -> tuple[TrainingSet, TrainingSet]:
        """The reference rows, split by sequence into training (even) and evaluation (odd) parts; built once.

        The training part's targets are the shipped model's own probabilities (distillation): alone, they hold the
        correction at zero, so the camera's model moves away from the shipped one only where its labels say so. The
        evaluation part keeps the scenes' true labels."""
        if self._reference is None:
            ref = self._reference_source()
            base = logit(self._detector.model.predict(ref.rows))
            w = self.learning.reference_weight
            train = ref.sequence % 2 == 0
            n = max(int(train.sum()), 1)
            soft = TrainingSet(ref.rows[train], _sigmoid(base[train]), base[train], np.full(int(train.sum()), w / n),
                               np.full(int(train.sum()), -1))
            whole = TrainingSet(ref.rows, ref.y.astype(np.int8), base, np.zeros(ref.y.size), np.full(ref.y.size, -1))
            self._reference = (soft, whole.subset(~train))
        return self._reference

    def _run(self) -> None:
        with contextlib.suppress(AttributeError, OSError):  # a lower priority for this thread only (Linux: a thread
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # is a task of its own)
        while True:
            item = self._queue.get()
            if item is None:
                return
            camera_id, actor = item
            with self._lock:
                self._training.queued.discard(camera_id)
                self._training.running = camera_id
            try:
                self.train(camera_id, actor)
                error = None
            except ActionError as exc:
                error = str(exc)
            except Exception as exc:  # a training that fails leaves the model in service as it was
                log.exception("training the model of camera %s failed", camera_id)
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._training.running = None
                if error is None:
                    self._training.last_error.pop(camera_id, None)
                else:
                    self._training.last_error[camera_id] = error

    def idle(self) -> bool:
        """True when no training is queued or running."""
        with self._lock:
            return self._training.running is None and not self._training.queued

    # -- listeners -------------------------------------------------------------------------------------------------
    def _on_frame(self, event: FrameJudged) -> None:
        with self._lock:
            p = self._periods.get(event.camera_id)
            if p is None or not p.learning:
                return
            p.observe(event.ts, event.dust_index, self._detector.on_threshold(event.camera_id))
            if not p.due():
                return
        now = self._clock()
        with self._store.transaction() as conn:
            period.complete(conn, p, now)
            self._audit(conn, TRAINER, LEARNING_DONE, event.camera_id, {"clear_frames": p.clear_frames}, now)
        self._detector.set_learning(event.camera_id, False)

    def _on_alert(self, event: AlertChanged) -> None:
        if event.kind == DUST_KIND and event.action == false_alarms.MARKED:
            self._labels_of_alert(event.alert_id, "clear", event.actor)

    def _labels_of_alert(self, alert_id: str, label: str, actor: str) -> int:
        """Label the alert's judged frames still in the ring (from its start to its clearing or now)."""
        alert = storage.get_alert(self._store.query_all, alert_id)
        if alert is None or alert.kind != DUST_KIND or self.settings.camera(alert.subject) is None:
            return 0
        cam = self.settings.camera(alert.subject)
        assert cam is not None
        lead = self.settings.dust.persistence_n * cam.expected_interval_s  # frames that built the onset
        end = alert.clearing_ts if alert.clearing_ts is not None else float("inf")
        cells = alert.evidence.get("cells") if label == "dust" else None
        source = "alert.confirmed" if label == "dust" else "alert.false_alarm"
        done = 0
        for j in self.recent(alert.subject):
            if alert.started_ts - lead <= j.ts <= end:
                existing = self._store.query_all("SELECT source, alert_id FROM dust_labels WHERE camera_id = ? AND "
                                                 "frame_ts = ?", (alert.subject, j.ts))
                if existing and existing[0]["alert_id"] == alert_id and existing[0]["source"] == source:
                    continue
                if label == "dust" and j.ts < alert.started_ts:
                    continue  # the frames before the onset may not have shown it yet
                self.label_frame(alert.subject, j.ts, label, cells, actor, source, alert_id)
                done += 1
        return done

    def _maybe_retrain(self, camera_id: str) -> None:
        n = self.learning.retrain_after_labels
        if n <= 0:
            return
        with self._lock:
            since = self._training.labels_seen_ts.get(camera_id, 0.0)
        if labels.count_since(self._store.query_all, camera_id, since) >= n:
            with self._lock:
                self._training.labels_seen_ts[camera_id] = self._clock()
            self.request_training(camera_id, TRAINER)

    # -- helpers ---------------------------------------------------------------------------------------------------
    def _mask(self, cells: Sequence[Sequence[int]]) -> np.ndarray:
        d = self.settings.dust
        mask = np.zeros((d.grid_rows, d.grid_cols), bool)
        for r, c in cells:
            if 0 <= r < d.grid_rows and 0 <= c < d.grid_cols:
                mask[r, c] = True
        return mask

    def _model(self, v: Version) -> AdaptedModel:
        correction = Correction.from_bytes(versions.read_file(self.models_dir, v))
        return AdaptedModel(self._detector.model, correction, v.version)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    result: np.ndarray = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
    return result
