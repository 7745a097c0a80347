"""The composition root: builds the store, pipeline, detectors and MQTT connection of one deployment and runs them."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from tichwatch.residents.bulletins.desk import BulletinDesk
from tichwatch.residents.feeds.publication import Feeds
from tichwatch.alerts.runtime import AlertRuntime
from tichwatch.api import audit
from tichwatch.api.accounts import Accounts, Role
from tichwatch.api.live import EventHub
from tichwatch.store import overrides
from tichwatch.config.loader import secret
from tichwatch.config.schema import AlarmLevels, Settings, StationConfig
from tichwatch.core.detection import Detection
from tichwatch.detectors.dust.detector import DustDetector
from tichwatch.detectors.flood.detector import FloodDetector
from tichwatch.detectors.flood.status import CommuneStatus, StationStatus
from tichwatch.ingest.client_id import with_service_client_id
from tichwatch.ingest.contract import Topics
from tichwatch.ingest.gateway_auth import build_verifier
from tichwatch.historian.sink import build_historian
from tichwatch.core.links import reading_permalink
from tichwatch.core.metrics import Metrics
from tichwatch.ingest.mqtt import MqttClient
from tichwatch.ingest.pipeline import Pipeline
from tichwatch.core.samples import Frame, Reading
from tichwatch.app.schema import open_store
from tichwatch.store.monitor import StoreMonitor
from tichwatch.store.disk_space import DiskLevel, DiskSpace, DiskThresholds
from tichwatch.store.retention import RetentionWorker
from tichwatch.core.timefmt import iso_local, iso_utc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    """Whether the service can do its job now, and why not."""

    broker_connected: bool
    store_writable: bool
    detail: str
    warnings: tuple[str, ...] = ()  # the service works, but someone should look (e.g. the disk is filling up)

    @property
    def ready(self) -> bool:
        """True when both the broker and the store are usable."""
        return self.broker_connected and self.store_writable


@dataclass(frozen=True)
class StationEdit:
    """A station's configuration before and after an edit, and when."""

    before: StationConfig
    after: StationConfig
    ts: float


class _LockedFlood:
    """The flood detector's status as other threads may read it (under the pipeline's detector lock)."""

    def __init__(self, service: "Service"):
        self._service = service

    def status(self, station_id: str) -> StationStatus:
        """A station's status now."""
        return self._service.station_status(station_id)


