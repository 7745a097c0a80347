"""Dust detections: persistence, emitted only on changes, evidence, region of interest, sensitivity, threads, status."""
from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import cv2
import numpy as np
import pytest

from tests.detectors.dust.conftest import camera, feed, frame_of
from tichwatch.core.detection import Severity
from tichwatch.detectors.dust import evidence as evidence_module
from tichwatch.detectors.dust.detector import DUST_KIND, DustDetector
from tichwatch.detectors.dust.evidence import ascii_fold, local_time, snapshot
from tichwatch.ingest.jpeg import JpegError
from tichwatch.tools.dust_synthetic import SequenceSpec, cell_labels, generate

Factory = Callable[..., DustDetector]
PLUME = SequenceSpec(seed=21, n_frames=40, plume=True, plume_start=10, plume_end=20, plume_opacity=0.75, vehicles=1)


def dust_events(events: list) -> list:
    return [(i, d) for i, d in events if d.kind == DUST_KIND]


def test_plume_raises_once_with_evidence_and_clears(detector: Factory) -> None:
    det = detector(evidence_context_frames=3, evidence_width_px=480)
    frames = list(generate(PLUME))
    events = dust_events(feed(det, frames))
    assert [(d.active) for _, d in events] == [True, False]
    (onset, d), (cleared, c) = events
    assert PLUME.plume_start < onset <= PLUME.plume_start + 3 and cleared > PLUME.plume_end
    assert (d.severity, d.unit, d.subject) == (Severity.WARNING, "index", "cam1")
    assert d.value == d.evidence["dust_index"] >= d.evidence["threshold"] == 0.7
    json.dumps(d.evidence), json.dumps(c.evidence)  # JSON-serialisable
    assert {"dust_index", "threshold", "cells", "grid", "site", "camera_id", "local_time", "persistence"} <= set(
        d.evidence)
    assert d.evidence["site"] == "Công trường Kiều Phú" and d.evidence["local_time"].endswith("+07:00")
    assert d.evidence["cells"] and all(0 <= r < 12 and 0 <= c_ < 16 for r, c_ in d.evidence["cells"])
    shot = cv2.imdecode(np.frombuffer(d.snapshot_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert shot is not None and shot.shape[1] == 480
    assert d.context_jpegs == tuple(f.jpeg for f in frames[onset - 2: onset + 1])


def test_plume_outside_the_region_of_interest_is_ignored(detector: Factory) -> None:
    frames = list(generate(PLUME))
    touched = np.zeros((12, 16), bool)
    for f in frames:
        touched |= cell_labels(f.plume_change, 12, 16) != 0
    rows, _cols = np.nonzero(~touched)
    r0, r1 = rows.min(), rows.max() + 1
    free_cols = [c for c in range(16) if not touched[:, c].any()] or [int(np.argmin(touched.sum(axis=0)))]
    c0, c1 = min(free_cols), max(free_cols) + 1
    roi = [(c0 / 16, r0 / 12), (c1 / 16, r0 / 12), (c1 / 16, r1 / 12), (c0 / 16, r1 / 12)]
    inside = dust_events(feed(detector([camera(roi=roi)]), frames))
    assert touched.any() and not touched[r0:r1, c0:c1].any()
    assert inside == []


def test_sensitivity_scales_the_thresholds(detector: Factory) -> None:
    events = dust_events(feed(detector([camera(sensitivity=2.0)]), generate(PLUME)))
    assert events[0][1].evidence["threshold"] == 0.35


def test_cameras_are_independent_and_safe_across_threads(detector: Factory) -> None:
    a = list(generate(PLUME))
    b = list(generate(SequenceSpec(seed=22, n_frames=40, vehicles=3, cloud_shadows=True)))
    sequential = detector([camera("a"), camera("b")])
    expected = {cid: [(i, d.kind, d.active) for i, d in feed(sequential, frames, cid)]
                for cid, frames in (("a", a), ("b", b))}
    threaded = detector([camera("a"), camera("b")])
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda job: (job[0], [(i, d.kind, d.active) for i, d in feed(threaded, job[1], job[0])]),
                           [("a", a), ("b", b)])
        assert dict(results) == expected
    assert [k for _, k, _ in expected["a"]].count(DUST_KIND) == 2


def test_status_for_the_api(detector: Factory) -> None:
    det = detector()
    assert det.status("nope") is None
    frames = list(generate(PLUME))[:16]
    feed(det, frames)
    status = det.status("cam1")
    assert status.last_frame_ts == frames[-1].ts and status.frames_analysed == 16
    assert len(status.cells) == 12 and len(status.cells[0]) == 16 and 0 <= status.dust_index <= 1
    json.dumps(status.as_dict())


def test_frames_of_other_cameras_and_older_frames_are_ignored(detector: Factory) -> None:
    det = detector()
    frames = list(generate(SequenceSpec(seed=2, n_frames=4)))
    assert det.update(frame_of(frames[0], "unknown")) == []
    feed(det, frames[2:3])
    assert det.update(frame_of(frames[1])) == []
    assert det.status("cam1").frames_analysed == 1


def test_undecodable_frame_is_rejected_and_counted(detector: Factory) -> None:
    det = detector()
    good = frame_of(next(generate(SequenceSpec(seed=2, n_frames=1))))
    with pytest.raises(JpegError) as err:
        det.update(replace(good, jpeg=good.jpeg[: len(good.jpeg) // 3]))
    assert err.value.reason == "truncated_jpeg"
    status = det.status("cam1")
    assert (status.frames_rejected, status.last_reject_reason, status.last_frame_ts) == (1, "truncated_jpeg", None)


def test_region_of_interest_must_cover_a_cell(detector: Factory) -> None:
    with pytest.raises(ValueError, match="region of interest"):
        detector([camera(roi=[(0.0, 0.0), (0.01, 0.0), (0.0, 0.01)])])


def test_caption_keeps_vietnamese_or_folds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ascii_fold("Công trường Kiều Phú, đường Tích") == "Cong truong Kieu Phu, duong Tich"
    assert local_time(1_717_200_000) == "2024-06-01T07:00:00+07:00"
    jpeg = next(generate(SequenceSpec(seed=2, n_frames=1))).jpeg
    flagged = np.zeros((12, 16), bool)
    flagged[5, 7] = True
    with_font = snapshot(jpeg, flagged * 0.9, flagged, ["Kiều Phú · cam1", "chỉ số bụi 0.90"], 640, 85)
    monkeypatch.setattr(evidence_module, "FONT_PATH", evidence_module.FONT_PATH.with_name("absent.ttf"))
    evidence_module._font.cache_clear()
    without = snapshot(jpeg, flagged * 0.9, flagged, ["Kiều Phú · cam1"], 640, 85)
    evidence_module._font.cache_clear()
    for data in (with_font, without):
        assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape == (480, 640, 3)
