"""Public camera endpoints: the state a page shows is the dust detector's now, as a catalogue-friendly code."""
from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import NOW
from tichwatch.app.service import Service
from tichwatch.core import i18n


def test_a_camera_warming_up_then_gone_silent_says_so_in_both_languages(api_now: tuple[TestClient, Service]) -> None:
    c, svc = api_now
    cam = c.get("/api/v1/cameras/cam1").json()
    assert (cam["status"], cam["status_code"], cam["dust_index"]) == ("warming up", "warming_up", None)
    assert (i18n.text("vi", "camstate.warming_up"), i18n.text("en", "camstate.warming_up")) == (
        "Đang khởi động", "Warming up")
    interval = svc.settings.cameras[0].expected_interval_s
    svc.dust.tick(NOW)
    svc.dust.tick(NOW + 10 * interval)  # no frame for ten intervals: the detector holds camera.offline
    listed = c.get("/api/v1/cameras").json()["cameras"][0]
    assert (listed["status"], listed["status_code"]) == ("camera.offline", "camera.offline")
    assert i18n.text("en", "camstate.camera.offline") == "Camera offline"
