"""Alert changes reach every listener, and only once committed: an officer's acknowledgement appears on another
client's live stream and as an `alert_event` point in the historian; a change rolled back is never published."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.alerts.harness import Harness, flood_level, people_settings
from tests.historian import conftest as historian_fixtures
from tests.historian.conftest import TOKEN_ENV, historian_settings
from tests.historian.victoria import VictoriaMetrics
from tests.support import make_settings, wait_for
from tichwatch.alerts import storage
from tichwatch.alerts.runtime import AlertRuntime
from tichwatch.api.accounts import Role
from tichwatch.app.schema import open_store
from tichwatch.app.service import Service
from tichwatch.config.schema import Settings
from tichwatch.core.bus import EventBus
from tichwatch.core.detection import Detection
from tichwatch.core.events import AlertChanged, ReadingsStored
from tichwatch.core.metrics import Metrics
from tichwatch.detectors.flood.detector import FloodDetector
from tichwatch.ingest.contract import Topics, encode_reading
from tichwatch.ingest.mqtt import InboundMessage
from tichwatch.ingest.pipeline import Pipeline
from tichwatch.tools.broker import MosquittoProcess
from tichwatch.tools.publisher import GatewayPublisher

OFFICER_PW = "officer-password-1"
RISE = (6.0, 6.1, 6.9)
"""Levels ten minutes apart that cross BĐ1 (6.5 m) of the test station."""


# -- end to end: API → bus → SSE stream and historian -----------------------------------------------------------------

victoria = historian_fixtures.victoria
"""The historian tests' VictoriaMetrics server, one of the test's own."""


@pytest.fixture
def settings(tmp_path: Path, broker: MosquittoProcess, victoria: VictoriaMetrics,
             monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The live service's settings (see `live_app`), with the historian writing to the test's VictoriaMetrics."""
    for name, value in TOKEN_ENV.items():
        monkeypatch.setenv(name, value)
    return historian_settings(tmp_path / "data", victoria.url, broker.port)


class StreamClient:
    """Another dashboard: follows /api/v1/stream on a thread of its own until it has seen what it waits for."""

    def __init__(self, base: str, types: str, until: Any):
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ready = threading.Event()
        self._url, self._types, self._until = f"{base}/api/v1/stream", types, until
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.stream("GET", self._url, params={"types": self._types}, timeout=30) as r:
            buf = ""
            for chunk in r.iter_text():
                buf += chunk
                *blocks, buf = buf.split("\n\n")
                for block in blocks:
                    if block.startswith("retry:"):
                        self.ready.set()  # the stream is live: every event from now on reaches this client
                    fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                    if "event" in fields:
                        self.events.append((fields["event"], json.loads(fields["data"])))
                if any(self._until(data) for _, data in self.events):
                    return

    def alert(self, action: str, kind: str = "flood.level") -> dict[str, Any] | None:
        """The first `alert` event of this action on an alert of this kind seen so far."""
        return next((data for event, data in self.events
                     if event == "alert" and data["action"] == action and data["kind"] == kind), None)


def test_an_acknowledgement_reaches_another_client_s_stream_and_the_historian(
        live_app: tuple[Service, str], gateway: GatewayPublisher, victoria: VictoriaMetrics) -> None:
    svc, base = live_app
    assert svc.historian is not None
    svc.accounts.add_user("truc.ban", OFFICER_PW, Role.OFFICER, time.time())
    other = StreamClient(base, "alert", lambda data: data["action"] == "acknowledged")
    assert other.ready.wait(10), "the stream did not start"
    now = int(time.time())
    for i, level in enumerate(RISE):
        gateway.publish(Topics().reading("st1"), encode_reading(now - 1200 + 600 * i, level), wait=True)
    opened = wait_for(lambda: other.alert("opened"), message=lambda: f"stream saw {other.events}")
    assert (opened["kind"], opened["subject"], opened["state_before"], opened["state"]) == (
        "flood.level", "st1", None, "firing")

    login = httpx.post(f"{base}/api/v1/auth/login", json={"username": "truc.ban", "password": OFFICER_PW})
    officer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    r = httpx.post(f"{base}/api/v1/alerts/{opened['alert_id']}/ack", json={"comment": "Đang ra đê"}, headers=officer)
    assert r.status_code == 200, r.text

    # "Within a second" is the design; the wait is generous so that a loaded machine cannot make the test flaky.
    acked = wait_for(lambda: other.alert("acknowledged"), message=lambda: f"stream saw {other.events}")
    assert acked == {**opened, "state_before": "firing", "state": "acknowledged", "action": "acknowledged",
                     "actor": "truc.ban", "ts": acked["ts"]}

    def points() -> dict[str, list[float]] | None:
        found = {s["metric"]["state"]: s["values"] for s in victoria.export(
            f'{{__name__="alert_event_severity",alert_id="{opened["alert_id"]}"}}')}
        return found if "acknowledged" in found else None
    assert wait_for(points, timeout_s=20, interval_s=0.3) == {"firing": [20], "acknowledged": [20]}  # BĐ1: warning


