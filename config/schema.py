"""The settings schema: one pydantic model per block of the deployment file.

Every field has a description and, where it has one, a unit in its name. Secrets never live in the file: they are read
from the environment variables named here (see `tichwatch.config.loader`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tichwatch.config.accounts import AccountSettings
from tichwatch.config.alerts import AlertSettings
from tichwatch.config.base import StrictModel
from tichwatch.config.bulletins import BulletinSettings
from tichwatch.config.dust import DustSettings
from tichwatch.config.flood import FloodSettings
from tichwatch.config.gateway_auth import GatewayAuthSettings
from tichwatch.config.historian import HistorianSettings
from tichwatch.config.impact import ImpactSettings
from tichwatch.config.learning import LearningSettings
from tichwatch.config.loudspeaker import LoudspeakerSettings
from tichwatch.config.rain import RainForecastSettings, RainGaugeConfig, check_rain_gauges, gauges_by_station
from tichwatch.config.reports import ReportSettings
from tichwatch.config.subscriptions import SubscriptionSettings
from tichwatch.config.widget import WidgetSettings

SUBJECT_ID = r"^[A-Za-z0-9_-]{1,64}$"
"""Station and camera ids: they are MQTT topic levels, so no '/', '+', '#' or spaces."""
MQTT_CLIENT_ID = r"^[A-Za-z0-9_.-]{1,64}$"
"""The service's MQTT client id: 1-64 characters of A-Z a-z 0-9 _ . -"""


class MqttSettings(StrictModel):
    """The MQTT broker the gateways and cameras publish to."""

    host: str = Field("127.0.0.1", description="Broker host name or address (env TICHWATCH_MQTT_HOST overrides).")
    port: int = Field(1883, ge=1, le=65535, description="Broker TCP port (env TICHWATCH_MQTT_PORT overrides).")
    protocol: Literal["5", "3.1.1"] = Field("5", description="MQTT protocol version.")
    tls: bool = Field(False, description="Connect with TLS.")
    tls_ca_file: Path | None = Field(None, description="CA certificate file for TLS; system CAs when empty.")
    username: str | None = Field(None, description="User name (env TICHWATCH_MQTT_USERNAME overrides).")
    password_env: str = Field(
        "TICHWATCH_MQTT_PASSWORD", description="Name of the environment variable that holds the broker password."
    )
    client_id: str | None = Field(None, pattern=MQTT_CLIENT_ID, description="MQTT client id, the key of the "
                                  "broker's persistent session (queued QoS 1 messages) across restarts; when empty, "
                                  "a random one is made at first start and kept in the data directory "
                                  "(mqtt-client-id), so no one can guess it to take the session over.")
    topic_prefix: str = Field("tich/v1", description="Prefix of every topic of the contract.")
    keepalive_s: int = Field(30, ge=5, le=600, description="MQTT keep-alive interval in seconds.")
    session_expiry_s: int = Field(7 * 24 * 3600, ge=0, description="How long the broker keeps the session while the "
                                  "service is away (MQTT 5), seconds.")
    reconnect_min_s: float = Field(1.0, gt=0, description="First reconnect delay, seconds (doubles up to the max).")
    reconnect_max_s: float = Field(60.0, gt=0, description="Longest reconnect delay, seconds.")
    receive_maximum: int = Field(1000, ge=1, le=65535, description="MQTT 5 receive maximum: QoS 1 messages in flight "
                                 "to the service before the broker waits for acknowledgements (back-pressure).")

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_plain(cls, v: str) -> str:
        if not v or v.startswith("/") or v.endswith("/") or any(c in v for c in "+#\x00"):
            raise ValueError("must be a plain topic path without leading/trailing '/' or wildcards")
        return v


