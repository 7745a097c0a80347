"""The dust detector: camera frames in, dust-plume and camera-health detections out (a FrameDetector).

Per camera it keeps a scene model (background without dust), the health conditions, the k-of-n persistence of the
dust index and a ring of recent JPEGs for evidence. Calls for one camera take that camera's lock, so the pipeline may
call `update` for different cameras from different worker threads (and for one camera it serialises them anyway).
Frames of cameras that are not configured are ignored.
"""
from __future__ import annotations

import copy
import hashlib
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tichwatch.config.dust import DustSettings
from tichwatch.config.schema import CameraConfig
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.samples import Frame
from tichwatch.detectors.dust.backbone import BackboneCells, BackboneScorer, StackedModel, frame_image
from tichwatch.detectors.dust.background import Comparison, SceneModel
from tichwatch.detectors.dust.classifier import MODEL_PATH, DustModel
from tichwatch.detectors.dust.evidence import evidence_facts, evidence_line, local_time, snapshot
from tichwatch.detectors.dust.features import FEATURE_NAMES, roi_cell_fraction
from tichwatch.detectors.dust.health import (
    CameraHealth,
    Condition,
    is_blurred,
    is_dark,
    is_moved,
    is_obstructed,
    is_repeat,
)
from tichwatch.detectors.dust.jpeg import analysis_image
from tichwatch.detectors.dust.judgement import CellModel, Judgement
from tichwatch.ingest.jpeg import JpegError

DUST_KIND = "dust.plume"
"""Detection kind of a dust plume."""
_MAX_THRESHOLD = 0.95  # a low sensitivity must still leave a reachable threshold
_NEIGHBOURS = np.ones((3, 3), np.uint8)
JUDGEMENTS_KEPT = 120
"""Judged frames kept per camera (rows, probabilities) for labelling: `recent_judgements`."""
JUDGEMENT_JPEGS_KEPT = 30
"""Of those, the newest that keep their JPEG too (memory: a 1280×720 frame is about 150 kB)."""
_CANDIDATE_PEAK = 12.0 / 255.0  # a sub-block changed by this much: a cell with visible change


@dataclass(frozen=True)
class CameraStatus:
    """What the API shows about one camera: latest dust index and grid, health, last frame time."""

    camera_id: str
    site: str
    last_frame_ts: float | None
    dust_index: float | None  # None until a frame was judged (warming up, dark, faulty view)
    cells: list[list[float]] | None  # per-cell dust index, rows × cols
    dust_active: bool
    suspended: str | None  # why dust is not being judged right now
    health: dict[str, bool]
    frames_analysed: int
    frames_rejected: int
    last_reject_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return dict(self.__dict__)


@dataclass
class _Camera:
    """Everything the detector remembers about one camera."""

    config: CameraConfig
    scene: SceneModel
    health: CameraHealth
    roi: np.ndarray  # (rows, cols) bool
    on_threshold: float
    off_threshold: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    history: deque[np.ndarray] = field(default_factory=deque)  # neighbourhood maxima of the last n - 1 frames
    below_streak: int = 0
    dust_active: bool = False
    index: float | None = None
    cells: np.ndarray | None = None
    suspended: str | None = "warming up"
    was_dark: bool = False
    last_ts: float | None = None
    watch_since: float | None = None  # first tick time: a camera that never sends goes offline from here
    ring: deque[bytes] = field(default_factory=deque)
    judgements: deque[Judgement] = field(default_factory=lambda: deque(maxlen=JUDGEMENTS_KEPT))
    model: CellModel | None = None  # the camera's own model (None: the shipped one); a setting, not frame state
    ignore: np.ndarray | None = None  # (rows, cols) bool cells an officer excluded; a setting, not frame state
    learning: bool = False  # learning period: judged, never raised; a setting, not frame state
    emb_bg: np.ndarray | None = None  # background in the backbone's embedding space (cells, 1280); never edited
    backbone_cells: BackboneCells | None = None  # what the backbone said about the last judged frame
    frames_analysed: int = 0
    frames_rejected: int = 0
    last_reject_reason: str | None = None


