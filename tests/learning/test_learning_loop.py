"""THE learning-loop test, through the HTTP API of the real app, store, pipeline and background trainer.

A faint synthetic plume the shipped model misses: an officer labels N = 8 of its frames (the cells with dust) and asks
for a training; the new version is judged no worse, goes into service and the camera's NEXT frames raise a dust alert.
A drifting cloud the shipped model flags for good on an over-sensitive camera: the officer answers its alert "false
alarm", the alert's frames become clear labels, the retrained model stops that false alarm. Every version is in the
officer audit log, and a rollback to the shipped model restores its behaviour at once (the plume is missed again).
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.support import make_settings, wait_for
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.core.samples import Frame
from tichwatch.tools.dust_synthetic import SequenceSpec, SyntheticFrame, cell_change, generate

PASSWORD = "learning-password-1"
N_LABELS = 8
"""Frames of the missed plume the officer labels (the README states this figure)."""
PLUME = SequenceSpec(seed=3, n_frames=32, size_px=(320, 240), plume=True, plume_start=6, plume_opacity=0.25,
                     lighting_drift=0.0)
"""A faint plume: the shipped model's dust index on it stays far below the threshold."""
CLOUD = SequenceSpec(seed=2, n_frames=24, size_px=(320, 240), sky_clouds=True, lighting_drift=0.0)
"""Clouds drifting over a sky that the shipped model, on a camera set to sensitivity 3, takes for dust for good."""
CLOUD_SENSITIVITY = 3.0
VISIBLE = 8.0  # grey levels of change that make a cell one an officer would click as dust


class Clock:
    """The service's clock, moved to each frame's time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, Service, Clock]]:
    cameras = [{"id": "plume", "site": "Công trường A", "lat": 21.0, "lon": 105.6},
               {"id": "cloud", "site": "Công trường B", "lat": 21.0, "lon": 105.6,
                "sensitivity": CLOUD_SENSITIVITY}]
    settings = make_settings(tmp_path / "data", cameras=cameras, dust={"backbone": False},
                             learning={"period_frames": 0, "reference_seeds": 4, "retrain_after_labels": 0})
    clock = Clock(PLUME.start_ts)
    svc = Service(settings, clock=clock)
    svc.accounts.add_user("an", PASSWORD, Role.OFFICER, clock())
    svc.learning.start()
    with TestClient(create_app(svc, manage_lifecycle=False)) as client:
        yield client, svc, clock
    svc.learning.stop()
    svc.pipeline.stop()
    svc.store.close()


def feed(svc: Service, clock: Clock, camera_id: str, frames: list[SyntheticFrame]) -> None:
    """Send frames through the pipeline one at a time (latest-wins drops none), the clock at each frame's time."""
    for f in frames:
        clock.now = f.ts + 1.0
        svc.pipeline.offer_frame(Frame(camera_id, f.ts, f.jpeg, 320, 240))
        wait_for(partial(judged, svc, camera_id, f.ts))


def judged(svc: Service, camera_id: str, ts: float) -> bool:
    """True once the camera's frame of this time is judged and recorded."""
    return (svc.store.latest_dust_index(camera_id) or (0.0,))[0] == ts


def dust_alerts(client: TestClient, camera_id: str) -> list[dict[str, Any]]:
    alerts = client.get("/api/v1/alerts", params={"limit": 100}).json()["alerts"]
    return [a for a in alerts if a["kind"] == "dust.plume" and a["subject"] == camera_id]


def trained(client: TestClient, svc: Service, auth: dict[str, str], camera_id: str) -> dict[str, Any]:
    """Ask for a training through the API, wait for the trainer; the camera's newest version."""
    assert client.post(f"/api/v1/cameras/{camera_id}/models/train", headers=auth).status_code == 202
    wait_for(svc.learning.idle, timeout_s=60)
    body = client.get(f"/api/v1/cameras/{camera_id}/learning").json()
    assert body["training"]["last_error"] is None
    return body["versions"][0]  # type: ignore[no-any-return]