class AlarmLevels(StrictModel):
    """Official alarm levels (Decision 05/2020/QĐ-TTg) on the station's datum, metres."""

    bd1_m: float = Field(description="Báo động I, metres.")
    bd2_m: float = Field(description="Báo động II, metres.")
    bd3_m: float = Field(description="Báo động III, metres.")
    record_m: float | None = Field(
        None, description="Highest level on record, metres (a level of its own when passed).")
    record_year: int | None = Field(None, description="Year of the record flood.")

    @model_validator(mode="after")
    def _ordered(self) -> AlarmLevels:
        if not self.bd1_m < self.bd2_m < self.bd3_m:
            raise ValueError("alarm levels must rise: bd1_m < bd2_m < bd3_m")
        if self.record_m is not None and self.record_m <= self.bd3_m:
            raise ValueError("record_m must be above bd3_m")
        return self

    def named(self) -> dict[str, float | int | None]:
        """The levels by their public names (BD1, BD2, BD3, record, record_year): how the API, the audit log and
        station events show them."""
        return {"BD1": self.bd1_m, "BD2": self.bd2_m, "BD3": self.bd3_m, "record": self.record_m,
                "record_year": self.record_year}


class UpstreamLink(StrictModel):
    """An upstream station whose level leads this one, for the forecast."""

    station_id: str = Field(pattern=SUBJECT_ID, description="Id of the upstream station.")
    lag_s: int = Field(ge=0, description="Typical travel time of a flood wave from there to here, seconds.")


class StationConfig(StrictModel):
    """A water-level gauge."""

    id: str = Field(pattern=SUBJECT_ID, description="Station id; the topic level in tich/v1/water/<id>/reading.")
    name: str = Field(min_length=1, description="Name people know the station by.")
    river: str = Field("Sông Tích", description="River name.")
    lat: float = Field(ge=-90, le=90, description="Latitude, degrees WGS84.")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees WGS84.")
    datum: str = Field("Hòn Dấu", description="Height datum of levels and alarm levels.")
    alarm: AlarmLevels = Field(description="Official alarm levels.")
    expected_interval_s: int = Field(600, ge=1, description="How often the gateway reports, seconds.")
    min_level_m: float = Field(description="Lowest physically possible level, metres (below is a sensor fault).")
    max_level_m: float = Field(description="Highest physically possible level, metres (above is a sensor fault).")
    upstream: list[UpstreamLink] = Field(default_factory=list, description="Upstream stations for the forecast.")
    area_radius_m: float = Field(
        2000, gt=0, description="Radius of the area a warning for this station covers, metres.")

    @model_validator(mode="after")
    def _range_holds_levels(self) -> StationConfig:
        if not self.min_level_m < self.alarm.bd1_m:
            raise ValueError("min_level_m must be below alarm.bd1_m")
        top = self.alarm.record_m if self.alarm.record_m is not None else self.alarm.bd3_m
        if not self.max_level_m > top:
            raise ValueError("max_level_m must be above alarm.bd3_m and alarm.record_m")
        return self


class CameraConfig(StrictModel):
    """A construction-site camera."""

    id: str = Field(pattern=SUBJECT_ID, description="Camera id; the topic level in tich/v1/camera/<id>/frame.")
    site: str = Field(min_length=1, description="Name of the construction site it watches.")
    lat: float = Field(ge=-90, le=90, description="Latitude, degrees WGS84.")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees WGS84.")
    expected_interval_s: int = Field(60, ge=1, description="How often the camera sends a frame, seconds.")
    roi: list[tuple[float, float]] | None = Field(
        None,
        description="Region of interest as a polygon of (x, y) in fractions 0..1 of the image; whole image when empty.",
    )
    sensitivity: float = Field(1.0, gt=0, le=3, description="Multiplier on the detector's sensitivity for this camera.")

    @field_validator("roi")
    @classmethod
    def _roi_polygon(cls, v: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        if v is None:
            return v
        if len(v) < 3:
            raise ValueError("a region of interest needs at least 3 points")
        if any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in v):
            raise ValueError("polygon points are fractions of the image: 0 <= x, y <= 1")
        return v