# -- only committed changes are published -----------------------------------------------------------------------------

class Refusing:
    """A sink after the alert engine that fails every batch with detections: the transaction rolls back."""

    def apply(self, conn: object, detections: Sequence[Detection], now: float,
              observed: Mapping[str, float]) -> list[AlertChanged]:
        if not detections:
            return []
        raise ValueError("a later stage failed")


@pytest.mark.parametrize("refuse", [False, True])
def test_the_pipeline_publishes_alert_changes_after_their_commit_and_never_a_rolled_back_one(
        tmp_path: Path, refuse: bool) -> None:
    settings = make_settings(tmp_path / "data", 1)
    store = open_store(settings.store.data_dir)
    metrics, bus = Metrics(), EventBus()
    runtime = AlertRuntime(settings, store, metrics, bus=bus, env={})
    pipeline = Pipeline(settings, store, metrics, reading_detectors=[FloodDetector(settings.stations, settings.flood)],
                        bus=bus)
    pipeline.sinks.extend([runtime.engine, *([Refusing()] if refuse else [])])
    seen: list[tuple[AlertChanged, bool]] = []
    stored: list[ReadingsStored] = []
    # What a listener reads from the store when it hears of a change: it must already be committed.
    bus.subscribe(AlertChanged, lambda e: seen.append((e, storage.get_alert(store.query_all, e.alert_id) is not None)))
    bus.subscribe(ReadingsStored, stored.append)
    pipeline.start()
    try:
        now = time.time()
        for i, level in enumerate(RISE):
            pipeline.submit(InboundMessage(Topics().reading("st1"), encode_reading(now - 1200 + 600 * i, level),
                                           1, i + 1, 0, now))
        wait_for(lambda: sum(len(e.readings) for e in stored) == len(RISE))
    finally:
        pipeline.stop()
    alerts = storage.find_alerts(store.query_all, storage.AlertFilter(limit=10))
    store.close()
    if refuse:  # the readings were kept without the detectors; the alert that was rolled back was never heard of
        assert seen == [] and alerts == []
    else:
        assert ("opened", "flood.level", "firing") in [(e.action, e.kind, e.state) for e, _ in seen]
        assert all(visible for _, visible in seen)
        assert sorted(a.id for a in alerts) == sorted(e.alert_id for e, _ in seen)


def test_the_ticker_publishes_the_alerts_it_resolves(tmp_path: Path) -> None:
    bus = EventBus()
    seen: list[AlertChanged] = []
    bus.subscribe(AlertChanged, seen.append)
    h = Harness(people_settings(tmp_path / "data", resolve_hold_s=600), bus=bus)
    try:
        h.detect(flood_level("st1", "BD1", h.clock()))
        h.detect(flood_level("st1", None, h.clock()))
        assert seen == []  # `detect` applies the engine directly, as a test: publishing is its caller's to do
        h.tick(599)
        assert seen == []
        h.tick(1)
        alert = h.all_alerts()[0]
        assert [(e.alert_id, e.state_before, e.state, e.action, e.actor) for e in seen] == [
            (alert.id, "firing", "resolved", "resolved", "system")]
    finally:
        h.close()


def test_officer_actions_publish_after_their_transaction(tmp_path: Path) -> None:
    bus = EventBus()
    seen: list[tuple[str, str]] = []
    h = Harness(people_settings(tmp_path / "data"), bus=bus)
    bus.subscribe(AlertChanged, lambda e: seen.append(
        (e.action, storage.get_alert(h.store.query_all, e.alert_id).state.value)))  # type: ignore[union-attr]
    try:
        h.detect(flood_level("st1", "BD2", h.clock()))
        alert_id = h.all_alerts()[0].id
        actions = h.runtime.actions
        actions.acknowledge(alert_id, "truc.ban", h.clock.advance(60), "ra đê")
        actions.acknowledge(alert_id, "truc.ban", h.clock.advance(60))  # already acknowledged: nothing changes
        actions.comment(alert_id, "truc.ban", h.clock(), "nước tràn ngầm")  # the log grows, the alert does not
        actions.resolve(alert_id, "pho.chu.tich", h.clock.advance(60), "nước rút")
        assert seen == [("acknowledged", "acknowledged"), ("resolved", "resolved")]
    finally:
        h.close()