class DustDetector:
    """Dust plumes and camera health for every configured camera (implements tichwatch.core.detection.FrameDetector)."""

    def __init__(self, cameras: Sequence[CameraConfig], settings: DustSettings, model_path: Path | None = None) -> None:
        self.settings = settings
        self.hand_model = DustModel.load(model_path or MODEL_PATH)
        self.scorer = BackboneScorer() if settings.backbone else None
        """The pretrained backbone and its head (None when dust.backbone is off)."""
        self.model: DustModel | StackedModel = self.hand_model if self.scorer is None else StackedModel(
            self.hand_model, len(FEATURE_NAMES), self.scorer.name)
        self.feature_set: str = str(getattr(self.model, "feature_set", "") or
                                    "hand-" + hashlib.sha256(",".join(FEATURE_NAMES).encode()).hexdigest()[:12])
        """Name of the feature set the shipped model scores (a camera's own model must score the same)."""
        self._cameras: dict[str, _Camera] = {}
        s = settings
        for cam in cameras:
            roi = roi_cell_fraction(cam.roi, s.grid_rows, s.grid_cols) >= s.roi_min_cell_fraction
            if not roi.any():
                raise ValueError(f"camera {cam.id!r}: the region of interest covers no cell of the "
                                 f"{s.grid_cols}x{s.grid_rows} grid")
            on = min(s.on_threshold / cam.sensitivity, _MAX_THRESHOLD)
            off = min(s.off_threshold / cam.sensitivity, on * s.off_threshold / s.on_threshold)
            self._cameras[cam.id] = _Camera(
                cam, SceneModel(s, roi), CameraHealth(s), roi, on, off,
                history=deque(maxlen=s.persistence_n - 1), ring=deque(maxlen=max(s.evidence_context_frames, 1)))

    def update(self, frame: Frame) -> list[Detection]:
        """Judge one frame; raise JpegError (a ValueError with `.reason`) when its bytes cannot be decoded."""
        cam = self._cameras.get(frame.camera_id)
        if cam is None:
            return []
        with cam.lock:
            return self._update(cam, frame)

    def checkpoint(self, camera_ids: Iterable[str] | None = None) -> object:
        """A copy of these cameras' state (all when None), to `restore` when what was detected after it could not be
        committed. Frames and history arrays are shared, not copied: the detector replaces them, never edits them."""
        ids = list(self._cameras) if camera_ids is None else [i for i in camera_ids if i in self._cameras]
        saved = {}
        for camera_id in ids:
            cam = self._cameras[camera_id]
            with cam.lock:
                saved[camera_id] = replace(cam, scene=copy.deepcopy(cam.scene), health=copy.deepcopy(cam.health),
                                           history=copy.copy(cam.history), ring=copy.copy(cam.ring),
                                           judgements=copy.copy(cam.judgements), lock=threading.Lock())
        return saved

    def restore(self, checkpoint: object) -> None:
        """Put back the state of a `checkpoint` (each camera keeps its configuration and lock)."""
        for camera_id, saved in checkpoint.items():  # type: ignore[attr-defined]
            cam = self._cameras[camera_id]
            with cam.lock:
                for f in fields(_Camera):
                    if f.name not in ("config", "lock", "model", "ignore", "learning"):
                        setattr(cam, f.name, getattr(saved, f.name))

    def tick(self, now: float) -> list[Detection]:
        """Raise camera.offline for cameras silent longer than offline_factor × their expected interval."""
        out: list[Detection] = []
        for cam in self._cameras.values():
            with cam.lock:
                if cam.watch_since is None:
                    cam.watch_since = now
                since = cam.last_ts if cam.last_ts is not None else cam.watch_since
                silence = now - since
                if not cam.health.offline and silence > cam.config.expected_interval_s * self.settings.offline_factor:
                    cam.health.offline = True
                    out.append(self._health(cam, "camera.offline", now, True, silence, "s", "no frames",
                                            {"last_frame_ts": cam.last_ts, "silence_s": round(silence, 1),
                                             "expected_interval_s": cam.config.expected_interval_s}))
        return out

    def holds(self, kind: str, subject: str, now: float) -> bool | None:
        """Does the detector hold a camera's health condition (kind, camera) now? None when it cannot tell: not one of
        its cameras or of those kinds (a plume is judged frame by frame)."""
        cam = self._cameras.get(subject)
        if cam is None:
            return None
        with cam.lock:
            return cam.health.active().get(kind)

    def recent_judgements(self, camera_id: str) -> list[Judgement]:
        """The camera's recently judged frames, oldest first (empty for a camera not configured)."""
        cam = self._cameras.get(camera_id)
        if cam is None:
            return []
        with cam.lock:
            return list(cam.judgements)

    def set_camera_model(self, camera_id: str, model: CellModel | None) -> None:
        """Score this camera's cells with its own model from the next frame on (None: the shipped model)."""
        if model is not None and model.feature_set != self.feature_set:
            raise ValueError(f"the model scores feature set {model.feature_set!r}, the detector computes "
                             f"{self.feature_set!r}")
        cam = self._cameras[camera_id]
        with cam.lock:
            cam.model = model

    def set_ignore_cells(self, camera_id: str, mask: np.ndarray | None) -> None:
        """Exclude these (rows, cols) cells from dust judging from the next frame on (None: none excluded)."""
        s = self.settings
        if mask is not None and mask.shape != (s.grid_rows, s.grid_cols):
            raise ValueError(f"an ignore mask must be {s.grid_rows}x{s.grid_cols}, not {mask.shape}")
        cam = self._cameras[camera_id]
        with cam.lock:
            cam.ignore = None if mask is None or not mask.any() else mask.astype(bool).copy()

    def set_learning(self, camera_id: str, learning: bool) -> None:
        """Put a camera in (or out of) its learning period: dust is judged but never raised."""
        cam = self._cameras[camera_id]
        with cam.lock:
            cam.learning = learning

    def judged_cells(self, camera_id: str) -> np.ndarray:
        """The (rows, cols) cells dust is judged on for this camera: its region of interest without ignored cells."""
        cam = self._cameras[camera_id]
        with cam.lock:
            result: np.ndarray = cam.roi if cam.ignore is None else cam.roi & ~cam.ignore
            return result.copy()

    def on_threshold(self, camera_id: str) -> float:
        """The dust index at or above which this camera raises a dust detection (after its sensitivity)."""
        return self._cameras[camera_id].on_threshold

    def status(self, camera_id: str) -> CameraStatus | None:
        """The latest dust index, cell grid, health and last frame time of a camera; None when not configured."""
        cam = self._cameras.get(camera_id)
        if cam is None:
            return None
        with cam.lock:
            return CameraStatus(
                camera_id, cam.config.site, cam.last_ts, cam.index,
                None if cam.cells is None else np.round(cam.cells, 3).tolist(), cam.dust_active, cam.suspended,
                cam.health.active(), cam.frames_analysed, cam.frames_rejected, cam.last_reject_reason)

    # -- one frame ---------------------------------------------------------------------------------------------

    def _update(self, cam: _Camera, frame: Frame) -> list[Detection]:
        s = self.settings
        if cam.last_ts is not None and frame.ts <= cam.last_ts:
            return []  # older than what was judged already: latest wins
        try:
            img, _ = analysis_image(frame.jpeg, s.analysis_width_px)
        except JpegError as exc:
            cam.frames_rejected += 1
            cam.last_reject_reason = exc.reason
            raise
        out: list[Detection] = []
        gap = None if cam.last_ts is None else frame.ts - cam.last_ts
        cam.last_ts = frame.ts
        cam.frames_analysed += 1
        if cam.health.offline:
            cam.health.offline = False
            out.append(self._health(cam, "camera.offline", frame.ts, False, gap, "s", "frames again", {}))
        if gap is not None and gap > cam.config.expected_interval_s * s.offline_factor:
            cam.scene.reset()  # the scene may have changed while nothing came: learn it afresh
            cam.history.clear()
        cam.ring.append(frame.jpeg)
        c = cam.scene.compare(img)
        try:
            out += self._judge(cam, frame, c, gap or 0.0)
        finally:
            cam.scene.advance(c)
        return out

    def _judge(self, cam: _Camera, frame: Frame, c: Comparison, dt: float) -> list[Detection]:
        s, h, ts = self.settings, cam.health, frame.ts
        out: list[Detection] = []
        dark = is_dark(c, s, cam.was_dark)
        cam.was_dark = dark
        out += self._observe(cam, h.dark, "camera.dark", ts, dark, c.luma_median, "luma", "too dark",
                             {"luma_median": round(c.luma_median, 1), "threshold": s.dark_luma_max})
        if dark:
            cam.scene.reset()  # daylight will look different: learn the scene again at dawn
            return out + self._suspend(cam, ts, "too dark")
        repeat = is_repeat(c, s)  # judged in daylight only: a black night picture compresses to identical frames
        out += self._observe(cam, h.frozen, "camera.frozen", ts, repeat, c.frame_diff, "luma", "identical frames",
                             {"identical_frames": s.frozen_frames})
        if repeat:
            return out  # nothing new to judge; dust keeps its state
        if not cam.scene.ready:
            cam.scene.learn(c, dt)
            cam.suspended = "warming up"
            cam.emb_bg = None  # the backbone's background starts afresh with the scene's
            return out
        obstructed = is_obstructed(c, s)
        blur = is_blurred(c, s) and not obstructed  # a covered lens loses its edges too: say what happened
        moved = is_moved(c, s) and not (blur or obstructed)  # a blurred or covered view cannot be matched
        out += self._observe(cam, h.blur, "camera.blur", ts, blur, c.sharpness_ratio, "ratio", "lost sharpness",
                             {"sharpness_ratio": _r(c.sharpness_ratio), "threshold": s.blur_sharpness_ratio_max})
        out += self._observe(cam, h.obstructed, "camera.obstructed", ts, obstructed, c.featureless_fraction,
                             "fraction", "view covered", {"featureless_fraction": _r(c.featureless_fraction),
                                                          "threshold": s.obstructed_fraction_min})
        out += self._observe(cam, h.moved, "camera.moved", ts, moved, c.view_match, "ratio", "view changed",
                             {"view_match": _r(c.view_match), "threshold": s.moved_match_min})
        if h.moved.active and s.moved_relearn_frames and h.moved.active_frames >= s.moved_relearn_frames:
            h.moved.set(False)
            cam.scene.reset()
            cam.history.clear()
            cam.scene.learn(c, dt)
            out.append(self._health(cam, "camera.moved", ts, False, c.view_match, "ratio", "new view learned", {}))
            cam.suspended = "warming up"
            return out
        if blur or obstructed or moved or h.blur.active or h.obstructed.active or h.moved.active:
            cam.suspended = "camera fault"
            cam.history.clear()
            return out  # dust is not judged, and the background not learned, through a faulty view
        return out + self._dust(cam, frame, c, dt)

    def _dust(self, cam: _Camera, frame: Frame, c: Comparison, dt: float) -> list[Detection]:
        s = self.settings
        assert c.features is not None  # the scene model is ready
        model = cam.model if cam.model is not None else self.model
        rows = self._rows(cam, frame, c, dt)
        probs = np.asarray(model.predict(rows), np.float32).ravel()
        self._keep_judgement(cam, frame, rows, probs,
                             (c.features.peak >= _CANDIDATE_PEAK).ravel())
        p = probs.reshape(s.grid_rows, s.grid_cols).copy()
        p[~cam.roi] = 0.0
        if cam.ignore is not None:
            p[cam.ignore] = 0.0
        cells = persisted(p, cam.history, s.persistence_k)
        cam.history.append(cv2.dilate(p, _NEIGHBOURS))
        cam.cells, cam.index, cam.suspended = cells, float(cells.max()), "learning" if cam.learning else None
        cam.scene.learn(c, dt)
        cam.below_streak = cam.below_streak + 1 if cam.index < cam.off_threshold else 0
        if not cam.dust_active and cam.index >= cam.on_threshold and not cam.learning:
            cam.dust_active = True
            cam.below_streak = 0
            return [self._dust_onset(cam, frame, cells)]
        if cam.dust_active and cam.below_streak >= s.clear_frames:
            return [self._dust_clear(cam, frame.ts, f"below {cam.off_threshold:.2f} for {s.clear_frames} frames")]
        return []

    def _rows(self, cam: _Camera, frame: Frame, c: Comparison, dt: float) -> np.ndarray:
        """The per-cell rows the model scores: the hand-made features, then the backbone's columns (when on)."""
        s = self.settings
        assert c.features is not None
        if self.scorer is None:
            return c.features.matrix
        held = (c.features.peak >= s.background_hold_change).ravel()
        bb = self.scorer.cells(frame_image(frame.jpeg), s.grid_rows, s.grid_cols, cam.emb_bg, held, dt,
                               s.background_time_constant_s, s.background_held_time_constant_s)
        cam.emb_bg, cam.backbone_cells = bb.background, bb
        return np.hstack([c.features.matrix, bb.columns])

    def _keep_judgement(self, cam: _Camera, frame: Frame, rows: np.ndarray, probs: np.ndarray,
                        candidate: np.ndarray) -> None:
        """Add the frame's judgement to the camera's ring; frames older than the newest few drop their JPEG."""
        s = self.settings
        cam.judgements.append(Judgement(frame.ts, rows, probs, candidate, self.feature_set, frame.jpeg,
                                        (s.grid_rows, s.grid_cols)))
        if len(cam.judgements) > JUDGEMENT_JPEGS_KEPT:
            old = cam.judgements[-JUDGEMENT_JPEGS_KEPT - 1]
            if old.jpeg:
                cam.judgements[-JUDGEMENT_JPEGS_KEPT - 1] = replace(old, jpeg=b"")

    def _suspend(self, cam: _Camera, ts: float, reason: str) -> list[Detection]:
        """Stop judging dust; an active dust detection clears because nothing can be said about it."""
        cam.suspended, cam.index, cam.cells = reason, None, None
        cam.history.clear()
        if cam.dust_active:
            return [self._dust_clear(cam, ts, f"suspended: {reason}")]
        return []

    # -- detections --------------------------------------------------------------------------------------------

    def _dust_onset(self, cam: _Camera, frame: Frame, p: np.ndarray) -> Detection:
        s = self.settings
        flagged = p >= cam.on_threshold
        index = float(p.max())
        evidence = {
            "dust_index": round(index, 3), "threshold": round(cam.on_threshold, 3),
            "cells": [[int(r), int(c)] for r, c in zip(*np.nonzero(flagged))], "grid": [s.grid_rows, s.grid_cols],
            "persistence": [s.persistence_k, s.persistence_n], "site": cam.config.site,
            "camera_id": cam.config.id, "local_time": local_time(frame.ts), "frame_size": [frame.width, frame.height],
            "sensitivity": cam.config.sensitivity, "model": self.model.info.get("real", "unknown"),
        }
        if cam.judgements:
            rows = cam.judgements[-1].rows
            bb = cam.backbone_cells.prob if cam.backbone_cells is not None and self.scorer is not None else None
            hand = np.asarray(self.hand_model.predict(rows[:, :len(FEATURE_NAMES)]), np.float32)
            evidence["evidence"] = evidence_facts(rows, flagged, hand, bb, cam.on_threshold, FEATURE_NAMES)
        facts = evidence.get("evidence") or {}
        caption = [f"{cam.config.site} · {cam.config.id}",
                   f"{local_time(frame.ts).replace('T', ' ')} · chỉ số bụi / dust index {index:.2f}",
                   evidence_line(facts, "vi"), evidence_line(facts, "en")]
        image = snapshot(frame.jpeg, p, flagged, caption, s.evidence_width_px, s.evidence_jpeg_quality)
        context = tuple(cam.ring)[-s.evidence_context_frames:] if s.evidence_context_frames else ()
        return Detection(DUST_KIND, cam.config.id, frame.ts, True, Severity.WARNING, round(index, 3), "index",
                         reason=f"dust index {index:.2f} over {cam.on_threshold:.2f}, seen in {s.persistence_k} of "
                                f"the last {s.persistence_n} frames", evidence=evidence, snapshot_jpeg=image,
                         context_jpegs=context)

    def _dust_clear(self, cam: _Camera, ts: float, reason: str) -> Detection:
        cam.dust_active = False
        value = None if cam.index is None else round(cam.index, 3)
        return Detection(DUST_KIND, cam.config.id, ts, False, Severity.WARNING, value, "index", reason=reason,
                         evidence={"dust_index": value, "threshold": round(cam.off_threshold, 3),
                                   "site": cam.config.site, "camera_id": cam.config.id, "local_time": local_time(ts)})

    def _observe(self, cam: _Camera, cond: Condition, kind: str, ts: float, present: bool, value: float | None,
                 unit: str, reason: str, evidence: dict[str, Any]) -> list[Detection]:
        change = cond.observe(present)
        if change is None:
            return []
        return [self._health(cam, kind, ts, change, value, unit, reason if change else "recovered", evidence)]

    def _health(self, cam: _Camera, kind: str, ts: float, active: bool, value: float | None, unit: str, reason: str,
                evidence: dict[str, Any]) -> Detection:
        severity = Severity.INFO if kind == "camera.dark" else Severity.WARNING
        full = {"site": cam.config.site, "camera_id": cam.config.id, "local_time": local_time(ts), **evidence}
        return Detection(kind, cam.config.id, ts, active, severity, _r(value), unit, reason=reason, evidence=full)


def persisted(p: np.ndarray, history: Sequence[np.ndarray], k: int) -> np.ndarray:
    """Per-cell dust index: the cell's probability now, capped by the support it had before at the same place.

    The support is the (k - 1)-th highest of the neighbourhood maxima of the previous frames in `history` (the last
    n - 1): a plume stays where it rose, a truck or a gust does not. With k = 1 the index is the probability itself.
    """
    if k <= 1:
        return p
    if len(history) < k - 1:
        return np.zeros_like(p)
    support = np.sort(np.stack(history), axis=0)[-(k - 1)]
    result: np.ndarray = np.minimum(p, support)
    return result


def _r(x: float | None) -> float | None:
    """Round a figure for evidence (and make numpy floats plain floats)."""
    return None if x is None else round(float(x), 3)