class LimitsSettings(StrictModel):
    """Input limits that protect the service from bad or hostile payloads."""

    max_reading_payload_bytes: int = Field(256 * 1024, ge=256, description="Largest reading payload, bytes.")
    max_batch_readings: int = Field(5000, ge=1, description="Most readings in one batch payload.")
    max_frame_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest JPEG frame, bytes.")
    max_frame_width_px: int = Field(4096, ge=16, description="Widest frame accepted, pixels (from the JPEG header).")
    max_frame_height_px: int = Field(4096, ge=16, description="Tallest frame accepted, pixels (from the JPEG header).")
    max_future_s: int = Field(300, ge=0, description="How far ahead of the service clock a timestamp may be, seconds.")
    max_age_s: int = Field(30 * 24 * 3600, ge=60, description="How old a reading may be when it arrives, seconds.")


class StoreSettings(StrictModel):
    """The embedded SQLite store and on-disk frames."""

    data_dir: Path = Field(Path("./data"), description="Directory for the database, frames and evidence "
                           "(env TICHWATCH_DATA_DIR overrides).")
    database_schema: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="On PostgreSQL: the "
                                        "schema this commune's tables live in, made when missing (several communes "
                                        "on one database, each its own: README, Several communes); none: the "
                                        "database URL's own.")
    readings_retention_days: int = Field(3650, ge=1, description="How long readings (and detections) are kept, "
                                         "days.")
    evidence_retention_days: int = Field(180, ge=1, description="How long evidence snapshots and their context "
                                         "frames are kept, days.")
    dust_index_retention_days: int = Field(730, ge=1, description="How long the per-frame dust index of cameras is "
                                           "kept, days.")
    notifications_retention_days: int = Field(365, ge=1, description="How long delivered and failed notifications "
                                              "(the log of what was sent to whom) are kept, days; waiting ones are "
                                              "never removed.")
    audit_retention_days: int = Field(1095, ge=1, description="How long the alert audit log, resolved alerts, "
                                      "expired silences and the officer audit log are kept, days (audit is "
                                      "evidence: keep it long). Bulletins are the public record and are kept.")
    retention_interval_h: float = Field(6.0, gt=0, le=168, description="How often retention runs (also once at "
                                        "start), hours.")
    retention_chunk_rows: int = Field(5000, ge=100, description="Most rows one retention transaction deletes, so "
                                      "ingest keeps flowing during a large prune.")
    disk_warning_free_mib: int = Field(1024, ge=0, description="Free space in the data directory's file system "
                                       "below which /readyz warns, MiB.")
    disk_warning_free_percent: float = Field(5.0, ge=0, le=100, description="Free space below which /readyz "
                                             "warns, percent of the file system.")
    disk_critical_free_mib: int = Field(256, ge=0, description="Free space below which the disk check is "
                                        "critical, MiB.")
    disk_critical_free_percent: float = Field(1.0, ge=0, le=100, description="Free space below which the disk "
                                              "check is critical, percent of the file system.")
    batch_max: int = Field(500, ge=1, description="Most messages committed in one transaction.")
    batch_wait_s: float = Field(0.05, ge=0, description="How long the worker waits to fill a batch, seconds.")
    queue_max: int = Field(10000, ge=10, description="Bound of the queue from the MQTT thread to the store worker.")
    write_busy_timeout_s: float = Field(5.0, gt=0, le=60, description="How long a write waits for a database lock "
                                        "held by another process before it fails (the pipeline then retries with "
                                        "backoff and /readyz says not ready), seconds.")
    read_busy_timeout_s: float = Field(2.0, gt=0, le=60, description="How long an API read waits for a database "
                                       "lock before it fails, seconds (short: a stuck database must not hold the "
                                       "HTTP workers).")
    probe_interval_s: float = Field(5.0, gt=0, le=300, description="How often the readiness monitor really writes "
                                    "to the store and checks the disk, seconds.")

    @model_validator(mode="after")
    def _disk_thresholds_ordered(self) -> StoreSettings:
        if self.disk_critical_free_mib > self.disk_warning_free_mib:
            raise ValueError("disk_critical_free_mib must not exceed disk_warning_free_mib")
        if self.disk_critical_free_percent > self.disk_warning_free_percent:
            raise ValueError("disk_critical_free_percent must not exceed disk_warning_free_percent")
        return self