class Service:
    """One running deployment: MQTT in, pipeline, store; the HTTP app reads from it."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time):
        self.clock = clock
        settings = with_service_client_id(settings)  # a random id kept in the data directory unless configured
        self.store = open_store(settings.store.data_dir, settings.store.write_busy_timeout_s,
                           settings.store.read_busy_timeout_s)
        self.disk = DiskSpace(settings.store.data_dir, DiskThresholds.from_settings(settings.store))
        self.store_monitor = StoreMonitor(self.store, settings.store.probe_interval_s, self.disk.check, clock=clock)
        self.configured_stations = {s.id: s for s in settings.stations}
        """Stations as the configuration file has them (alarm levels edited at run time are reverted to these)."""
        # Every component shares this one Settings object; its station list is the live station table, whose entries
        # `set_alarm_levels` replaces (the models themselves stay immutable).
        stations, self._alarm_overrides = overrides.apply(settings.stations, overrides.load(self.store.query_all))
        settings = settings.model_copy(update={"stations": stations})
        self.settings = settings
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.metrics = Metrics()
        self.disk.export(self.metrics)
        self.retention = RetentionWorker(settings, self.store, self.metrics, clock)
        self.accounts = Accounts(self.store, settings.accounts)
        self.hub = EventHub()
        self.flood = FloodDetector(settings.stations, settings.flood)
        self.dust = DustDetector(settings.cameras, settings.dust)
        self.pipeline = Pipeline(settings, self.store, self.metrics, reading_detectors=[self.flood],
                                 frame_detectors=[self.dust], clock=clock)
        self.pipeline.frame_listeners.append(self._record_frame)
        self.mqtt = MqttClient(settings.mqtt, self.topics, self.pipeline.submit,
                               password=secret(settings.mqtt.password_env), clock=clock,
                               on_connected=lambda up: self.metrics.mqtt_connected.set(1 if up else 0))
        self.pipeline.broker = self.mqtt
        self.pipeline.listeners.append(self._publish_live)
        self.pipeline.verifier = build_verifier(settings)
        self.historian = build_historian(settings, self.metrics.registry)
        if self.historian is not None:
            self.pipeline.listeners.append(self.historian.on_commit)
            self.pipeline.frame_listeners.append(self.historian.frame_listener(self.dust.status))
        self.alerts = AlertRuntime(settings, self.store, self.metrics, self.mqtt.publish, clock)
        self.pipeline.sinks.append(self.alerts.engine)
        self.pipeline.listeners.append(self.alerts.on_commit)
        self.bulletins = BulletinDesk(settings, settings.bulletins, self.store,
                                      lambda r: reading_permalink(settings.http.public_url, r), clock,
                                      flood=_LockedFlood(self), channels=self.alerts.delivery.channels.get)
        self.feeds = Feeds(settings, settings.bulletins, self.store)
        self._edit_lock = threading.Lock()  # one alarm-level edit at a time: the store and memory change in one order
        self.started_ts: float | None = None
        self.stop_hooks: list[Callable[[], None]] = []  # run last on stop (e.g. the demo's own broker and simulator)

    def start(self) -> None:
        """Start the pipeline (warming detectors from the store), then connect to the broker."""
        self._bootstrap_admin()
        self.store_monitor.start()
        self.retention.start()
        if self.historian is not None:
            self.historian.start()
        self.pipeline.start()
        self.mqtt.start()
        self.alerts.start()
        self.bulletins.start()
        self.started_ts = self.clock()
        log.info("TichWatch started for %s: %d stations, %d cameras, data in %s", self.settings.commune,
                 len(self.settings.stations), len(self.settings.cameras), self.settings.store.data_dir)

    def _record_frame(self, frame: Frame) -> None:
        """Keep the camera's dust index and state for the frame just judged, and put it on the live stream."""
        status = self.dust.status(frame.camera_id)
        if status is None:
            return
        faults = sorted(k for k, on in status.health.items() if on)
        state = "dust" if status.dust_active else (faults[0] if faults else status.suspended or "clear")
        self.store.record_dust_index(frame.camera_id, frame.ts, status.dust_index, state)
        self.hub.publish("camera", {"camera_id": frame.camera_id, "ts": iso_utc(frame.ts),
                                    "dust_index": status.dust_index, "status": state})

    def station_status(self, station_id: str) -> StationStatus:
        """A station's flood status now (level, alarm level, distance, trend, forecast, faults)."""
        with self.pipeline.detect_lock:
            return self.flood.status(station_id)

    def commune_status(self) -> CommuneStatus:
        """The commune's flood status now, with every station's."""
        with self.pipeline.detect_lock:
            return self.flood.commune_status()

    def set_alarm_levels(self, station_id: str, alarm: AlarmLevels | None, actor: str, reason: str) -> StationEdit:
        """Change a station's alarm levels now (None: back to the configuration file's), stored and audited.

        KeyError for an unknown station, ValueError (naming the problem) for levels the station cannot have."""
        now = self.clock()
        # Lock order: the edit lock, then the store's writer lock, released, then the detectors' lock; never two of
        # the store and detector locks at once (the pipeline never holds both either), so no order can deadlock.
        with self._edit_lock:
            index = next((i for i, s in enumerate(self.settings.stations) if s.id == station_id), None)
            if index is None:
                raise KeyError(station_id)
            before = self.settings.stations[index]
            configured = self.configured_stations[station_id].alarm
            after = overrides.with_alarm(before, alarm if alarm is not None else configured)
            action = "station.alarm_levels" if alarm is not None else "station.alarm_levels_reverted"
            detail = {"before": overrides.alarm_json(before.alarm), "after": overrides.alarm_json(after.alarm),
                      "reason": reason}
            with self.store.transaction() as conn:
                if alarm is None:
                    overrides.delete(conn, station_id)
                else:
                    overrides.save(conn, station_id, alarm, actor, now)
                audit.record(conn, actor, action, station_id, detail, now)
            with self.pipeline.detect_lock:
                self.settings.stations[index] = after
                self.flood.set_station(after)
            if alarm is None:
                self._alarm_overrides.pop(station_id, None)
            else:
                self._alarm_overrides[station_id] = overrides.AlarmOverride(station_id, alarm, now, actor)
        log.warning("alarm levels of %s changed by %s: %s -> %s (%s)", station_id, actor, detail["before"],
                    detail["after"], reason)
        self.hub.publish("station", {"station_id": station_id, "alarm_levels_m": detail["after"]})
        return StationEdit(before, after, now)

    def alarm_overrides(self) -> dict[str, overrides.AlarmOverride]:
        """Who set which station's alarm levels at run time, and when (stations absent use the file's); kept in
        memory beside the live station table, so the public station list costs no extra query."""
        return dict(self._alarm_overrides)

    def _publish_live(self, readings: Sequence[Reading], detections: Sequence[Detection]) -> None:
        """Put committed readings and detections on the live stream."""
        tz = self.settings.timezone
        for r in readings:
            self.hub.publish("reading", {"station_id": r.station_id, "ts": iso_utc(r.ts),
                                         "ts_local": iso_local(r.ts, tz), "level_m": r.level_m})
        for d in detections:
            self.hub.publish("detection", {"kind": d.kind, "subject": d.subject, "ts": iso_utc(d.ts),
                                           "active": d.active, "severity": d.severity.name.lower(),
                                           "level": d.level, "value": d.value, "unit": d.unit})

    def _bootstrap_admin(self) -> None:
        """With no accounts yet, create `admin` from TICHWATCH_ADMIN_PASSWORD (so a new install can sign in)."""
        password = secret("TICHWATCH_ADMIN_PASSWORD")
        if password and not self.accounts.has_users():
            self.accounts.add_user("admin", password, Role.ADMIN, self.clock(), actor="bootstrap")
            log.info("created the first account 'admin' from TICHWATCH_ADMIN_PASSWORD")

    def stop(self) -> None:
        """Drain and acknowledge what is queued, say offline, disconnect, close the store."""
        self.pipeline.stop()
        self.bulletins.stop()
        self.alerts.stop()
        if self.historian is not None:
            self.historian.close()
        self.mqtt.stop()
        if self.pipeline.verifier is not None:
            self.pipeline.verifier.close()  # after the MQTT client: no message is being verified any more
        self.retention.stop()
        self.store_monitor.stop()
        self.store.close()
        for hook in reversed(self.stop_hooks):
            hook()
        log.info("TichWatch stopped")

    def readiness(self) -> Readiness:
        """Broker connected and store writable? Answers at once: the store's state comes from its monitor thread and
        from the pipeline's own writes, never from a query made here."""
        broker = self.mqtt.connected.is_set()
        probe = self.store_monitor.latest()
        problems, warnings = [], []
        if not broker:
            problems.append(f"MQTT: {self.mqtt.auth_failed or 'not connected'}")
        fault = self.pipeline.store_fault
        if fault is not None:
            problems.append(f"store: writes failing ({fault})")
        elif probe is None:
            problems.append("store: not checked recently (the check is stuck)" if self.store_monitor.checked
                            else "store: not checked yet")
        elif probe.write_error is not None:
            problems.append(f"store: not writable ({probe.write_error})")
        # Low disk space is a warning, even when critical: whether the store takes writes is what the probe measured.
        if probe is not None and probe.disk is not None and probe.disk.level is not DiskLevel.OK:
            warnings.append(f"{probe.disk.level.value}: {probe.disk.detail}")
        store_ok = not any(p.startswith("store:") for p in problems)
        return Readiness(broker, store_ok, "; ".join(problems) or "ok", tuple(warnings))
