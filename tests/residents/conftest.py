"""A known store state for bulletin tests: two stations (one at báo động II and rising, one offline), an open flood
alert with its history, dust incidents at a camera; a fake flood detector; the HTTP app with the bulletin routes;
the alerts' delivery sending through recording channels, drained by the test (no threads)."""
from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import make_settings, separate_database
from tichwatch.alerts import storage as alert_storage
from tichwatch.alerts.channels.base import Channel, DeliveryResult, Notification
from tichwatch.alerts.delivery import Delivery
from tichwatch.alerts.model import HoldPolicy, on_detection
from tichwatch.api import routes_bulletins, routes_feeds
from tichwatch.api.accounts import Role
from tichwatch.api.app import create_app
from tichwatch.api.routes_stations import permalink
from tichwatch.app.service import Service
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.config.schema import Settings
from tichwatch.core.detection import Detection, Severity
from tichwatch.core.samples import Frame, Reading
from tichwatch.detectors.flood.status import StationStatus
from tichwatch.residents.bulletins.desk import BulletinDesk
from tichwatch.residents.feeds.publication import Feeds

NOW = 1_789_862_400.0
"""07:00 on 20/09/2026 in Hà Nội (00:00 UTC)."""

VINH_PHUC = {"id": "st1", "name": "Vĩnh Phúc", "lat": 20.991, "lon": 105.633, "area_radius_m": 2000,
             "alarm": {"bd1_m": 6.5, "bd2_m": 7.3, "bd3_m": 8.0, "record_m": 8.45, "record_year": 2024},
             "expected_interval_s": 600, "min_level_m": 2.0, "max_level_m": 12.0}
KIM_QUAN = {**VINH_PHUC, "id": "st2", "name": "Kim Quan", "lat": 21.042, "lon": 105.57,
            "alarm": {"bd1_m": 8.0, "bd2_m": 9.0, "bd3_m": 10.0}}


def bulletin_settings(data_dir: Path, alerts: Mapping[str, Any] | None = None, **overrides: Any) -> Settings:
    """Settings of the test deployment: Vĩnh Phúc (st1), Kim Quan (st2), one camera, a webhook and a Zalo receiver,
    every alert (delivery failures too) to the log; `alerts` replaces parts of the alerts block."""
    receivers = [{"name": "portal", "channel": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}},
                 {"name": "zalo", "channel": {"type": "zalo", "user_id": "u1"}, "language": "vi", "audience": "public"},
                 {"name": "log", "channel": {"type": "log"}}]
    block = {"receivers": receivers, "routes": [{"receivers": ["log"]}], **(alerts or {})}
    return make_settings(data_dir, stations=[VINH_PHUC, KIM_QUAN], alerts=block, **overrides)


@dataclass
class FakeFlood:
    """The flood detector's view: st1 at báo động II rising 5 cm/h, forecast to reach III; st2 unknown."""

    statuses: dict[str, StationStatus] = field(default_factory=dict)

    def status(self, station_id: str) -> StationStatus:
        """The status of a station (KeyError when unknown)."""
        return self.statuses[station_id]


def st1_status(ts: float = NOW) -> StationStatus:
    """Vĩnh Phúc at 7.42 m: BD2, 0.58 m to BD3, rising 0.05 m/h, BD3 in about 11.6 h (band 10–14 h)."""
    return StationStatus("st1", "Vĩnh Phúc", 7.42, ts, "BD2", "BD3", 8.0, 0.58, 0.05, 41_760.0, 36_000.0, 50_400.0,
                         0.8, "trend", True, False, ())


