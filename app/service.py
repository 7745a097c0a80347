"""The composition root: builds the store, pipeline, detectors and MQTT connection of one deployment and runs them."""
from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from tichwatch.alerts.runtime import AlertRuntime
from tichwatch.api import audit
from tichwatch.api.accounts import Accounts
from tichwatch.api.live import EventHub, follow
from tichwatch.app.schema import open_store
from tichwatch.app.stations import StationRegistry, StationTable, load_table
from tichwatch.config.loader import secret
from tichwatch.config.schema import Settings
from tichwatch.core.bus import EventBus
from tichwatch.core.events import BulletinChanged
from tichwatch.core.links import reading_permalink
from tichwatch.core.metrics import Metrics
from tichwatch.detectors.dust.detector import DustDetector
from tichwatch.detectors.dust.state import judge_frame
from tichwatch.detectors.flood.detector import FloodDetector
from tichwatch.detectors.flood.status import CommuneStatus, StationStatus
from tichwatch.historian.sink import build_historian
from tichwatch.ingest.client_id import with_service_client_id
from tichwatch.ingest.contract import Topics
from tichwatch.ingest.gateway_auth import build_verifier
from tichwatch.ingest.mqtt import MqttClient
from tichwatch.ingest.pipeline import Pipeline
from tichwatch.ingest.rain_forecast import RainForecastProvider, StationForecast
from tichwatch.learning.runtime import CameraLearning, ReferenceRows
from tichwatch.residents.bulletins.desk import BulletinDesk
from tichwatch.residents.feeds.publication import Feeds
from tichwatch.residents.reports.desk import ReportDesk
from tichwatch.residents.subscriptions.desk import Subscriptions
from tichwatch.residents.subscriptions.sending import ResidentDelivery
from tichwatch.store.disk_space import DiskLevel, DiskSpace, DiskThresholds
from tichwatch.store.leases import Leases
from tichwatch.store.monitor import StoreMonitor
from tichwatch.store.ownership import Ownership, is_singleton
from tichwatch.store.retention import RetentionWorker
from tichwatch.tools import dust_reference

log = logging.getLogger(__name__)

CAUGHT_UP_S = 2.0
"""Several nodes: how long a node is connected to the broker before it takes its share of the stations and cameras."""
CAUGHT_UP_QUEUE = 100
"""… and the most messages its pipeline may have waiting (a persistent session's backlog drains first)."""


@dataclass(frozen=True)
class Readiness:
    """Whether the service can do its job now, and why not."""

    broker_connected: bool
    store_writable: bool
    detail: str
    warnings: tuple[str, ...] = ()  # the service works, but someone should look (e.g. the disk is filling up)
    leases: tuple[str, ...] = ()  # the singletons this node runs (several nodes on one database: the leases it holds)
    subjects: int = 0  # how many stations and cameras this node detects on (their leases, when several nodes)
    member: int | None = None  # several nodes: this node's member number while it is one (`store.ownership`)
    members: tuple[int, ...] = ()  # several nodes: the members' numbers, as last read

    @property
    def ready(self) -> bool:
        """True when both the broker and the store are usable."""
        return self.broker_connected and self.store_writable


class _LockedFlood:
    """The flood detector's status as other threads may read it (under the pipeline's detector lock)."""

    def __init__(self, service: Service):
        self._service = service

    def status(self, station_id: str) -> StationStatus:
        """A station's status now."""
        return self._service.station_status(station_id)