class HttpSettings(StrictModel):
    """The HTTP listener for the API and dashboard."""

    host: str = Field("127.0.0.1", description="Address to listen on (env TICHWATCH_HTTP_HOST overrides).")
    port: int = Field(8080, ge=0, le=65535, description="TCP port (env TICHWATCH_HTTP_PORT overrides; 0 = any free).")
    public_url: str = Field("http://127.0.0.1:8080", description="Base URL people reach the service at (for links).")
    cors_origins: list[str] = Field(default_factory=list, description="Web origins allowed to call the API from a "
                                    "browser (e.g. the commune portal https://kieuphu.hanoi.gov.vn); none by default.")
    rate_limit_per_min: int = Field(300, ge=1, description="Requests per minute one client address may make to the "
                                    "public API (officers signed in are not limited).")
    rate_limit_burst: int = Field(60, ge=1, description="Requests a client may make at once before the per-minute "
                                  "rate applies.")
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"], description="Addresses of "
                                       "reverse proxies whose X-Forwarded-For header names the real client.")
    public_concurrency: int = Field(4, ge=1, le=256, description="Anonymous requests computed at once (answers "
                                    "served from snapshots and the live stream aside), so public reads never take the "
                                    "workers ingest and alert delivery need; more wait in line.")
    public_queue_timeout_s: float = Field(10.0, gt=0, le=120, description="How long an anonymous request waits for "
                                          "its turn before it is answered 503 with Retry-After, seconds.")
    snapshot_refresh_s: float = Field(1.0, ge=0, le=60, description="Public answers (status, stations, GeoJSON, "
                                      "cameras, bulletins, alerts, indicators) are served from snapshots rebuilt when "
                                      "the data changed, at most this often, seconds (0 = on every change).")
    snapshot_max_age_s: float = Field(30.0, gt=0, le=3600, description="A public snapshot is rebuilt after this "
                                      "long even without a change (it holds time-dependent marks such as offline).")
    public_max_age_s: int = Field(5, ge=0, le=3600, description="Cache-Control max-age of public snapshots, seconds: "
                                  "how long a browser, reverse proxy or CDN may serve them without asking.")
    sse_max_clients: int = Field(5000, ge=1, le=100_000, description="Live-stream (/api/v1/stream) clients served "
                                 "at once in total; more are answered 503 with Retry-After. The stream is not limited "
                                 "per request, so a crowd behind one address is served.")
    sse_max_per_address: int = Field(2500, ge=1, le=100_000, description="Live-stream clients one address may hold "
                                     "at once (a share of sse_max_clients, so one address cannot take them all).")
    sse_client_buffer_kib: int = Field(256, ge=16, le=65536, description="Events waiting for one slow live-stream "
                                       "client, KiB; beyond it the client's stream ends and it resumes with its "
                                       "Last-Event-ID.")
    edge_process: bool = Field(True, description="`tichwatch run` serves HTTP through the public edge, a process "
                               "of its own in front of the service: public answers kept and served from memory, "
                               "everything else passed through (a crowd of readers then costs ingest and alert "
                               "delivery nothing). Off: one process serves everything.")
    edge_nice: int = Field(5, ge=0, le=19, description="CPU niceness of the edge process: on a saturated machine "
                           "the kernel serves the service's ingest and alert delivery first.")


class IndicatorSettings(StrictModel):
    """How the commune's indicators on the dashboard are counted."""

    ack_target_s: int = Field(900, ge=60, description="Target time for an officer to acknowledge a warning, seconds.")
    window_days: int = Field(30, ge=1, description="Period the acknowledgement figures cover, days.")
    available_within_factor: float = Field(3.0, gt=1, description="A sensor or camera counts as available when its "
                                           "last sample is within this many expected intervals.")


