"""Camera health: every condition is raised and cleared; darkness suspends dust detection instead of guessing."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.detectors.dust.conftest import camera, feed, frame_of
from tichwatch.detectors.dust.detector import DUST_KIND, DustDetector
from tichwatch.detectors.dust.health import HEALTH_KINDS
from tichwatch.tools.dust_synthetic import Fault, SequenceSpec, frozen_repeat, generate

Factory = Callable[..., DustDetector]


def kinds(events: list) -> list[tuple[int, str, bool]]:
    return [(i, d.kind, d.active) for i, d in events]


@pytest.mark.parametrize("fault", ["blur", "obstructed", "moved", "dark"])
def test_image_fault_is_raised_and_cleared(detector: Factory, fault: Fault) -> None:
    spec = SequenceSpec(seed=3, n_frames=22, fault=fault, fault_start=8, fault_end=15, vehicles=1, jitter=True)
    events = kinds(feed(detector(), generate(spec)))
    kind = f"camera.{fault}"
    assert [e for e in events if e[1] == kind] == [(9, kind, True), (16, kind, False)]  # 2 frames to raise and clear
    assert all(e[1] == kind for e in events), events  # nothing else, in particular no dust


def test_frozen_camera_is_raised_and_cleared(detector: Factory) -> None:
    frames = list(generate(SequenceSpec(seed=4, n_frames=22, vehicles=2)))
    frames = frozen_repeat(frames, 8)[:15] + frames[15:]  # frames 9..14 repeat frame 8's bytes
    events = kinds(feed(detector(frozen_frames=5), frames))
    assert events == [(12, "camera.frozen", True), (15, "camera.frozen", False)]


def test_offline_from_tick_and_back_with_the_next_frame(detector: Factory) -> None:
    det = detector([camera(expected_interval_s=60)], offline_factor=3.0)
    frames = list(generate(SequenceSpec(seed=5, n_frames=6)))
    feed(det, frames[:3])
    last = frames[2].ts
    assert det.tick(last + 180) == []
    raised = det.tick(last + 181)
    assert [(d.kind, d.active, d.value) for d in raised] == [("camera.offline", True, 181.0)]
    assert raised[0].evidence["last_frame_ts"] == last
    assert det.tick(last + 600) == []  # only on changes
    back = det.update(frame_of(frames[5]))
    assert [(d.kind, d.active) for d in back] == [("camera.offline", False)]
    assert det.status("cam1").health["camera.offline"] is False


def test_a_camera_that_never_sends_goes_offline(detector: Factory) -> None:
    det = detector([camera("quiet", expected_interval_s=30)])
    assert det.tick(1000.0) == []
    assert [(d.kind, d.subject) for d in det.tick(1091.0)] == [("camera.offline", "quiet")]


def test_moved_view_is_learned_after_a_while(detector: Factory) -> None:
    spec = SequenceSpec(seed=3, n_frames=20, fault="moved", fault_start=6)
    events = [(i, d.kind, d.active, d.reason) for i, d in feed(detector(moved_relearn_frames=4), generate(spec))]
    assert events[:2] == [(7, "camera.moved", True, "view changed"), (11, "camera.moved", False, "new view learned")]
    assert all(e[1] == "camera.moved" for e in events) and len(events) == 2


def test_night_raises_no_dust_and_suspends_it(detector: Factory) -> None:
    spec = SequenceSpec(seed=8, n_frames=24, night=True, plume=True, plume_start=6, plume_opacity=0.8, vehicles=2)
    det = detector()
    events = kinds(feed(det, generate(spec)))
    assert events == [(1, "camera.dark", True)]
    status = det.status("cam1")
    assert status.suspended == "too dark" and status.dust_index is None
    assert DUST_KIND not in {e[1] for e in events}


def test_dust_detection_clears_when_night_falls(detector: Factory) -> None:
    day = list(generate(SequenceSpec(seed=11, n_frames=20, plume=True, plume_start=6, plume_opacity=0.8)))
    night = list(generate(SequenceSpec(seed=11, n_frames=26, plume=True, plume_start=6, plume_opacity=0.8,
                                       night=True)))[20:]
    events = [(i, d.kind, d.active, d.reason) for i, d in feed(detector(), day + night)]
    dust = [e for e in events if e[1] == DUST_KIND]
    assert dust[0][2] is True and dust[-1][2:] == (False, "suspended: too dark")


def test_status_lists_every_health_kind(detector: Factory) -> None:
    det = detector()
    feed(det, generate(SequenceSpec(seed=2, n_frames=3)))
    assert set(det.status("cam1").health) == set(HEALTH_KINDS)