class RecordingChannel:
    """A channel that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.attempts: list[Notification] = []  # every send, answered with a failure or not
        self.failures: list[DeliveryResult] = []  # answered (first first) before accepting anything again

    def send(self, n: Notification) -> DeliveryResult:
        """Accept the notification, or answer the next queued failure."""
        self.attempts.append(n)
        if self.failures:
            return self.failures.pop(0)
        self.sent.append(n)
        return DeliveryResult.sent(f"remote-{len(self.sent)}")


def fill_store(service: Service) -> None:
    """Readings, an alert with its history, dust incidents and camera frames, as of NOW."""
    store = service.store
    # st1: 24 h of readings every 10 min, rising 5 cm/h to 7.42 m at NOW
    store.append_readings([Reading("st1", NOW - 600 * i, round(7.42 - 0.05 * i / 6, 3)) for i in range(145)])
    # st2: silent for the last 3 hours
    store.append_readings([Reading("st2", NOW - 3 * 3600 - 600 * i, 5.0) for i in range(20)])
    policy = HoldPolicy(0.0, 3600.0, 3)
    with store.transaction() as conn:
        query = alert_storage.rows_of(conn)
        for ts, level, value, sev in ((NOW - 5 * 3600, "BD1", 6.6, Severity.WARNING),
                                      (NOW - 2 * 3600, "BD2", 7.31, Severity.CRITICAL)):
            d = Detection("flood.level", "st1", ts, True, sev, value, "m", level, f"crossed {level} upward",
                          {"station_name": "Vĩnh Phúc", "level_m": value, "rate_m_per_h": 0.05})
            change = on_detection(alert_storage.open_alert(query, d.kind, d.subject), d, ts, policy, 0)
            assert change.alert is not None
            alert_storage.save_alert(conn, change.alert)
            alert_storage.add_audit(conn, change.audit)
        for ts, index in ((NOW - 20 * 3600, 0.61), (NOW - 3 * 3600, 0.72)):
            store.insert_detection(conn, Detection("dust.plume", "cam1", ts, True, Severity.WARNING, index, "index"),
                                   None)
            store.insert_detection(conn, Detection("dust.plume", "cam1", ts + 900, False, Severity.WARNING, 0.1,
                                                   "index"), None)
    store.save_latest_frame(Frame("cam1", NOW - 30, b"\xff\xd8fake\xff\xd9", 640, 360, NOW - 29))


def recording_delivery(service: Service, channels: Mapping[str, Channel]) -> Delivery:
    """Give the service's alert runtime a delivery that sends through `channels` (by receiver name; the others
    through their configured channels), as the service would build it."""
    rt = service.alerts
    built = rt.delivery.channels
    rt.delivery = Delivery(service.store, service.settings.alerts, {**built, **channels}, rt.engine, rt.metrics,
                           rt.redactor, bus=rt.delivery.bus)
    return rt.delivery


@dataclass
class World:
    """A service with the known state, its desk and feeds, an HTTP client, and tokens per role."""

    service: Service
    desk: BulletinDesk
    client: TestClient
    flood: FakeFlood
    channels: dict[str, RecordingChannel]
    tokens: dict[str, str]
    clock: list[float]

    def auth(self, who: str) -> dict[str, str]:
        """The header of `comm` (a communicator's API key: machines may draft) or `officer` (a signed-in person:
        approval is a person's decision)."""
        if who == "officer":
            return self.person("officer", Role.OFFICER)
        return {"X-API-Key": self.tokens[who]}

    def person(self, name: str, role: Role) -> dict[str, str]:
        """The bearer header of a signed-in account `name` with `role` (created on first use; signed in again when
        the test's clock has moved past the session's end)."""
        password = f"{name}-password-for-tests"
        if name not in self.tokens:
            self.service.accounts.add_user(name, password, role, self.clock[0])
        token = self.tokens.get(name)
        if token is None or self.service.accounts.from_token(token, self.clock[0]) is None:
            session = self.service.accounts.login(name, password, "testclient", self.clock[0])
            assert session is not None
            self.tokens[name] = session.token
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def deliver(self, advance_s: float = 0.0) -> None:
        """Move the clock, then let every receiver's dispatcher send what is due (as its thread would)."""
        self.clock[0] += advance_s
        self.service.alerts.delivery.drain(self.clock[0])


def make_world(tmp_path: Path, bulletins: BulletinSettings | None = None, alerts: Mapping[str, Any] | None = None,
               recording: tuple[str, ...] = ("portal", "zalo")) -> Generator[World, None, None]:
    """Build the world (`recording`: the receivers whose channel is a RecordingChannel); the caller's fixture
    yields it."""
    clock = [NOW]
    separate_database()  # a test may hold two worlds
    service = Service(bulletin_settings(tmp_path / "data", alerts), clock=lambda: clock[0])
    fill_store(service)
    flood = FakeFlood({"st1": st1_status()})
    channels = {name: RecordingChannel() for name in recording}
    delivery = recording_delivery(service, channels)
    b = bulletins or BulletinSettings(channels=["portal", "zalo"])
    service.bulletins = BulletinDesk(service.settings, b, service.store, lambda r: permalink(service, r),  # type: ignore[attr-defined]
                                     lambda: clock[0], flood, outbox=delivery.outbox,
                                     stations=service.stations.stations, announce=service.bus.publish)
    service.feeds = Feeds(service.settings, b, service.store)  # type: ignore[attr-defined]
    app = create_app(service, manage_lifecycle=False)
    if not any(getattr(r, "path", "") == "/feeds/alerts.atom" for r in app.routes):
        app.include_router(routes_bulletins.router)
        app.include_router(routes_feeds.router)
    tokens = {"comm": service.accounts.add_api_key("comm", Role.COMMUNICATOR, NOW)}  # a key: no argon2 hashing
    with TestClient(app) as client:
        yield World(service, service.bulletins, client, flood, channels, tokens, clock)  # type: ignore[attr-defined]
    service.store.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The known world with default bulletin settings (publishing to portal and zalo)."""
    yield from make_world(tmp_path)