def test_labels_teach_a_camera_its_plume_a_false_alarm_answer_stops_a_cloud_and_rollback_restores(
        world: tuple[TestClient, Service, Clock]) -> None:
    client, svc, clock = world
    r = client.post("/api/v1/auth/login", json={"username": "an", "password": PASSWORD})
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    plume = list(generate(PLUME))
    threshold = svc.dust.on_threshold("plume")

    # The shipped model misses the faint plume.
    feed(svc, clock, "plume", plume[:16])
    assert dust_alerts(client, "plume") == []
    assert max(float(j.probs.max()) for j in svc.dust.recent_judgements("plume")[-6:]) < threshold

    # An officer labels N frames of it, clicking the cells where the dust is.
    page = client.get("/api/v1/cameras/plume/learning").json()
    listed = {f["frame_ts"] for f in page["frames"]}
    for f in plume[16 - N_LABELS:16]:
        assert f.ts in listed
        cells = np.argwhere(cell_change(f.plume_change, 12, 16) >= VISIBLE).tolist()
        assert cells, "each labelled frame shows the plume"
        r = client.post("/api/v1/cameras/plume/labels", json={"frame_ts": f.ts, "label": "dust", "cells": cells},
                        headers=auth)
        assert r.status_code == 201, r.text
    assert client.post("/api/v1/cameras/plume/labels", json={"frame_ts": plume[15].ts, "label": "dust"}).status_code \
        == 401  # labels need a signed-in officer

    v1 = trained(client, svc, auth, "plume")
    assert (v1["version"], v1["state"]) == (1, "active"), v1
    assert v1["counts"]["labelled_frames"] == N_LABELS and v1["figures"]["camera_correct"] == N_LABELS
    assert v1["figures"]["reference_f1"] >= v1["figures"]["shipped_reference_f1"] - 0.02

    # The camera's NEXT frames are detected.
    feed(svc, clock, "plume", plume[16:24])
    plume_alerts = wait_for(lambda: dust_alerts(client, "plume"))
    assert [a["state"] for a in plume_alerts] == ["firing"]
    r = client.post(f"/api/v1/alerts/{plume_alerts[0]['id']}/answer", json={"answer": "confirmed", "note": "đúng"},
                    headers=auth)  # the officer confirms it: its frames become dust labels of its cells
    assert r.status_code == 200 and r.json()["labels"] >= 1, r.text
    log = client.get(f"/api/v1/alerts/{plume_alerts[0]['id']}").json()["log"]
    assert [(e["action"], e["actor"]) for e in log if e["action"] == "alert.confirmed"] == [("alert.confirmed", "an")]

    # A cloud the shipped model flags on the over-sensitive camera: a false alarm.
    cloud = list(generate(CLOUD))
    clock.now = CLOUD.start_ts
    feed(svc, clock, "cloud", cloud[:16])
    alerts = wait_for(lambda: dust_alerts(client, "cloud"))  # the API's reads may lag the commit by a moment
    assert len(alerts) == 1
    r = client.post(f"/api/v1/alerts/{alerts[0]['id']}/answer", json={"answer": "false_alarm", "note": "mây trôi"},
                    headers=auth)
    assert r.status_code == 200 and r.json()["labels"] >= 6, r.text
    assert client.get(f"/api/v1/alerts/{alerts[0]['id']}").json()["alert"]["false_alarm"]["note"] == "mây trôi"
    c1 = trained(client, svc, auth, "cloud")
    assert c1["state"] == "active", c1
    feed(svc, clock, "cloud", cloud[16:])
    assert svc.dust.status("cloud").dust_active is False  # the false alarm cleared ...
    assert svc.store.query_all("SELECT COUNT(*) FROM alerts WHERE subject = 'cloud'", ())[0][0] == 1  # not again
    off = svc.settings.dust.off_threshold / CLOUD_SENSITIVITY
    last = svc.dust.recent_judgements("cloud")[-5:]
    assert max(float(j.probs.max()) for j in last) < off
    assert max(float(svc.dust.model.predict(j.rows).max()) for j in last) > off  # the shipped model still holds it

    # Every version is audited; a rollback to the shipped model misses the plume again, from the next frame on.
    audit = client.get("/api/v1/audit", params={"action": "camera_model.trained"}, headers=auth).json()
    assert sorted((e["target"], e["detail"]["version"], e["detail"]["state"]) for e in audit["entries"]) == [
        ("cloud", 1, "active"), ("plume", 1, "active")]
    r = client.post("/api/v1/cameras/plume/models/0/activate", json={"reason": "thử quay lại"}, headers=auth)
    assert r.status_code == 200, r.text
    feed(svc, clock, "plume", plume[24:32])
    after = svc.dust.recent_judgements("plume")[-8:]
    for j in after:
        assert np.allclose(j.probs, svc.dust.model.predict(j.rows), atol=1e-6)
    assert max(float(j.probs.max()) for j in after) < threshold
    assert svc.dust.status("plume").dust_active is False
    rolled = client.get("/api/v1/audit", params={"action": "camera_model.activate"}, headers=auth).json()["entries"]
    assert [(e["target"], e["detail"]["version"], e["detail"]["before"]) for e in rolled] == [("plume", 0, 1)]
    page = client.get("/api/v1/cameras/plume/learning").json()
    assert page["active_version"] == 0 and page["versions"][0]["state"] == "retired"