class Settings(StrictModel):
    """A whole deployment: one commune's broker, stations, cameras, store and listener."""

    commune: str = Field("Kiều Phú", description="Commune name shown to people.")
    timezone: str = Field("Asia/Ho_Chi_Minh", description="Time zone for times shown to people (stored in UTC).")
    language: Literal["vi", "en"] = Field("vi", description="Default language of people-facing text.")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="MQTT broker.")
    stations: list[StationConfig] = Field(default_factory=list, description="Water-level stations.")
    cameras: list[CameraConfig] = Field(default_factory=list, description="Construction-site cameras.")
    rain_gauges: list[RainGaugeConfig] = Field(default_factory=list, description="Rain gauges upstream of the "
                                               "stations, for the forecast.")
    rain_forecast: RainForecastSettings = Field(default_factory=RainForecastSettings, description="Optional "
                                                "rainfall forecast (Open-Meteo), off by default.")
    limits: LimitsSettings = Field(default_factory=LimitsSettings, description="Input limits.")
    store: StoreSettings = Field(default_factory=StoreSettings, description="Embedded store.")
    http: HttpSettings = Field(default_factory=HttpSettings, description="HTTP listener.")
    accounts: AccountSettings = Field(default_factory=AccountSettings, description="Officer sign-in, its "
                                      "throttling and password hashing.")
    indicators: IndicatorSettings = Field(default_factory=IndicatorSettings, description="Dashboard indicators.")
    flood: FloodSettings = Field(default_factory=FloodSettings, description="Flood detector tuning.")
    dust: DustSettings = Field(default_factory=DustSettings, description="Dust detector tuning.")
    learning: LearningSettings = Field(default_factory=LearningSettings, description="How cameras learn from the "
                                       "officers' labels: learning period, labels, per-camera models.")
    alerts: AlertSettings = Field(default_factory=AlertSettings, description="Alert routing, silences, escalation "
                                  "and channels.")
    bulletins: BulletinSettings = Field(default_factory=BulletinSettings, description="Bulletins: schedule, "
                                        "approval, channels, radio audio and CAP feeds.")
    historian: HistorianSettings = Field(default_factory=HistorianSettings, description="InfluxDB historian.")
    impact: ImpactSettings = Field(default_factory=ImpactSettings, description="Hamlets and what each station's "
                                   "alarm levels flood there.")
    subscriptions: SubscriptionSettings = Field(default_factory=SubscriptionSettings, description="Residents' "
                                                "subscriptions by hamlet, over Zalo ZNS and SMS.")
    loudspeaker: LoudspeakerSettings = Field(default_factory=LoudspeakerSettings, description="Packages for the "
                                             "smart loudspeaker system.")
    reports: ReportSettings = Field(default_factory=ReportSettings, description="Reports to the People's Committee.")
    widget: WidgetSettings = Field(default_factory=WidgetSettings, description="The embeddable portal widget.")
    gateway_auth: GatewayAuthSettings = Field(default_factory=GatewayAuthSettings, description="Per-message "
                                              "gateway authentication (HMAC).")

    @model_validator(mode="after")
    def _ids_unique_and_links_known(self) -> Settings:
        ids = [s.id for s in self.stations]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate station ids: {sorted(dup)}")
        cams = [c.id for c in self.cameras]
        dup = {i for i in cams if cams.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate camera ids: {sorted(dup)}")
        self.gateway_auth.check_subjects(ids, cams, [g.id for g in self.rain_gauges])
        for s in self.stations:
            for up in s.upstream:
                if up.station_id not in ids or up.station_id == s.id:
                    raise ValueError(f"station {s.id!r}: upstream {up.station_id!r} is not another configured station")
        check_rain_gauges(self.rain_gauges, ids)
        self.impact.check_stations(ids)
        return self

    def station(self, station_id: str) -> StationConfig | None:
        """The station with this id, or None."""
        return next((s for s in self.stations if s.id == station_id), None)

    def camera(self, camera_id: str) -> CameraConfig | None:
        """The camera with this id, or None."""
        return next((c for c in self.cameras if c.id == camera_id), None)

    def rain_gauge(self, gauge_id: str) -> RainGaugeConfig | None:
        """The rain gauge with this id, or None."""
        return next((g for g in self.rain_gauges if g.id == gauge_id), None)

    def gauges_for(self, station_id: str) -> tuple[str, ...]:
        """Ids of the rain gauges that feed this station's forecast."""
        return gauges_by_station(self.rain_gauges).get(station_id, ())


