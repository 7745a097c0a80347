"""The camera page in a real headless Chromium at phone width: the camera is in its learning period ("Đang học"),
an officer signs in, clicks a cell of a recent frame and labels it dust; the label is in the API with that cell."""
from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser.test_dashboard import click, console_errors, sign_in, wait
from tests.learning.test_learning_loop import judged
from tests.support import make_settings, secret, wait_for
from tichwatch.api.accounts import Role
from tichwatch.app.service import Service
from tichwatch.config.schema import Settings
from tichwatch.core.samples import Frame
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.dust_synthetic import SequenceSpec, generate

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(tmp_path: Path, broker: MosquittoProcess) -> Settings:
    """The test settings; the hand-made features only (the frames here need no backbone)."""
    return make_settings(tmp_path / "data", broker.port, dust={"backbone": False})


def test_officer_labels_a_frame_on_the_camera_page_at_phone_width(live_app: tuple[Service, str],
                                                                   phone: webdriver.Chrome) -> None:
    svc, base = live_app
    password = secret("truc-ban-password")
    svc.accounts.add_user("truc.ban", password, Role.OFFICER, time.time())
    frames = list(generate(SequenceSpec(seed=5, n_frames=5, size_px=(320, 240), interval_s=10.0,
                                       start_ts=time.time() - 60)))
    for f in frames:
        svc.pipeline.offer_frame(Frame("cam1", f.ts, f.jpeg, 320, 240))
        wait_for(partial(judged, svc, "cam1", f.ts))
    recent = svc.dust.recent_judgements("cam1")
    assert recent, "the frames were judged"

    phone.get(f"{base}/cameras/cam1")
    wait(phone, lambda d: d.find_element(By.ID, "cam-status").text == "Đang học")
    assert not phone.find_element(By.ID, "label-dust").is_displayed()  # visitors have no actions
    sign_in(phone, "truc.ban", password)
    click(phone, '#cam-grid button[data-cell="5,7"]')
    wait(phone, lambda d: "selected" in d.find_element(By.CSS_SELECTOR, '#cam-grid button[data-cell="5,7"]')
         .get_attribute("class"))
    click(phone, "#label-dust")
    wait(phone, lambda d: "Có bụi" in d.find_element(By.CSS_SELECTOR, "#cam-recent li.current").text)
    labels = svc.learning.labels("cam1")
    assert [(lab.frame_ts, lab.label, lab.cells, lab.created_by) for lab in labels] == [
        (recent[-1].ts, "dust", [(5, 7)], "truc.ban")]
    width = phone.execute_script("return document.documentElement.scrollWidth")
    assert width <= phone.execute_script("return window.innerWidth") + 1  # nothing wider than the phone
    assert console_errors(phone) == []


def test_at_desktop_width_the_viewer_and_recent_frames_sit_side_by_side(live_app: tuple[Service, str],
                                                                        browser: webdriver.Chrome) -> None:
    _, base = live_app
    browser.get(f"{base}/cameras/cam1")
    wait(browser, lambda d: d.find_element(By.ID, "cam-status").text)
    viewer = browser.find_element(By.ID, "cam-viewer-title").location
    recent_panel = browser.find_element(By.ID, "cam-recent-title").location
    assert viewer["x"] < recent_panel["x"] and abs(viewer["y"] - recent_panel["y"]) < 5
