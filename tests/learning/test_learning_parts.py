"""The learning loop's parts: what a label teaches, the promotion rule, the learning period after a restart, the ignore
region applied at once and kept, and the officers-only, bounded API."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from tests.support import make_settings
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.app.service import Service
from tichwatch.core.events import FrameJudged
from tichwatch.learning.adaptation import Correction, TrainingSet, fit, logit, predict
from tichwatch.learning.labels import cell_targets
from tichwatch.learning.runtime import promotion_rule

PASSWORD = "learning-parts-1"


def test_a_dust_label_teaches_its_cells_and_the_cells_away_from_them_a_clear_label_every_cell() -> None:
    judged = np.ones((4, 5), bool)
    judged[0, 4] = False  # outside the ROI or ignored: never a training row
    y, use = cell_targets("dust", [(2, 2)], np.zeros((4, 5), bool), judged)
    assert y[2, 2] == 1 and y.sum() == 1
    assert [(int(r), int(c)) for r, c in zip(*np.nonzero(use[1:4, 1:4]))] == [(1, 1)]  # its neighbours: unsure
    assert use[0, 0] and not use[0, 4]
    candidate = np.zeros((4, 5), bool)
    candidate[3, 0] = True
    y, _ = cell_targets("dust", None, candidate, judged)  # no cells named: the cells that visibly changed
    assert [(int(r), int(c)) for r, c in zip(*np.nonzero(y))] == [(3, 0)]
    y, use = cell_targets("clear", None, candidate, judged)
    assert y.sum() == 0 and (use == judged).all()


def test_promotion_needs_no_worse_on_the_camera_and_on_the_reference() -> None:
    assert promotion_rule(8, 8, 0.90, 0.91, 0.02)[0]
    assert not promotion_rule(7, 8, 0.95, 0.91, 0.02)[0]
    ok, why = promotion_rule(8, 0, 0.88, 0.91, 0.02)
    assert not ok and "reference" in why


def test_the_correction_is_the_shipped_model_where_the_labels_say_nothing_and_survives_its_file() -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(400, 3)).astype(np.float32)
    base = rng.normal(size=400)
    y = (rows[:, 0] > 1.0).astype(np.float64)  # what the camera's labels say, unlike the shipped model
    camera = TrainingSet(rows, y, base, np.full(400, 1 / 400), np.arange(400) // 20)
    c = fit(camera, "fs", l2=0.01)
    p = predict(c, rows, base)
    assert p[y == 1].mean() > 0.6 and p[y == 0].mean() < 0.2  # the shipped logits are noise here
    again = Correction.from_bytes(c.to_bytes())
    assert np.allclose(predict(again, rows, base), p) and again.feature_set == "fs"
    sure = np.clip(1 / (1 + np.exp(-base)), 1e-4, 1 - 1e-4)
    distilled = TrainingSet(rows, sure, logit(sure), np.full(400, 1 / 400), np.full(400, -1))
    z = fit(distilled, "fs", l2=0.01)  # the shipped model's own answers teach no change
    assert np.abs(predict(z, rows, logit(sure)) - sure).max() < 0.02


def _service(tmp_path: Path, **learning: object) -> Service:
    return Service(make_settings(tmp_path / "data", dust={"backbone": False},
                                 learning={"period_frames": 3, "period_min_hours": 0.0, **learning}))


def test_the_learning_period_ends_after_enough_clear_frames_and_stays_ended_after_a_restart(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    assert svc.learning.period("cam1")["learning"] is True
    for i, index in enumerate([0.1, 0.9, 0.1]):  # a frame that looks like dust is not a clear one
        svc.store.record_dust_index("cam1", 1000.0 + i, index, "learning")
        svc.bus.publish(FrameJudged("cam1", 1000.0 + i, index, "learning"))
    assert svc.learning.period("cam1")["clear_frames"] == 2 and svc.learning.period("cam1")["learning"] is True
    svc.store.close()
    svc = _service(tmp_path)  # a restart counts the stored clear frames
    assert svc.learning.period("cam1")["clear_frames"] == 2
    svc.store.record_dust_index("cam1", 1003.0, 0.0, "learning")
    svc.bus.publish(FrameJudged("cam1", 1003.0, 0.0, "learning"))
    assert svc.learning.period("cam1")["learning"] is False
    svc.store.close()
    svc = _service(tmp_path, period_frames=50)  # ended for good, even with a longer period configured now
    assert svc.learning.period("cam1")["learning"] is False
    with TestClient(create_app(svc, manage_lifecycle=False)) as client:
        assert client.get("/api/v1/cameras/cam1").json()["status"] != "learning"
    svc.store.close()


def test_ignore_region_is_for_officers_applied_at_once_kept_and_bounded(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    svc.accounts.add_user("an", PASSWORD, Role.OFFICER, 0.0)
    svc.accounts.add_user("xem", PASSWORD, Role.VIEWER, 0.0)
    with TestClient(create_app(svc, manage_lifecycle=False)) as client:
        def auth(user: str) -> dict[str, str]:
            r = client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}
        body = {"cells": [[0, 0], [0, 1]], "reason": "bầu trời"}
        assert client.put("/api/v1/cameras/cam1/ignore", json=body).status_code == 401
        assert client.put("/api/v1/cameras/cam1/ignore", json=body, headers=auth("xem")).status_code == 403
        officer = auth("an")
        assert client.put("/api/v1/cameras/cam1/ignore", json={"cells": [[12, 0]], "reason": "x"},
                          headers=officer).status_code == 422  # outside the 12 x 16 grid
        assert client.put("/api/v1/cameras/nope/ignore", json=body, headers=officer).status_code == 404
        assert client.post("/api/v1/cameras/cam1/labels", json={"frame_ts": 5.0, "label": "clear"},
                           headers=officer).status_code == 404  # no such recent frame
        r = client.put("/api/v1/cameras/cam1/ignore", json=body, headers=officer)
        assert r.status_code == 200 and r.json()["ignore_cells"] == [[0, 0], [0, 1]]
        assert not svc.dust.judged_cells("cam1")[0, :2].any() and svc.dust.judged_cells("cam1")[0, 2]
        page = client.get("/api/v1/cameras/cam1/learning").json()
        assert page["ignore_cells"] == [[0, 0], [0, 1]] and "an" not in str(page)  # public: no officer's name
        audit = client.get("/api/v1/audit", params={"action": "camera.ignore"}, headers=officer).json()["entries"]
        assert [(e["actor"], e["detail"]["after"]) for e in audit] == [("an", [[0, 0], [0, 1]])]
    svc.store.close()
    svc = _service(tmp_path)  # kept: applied again at start
    assert not svc.dust.judged_cells("cam1")[0, :2].any()
    svc.store.close()