class Service:
    """One running deployment: MQTT in, pipeline, store; the HTTP app reads from it."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.settings = with_service_client_id(settings)  # a random id kept in the data directory unless configured
        """The configuration: the file's stations; the alarm levels in force are the station registry's."""
        self.started_ts: float | None = None
        self.leases: Leases | None = None
        """This node's leases while it runs (see `start_leases`)."""
        self.ownership = Ownership(Leases("sqlite://"))
        """Which stations and cameras this node detects on (`store.ownership`; made again by `start_leases` on the
        store's database: until then, on SQLite's terms, it owns everything and holds nothing)."""
        self._connected_since: float | None = None
        self.stop_hooks: list[Callable[[], None]] = []  # run last on stop (e.g. the demo's own broker and simulator)
        self._stops: list[Callable[[], None]] = []  # what each start_* step left to undo, in start order
        for name in self.settings.bulletins.deprecated_set:
            log.warning("bulletins.%s is deprecated and ignored: bulletin deliveries follow alerts.delivery", name)
        self.init_store()
        self.init_bus()
        station_table = load_table(self.settings.stations, self.store)
        self.init_detectors(station_table)
        self.init_mqtt()
        self.init_alerts()
        self.init_pipeline()
        self.init_learning()
        self.init_rain_forecast()
        self.init_stations(station_table)
        self.init_historian()
        self.init_residents()

    # -- construction: each component gets what it uses in its constructor --------------------------------------
    def init_store(self) -> None:
        """The store, its monitor and retention, the metrics and the accounts."""
        s, clock = self.settings, self.clock
        self.store = open_store(s.store.data_dir, s.store.write_busy_timeout_s, s.store.read_busy_timeout_s,
                                schema=s.store.database_schema)
        self.disk = DiskSpace(s.store.data_dir, DiskThresholds.from_settings(s.store))
        self.store_monitor = StoreMonitor(self.store, s.store.probe_interval_s, self.disk.check, clock=clock)
        self.metrics = Metrics()
        self.disk.export(self.metrics)
        self.retention = RetentionWorker(s, self.store, self.metrics, clock)
        self.accounts = Accounts(self.store, s.accounts)

    def init_bus(self) -> None:
        """The event bus, and the live stream as its listener."""
        http = self.settings.http
        self.hub = EventHub(max_clients=http.sse_max_clients, max_per_address=http.sse_max_per_address,
                            client_buffer_bytes=http.sse_client_buffer_kib * 1024)
        self.bus = EventBus(on_failure=self.metrics.errors.labels("listener").inc)
        """Committed changes, published by whoever committed them; the live stream, historian and delivery listen."""
        follow(self.bus, self.hub, self.settings.timezone)

    def init_detectors(self, station_table: StationTable) -> None:
        """The flood detector (on the alarm levels in force) and the dust detector."""
        self.flood = FloodDetector(station_table.stations(), self.settings.flood, self.settings.rain_gauges)
        self.dust = DustDetector(self.settings.cameras, self.settings.dust)

    def init_mqtt(self) -> None:
        """The MQTT connection. It hands messages to the pipeline, which acknowledges them through it: the one
        cycle of the graph, closed by a late-bound call (the pipeline is built in `init_pipeline`, and the
        connection only starts with it, in `start_ingest`)."""
        s = self.settings
        self.topics = Topics(s.mqtt.topic_prefix)
        self.mqtt = MqttClient(s.mqtt, self.topics, lambda msg: self.pipeline.submit(msg),
                               password=secret(s.mqtt.password_env), clock=self.clock,
                               on_connected=lambda up: self.metrics.mqtt_connected.set(1 if up else 0))

    def init_pipeline(self) -> None:
        """The pipeline: detectors, the alert engine as its sink, the broker, the gateway signature check."""
        s = self.settings
        self.pipeline = Pipeline(s, self.store, self.metrics, reading_detectors=[self.flood],
                                 frame_detectors=[self.dust], clock=self.clock, bus=self.bus,
                                 judge_frame=partial(judge_frame, self.dust), sinks=[self.alerts.engine],
                                 broker=self.mqtt, verifier=build_verifier(s))

    def init_rain_forecast(self) -> None:
        """The rainfall-forecast provider when enabled (None otherwise): it hands each forecast to the flood
        detector's rain history under the pipeline's detector lock."""
        s = self.settings
        self.rain_forecast: RainForecastProvider | None = None
        if s.rain_forecast.enabled:
            self.rain_forecast = RainForecastProvider(s.rain_forecast, s.stations, s.store.data_dir, self.metrics,
                                                      self._take_rain_forecast, self.clock)

    def _take_rain_forecast(self, station_id: str, forecast: StationForecast | None) -> None:
        """A station's new rainfall forecast (None: gone stale) into the flood detector."""
        with self.pipeline.detect_lock:
            if forecast is None:
                self.flood.rain.clear_forecast(station_id)
            else:
                self.flood.rain.set_forecast(station_id, forecast.issued_ts, forecast.hourly)

    def init_learning(self) -> None:
        """The learning loop: labels, ignore regions, per-camera models and learning periods, applied to the dust
        detector now; it listens for judged frames and false-alarm marks (its trainer starts in `start_learning`)."""
        s = self.settings

        def reference() -> ReferenceRows:
            return dust_reference.cached(s.dust, s.learning.reference_seeds, self.dust.feature_set,
                                         s.store.data_dir / "cache")
        self.learning = CameraLearning(s, self.store, self.dust, self.bus, audit.record, reference, self.clock)
        self.learning.subscribe(self.bus)

    def init_stations(self, station_table: StationTable) -> None:
        """The station registry, telling the flood detector of edits under the pipeline's detector lock."""
        self.stations = StationRegistry(self.settings.stations, station_table, self.store, [self.flood],
                                        self.pipeline.detect_lock, self.bus.publish, self.clock)
        """The stations with the alarm levels in force, and the only writer of those levels."""

    def init_historian(self) -> None:
        """The InfluxDB historian, when configured: a bus listener."""
        self.historian = build_historian(self.settings, self.metrics.registry)

    def init_alerts(self) -> None:
        """The alert engine, its outbox and delivery."""
        self.alerts = AlertRuntime(self.settings, self.store, self.metrics, self.mqtt.publish, self.clock,
                                   bus=self.bus)

    def init_residents(self) -> None:
        """Bulletins and the public feeds."""
        s = self.settings
        self.bulletins = BulletinDesk(s, s.bulletins, self.store, lambda r: reading_permalink(s.http.public_url, r),
                                      self.clock, flood=_LockedFlood(self), outbox=self.alerts.delivery.outbox,
                                      stations=self.stations.stations, announce=self.bus.publish)
        self.feeds = Feeds(s, s.bulletins, self.store)
        self.alerts.engine.recorders.append(self.feeds.issuer.record)  # CAP messages fixed with their alert change
        self.resident_delivery = ResidentDelivery(s, self.store, self.metrics.registry, self.clock,
                                                  lambda sid: self.subscriptions.link_for(sid), self._bulletin_quote)
        """Alerts and bulletins to subscribed residents (ZNS, SMS fallback), through the alerts' outbox."""
        for name, sender in self.resident_delivery.receivers().items():
            self.alerts.delivery.add_receiver(name, sender)
        self.resident_delivery.wake = self.alerts.wake
        self.alerts.engine.recorders.append(self.resident_delivery.record)  # fanned out with their alert change
        self.bus.subscribe(BulletinChanged, self.resident_delivery.on_bulletin)
        self.subscriptions = Subscriptions(s, self.store, self.resident_delivery.queue_to_subscriber, audit.record,
                                           erasers=[self.resident_delivery.erase])
        """Residents' subscriptions: registration, officers' lists, unsubscribe links."""
        self.reports = ReportDesk(s, self.store, self.stations.stations, audit.record, self.clock)
        """Reports to the People's Committee: the weekly and monthly schedule, requests, the files."""

    # -- running: `start` runs the start_* steps in order, `stop` undoes the started ones in reverse -------------
    def start(self) -> None:
        """Start every background part; the broker's messages flow only once the pipeline takes them."""
        try:
            for step in (self.start_leases, self.start_store_monitor, self.start_retention, self.start_historian,
                         self.start_ingest, self.start_rain_forecast, self.start_alerts, self.start_bulletins,
                         self.start_learning, self.start_reports, self.start_resident_delivery):
                self._stops.append(step())
        except BaseException:
            log.exception("TichWatch could not start; stopping what had started")
            self.stop()
            raise
        self.started_ts = self.clock()
        # What start-up built (modules, settings, models, templates) lives as long as the service: out of the cyclic
        # collector's sight, so that its full collections, which stop every thread, scan only what came since (one
        # over everything took about 200 ms at a time, the longest waits of readings behind it); back on stop.
        gc.freeze()
        log.info("TichWatch started for %s: %d stations, %d cameras, data in %s", self.settings.commune,
                 len(self.settings.stations), len(self.settings.cameras), self.settings.store.data_dir)

    def start_leases(self) -> Callable[[], None]:
        """Singletons under leases (`store.leases`): on a database several nodes share (PostgreSQL), retention, the
        alert ticker, each receiver's dispatcher, the bulletin schedule and the report desk run on the node holding
        each one's lease, and move to another node when it dies; on SQLite this node holds them all. Given back
        last on stop."""
        def told(name: str, held: bool) -> None:
            if is_singleton(name):  # subjects: counted, not a series each
                self.metrics.lease_held.labels(name).set(held)
        leases = Leases(self.store.url, on_change=told)
        self.leases = leases
        ownership = self.ownership = Ownership(leases)
        self.metrics.subjects_owned.set_function(ownership.subjects_held)
        self.metrics.members.set_function(lambda: len(self.ownership.known_members()) if leases.shared else 1)
        self.retention.lease = leases.lease("retention")
        self.alerts.use_leases(leases.lease)
        self.bulletins.lease = leases.lease("bulletin-schedule")
        self.reports.lease = leases.lease("reports")
        self.pipeline.owned = self.ownership.owned
        return leases.close

    def start_store_monitor(self) -> Callable[[], None]:
        """Probe the store's writability and the disk in the background."""
        self.store_monitor.start()
        return self.store_monitor.stop

    def start_retention(self) -> Callable[[], None]:
        """Prune old data in the background."""
        self.retention.start()
        return self.retention.stop

    def start_historian(self) -> Callable[[], None]:
        """Write to InfluxDB in the background, when configured (before ingest, so it hears every commit)."""
        historian = self.historian
        if historian is None:
            return lambda: None
        historian.start()
        unsubscribe = historian.subscribe(self.bus)

        def stop() -> None:
            unsubscribe()  # first: nothing reaches a closed spool
            historian.close()
        return stop

    def start_ingest(self) -> Callable[[], None]:
        """Warm the detectors and start the pipeline, put the open alerts to the warmed detectors (a restart resolves
        those whose condition no longer holds), then connect to the broker. Stopping drains and acknowledges what is
        queued while still connected, then says offline and disconnects."""
        self.pipeline.start()
        self.alerts.reevaluate([self.flood.holds], self.pipeline.detect_lock)
        self.mqtt.start()
        self.ownership.start(self._caught_up)

        def stop() -> None:
            self.ownership.stop()  # first: the other nodes take this node's subjects while it drains
            self.pipeline.stop()
            self.mqtt.stop()
        return stop

    def _caught_up(self) -> bool:
        """Whether this node may own stations and cameras (several nodes): to join, connected to the broker for
        `CAUGHT_UP_S` with its pipeline's queue short (what a persistent session kept for it has been taken in); once
        a member, for as long as it stays connected (a burst that fills the queue is no reason to hand over)."""
        if not self.mqtt.connected.is_set():
            self._connected_since = None
            return False
        now = time.monotonic()
        if self._connected_since is None:
            self._connected_since = now
        if self.ownership.member is not None:
            return True
        return now - self._connected_since >= CAUGHT_UP_S and self.pipeline.queued() < CAUGHT_UP_QUEUE

    def start_rain_forecast(self) -> Callable[[], None]:
        """Poll the rainfall forecast in the background, when enabled."""
        provider = self.rain_forecast
        if provider is None:
            return lambda: None
        provider.start()
        return provider.stop

    def start_alerts(self) -> Callable[[], None]:
        """The alert ticker and a delivery thread per receiver (what is left in the outbox goes after a restart)."""
        self.alerts.start()
        return self.alerts.stop

    def start_bulletins(self) -> Callable[[], None]:
        """The bulletin schedule."""
        self.bulletins.start()
        return self.bulletins.stop

    def start_reports(self) -> Callable[[], None]:
        """The report desk: the weekly and monthly schedule and the reports asked for, made in the background."""
        self.reports.start()
        return self.reports.stop

    def start_resident_delivery(self) -> Callable[[], None]:
        """Hand residents the bulletins published just before a stop that had not reached them yet."""
        recent = [(r.id, r.published_ts or 0.0) for r in self.bulletins.published(limit=50)]
        self.resident_delivery.catch_up(recent, self.clock())
        return lambda: None

    def _bulletin_quote(self, bulletin_id: str) -> tuple[dict[str, str], str, float] | None:
        """A published bulletin's texts, the link to it and when it was published (for the residents' fan-out)."""
        record = self.bulletins.get(bulletin_id)
        if record is None or record.published_ts is None:
            return None
        return record.content, str(self.bulletins.document(record)["links"]["self"]), record.published_ts

    def start_learning(self) -> Callable[[], None]:
        """The background trainer of per-camera models (one at a time, at a lower priority)."""
        self.learning.start()
        return self.learning.stop

    def station_status(self, station_id: str) -> StationStatus:
        """A station's flood status now (level, alarm level, distance, trend, forecast, faults)."""
        with self.pipeline.detect_lock:
            return self.flood.status(station_id)

    def commune_status(self) -> CommuneStatus:
        """The commune's flood status now, with every station's."""
        with self.pipeline.detect_lock:
            return self.flood.commune_status()

    def stop(self) -> None:
        """Undo the started steps in reverse (delivery and the schedule first; then ingest drains, acknowledges and
        disconnects; then the historian, retention and the monitor), hand what start-up built back to the cyclic
        collector, close the store, run the stop hooks."""
        while self._stops:
            self._stops.pop()()
        gc.unfreeze()
        if self.pipeline.verifier is not None:
            self.pipeline.verifier.close()  # after the MQTT client: no message is being verified any more
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
        singletons = tuple(n for n in self.leases.held() if is_singleton(n)) if self.leases is not None else ()
        return Readiness(broker, store_ok, "; ".join(problems) or "ok", tuple(warnings), singletons,
                         self.ownership.subjects_held(),
                         self.ownership.member, self.ownership.known_members())
