"""The camera state is decided once: the store's dust index rows and the historian's `dust` points agree."""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from prometheus_client import CollectorRegistry

from tests.historian.conftest import historian_settings
from tests.support import wait_for
from tichwatch.app.schema import open_store
from tichwatch.core.bus import EventBus
from tichwatch.core.metrics import Metrics
from tichwatch.core.samples import Frame
from tichwatch.detectors.dust.detector import CameraStatus, DustDetector
from tichwatch.detectors.dust.state import camera_state, judge_frame
from tichwatch.historian.points import dust_line
from tichwatch.historian.sink import Historian
from tichwatch.ingest.jpeg import read_jpeg_header
from tichwatch.ingest.pipeline import Pipeline
from tichwatch.tools.dust_synthetic import SequenceSpec, generate


class Lines:
    """A point writer that keeps every line it is given."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, lines: Sequence[str]) -> None:
        self.lines.extend(lines)

    def close(self) -> None:
        """Nothing to close."""


def processed(metrics: Metrics, frames: int) -> bool:
    """Whether the pipeline has processed this many frames of cam1."""
    return metrics.registry.get_sample_value("tichwatch_frames_processed_total", {"camera": "cam1"}) == frames


def status(dust_active: bool = False, suspended: str | None = None, **health: bool) -> CameraStatus:
    faults = {f"camera.{k}": v for k, v in health.items()}
    return CameraStatus("cam1", "site", 1.0, None, None, dust_active, suspended, faults, 0, 0, None)


def test_the_decided_state_puts_dust_first_then_a_fault_then_why_suspended() -> None:
    assert camera_state(status(True, None, dark=True)) == "dust"
    assert camera_state(status(False, "too dark", dark=True, blur=True)) == "camera.blur"
    assert camera_state(status(False, "warming up")) == "warming up"
    assert camera_state(status()) == "clear"


def test_the_store_and_the_historian_record_the_same_state_for_every_frame(tmp_path: Path) -> None:
    settings = historian_settings(tmp_path / "data", "http://127.0.0.1:9")
    store = open_store(settings.store.data_dir)
    metrics, bus, writer = Metrics(), EventBus(), Lines()
    dust = DustDetector(settings.cameras, settings.dust)
    pipeline = Pipeline(settings, store, metrics, frame_detectors=[dust], bus=bus,
                        judge_frame=partial(judge_frame, dust))
    historian = Historian(settings, writer, CollectorRegistry())
    historian.subscribe(bus)
    # Day frames (warming up, then judged), then night: the dark camera is where two copies of the rule disagreed.
    day = list(generate(SequenceSpec(seed=11, n_frames=12)))
    night = list(generate(SequenceSpec(seed=11, n_frames=20, night=True)))[12:]
    for n, f in enumerate(day + night, start=1):
        width, height = read_jpeg_header(f.jpeg)
        pipeline.offer_frame(Frame("cam1", f.ts, f.jpeg, width, height))
        wait_for(partial(processed, metrics, n))  # one frame at a time, so latest-wins drops none
    historian.start()
    wait_for(lambda: historian.spool_depth == 0)
    historian.close()
    pipeline.stop()
    rows = store.query_all("SELECT camera_id, ts, dust_index, status FROM dust_index ORDER BY ts")
    store.close()
    assert len(rows) == len(day) + len(night)
    assert {r["status"] for r in rows} >= {"warming up", "clear", "camera.dark"}
    site = settings.cameras[0].site
    points = [line for line in writer.lines if line.startswith("dust,")]  # detections are recorded too
    assert points == [dust_line(r["camera_id"], site, r["ts"], r["dust_index"], r["status"]) for r in rows]
