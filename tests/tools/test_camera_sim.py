"""The demo's synthetic cameras: a plume soon after the start, the cameras taking turns, and the real dust detector
seeing it in the frames the simulator sends."""
from __future__ import annotations

from tichwatch.config.loader import load_settings
from tichwatch.core.samples import Frame
from tichwatch.detectors.dust.detector import DustDetector
from tichwatch.tools.camera_sim import SyntheticCameras

KP = load_settings(env={})
T0 = 1_796_070_000.0


def plume_minutes(cams: SyntheticCameras, camera_index: int, minutes: int) -> list[int]:
    cam = KP.cameras[camera_index]
    return [m for m in range(minutes) if cams.plume(cam, T0 + m * cam.expected_interval_s)]


def test_first_camera_plumes_within_minutes_and_the_cameras_take_turns() -> None:
    cams = SyntheticCameras(start_s=T0, order=[c.id for c in KP.cameras])
    first, second = plume_minutes(cams, 0, 60), plume_minutes(cams, 1, 60)
    assert 5 <= first[0] <= 10  # after the scene is learned, before a visitor gives up
    assert first and second and not set(first) & set(second)
    assert plume_minutes(cams, 0, 120)[len(first):][0] == first[0] + 60  # once an hour per camera


def test_the_dust_detector_sees_the_first_plume_in_the_simulated_frames() -> None:
    cam = KP.cameras[0]
    cams = SyntheticCameras(start_s=T0, order=[c.id for c in KP.cameras])
    detector = DustDetector([cam], KP.dust)
    seen: list[tuple[int, str, bool]] = []
    for minute in range(20):
        t = T0 + minute * cam.expected_interval_s
        jpeg = cams(cam, t)
        for d in detector.update(Frame(cam.id, t, jpeg, *cams.size_px)) + detector.tick(t + 1):
            seen.append((minute, d.kind, d.active))
    onsets = [m for m, kind, active in seen if kind == "dust.plume" and active]
    assert onsets and onsets[0] <= plume_minutes(cams, 0, 20)[0] + 5, seen
    assert not [s for s in seen if s[1].startswith("camera.")], seen  # no offline, frozen or other fault
